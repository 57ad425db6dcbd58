import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import { pendingMigrations } from './migrate';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  // Rewrites one row as it is: a real write, committed (and fsync'd) like any other, that changes nothing.
  probe: db.prepare('UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT max(version) FROM schema_migrations)'),
}));

/** operation: checkReady — the store takes a write, and every migration this code ships is applied. */
export function checkReady(db: Database): void {
  statements(db).probe.run();
  const pending = pendingMigrations(db);
  if (pending > 0) throw new StoreError({ code: 'not_ready', pendingMigrations: pending });
}
