import { type RawMessage, toStoredMessage } from '../rows/messageRow';
import { attemptDeliveries } from '../rows/receiveAttempt';
import type { Lease, ReceiveAttempt } from '../store';
import type { Queryable } from './connection';
import { messageColumns } from './messageRow';

type RenewedRow = { message_id: number; delivery_count: number; first_leased_at: number } & RawMessage;

const STATEMENTS = {
  forget: { name: 'receiveAttempts-forget', text: 'DELETE FROM receive_attempts WHERE subscription_id = $1 AND received_at < $2' },
  find: {
    name: 'receiveAttempts-find',
    text: `SELECT lease_until, message_ids, delivery_counts FROM receive_attempts
            WHERE subscription_id = $1 AND attempt_id = $2 FOR UPDATE`,
  },
  // All or nothing in one statement: the attempt's deliveries of subscription
  // $1 ($2 ids, $3 counts) that are still the live leases it gave (ending at
  // $4, after $5), locked; only when every one of them is, their leases end
  // at $6 instead; and those renewed with their messages, in id order. A
  // delivery settled while this waited for its lock drops out of `live`.
  renew: {
    name: 'receiveAttempts-renew',
    text: `WITH live AS (
             SELECT message_id FROM deliveries
              WHERE subscription_id = $1 AND (message_id, delivery_count) IN (SELECT * FROM unnest($2::bigint[], $3::int[]))
                AND leased AND available_at = $4 AND available_at > $5
              FOR UPDATE
           ), renewed AS (
             UPDATE deliveries d SET available_at = $6 FROM live
              WHERE d.subscription_id = $1 AND d.message_id = live.message_id
                AND (SELECT count(*) FROM live) = cardinality($2::bigint[])
             RETURNING d.message_id, d.delivery_count, d.first_leased_at)
           SELECT r.message_id, r.delivery_count, r.first_leased_at, ${messageColumns('m')}
             FROM renewed r JOIN messages m ON m.id = r.message_id
            ORDER BY r.message_id`,
  },
  renewAttempt: { name: 'receiveAttempts-renewAttempt', text: 'UPDATE receive_attempts SET lease_until = $3 WHERE subscription_id = $1 AND attempt_id = $2' },
  // Two gateways may run the same attempt's first claim at once: the first to commit is the one a retry repeats.
  record: {
    name: 'receiveAttempts-record',
    text: `INSERT INTO receive_attempts (subscription_id, attempt_id, received_at, lease_until, message_ids, delivery_counts)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subscription_id, attempt_id) DO NOTHING`,
  },
};

/** When a claim happens and when the leases it gives end. */
interface ClaimTimes {
  now: number;
  leaseUntil: number;
}

/**
 * operation: claim, with a receive attempt id seen before — the leases that
 * claim gave, renewed until `leaseUntil`, while every one is still live and
 * as it gave it; `spent` once one is not. Null for an id not seen within the
 * window (attempts older than it are forgotten first).
 */
export async function repeatAttempt(
  tx: Queryable,
  subscription: number,
  attempt: ReceiveAttempt,
  times: ClaimTimes,
): Promise<{ leases: Lease[]; attempt: 'repeated' | 'spent' } | null> {
  await tx.query({ ...STATEMENTS.forget, values: [subscription, times.now - attempt.windowMs] });
  // The arrays go back to the server as they came: how the driver reads a bigint[] does not matter here.
  const { rows } = await tx.query<{ lease_until: number; message_ids: unknown[]; delivery_counts: unknown[] }>({
    ...STATEMENTS.find,
    values: [subscription, attempt.id],
  });
  if (rows.length === 0) return null;
  const [{ lease_until: leaseUntil, message_ids: ids, delivery_counts: counts }] = rows;
  const { rows: renewed } = await tx.query<RenewedRow>({
    ...STATEMENTS.renew,
    values: [subscription, ids, counts, leaseUntil, times.now, times.leaseUntil],
  });
  if (renewed.length === 0) return { leases: [], attempt: 'spent' };
  await tx.query({ ...STATEMENTS.renewAttempt, values: [subscription, attempt.id, times.leaseUntil] });
  const leases = renewed.map((row): Lease => ({ message: toStoredMessage(row), deliveryCount: row.delivery_count, firstDeliveredAt: row.first_leased_at }));
  return { leases, attempt: 'repeated' };
}

/** Records what a claim under a new receive attempt id leased, for a retry of it. */
export async function recordAttempt(tx: Queryable, subscription: number, attempt: ReceiveAttempt, times: ClaimTimes, leases: Lease[]): Promise<void> {
  const deliveries = attemptDeliveries(leases);
  await tx.query({
    ...STATEMENTS.record,
    values: [subscription, attempt.id, times.now, times.leaseUntil, deliveries.map(([id]) => id), deliveries.map(([, count]) => count)],
  });
}
