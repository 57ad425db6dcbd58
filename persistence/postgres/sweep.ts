import {
  expires,
  type PartitionRetention,
  type RetentionLimits,
  retentionLimits,
  SWEEP_LEASE,
  sweepLeases,
  sweepCursor,
  sweepPosition,
  sweptNothing,
} from '../rows/retention';
import type { SweepOptions, SweepResult } from '../store';
import type { Queryable } from './connection';
import { holdLeases } from './leases';
import { deleteMessagesCte, SHRINK_PARTITIONS } from './messageRow';
import { rewindPositionsOfTheGone } from './rewindPositions';

interface PartitionWithOldest extends PartitionRetention {
  /** The timestamp of its oldest message; null when it holds none. */
  oldest: number | null;
}

interface Oldest {
  id: number;
  timestamp: number;
  bytes: number;
  /** The partition's value bytes, from the same snapshot as the messages. */
  held: number;
}

/** Messages of one partition this call removes. */
interface Removal {
  topicId: number;
  partition: number;
  ids: number[];
}

const TOPIC_SUBSCRIPTIONS = 'SELECT id FROM subscriptions WHERE topic_id = $2';

// Locks, so that sweeps of several gateways, appends, acks and claims never
// wait for each other in a circle: the topic's row (key share, as appends
// hold it), then the rows a sweep removes, without waiting (SKIP LOCKED: what
// another transaction holds stays for a later call, and two sweeps take
// disjoint rows); then, waiting, the partitions rows, all of them in key
// order; only then the removals, whose delivery rows' triggers lock the
// subscriptions. Appends take a partition then the subscriptions, acks their
// rows then the partition then the subscriptions: no order is reversed.
const STATEMENTS = {
  // Queues (one partition each, always with an age limit) and topics, in
  // primary key order from where the last call stopped: a range of it, never
  // a walk over every queue. With each, its oldest message's timestamp (one
  // probe of messages_by_offset), so a partition with nothing to remove costs
  // no statement of its own.
  partitions: {
    name: 'sweep-partitions',
    text: `SELECT p.topic_id, p.partition, t.retention_ms, t.retention_bytes, p.bytes,
                  (SELECT m.timestamp FROM messages m WHERE m.topic_id = p.topic_id AND m.partition = p.partition
                    ORDER BY m."offset" LIMIT 1) AS oldest
             FROM partitions p JOIN topics t ON t.id = p.topic_id
            WHERE (p.topic_id, p.partition) > ($1, $2)
            ORDER BY p.topic_id, p.partition LIMIT $3`,
  },
  // Oldest first along messages_by_offset, bounded: never a scan. With the
  // partition's bytes as this snapshot has them: a sweep that removed some
  // of these meanwhile has taken them off both or neither. The topic's row
  // is key-share locked first: a queue subscription being made (which locks
  // it FOR UPDATE and backfills delivery rows) is waited for, or waits, and
  // never gets rows for messages removed here.
  oldest: {
    name: 'sweep-oldest',
    text: `SELECT m.id, m.timestamp, length(m.value) AS bytes,
                  (SELECT p.bytes FROM partitions p WHERE p.topic_id = $1 AND p.partition = $2) AS held
             FROM messages m JOIN topics t ON t.id = m.topic_id
            WHERE m.topic_id = $1 AND m.partition = $2 ORDER BY m."offset" LIMIT $3 FOR KEY SHARE OF t`,
  },
  // Of the messages $1 of topic $2, those this transaction now holds with every delivery row of theirs.
  take: {
    name: 'sweep-take',
    text: `WITH taken AS (SELECT id FROM messages WHERE id = ANY($1::bigint[]) FOR UPDATE OF messages SKIP LOCKED),
                taken_deliveries AS (SELECT subscription_id, message_id FROM deliveries
                                      WHERE subscription_id IN (${TOPIC_SUBSCRIPTIONS}) AND message_id = ANY($1::bigint[])
                                        FOR UPDATE OF deliveries SKIP LOCKED)
           SELECT id FROM taken
            WHERE NOT EXISTS (SELECT 1 FROM deliveries d
                               WHERE d.subscription_id IN (${TOPIC_SUBSCRIPTIONS}) AND d.message_id = taken.id
                                 AND (d.subscription_id, d.message_id) NOT IN (SELECT subscription_id, message_id FROM taken_deliveries))`,
  },
  lock: {
    name: 'sweep-lock',
    text: `SELECT 1 FROM partitions p JOIN unnest($1::bigint[], $2::integer[]) AS c (topic_id, partition) USING (topic_id, partition)
            ORDER BY p.topic_id, p.partition FOR UPDATE OF p`,
  },
  // A topic's expired messages take their delivery rows in every queue subscription with them.
  remove: {
    name: 'sweep-remove',
    text: `WITH removed AS (DELETE FROM deliveries WHERE subscription_id IN (${TOPIC_SUBSCRIPTIONS}) AND message_id = ANY($1::bigint[])),
           ${deleteMessagesCte('SELECT unnest($1::bigint[])')} ${SHRINK_PARTITIONS}`,
  },
  // Bounded ranges of idempotency_keys_by_age and replies_by_deadline. Rows
  // another transaction holds (a produce renewing a key, a reply being
  // stored, another sweep) are skipped, left to a later call.
  expireKeys: {
    name: 'sweep-expireKeys',
    text: `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM idempotency_keys WHERE timestamp < $1 ORDER BY timestamp LIMIT $2 FOR UPDATE SKIP LOCKED))`,
  },
  expireReplies: {
    name: 'sweep-expireReplies',
    text: `DELETE FROM replies WHERE correlation_id = ANY(ARRAY(
             SELECT correlation_id FROM replies WHERE deadline < $1 ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED))`,
  },
};

/**
 * The leading messages of a partition to delete, at most `budget`: older than
 * the cutoff, or while it holds more than it may; taken (locked) by this
 * transaction, up to the first one another transaction holds.
 */
async function takeExpiredHead(tx: Queryable, p: PartitionRetention, limits: RetentionLimits, budget: number): Promise<number[]> {
  const { rows } = await tx.query<Oldest>({ ...STATEMENTS.oldest, values: [p.topic_id, p.partition, budget] });
  const expired: number[] = [];
  let left = rows.length === 0 ? 0 : rows[0].held;
  for (const message of rows) {
    if (!expires(message.timestamp, left, limits)) break;
    expired.push(message.id);
    left -= message.bytes;
  }
  if (expired.length === 0) return expired;
  const taken = await tx.query<{ id: number }>({ ...STATEMENTS.take, values: [expired, p.topic_id] });
  const ours = new Set(taken.rows.map((row) => row.id));
  const firstHeld = expired.findIndex((id) => !ours.has(id));
  return firstHeld === -1 ? expired : expired.slice(0, firstHeld);
}

/**
 * operation: sweep — retention. Deletes queue messages older than their
 * queue's retention (acknowledged or not, as SQS does), topic messages past
 * their topic's age or per-partition size limit, idempotency keys past the
 * window, and replies awaited until before `repliesBefore`, oldest first and
 * at most `budget` of each per call, so no call holds its locks long.
 * Messages are looked for in `partitions` partitions at most, after
 * `resumeAfter`. Sweeps of several gateways may run at once: each skips the
 * rows another holds (a partition's removal stops at its first such
 * message, a later call goes on from it) and waits for the partitions rows;
 * none fails for the other.
 */
export async function sweep(tx: Queryable, options: SweepOptions): Promise<SweepResult> {
  const held = await holdLeases(tx, { names: sweepLeases(options.holder), holder: options.holder, ttlMs: options.leaseMs, now: options.now });
  if (!held.includes(SWEEP_LEASE)) return sweptNothing(options);
  await rewindPositionsOfTheGone(tx);
  const position = sweepPosition(options.resumeAfter);
  const { rows: slice } = await tx.query<PartitionWithOldest>({
    ...STATEMENTS.partitions,
    values: [position.topic, position.partition, options.partitions],
  });
  const removals: Removal[] = [];
  let expiredMessages = 0;
  let resumeAfter = options.resumeAfter;
  // Past the last partition the walk starts again from the first.
  let walked = slice.length < options.partitions;
  for (const p of slice) {
    const budget = options.budget - expiredMessages;
    const limits = retentionLimits(p, options.now);
    const mayExpire = p.oldest !== null && expires(p.oldest, p.bytes, limits);
    const expired = mayExpire ? await takeExpiredHead(tx, p, limits, budget) : [];
    if (expired.length > 0) removals.push({ topicId: p.topic_id, partition: p.partition, ids: expired });
    expiredMessages += expired.length;
    // Out of budget, this partition may hold more: the next call starts with it.
    if (expired.length === budget) {
      walked = false;
      break;
    }
    resumeAfter = sweepCursor(p);
  }
  if (removals.length > 0) {
    await tx.query({ ...STATEMENTS.lock, values: [removals.map((r) => r.topicId), removals.map((r) => r.partition)] });
    for (const { topicId, ids } of removals) await tx.query({ ...STATEMENTS.remove, values: [ids, topicId] });
  }
  const keys = await tx.query({ ...STATEMENTS.expireKeys, values: [options.now - options.idempotencyWindowMs, options.budget] });
  const replies = await tx.query({ ...STATEMENTS.expireReplies, values: [options.repliesBefore, options.budget] });
  return { expiredMessages, expiredKeys: keys.rowCount ?? 0, expiredReplies: replies.rowCount ?? 0, resumeAfter: walked ? null : resumeAfter };
}
