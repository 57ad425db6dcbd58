import type { Database } from 'better-sqlite3';
import type { ClaimOptions, ClaimResult, Lease, SubscriptionRef } from '../store';
import { deadLetter } from './deadLetter';
import type { WriteContext } from './groupCommit';
import { loadMessages } from './messageRow';
import { prepared } from './prepared';
import { loadSubscription, type QueueRow } from './queueRow';

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

// FIFO: a ready row may start a batch only if it is the oldest unsettled row of
// its group and no row of the group is leased. Both checks are lookups on the
// group indexes. (A group whose head is leased still has its ready rows
// scanned here: the cost grows with the ready rows of blocked groups.)
export const FIFO_HEADS = `SELECT d.message_id, d.group_id FROM deliveries d
      WHERE d.subscription_id = :subscription AND d.available_at <= :now
        AND NOT EXISTS (SELECT 1 FROM deliveries e
                         WHERE e.subscription_id = :subscription AND e.group_id IS d.group_id AND e.message_id < d.message_id)
        AND NOT EXISTS (SELECT 1 FROM deliveries e
                         WHERE e.subscription_id = :subscription AND e.group_id IS d.group_id
                           AND e.leased = 1 AND e.available_at > :now)
      ORDER BY d.available_at, d.message_id
      LIMIT :max`;

const statements = prepared((db) => ({
  claim: db.prepare<LeaseParams & { max: number }, ClaimedRow>(CLAIM),
  heads: db.prepare<{ subscription: number; now: number; max: number }, { message_id: number; group_id: string | null }>(FIFO_HEADS),
  // A group's rows from its head on, in order: the batch is the ready run at its start.
  run: db.prepare<{ subscription: number; group: string | null; head: number; max: number }, { message_id: number; available_at: number }>(
    `SELECT message_id, available_at FROM deliveries
      WHERE subscription_id = :subscription AND group_id IS :group AND message_id >= :head
      ORDER BY message_id LIMIT :max`,
  ),
  lease: db.prepare<LeaseParams & { ids: string }, ClaimedRow>(
    `UPDATE deliveries ${LEASE}
      WHERE subscription_id = :subscription AND message_id IN (SELECT value FROM json_each(:ids))
      RETURNING message_id, delivery_count, first_leased_at`,
  ),
}));

/** FIFO: the ready runs at the heads of the groups that may go, oldest group first, up to `max` rows in all. */
function claimFifo(db: Database, params: LeaseParams, max: number): ClaimedRow[] {
  const s = statements(db);
  const ids: number[] = [];
  for (const head of s.heads.all({ subscription: params.subscription, now: params.now, max })) {
    if (ids.length >= max) break;
    const run = s.run.all({ subscription: params.subscription, group: head.group_id, head: head.message_id, max: max - ids.length });
    for (const row of run) {
      if (row.available_at > params.now) break;
      ids.push(row.message_id);
    }
  }
  return ids.length === 0 ? [] : s.lease.all({ ...params, ids: JSON.stringify(ids) });
}

function claimRows(db: Database, row: QueueRow, params: LeaseParams, max: number): ClaimedRow[] {
  return row.ordering === 'fifo' ? claimFifo(db, params, max) : statements(db).claim.all({ ...params, max });
}

/**
 * operation: claim — leases up to `max` ready messages. A message coming up
 * for delivery number maxDeliveries + 1 is dead-lettered instead, and the
 * claim goes on until it has `max` leases or nothing is ready.
 */
export function claim(db: Database, context: WriteContext, from: SubscriptionRef, options: ClaimOptions): ClaimResult {
  const row = loadSubscription(db, from);
  const leases: Lease[] = [];
  const params = { subscription: row.subscriptionId, now: options.now, leaseUntil: options.now + (options.visibilityTimeoutMs ?? row.visibilityTimeoutMs) };
  for (;;) {
    const wanted = options.max - leases.length;
    if (wanted <= 0) break;
    const claimed = claimRows(db, row, params, wanted);
    if (claimed.length === 0) break;
    const byId = new Map(claimed.map((c) => [c.message_id, c]));
    // In id order, which is log order (and a group's order): RETURNING gives none.
    for (const message of loadMessages(db, [...byId.keys()])) {
      const { delivery_count: deliveryCount, first_leased_at: firstDeliveredAt } = byId.get(Number(message.id)) as ClaimedRow;
      if (row.maxDeliveries !== null && deliveryCount > row.maxDeliveries) {
        deadLetter(db, context, row, message, deliveryCount - 1, options.now);
      } else {
        leases.push({ message, deliveryCount, firstDeliveredAt });
      }
    }
  }
  return { subscriptionId: row.subscriptionId, leases };
}
