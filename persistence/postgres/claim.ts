import { NO_GROUP } from '../rows/appendTarget';
import { type RawMessage, toStoredMessage } from '../rows/messageRow';
import { leaseEnd, type QueueRow } from '../rows/queueRow';
import type { ClaimOptions, ClaimResult, Lease, StoreRules, SubscriptionRef } from '../store';
import type { Queryable } from './connection';
import { deadLetter } from './deadLetter';
import { messageColumns } from './messageRow';
import { loadSubscription } from './queueRow';
import { recordAttempt, repeatAttempt } from './receiveAttempts';
import type { WriteContext } from './writeContext';

/** FIFO: message groups looked at per round trip. */
const GROUP_PAGE = 32;
/** The first key of FIFO claims' advisory locks, naming what the second key (a subscription id) is locked for ('mqfc'). */
const FIFO_CLAIMS = 0x6d716663;

/** A leased delivery with its message; the message's columns are null only if the message is gone, an invariant broken. */
type ClaimedRow = { message_id: number; delivery_count: number; first_leased_at: number } & (RawMessage | { [K in keyof RawMessage]: null });

/**
 * A claim: the rows of subscription $1 whose ids `ids` gives are leased from
 * $2 (now) until $3, and returned with their messages in id order, which is
 * log order (and each message group's order). The ids as an array and each
 * message by a lateral probe (its LIMIT keeps the planner from making it a
 * join it may hash): one primary key lookup per row, whatever the planner
 * guesses of their number.
 */
const lease = (ids: string): string => `
  WITH claimed AS (
    UPDATE deliveries d
       SET available_at = $3, delivery_count = d.delivery_count + 1, leased = true, first_leased_at = COALESCE(d.first_leased_at, $2)
     WHERE d.subscription_id = $1 AND d.message_id = ANY(${ids})
    RETURNING d.message_id, d.delivery_count, d.first_leased_at)
  SELECT c.message_id, c.delivery_count, c.first_leased_at, ${messageColumns('m')}
    FROM claimed c LEFT JOIN LATERAL (SELECT * FROM messages WHERE id = c.message_id LIMIT 1) m ON true
   ORDER BY c.message_id`;

/**
 * FIFO: the rows of a page of message groups, one per row of a run: for each
 * head (a group's oldest unsettled row) of CTE `page`, whether any row of its
 * group is leased at $3 (now), and the group's rows from its head on, at most
 * $4 (the batch is the ready run at their start). Ordered by group_id too,
 * which one group does not change: the order of deliveries_by_group.
 */
const GROUP_RUNS = `
  SELECT h.group_id, h.message_id AS head_id, h.available_at AS head_available_at,
         EXISTS (SELECT 1 FROM deliveries l WHERE l.subscription_id = $1 AND l.group_id = h.group_id AND l.leased AND l.available_at > $3) AS leased,
         r.message_id, r.available_at
    FROM page h CROSS JOIN LATERAL (
      SELECT message_id, available_at FROM deliveries
       WHERE subscription_id = $1 AND group_id = h.group_id AND message_id >= h.message_id ORDER BY group_id, message_id LIMIT $4) r
   ORDER BY h.group_id, r.message_id`;

/**
 * FIFO: the groups from $2 on (`from` it), in group order, GROUP_PAGE
 * of them, each head found by one seek of deliveries_by_group; their runs at
 * $3 (now), at most $4 rows each. A page of groups is one round trip, however
 * many of them are busy.
 */
const namedGroups = (from: '>=' | '>'): string => `
  WITH RECURSIVE heads AS (
    (SELECT group_id, message_id, available_at FROM deliveries
      WHERE subscription_id = $1 AND group_id ${from} $2 ORDER BY group_id, message_id LIMIT 1)
    UNION ALL
    SELECT next.* FROM heads h CROSS JOIN LATERAL (
      SELECT group_id, message_id, available_at FROM deliveries
       WHERE subscription_id = $1 AND group_id > h.group_id ORDER BY group_id, message_id LIMIT 1) next
  ), page AS (SELECT * FROM heads LIMIT ${GROUP_PAGE})
  ${GROUP_RUNS}`;

const STATEMENTS = {
  // One statement leases the oldest ready rows; deliveries_by_availability
  // serves the pick as a range scan, whatever the backlog. SKIP LOCKED: two
  // claims at once lease disjoint rows, neither waiting for the other.
  claim: {
    name: 'claim-standard',
    text: lease(`ARRAY(SELECT message_id FROM deliveries WHERE subscription_id = $1 AND available_at <= $2
                        ORDER BY available_at, message_id LIMIT $4 FOR UPDATE SKIP LOCKED)`),
  },
  lease: { name: 'claim-lease', text: lease('$4::bigint[]') },
  // FIFO claims of one queue subscription take turns (until commit), so that
  // each sees the leases the one before made: one batch of a group in flight.
  // An advisory lock rather than the subscriptions row, which produces and
  // acks lock (the deliveries triggers) after the partition's: they would wait
  // for every FIFO claim, and a claim that dead-letters takes the partition's
  // lock, which would invert their order. The id is folded into the lock's
  // 32-bit key: subscriptions that share a key only take turns too.
  fifoTurn: { name: 'claim-fifoTurn', text: 'SELECT pg_advisory_xact_lock($1::int, ($2::bigint % 2147483648)::int)' },
  oldestReady: {
    name: 'claim-oldestReady',
    text: `SELECT group_id FROM deliveries WHERE subscription_id = $1 AND available_at <= $2
            ORDER BY available_at, message_id LIMIT 1`,
  },
  groupsFrom: { name: 'claim-groupsFrom', text: namedGroups('>=') },
  groupsAfter: { name: 'claim-groupsAfter', text: namedGroups('>') },
};

interface GroupRow {
  /** Never NULL in a FIFO queue: NO_GROUP for the messages without one (deliveryGroup). */
  group_id: string;
  head_id: number;
  head_available_at: number;
  leased: boolean;
  message_id: number;
  available_at: number;
}

/** A message group as a FIFO claim sees it: its head, whether it is leased, and its rows from the head on. */
interface Group {
  group: string;
  headAvailableAt: number;
  leased: boolean;
  run: Array<{ id: number; availableAt: number }>;
}

interface LeaseParams {
  subscription: number;
  now: number;
  leaseUntil: number;
}

/** Rows of a page, one per row of a run, as their groups. */
function toGroups(rows: GroupRow[]): Group[] {
  const groups: Group[] = [];
  let last: { headId: number; group: Group } | null = null;
  for (const row of rows) {
    if (last === null || last.headId !== row.head_id) {
      last = { headId: row.head_id, group: { group: row.group_id, headAvailableAt: row.head_available_at, leased: row.leased, run: [] } };
      groups.push(last.group);
    }
    last.group.run.push({ id: row.message_id, availableAt: row.available_at });
  }
  return groups;
}

/**
 * Every group with unsettled rows, each once, in group order from `start`
 * and round again (the rows without a group are one group, NO_GROUP, first
 * in that order). `wanted` is how many rows a run may still give, read as
 * each page is.
 */
async function* fifoGroups(tx: Queryable, params: LeaseParams, start: string, wanted: () => number): AsyncGenerator<Group> {
  const { subscription, now } = params;
  const groups = async (statement: { name: string; text: string }, values: unknown[]): Promise<Group[]> =>
    toGroups((await tx.query<GroupRow>({ ...statement, values })).rows);
  // The groups from `first` on, up to (not including) the group `end`.
  async function* named(first: string, end: string | null): AsyncGenerator<Group> {
    let page = await groups(STATEMENTS.groupsFrom, [subscription, first, now, wanted()]);
    for (;;) {
      for (const group of page) {
        if (group.group === end) return;
        yield group;
      }
      if (page.length < GROUP_PAGE) return;
      page = await groups(STATEMENTS.groupsAfter, [subscription, page[page.length - 1].group, now, wanted()]);
    }
  }
  yield* named(start, null);
  // NO_GROUP is before every other group: from the first.
  yield* named(NO_GROUP, start);
}

/** FIFO: the ready runs at the heads of the groups that may go, up to `max` rows in all; their ids. */
async function pickFifo(tx: Queryable, rules: StoreRules, params: LeaseParams, max: number): Promise<number[]> {
  const { subscription, now } = params;
  await tx.query({ ...STATEMENTS.fifoTurn, values: [FIFO_CLAIMS, subscription] });
  const { rows } = await tx.query<{ group_id: string }>({ ...STATEMENTS.oldestReady, values: [subscription, now] });
  if (rows.length === 0) return [];
  const ids: number[] = [];
  for await (const group of fifoGroups(tx, params, rows[0].group_id, () => max - ids.length)) {
    if (rules.fifoGroupMayGo({ availableAt: group.headAvailableAt, leased: () => group.leased }, now)) {
      for (const row of group.run) {
        if (row.availableAt > now || ids.length >= max) break;
        ids.push(row.id);
      }
    }
    if (ids.length >= max) break;
  }
  return ids;
}

async function claimRows(tx: Queryable, rules: StoreRules, row: QueueRow, params: LeaseParams, max: number): Promise<ClaimedRow[]> {
  const { subscription, now, leaseUntil } = params;
  if (row.ordering === 'standard') return (await tx.query<ClaimedRow>({ ...STATEMENTS.claim, values: [subscription, now, leaseUntil, max] })).rows;
  const ids = await pickFifo(tx, rules, params, max);
  return ids.length === 0 ? [] : (await tx.query<ClaimedRow>({ ...STATEMENTS.lease, values: [subscription, now, leaseUntil, ids] })).rows;
}

/**
 * operation: claim — leases up to `max` ready messages. A message coming up
 * for delivery number maxDeliveries + 1 is dead-lettered instead, and the
 * claim goes on until it has `max` leases or nothing is ready. Under a
 * receive attempt id seen before, the leases that claim gave instead
 * (receiveAttempts.ts).
 */
export async function claim(tx: Queryable, context: WriteContext, rules: StoreRules, from: SubscriptionRef, options: ClaimOptions): Promise<ClaimResult> {
  const row = await loadSubscription(tx, from);
  const leases: Lease[] = [];
  const params = { subscription: row.subscriptionId, now: options.now, leaseUntil: leaseEnd(row, options) };
  const repeated = options.attempt === undefined ? null : await repeatAttempt(tx, row.subscriptionId, options.attempt, params);
  if (repeated !== null) return { subscriptionId: String(row.subscriptionId), ...repeated };
  for (;;) {
    const wanted = options.max - leases.length;
    if (wanted <= 0) break;
    const claimed = await claimRows(tx, rules, row, params, wanted);
    if (claimed.length === 0) break;
    const before = leases.length;
    for (const leased of claimed) {
      if (leased.id === null) throw new Error(`claim: delivery ${row.subscriptionId}.${leased.message_id} has no message`);
      const message = toStoredMessage(leased);
      if (rules.deadLetters(leased.delivery_count, row.maxDeliveries)) {
        await deadLetter(tx, context, row, message, leased.delivery_count - 1, options.now);
      } else {
        leases.push({ message, deliveryCount: leased.delivery_count, firstDeliveredAt: leased.first_leased_at });
      }
    }
    // A pass that dead-lettered nothing took all that was ready (or all that was wanted): another would find nothing.
    if (leases.length - before === claimed.length) break;
  }
  if (options.attempt !== undefined && leases.length > 0) await recordAttempt(tx, row.subscriptionId, options.attempt, params, leases);
  return { subscriptionId: String(row.subscriptionId), leases };
}
