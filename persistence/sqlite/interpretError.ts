import { StoreError } from '../errors';

/**
 * Translates a SQLite failure into a StoreError at the persistence boundary,
 * so that no driver text ever reaches a client. Anything unexpected is
 * returned as it is: a fault, which the gateway answers as `internal_error`
 * and logs with the original.
 */
export function interpretError(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const code = sqliteCode(error);
  if (code === null) return error;
  switch (code.split('_').slice(0, 2).join('_')) {
    case 'SQLITE_FULL':
      return new StoreError({ code: 'storage_full' }, { cause: error });
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
    case 'SQLITE_READONLY':
    case 'SQLITE_IOERR':
    case 'SQLITE_CANTOPEN':
      return new StoreError({ code: 'storage_unavailable', state: 'refused' }, { cause: error });
    default:
      return error;
  }
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
