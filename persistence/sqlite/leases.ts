import type { Database } from 'better-sqlite3';
import type { HoldLeases } from '../store';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  // A name free, expired, or already this holder's: taken (again) until now + ttl. Returned only then.
  hold: db.prepare<{ names: string; holder: string; now: number; ttlMs: number }>(
    `INSERT INTO leases (name, holder, expires_at) SELECT value, :holder, :now + :ttlMs FROM json_each(:names) WHERE true
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= :now
     RETURNING name`,
  ).pluck(),
  forget: db.prepare<[]>('DELETE FROM leases'),
  release: db.prepare<{ names: string; holder: string }>('DELETE FROM leases WHERE holder = :holder AND name IN (SELECT value FROM json_each(:names))'),
}));

/** operation: holdLeases — the names of `names` that `holder` holds for `ttlMs` from `now` once it returns. */
export function holdLeases(db: Database, { names, holder, ttlMs, now }: HoldLeases): string[] {
  return statements(db).hold.all({ names: JSON.stringify(names), holder, now, ttlMs }) as string[];
}

/**
 * At start: a SQLite file has one gateway process at a time, so a lease found
 * is one of a process that stopped without giving it up. Gone, its work
 * (push subscriptions, the sweep) is this process's at once.
 */
export function forgetLeases(db: Database): void {
  statements(db).forget.run();
}

/** operation: releaseLeases — gives up those of `names` that `holder` holds, for any process to take at once. */
export function releaseLeases(db: Database, names: string[], holder: string): void {
  statements(db).release.run({ names: JSON.stringify(names), holder });
}
