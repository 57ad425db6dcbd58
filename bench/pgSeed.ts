import { createPool } from '../persistence/postgres/connection';
import { loadQueueRow } from '../persistence/postgres/queueRow';

/**
 * In one statement, what the store's produce writes for `$3` messages
 * (persistence/postgres/append.ts, STORE) of value `$5` into the queue of
 * topic `$1` and queue subscription `$2`, ready at `$4`: a messages row each
 * at the next offsets of the queue's one partition, a deliveries row each
 * (whose statement trigger counts them in the subscription's waiting and
 * waiting_bytes), the partition's head and totals, the topic's produced
 * count. Every CTE sees the partition row as it was before the statement.
 */
const SEED = `
  WITH inserted AS (
    INSERT INTO messages (topic_id, partition, "offset", timestamp, key, headers, content_type, value, group_id)
    SELECT $1::bigint, 0, p.next_offset + g, $4::bigint, NULL, '{}', 'application/json', $5::bytea, NULL
      FROM partitions p CROSS JOIN generate_series(0, $3::bigint - 1) AS g
     WHERE p.topic_id = $1::bigint AND p.partition = 0
    RETURNING id
  ), delivered AS (
    INSERT INTO deliveries (subscription_id, message_id, available_at, bytes)
    SELECT $2::bigint, id, $4::bigint, length($5::bytea) FROM inserted
  ), advanced AS (
    UPDATE partitions
       SET next_offset = next_offset + $3::bigint, messages = messages + $3::bigint,
           bytes = bytes + $3::bigint * length($5::bytea), last_timestamp = GREATEST(last_timestamp, $4::bigint)
     WHERE topic_id = $1::bigint AND partition = 0
  )
  UPDATE topics SET produced = produced + $3::bigint WHERE id = $1::bigint`;

/** The rows behind a ready backlog: deliveries rows of the subscription ready at `$2`, each with its message. */
const READY_ROWS = `
  SELECT count(*) AS rows FROM deliveries d JOIN messages m ON m.id = d.message_id
   WHERE d.subscription_id = $1::bigint AND d.available_at <= $2::bigint AND NOT d.leased`;

/**
 * Appends `count` messages of stored value `value` to the existing queue
 * `queue` of the PostgreSQL database at `url` (SEED): many times faster than
 * the store's produce, which sends every value. Then VACUUM ANALYZE, as after
 * any bulk load, so that autovacuum does not pick the tables up in the
 * middle of a measurement and the planner knows their size; and a count of
 * the ready rows with their messages, which must be `count` more than before.
 */
export async function seedPostgresQueue(url: string, queue: string, count: number, value: Buffer): Promise<void> {
  // The backend's own pool, for its bigint parsing: ids and counts come back as numbers.
  const pool = createPool({ url, poolSize: 1 });
  try {
    const { topicId, subscriptionId } = await loadQueueRow(pool, queue);
    const now = Date.now();
    const readyRows = async (): Promise<number> => {
      const { rows } = await pool.query<{ rows: number }>(READY_ROWS, [subscriptionId, now]);
      return rows[0].rows;
    };
    const before = await readyRows();
    await pool.query(SEED, [topicId, subscriptionId, count, now, value]);
    await pool.query('VACUUM (ANALYZE) messages, deliveries');
    const added = (await readyRows()) - before;
    if (added !== count) throw new Error(`seeding ${count} messages into '${queue}' added ${added} ready rows`);
  } finally {
    await pool.end();
  }
}
