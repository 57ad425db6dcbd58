import type { HoldLeases } from '../store';
import type { Queryable } from './connection';

/** The database's clock in ms: every gateway reads the same one. */
export const DATABASE_NOW = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

const STATEMENTS = {
  // A name free, expired, or already this holder's: taken (again) until now + ttl. Returned only then.
  hold: {
    name: 'leases-hold',
    text: `INSERT INTO leases (name, holder, expires_at) SELECT name, $2, ${DATABASE_NOW} + $3 FROM unnest($1::text[]) AS name
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ${DATABASE_NOW}
           RETURNING name`,
  },
  release: { name: 'leases-release', text: 'DELETE FROM leases WHERE holder = $2 AND name = ANY($1::text[])' },
};

/**
 * operation: holdLeases — the names of `names` that `holder` holds for
 * `ttlMs` once it returns. By the database's clock, not the caller's `now`:
 * gateways whose clocks disagree still agree on who holds what.
 */
export async function holdLeases(tx: Queryable, { names, holder, ttlMs }: HoldLeases): Promise<string[]> {
  const { rows } = await tx.query<{ name: string }>({ ...STATEMENTS.hold, values: [names, holder, ttlMs] });
  return rows.map((row) => row.name);
}

/** operation: releaseLeases — gives up those of `names` that `holder` holds, for any process to take at once. */
export async function releaseLeases(tx: Queryable, names: string[], holder: string): Promise<void> {
  await tx.query({ ...STATEMENTS.release, values: [names, holder] });
}
