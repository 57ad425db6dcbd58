import { SqliteError } from 'better-sqlite3';
import { GatewayError } from '../../queue/errors';

/**
 * Translates a SQLite failure into a GatewayError at the persistence boundary,
 * so that no driver text ever reaches a client. Anything unexpected becomes
 * `internal_error` with the original kept as `cause` for the logs.
 */
export function interpretError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof SqliteError) {
    const primary = error.code.split('_').slice(0, 2).join('_');
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
