import { GatewayError } from '../../queue/errors';

/**
 * Translates a SQLite failure into a GatewayError at the persistence boundary,
 * so that no driver text ever reaches a client. Anything unexpected becomes
 * `internal_error` with the original kept as `cause` for the logs.
 */
export function interpretError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = sqliteCode(error);
  if (code !== null) {
    const primary = code.split('_').slice(0, 2).join('_');
    switch (primary) {
      case 'SQLITE_FULL':
        return new GatewayError('storage_full', 'The store is out of space; nothing was written.', { cause: error });
      case 'SQLITE_BUSY':
      case 'SQLITE_LOCKED':
      case 'SQLITE_READONLY':
      case 'SQLITE_IOERR':
      case 'SQLITE_CANTOPEN':
        return new GatewayError('storage_unavailable', 'The store cannot write right now; nothing was written.', {
          cause: error,
        });
      default:
        break;
    }
  }
  return new GatewayError('internal_error', 'An internal error occurred.', { cause: error });
}

/**
 * The SQLITE_* code of a driver error. Matched by shape, not `instanceof`:
 * the native addon keeps the SqliteError class (and Error realm) it was first
 * loaded with, which need not be the ones the calling module sees.
 */
function sqliteCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null || !('code' in error) || typeof error.code !== 'string') return null;
  return error.code.startsWith('SQLITE_') ? error.code : null;
}
