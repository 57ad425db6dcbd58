import { type RawMessage, toStoredMessage } from '../rows/messageRow';
import type { StoredMessage } from '../store';
import type { Queryable } from './connection';

/** The columns of a RawMessage, from `messages` as `alias`. */
export const messageColumns = (alias: string): string =>
  ['id', 'original_id', 'partition', '"offset"', 'timestamp', 'key', 'headers', 'content_type', 'value', 'group_id'].map((column) => `${alias}.${column}`).join(', ');

/**
 * CTE `gone`: deletes the messages whose ids `ids` (a subquery) gives, and
 * returns what each one took of its partition, for SHRINK_PARTITIONS in the
 * same statement.
 */
export const deleteMessagesCte = (ids: string): string =>
  `gone AS (DELETE FROM messages WHERE id IN (${ids}) RETURNING topic_id, partition, length(value) AS bytes)`;

/** Takes what CTE `gone` deleted off its partitions' totals. */
export const SHRINK_PARTITIONS = `UPDATE partitions p SET messages = p.messages - g.messages, bytes = p.bytes - g.bytes
    FROM (SELECT topic_id, partition, count(*) AS messages, sum(bytes) AS bytes FROM gone GROUP BY topic_id, partition) g
   WHERE p.topic_id = g.topic_id AND p.partition = g.partition`;

const STATEMENTS = {
  byIds: { name: 'messageRow-byIds', text: `SELECT ${messageColumns('m')} FROM messages m WHERE m.id = ANY($1::bigint[]) ORDER BY m.id` },
  delete: { name: 'messageRow-delete', text: `WITH ${deleteMessagesCte('SELECT unnest($1::bigint[])')} ${SHRINK_PARTITIONS}` },
};

/** The messages of these rows, in row order; an id without a row is an invariant broken. */
export async function loadMessages(db: Queryable, ids: number[]): Promise<StoredMessage[]> {
  const { rows } = await db.query<RawMessage>({ ...STATEMENTS.byIds, values: [ids] });
  if (rows.length !== new Set(ids).size) throw new Error(`messages ${ids.join(',')}: ${rows.length} rows found`);
  return rows.map(toStoredMessage);
}

/**
 * Deletes messages and takes them and their bytes off their partitions'
 * totals, in one statement. A caller that also deletes delivery rows does
 * both in one statement, as removeMessages does: the partitions rows are then
 * locked before the subscriptions rows (whose counters the deliveries
 * triggers update at the statement's end), the order every append takes them
 * in, so the two never wait for each other in a circle.
 */
export async function deleteMessages(tx: Queryable, ids: number[]): Promise<void> {
  await tx.query({ ...STATEMENTS.delete, values: [ids] });
}
