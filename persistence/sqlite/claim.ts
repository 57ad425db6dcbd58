import type { Database } from 'better-sqlite3';
import { leaseEnd, type QueueRow } from '../rows/queueRow';
import type { ClaimOptions, ClaimResult, Lease, StoreRules, SubscriptionRef } from '../store';
import { deadLetter } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription } from './queueRow';
import { recordAttempt, repeatAttempt } from './receiveAttempts';

interface ClaimedRow {
  message_id: number;
  delivery_count: number;
  first_leased_at: number;
}

interface LeaseParams {
  subscription: number;
  now: number;
  leaseUntil: number;
}

const LEASE = `SET available_at = :leaseUntil, delivery_count = delivery_count + 1, leased = 1,
            first_leased_at = COALESCE(first_leased_at, :now)`;

// One statement leases the oldest ready rows; deliveries_by_availability
// serves the inner SELECT as a range scan, whatever the backlog.
export const CLAIM = `UPDATE deliveries
        ${LEASE}
      WHERE subscription_id = :subscription
        AND message_id IN (SELECT message_id FROM deliveries
                            WHERE subscription_id = :subscription AND available_at <= :now
                            ORDER BY available_at, message_id
                            LIMIT :max)
      RETURNING message_id, delivery_count, first_leased_at`;

interface Head {
  /** Never NULL in a FIFO queue: NO_GROUP for the messages without one (deliveryGroup). */
  group_id: string;
  message_id: number;
  available_at: number;
}

// FIFO. A group may go when its head (its oldest unsettled row) is ready and
// none of its rows is leased; its batch is then the ready run from its head.
// Groups are visited one index seek each (deliveries_by_group), in group
// order starting from the group of the oldest ready row, so a fetch costs the
// groups it looks at, not the messages queued behind a busy group.
const HEAD = 'SELECT group_id, message_id, available_at FROM deliveries WHERE subscription_id = :subscription';
export const FIFO_NEXT_HEAD = `${HEAD} AND group_id > :group ORDER BY group_id, message_id LIMIT 1`;

const statements = prepared((db) => ({
  claim: db.prepare<LeaseParams & { max: number }, ClaimedRow>(CLAIM),
  oldestReady: db.prepare<{ subscription: number; now: number }, { group_id: string }>(
    `SELECT group_id FROM deliveries WHERE subscription_id = :subscription AND available_at <= :now
      ORDER BY available_at, message_id LIMIT 1`,
  ),
  firstHead: db.prepare<{ subscription: number }, Head>(`${HEAD} AND group_id IS NOT NULL ORDER BY group_id, message_id LIMIT 1`),
  headFrom: db.prepare<{ subscription: number; group: string }, Head>(`${HEAD} AND group_id >= :group ORDER BY group_id, message_id LIMIT 1`),
  nextHead: db.prepare<{ subscription: number; group: string }, Head>(FIFO_NEXT_HEAD),
  leased: db.prepare<{ subscription: number; group: string; now: number }>(
    `SELECT 1 FROM deliveries WHERE subscription_id = :subscription AND group_id = :group AND leased = 1 AND available_at > :now LIMIT 1`,
  ),
  // A group's rows from its head on, in order: the batch is the ready run at its start.
  run: db.prepare<{ subscription: number; group: string; head: number; max: number }, { message_id: number; available_at: number }>(
    `SELECT message_id, available_at FROM deliveries
      WHERE subscription_id = :subscription AND group_id = :group AND message_id >= :head
      ORDER BY message_id LIMIT :max`,
  ),
  lease: db.prepare<LeaseParams & { ids: string }, ClaimedRow>(
    `UPDATE deliveries ${LEASE}
      WHERE subscription_id = :subscription AND message_id IN (SELECT value FROM json_each(:ids))
      RETURNING message_id, delivery_count, first_leased_at`,
  ),
}));

/**
 * The head of every group with unsettled rows, each once, in group order
 * from `start` and round again (the rows without a group are one group,
 * NO_GROUP, first in that order).
 */
function* groupHeads(db: Database, subscription: number, start: string): Generator<Head> {
  const s = statements(db);
  // The groups from `first` on, in order, up to (not including) the group `end`.
  function* from(first: Head | undefined, end: string | null): Generator<Head> {
    for (let head = first; head !== undefined && head.group_id !== end; head = s.nextHead.get({ subscription, group: head.group_id })) {
      yield head;
    }
  }
  yield* from(s.headFrom.get({ subscription, group: start }), null);
  yield* from(s.firstHead.get({ subscription }), start);
}

/** FIFO: the ready runs at the heads of the groups that may go, up to `max` rows in all. */
function claimFifo(db: Database, rules: StoreRules, params: LeaseParams, max: number): ClaimedRow[] {
  const s = statements(db);
  const { subscription, now } = params;
  const oldest = s.oldestReady.get({ subscription, now });
  if (oldest === undefined) return [];
  const ids: number[] = [];
  for (const head of groupHeads(db, subscription, oldest.group_id)) {
    if (ids.length >= max) break;
    const leased = (): boolean => s.leased.get({ subscription, group: head.group_id, now }) !== undefined;
    if (!rules.fifoGroupMayGo({ availableAt: head.available_at, leased }, now)) continue;
    for (const row of s.run.all({ subscription, group: head.group_id, head: head.message_id, max: max - ids.length })) {
      if (row.available_at > now) break;
      ids.push(row.message_id);
    }
  }
  return ids.length === 0 ? [] : s.lease.all({ ...params, ids: JSON.stringify(ids) });
}

function claimRows(db: Database, rules: StoreRules, row: QueueRow, params: LeaseParams, max: number): ClaimedRow[] {
  return row.ordering === 'fifo' ? claimFifo(db, rules, params, max) : statements(db).claim.all({ ...params, max });
}

/**
 * operation: claim — leases up to `max` ready messages. A message coming up
 * for delivery number maxDeliveries + 1 is dead-lettered instead, and the
 * claim goes on until it has `max` leases or nothing is ready. Under a
 * receive attempt id seen before, the leases that claim gave instead
 * (receiveAttempts.ts).
 */
export function claim(db: Database, context: WriteContext, rules: StoreRules, from: SubscriptionRef, options: ClaimOptions): ClaimResult {
  const row = loadSubscription(db, from);
  const leases: Lease[] = [];
  const params = { subscription: row.subscriptionId, now: options.now, leaseUntil: leaseEnd(row, options) };
  const repeated = options.attempt === undefined ? null : repeatAttempt(db, row.subscriptionId, options.attempt, params);
  if (repeated !== null) return { subscriptionId: String(row.subscriptionId), ...repeated };
  for (;;) {
    const wanted = options.max - leases.length;
    if (wanted <= 0) break;
    const claimed = claimRows(db, rules, row, params, wanted);
    if (claimed.length === 0) break;
    const before = leases.length;
    const byId = new Map(claimed.map((c) => [c.message_id, c]));
    // In id order, which is log order (and a group's order): RETURNING gives none.
    for (const message of loadMessages(db, [...byId.keys()])) {
      const { delivery_count: deliveryCount, first_leased_at: firstDeliveredAt } = byId.get(Number(message.id)) as ClaimedRow;
      if (rules.deadLetters(deliveryCount, row.maxDeliveries)) {
        deadLetter(db, context, row, message, deliveryCount - 1, options.now);
      } else {
        leases.push({ message, deliveryCount, firstDeliveredAt });
      }
    }
    // A pass that dead-lettered nothing took all that was ready (or all that was wanted): another would find nothing.
    if (leases.length - before === claimed.length) break;
  }
  if (options.attempt !== undefined && leases.length > 0) recordAttempt(db, row.subscriptionId, options.attempt, params, leases);
  return { subscriptionId: String(row.subscriptionId), leases };
}
