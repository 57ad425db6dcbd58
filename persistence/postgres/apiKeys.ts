import type { Queryable } from './connection';

/** One key as a keys file lists it (id, name, hash, scopes, …): kept as given, checked by the gateway, not here. */
export interface StoredKeyEntry {
  readonly id: string;
  readonly [field: string]: unknown;
}

const STATEMENTS = {
  // In id order: two reads of the same keys give the same list, so a reader can tell whether anything changed.
  list: { name: 'api-keys-list', text: 'SELECT entry FROM api_keys ORDER BY id' },
  add: {
    name: 'api-keys-add',
    text: 'INSERT INTO api_keys (id, entry, created_at) VALUES ($1, $2::jsonb, $3) ON CONFLICT (id) DO NOTHING RETURNING id',
  },
  remove: { name: 'api-keys-remove', text: 'DELETE FROM api_keys WHERE id = $1 RETURNING id' },
};

/** operation: apiKeys — every stored key entry, in id order, as stored (parsed JSON). */
export async function apiKeys(db: Queryable): Promise<unknown[]> {
  const { rows } = await db.query<{ entry: unknown }>(STATEMENTS.list);
  return rows.map((row) => row.entry);
}

/** operation: addApiKey — stores `entry` under its id; false, and nothing written, when a key with that id is stored already. */
export async function addApiKey(tx: Queryable, entry: StoredKeyEntry, now: number): Promise<boolean> {
  const { rows } = await tx.query({ ...STATEMENTS.add, values: [entry.id, JSON.stringify(entry), now] });
  return rows.length === 1;
}

/** operation: removeApiKey — removes the key `id`; whether it was stored. */
export async function removeApiKey(tx: Queryable, id: string): Promise<boolean> {
  const { rows } = await tx.query({ ...STATEMENTS.remove, values: [id] });
  return rows.length === 1;
}
