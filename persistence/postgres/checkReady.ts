import { StoreError } from '../errors';
import type { Queryable } from './connection';
import { pendingMigrations } from './migrate';

// Rewrites one row as it is: a real write, committed (and flushed, synchronous_commit on) like any other, that changes nothing.
const PROBE = 'UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT max(version) FROM schema_migrations)';

/** operation: checkReady — the store takes a write, and every migration this code ships is applied. */
export async function checkReady(tx: Queryable): Promise<void> {
  await tx.query({ name: 'checkReady-probe', text: PROBE });
  const pending = await pendingMigrations(tx);
  if (pending > 0) throw new StoreError({ code: 'not_ready', pendingMigrations: pending });
}
