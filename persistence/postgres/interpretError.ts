import { DatabaseError } from 'pg';
import { StoreError } from '../errors';

/** What the caller knows of the failed call, beyond the error itself. */
export interface FailureContext {
  /**
   * COMMIT was sent (or was about to be). A connection that breaks from then
   * on may or may not have committed: the server can have written the commit
   * record and lost the connection before it could answer.
   */
  commitSent: boolean;
  /**
   * The caller saw the connection fail: it could not get one, or the one it
   * had could not even roll back. The error then stands for a lost
   * connection whatever it says: the driver's own errors for a socket that
   * closed or timed out carry no code to tell them by.
   */
  connectionLost?: boolean;
}

/**
 * SQLSTATEs of a server that cannot take the call now. Class 08: the
 * connection failed. 57P01: the server is shutting down, or an administrator
 * ended the session; 57P02: another server process crashed and this one was
 * told to quit (what every session sees when the server PANICs, e.g. on a WAL
 * write to a full disk); 57P03: the server is starting, recovering, or
 * stopping. 25006: a read-only transaction, as on a standby a failover left
 * behind. 53300: no connection slot left.
 */
const CONNECTION_FAILURE = /^08/;
const UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '25006', '53300']);
/**
 * Answers that the server gives before it does anything: nothing can have
 * been written, whatever the caller had sent.
 */
const REFUSED_BEFORE_ANYTHING = new Set(['57P03', '25006', '53300']);

/**
 * 53100 disk_full: a write (a table or index extending a file, a temporary
 * file) found no space; the statement fails and its transaction rolls back.
 * A WAL write on a full disk is no such error: the server PANICs and
 * restarts, and every session sees its connection end (57P02, then refused
 * connections while it recovers), which maps to storage_unavailable.
 * 53200 out_of_memory: the server could not allocate memory for the statement.
 */
const FULL = new Set(['53100', '53200']);

/** Node's socket errors: no connection could be made, or the one in use broke. */
const SOCKET_FAILURE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs the transaction runner retries (the transaction was rolled back, and may succeed when run again). */
/**
 * 23503 foreign_key_violation too: the one way to hit it is a row that a
 * concurrent transaction deleted between this one's lookup and its insert (a
 * queue deleted under a produce that names it). Run again, the lookup finds
 * it gone and the call is refused for what it is (queue_not_found, …).
 */
const RETRYABLE = new Set(['40001', '40P01', '23503']);

/**
 * 22021 character_not_in_repertoire, 22P05 untranslatable_character: text
 * PostgreSQL cannot hold, a NUL (U+0000) above all, which SQLite keeps.
 */
const TEXT_UNSTORABLE = new Set(['22021', '22P05']);

/** The SQLSTATE of an error the server sent; null for any other error. */
function sqlStateOf(error: unknown): string | null {
  return error instanceof DatabaseError && error.code !== undefined ? error.code : null;
}

/** A Node system error's code (ECONNREFUSED, …); null for none. */
function systemCodeOf(error: unknown): string | null {
  if (typeof error !== 'object' || error === null || !('code' in error) || typeof error.code !== 'string') return null;
  return error.code;
}

/** Serialization failure or deadlock: the server rolled the transaction back, and running it again may succeed. */
export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(sqlStateOf(error) ?? '');
}

/**
 * Maps a failure of the PostgreSQL driver or server to the StoreError the
 * gateway understands: the server cannot take calls (unreachable, shutting
 * down, starting, read-only, out of connection slots) → storage_unavailable,
 * `refused` while nothing can have been written and `unconfirmed` once the
 * connection broke after COMMIT was sent; no space or memory →
 * storage_full. Anything else (a StoreError the work threw, a constraint
 * violation, a bug) is returned unchanged: a fault, or the caller's own
 * refusal. Serialization failures and deadlocks are left to the transaction
 * runner, which retries them (`isRetryable`).
 */
export function interpretError(error: unknown, context: FailureContext): unknown {
  if (error instanceof StoreError) return error;
  const sqlState = sqlStateOf(error);
  if (sqlState !== null) {
    if (FULL.has(sqlState)) return new StoreError({ code: 'storage_full' }, { cause: error });
    if (TEXT_UNSTORABLE.has(sqlState)) return new StoreError({ code: 'text_unstorable' }, { cause: error });
    if (REFUSED_BEFORE_ANYTHING.has(sqlState)) return new StoreError({ code: 'storage_unavailable', state: 'refused' }, { cause: error });
    if (UNAVAILABLE.has(sqlState) || CONNECTION_FAILURE.test(sqlState)) return unavailable(error, context);
    return error;
  }
  if (context.connectionLost === true || SOCKET_FAILURE.has(systemCodeOf(error) ?? '')) return unavailable(error, context);
  return error;
}

function unavailable(error: unknown, context: FailureContext): StoreError {
  return new StoreError({ code: 'storage_unavailable', state: context.commitSent ? 'unconfirmed' : 'refused' }, { cause: error });
}
