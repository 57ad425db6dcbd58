import { setTimeout as delay } from 'node:timers/promises';
import type { GatewayClient, Outcome } from './crashLoadHttp';
import { problemCode } from './crashLoadHttp';
import type { GroupLedger, LeasedMessage, Ledger, LogMessage, PendingProduce, ProduceResult } from './crashLoadLedger';
import { type Rng, rngFor } from './crashLoadRandom';

export const QUEUE = 'work';
/**
 * One queue for each worker that outlives its leases, used by it alone. On
 * QUEUE the messages of a lease that ran out go behind the backlog (a fetch
 * leases the oldest available first), so they are leased again long after
 * the old receipt was settled, which then never meets a live lease. Here they
 * are the only ready messages, and the worker's next fetch leases them again.
 */
export const HELD_QUEUES = ['held-0', 'held-1'];
/** Every queue of the run, to create, check and drain. */
export const QUEUES = [QUEUE, ...HELD_QUEUES];
export const TOPIC = 'events';
export const PARTITIONS = 4;
/** Read as a simple consumer (no members), committing with `{}`. */
export const SIMPLE_GROUP = 'simple';
/** Read by members that join each round; dead members of the last round time out after a second. */
export const MEMBER_GROUP = 'members';
export const MEMBER_SESSION_TIMEOUT_MS = 1000;

/** What one worker of one round works with. */
export interface WorkerContext {
  client: GatewayClient;
  ledger: Ledger;
  rng: Rng;
  round: number;
  worker: number;
  /** True once the round is over: start no new request. */
  stopping: () => boolean;
}

let sequence = 0;

/** A name no other request of the whole run has, for values and idempotency keys. */
function unique(ctx: WorkerContext, kind: string): string {
  sequence += 1;
  return `${kind}-${ctx.round}-${ctx.worker}-${sequence}`;
}

/** Anything but the expected status is a finding, with the problem code if there is one. */
function expectStatus(ctx: WorkerContext, outcome: Outcome & { answered: true }, expected: number, what: string): boolean {
  if (outcome.status === expected) return true;
  ctx.ledger.violation(`${what}: expected ${expected}, got ${outcome.status} ${problemCode(outcome.body) ?? JSON.stringify(outcome.body)}`);
  return false;
}

function asString(ctx: WorkerContext, value: unknown, where: string): string | null {
  if (typeof value === 'string') return value;
  ctx.ledger.violation(`${where}: a value came back as ${JSON.stringify(value)}, not the text that was produced`);
  return null;
}

// ---------------------------------------------------------------- produce

/**
 * Sends a produce (a first attempt, or a retry of one the kill cut off) and
 * records the answer. No answer: it goes on the pending list, to be sent again
 * with the same Idempotency-Key after the restart.
 */
export async function sendProduce(ctx: WorkerContext, kind: 'queue' | 'topic', request: PendingProduce, retry: boolean): Promise<void> {
  const outcome = await ctx.client.send('POST', request.path, request.body, { 'Idempotency-Key': request.idempotencyKey });
  if (!outcome.answered) {
    ctx.ledger[kind].pending.push(request);
    return;
  }
  if (!expectStatus(ctx, outcome, 201, `produce to ${kind} (key ${request.idempotencyKey})`)) return;
  const results = (outcome.body as { messages: ProduceResult[] }).messages;
  if (results.length !== request.values.length) {
    ctx.ledger.violation(`produce ${request.idempotencyKey}: ${request.values.length} messages sent, ${results.length} results`);
    return;
  }
  checkDuplicates(ctx, request, results, retry);
  ctx.ledger.producedMessages += results.length;
  if (kind === 'queue') recordQueueProduce(ctx, request, results);
  else recordTopicProduce(ctx, request, results);
}

/** A first attempt has fresh keys, so nothing is a duplicate; a retry's batch was stored whole or not at all. */
function checkDuplicates(ctx: WorkerContext, request: PendingProduce, results: ProduceResult[], retry: boolean): void {
  const duplicates = results.filter((r) => r.duplicate).length;
  if (!retry && duplicates > 0) ctx.ledger.violation(`produce ${request.idempotencyKey}: fresh keys answered as duplicates`);
  if (retry && duplicates !== 0 && duplicates !== results.length) {
    ctx.ledger.violation(
      `retried produce ${request.idempotencyKey}: ${duplicates} of ${results.length} duplicates; a batch is all or nothing`,
    );
  }
}

function recordQueueProduce(ctx: WorkerContext, request: PendingProduce, results: ProduceResult[]): void {
  request.values.forEach((value, i) => {
    ctx.ledger.queue.produced.add(value);
    ctx.ledger.queueId(value, results[i].id, `produce ${request.idempotencyKey}`);
  });
}

function recordTopicProduce(ctx: WorkerContext, request: PendingProduce, results: ProduceResult[]): void {
  request.values.forEach((value, i) => {
    const { partition, offset } = results[i];
    const asked = request.body.messages[i].partition;
    if (asked !== undefined && asked !== partition) {
      ctx.ledger.violation(`produce ${request.idempotencyKey}: message ${i} asked for partition ${String(asked)}, went to ${partition}`);
    }
    ctx.ledger.topic.produced.set(value, { partition, offset });
    ctx.ledger.topicSlot(partition, offset, value, `produce ${request.idempotencyKey}`);
  });
}

/** A batch of text messages with values no other message has. */
async function produceQueueBatch(ctx: WorkerContext, queue: string, count: number): Promise<void> {
  const values = Array.from({ length: count }, () => unique(ctx, 'q'));
  for (const value of values) ctx.ledger.queue.attempted.add(value);
  const body = { messages: values.map((value) => ({ value, valueEncoding: 'text' })) };
  await sendProduce(ctx, 'queue', { path: `/v1/queues/${queue}/messages`, idempotencyKey: unique(ctx, 'qp'), body, values }, false);
}

/** 1–20 messages to the work queue. */
function produceToQueue(ctx: WorkerContext): Promise<void> {
  return produceQueueBatch(ctx, QUEUE, ctx.rng.int(1, 20));
}

/** A batch spread by key (Kafka's partitioner) or sent to an explicit partition. */
async function produceToTopic(ctx: WorkerContext): Promise<void> {
  const values = Array.from({ length: ctx.rng.int(1, 20) }, () => unique(ctx, 't'));
  for (const value of values) ctx.ledger.topic.attempted.add(value);
  const messages = values.map((value) =>
    ctx.rng.chance(0.25)
      ? { value, valueEncoding: 'text', partition: ctx.rng.int(0, PARTITIONS - 1) }
      : { value, valueEncoding: 'text', key: `k${ctx.rng.int(0, 15)}` },
  );
  const request = { path: `/v1/topics/${TOPIC}/messages`, idempotencyKey: unique(ctx, 'tp'), body: { messages }, values };
  await sendProduce(ctx, 'topic', request, false);
}

// ---------------------------------------------------------------- queue consumers

/** A lease handed out: checked against every earlier lease and ack of its message. */
function recordDelivery(ctx: WorkerContext, from: string, message: LeasedMessage): string | null {
  const { queue } = ctx.ledger;
  const value = asString(ctx, message.value, `fetch from ${from}`);
  if (value === null) return null;
  if (!queue.attempted.has(value)) ctx.ledger.violation(`fetch from ${from} delivered '${value}', which was never produced`);
  ctx.ledger.queueId(value, message.id, `fetch from ${from}`);
  const lease = `${message.id}.${message.deliveryCount}`;
  if (queue.leases.has(lease)) ctx.ledger.violation(`'${value}' delivered twice as delivery ${message.deliveryCount}: two leases at once`);
  queue.leases.add(lease);
  // A later delivery than the acked one, or any delivery in a later round (the ack was rolled back), undoes the ack.
  const acked = queue.acked.get(value);
  if (acked !== undefined && (message.deliveryCount > acked.deliveryCount || ctx.round > acked.round)) {
    ctx.ledger.violation(
      `'${value}' delivered again (delivery ${message.deliveryCount}, round ${ctx.round}) ` +
        `after its delivery ${acked.deliveryCount} was acked in round ${acked.round}`,
    );
  }
  queue.maxDelivery.set(value, Math.max(queue.maxDelivery.get(value) ?? 0, message.deliveryCount));
  queue.deliveries += 1;
  return value;
}

/** Leased messages of one queue. */
export interface Leases {
  queue: string;
  leased: Array<{ value: string; message: LeasedMessage }>;
}

/** Fetches from a queue and records every delivery; null if the fetch got no answer, or a wrong one (a violation). */
export async function leaseMessages(
  ctx: WorkerContext,
  queue: string,
  request: { max: number; waitMs: number; visibilityTimeoutMs: number },
): Promise<Leases | null> {
  const outcome = await ctx.client.send('POST', `/v1/queues/${queue}/fetch`, request);
  if (!outcome.answered || !expectStatus(ctx, outcome, 200, `fetch from ${queue}`)) return null;
  const leased: Leases['leased'] = [];
  for (const message of (outcome.body as { messages: LeasedMessage[] }).messages) {
    const value = recordDelivery(ctx, queue, message);
    if (value !== null) leased.push({ value, message });
  }
  return { queue, leased };
}

/** An ack answered `acked`: that lease was the live one, and the message is gone for good. */
function recordAck(ctx: WorkerContext, value: string, deliveryCount: number): void {
  const { queue } = ctx.ledger;
  const earlier = queue.acked.get(value);
  if (earlier !== undefined) ctx.ledger.violation(`'${value}' acked twice (deliveries ${earlier.deliveryCount} and ${deliveryCount})`);
  const latest = queue.maxDelivery.get(value) ?? 0;
  if (latest > deliveryCount) {
    ctx.ledger.violation(`'${value}': ack of delivery ${deliveryCount} honoured after delivery ${latest} was handed out`);
  }
  queue.acked.set(value, { deliveryCount, round: ctx.round });
  ctx.ledger.acks += 1;
}

/**
 * Acks (or nacks) leased messages. Returns each receipt's status; none if
 * the answer was wrong (a violation), null if it was lost to the kill.
 */
async function sendSettle(ctx: WorkerContext, { queue, leased }: Leases, kind: 'ack' | 'nack'): Promise<string[] | null> {
  const receipts = leased.map((l) => l.message.receipt);
  const body = kind === 'ack' ? { receipts } : { receipts, delayMs: 0 };
  const outcome = await ctx.client.send('POST', `/v1/queues/${queue}/${kind}`, body);
  if (!outcome.answered) return null;
  if (!expectStatus(ctx, outcome, 200, `${kind} on ${queue}`)) return [];
  const results = (outcome.body as { results: Array<{ status: string }> }).results;
  if (results.length === leased.length) return results.map((r) => r.status);
  ctx.ledger.violation(`${kind} on ${queue}: ${leased.length} receipts, ${results.length} results`);
  return [];
}

/** Acks (or nacks) leases that may still be live; an unanswered ack leaves its messages in doubt. */
export async function settleLeases(ctx: WorkerContext, leases: Leases, kind: 'ack' | 'nack'): Promise<void> {
  const statuses = await sendSettle(ctx, leases, kind);
  const { leased } = leases;
  if (statuses === null) {
    if (kind === 'ack') for (const { value } of leased) ctx.ledger.queue.ackInDoubt.add(value);
    return;
  }
  statuses.forEach((status, i) => {
    if (status === 'acked' && kind === 'ack') recordAck(ctx, leased[i].value, leased[i].message.deliveryCount);
    else if (status === 'nacked' && kind === 'nack') ctx.ledger.nacks += 1;
    // A lease may run out before a slow settle arrives, and a message acked meanwhile is unknown.
    else if (status !== 'expired' && status !== 'unknown') ctx.ledger.violation(`${kind} of '${leased[i].value}' answered '${status}'`);
  });
}

/**
 * Acks (or nacks) leases that ran out before the request was sent, while
 * `relet` (the same messages leased again) is live. Each must be answered
 * `expired` and change nothing: an ack that deleted the live lease's message
 * leaves it gone with no `acked` answer (the live ack then finds it
 * `unknown`), which the store checks find. A lost answer leaves nothing in
 * doubt: a receipt whose lease is over can take no effect.
 */
async function settleStale(ctx: WorkerContext, stale: Leases, relet: Leases, kind: 'ack' | 'nack'): Promise<void> {
  const statuses = await sendSettle(ctx, stale, kind);
  if (statuses === null) return;
  const live = new Set(relet.leased.map((l) => l.value));
  statuses.forEach((status, i) => {
    const { value, message } = stale.leased[i];
    if (status !== 'expired') {
      ctx.ledger.violation(`${kind} of '${value}' (delivery ${message.deliveryCount}) sent after its lease ran out answered '${status}'`);
      return;
    }
    // Counted only when it met a live lease of a later delivery: that is what tests the fence.
    if (live.has(value)) ctx.ledger.staleSettles += 1;
  });
}

/** Leases a few messages for a short while, then mostly acks, sometimes nacks, sometimes lets the lease run out. */
async function consumeQueue(ctx: WorkerContext): Promise<void> {
  const leases = await leaseMessages(ctx, QUEUE, { max: ctx.rng.int(1, 20), waitMs: 100, visibilityTimeoutMs: ctx.rng.int(200, 1500) });
  if (leases === null || leases.leased.length === 0) return;
  const choice = ctx.rng.next();
  if (choice < 0.75) await settleLeases(ctx, leases, 'ack');
  else if (choice < 0.87) await settleLeases(ctx, leases, 'nack');
  // Otherwise the lease runs out and the messages come back: redelivery, also across restarts.
}

/** Short, so that a round outlives many leases. */
const HELD_LEASE_MS = { min: 50, max: 200 };
/**
 * Waited past a lease's end. The gateway started the lease before its
 * answer arrived here (on the same clock), and a timer may fire a
 * millisecond early: this much later the lease is over by the gateway's clock too.
 */
const PAST_LEASE_MS = 20;
/** Long enough that the relet leases are live when the stale receipts and then their own acks arrive. */
const RELET_LEASE_MS = 1000;

/**
 * A worker that outlives its leases, on a queue of its own: produces a few
 * messages, leases them briefly, waits past the lease, leases them again,
 * then settles the old receipts (each must be `expired`, and change nothing)
 * and acks the live leases.
 */
function holdPastLease(queue: string): (ctx: WorkerContext) => Promise<void> {
  return async (ctx) => {
    await produceQueueBatch(ctx, queue, ctx.rng.int(1, 10));
    const leaseMs = ctx.rng.int(HELD_LEASE_MS.min, HELD_LEASE_MS.max);
    const stale = await leaseMessages(ctx, queue, { max: 10, waitMs: 0, visibilityTimeoutMs: leaseMs });
    if (stale === null || stale.leased.length === 0) return;
    await delay(leaseMs + PAST_LEASE_MS);
    if (ctx.stopping()) return;
    const relet = await leaseMessages(ctx, queue, { max: 100, waitMs: 0, visibilityTimeoutMs: RELET_LEASE_MS });
    if (relet === null) return;
    // Mostly acks: a stale ack that took effect loses a message, which the store checks see.
    await settleStale(ctx, stale, relet, ctx.rng.chance(0.7) ? 'ack' : 'nack');
    if (relet.leased.length > 0) await settleLeases(ctx, relet, 'ack');
  };
}

// ---------------------------------------------------------------- consumer groups

interface GroupFetchBody {
  generation: number;
  messages: LogMessage[];
}

function seenGeneration(group: GroupLedger, generation: number): void {
  group.maxGeneration = Math.max(group.maxGeneration, generation);
}

/** A group read: every message is where its produce said, and each partition's run is contiguous and in order. */
function recordGroupRead(ctx: WorkerContext, group: GroupLedger, body: GroupFetchBody): void {
  seenGeneration(group, body.generation);
  const last = new Map<number, number>();
  for (const message of body.messages) {
    const value = asString(ctx, message.value, `fetch of group ${group.name}`);
    if (value === null) continue;
    if (!ctx.ledger.topic.attempted.has(value)) ctx.ledger.violation(`group ${group.name} read '${value}', which was never produced`);
    ctx.ledger.topicSlot(message.partition, message.offset, value, `fetch of group ${group.name}`);
    group.read.add(`${message.partition}:${message.offset}`);
    const previous = last.get(message.partition);
    if (previous !== undefined && message.offset !== previous + 1) {
      ctx.ledger.violation(
        `group ${group.name} read partition ${message.partition} out of order: offset ${message.offset} after ${previous}`,
      );
    }
    last.set(message.partition, message.offset);
  }
  group.fetched += body.messages.length;
}

interface CommitBody {
  generation: number;
  offsets: Array<{ partition: number; offset: number }>;
}

/**
 * A commit answered 200 must not be below any committed offset answered
 * before it was sent: commits without offsets commit the group's position,
 * which never falls behind the committed offset.
 */
function recordCommit(ctx: WorkerContext, group: GroupLedger, floorAtSend: Map<number, number>, body: CommitBody): void {
  seenGeneration(group, body.generation);
  for (const { partition, offset } of body.offsets) {
    const floor = floorAtSend.get(partition);
    if (floor !== undefined && offset < floor) {
      ctx.ledger.violation(`group ${group.name} partition ${partition}: commit answered ${offset}, below ${floor} committed before it`);
    }
    group.floor.set(partition, Math.max(group.floor.get(partition) ?? 0, offset));
  }
  group.commits += 1;
}

/** Commits what the fetcher's fetches delivered (no offsets given). Returns the problem code of a 409, else null. */
async function commit(ctx: WorkerContext, group: GroupLedger, body: Record<string, unknown>): Promise<string | null> {
  const floorAtSend = new Map(group.floor);
  const outcome = await ctx.client.send('POST', `/v1/topics/${TOPIC}/groups/${group.name}/commit`, body);
  if (!outcome.answered) return null;
  if (outcome.status === 409) return problemCode(outcome.body);
  if (expectStatus(ctx, outcome, 200, `commit of group ${group.name}`)) {
    recordCommit(ctx, group, floorAtSend, outcome.body as CommitBody);
  }
  return null;
}

/** A simple consumer of every partition: fetch, then commit with `{}`. */
async function consumeSimple(ctx: WorkerContext): Promise<void> {
  const group = ctx.ledger.group(SIMPLE_GROUP);
  const request = { max: ctx.rng.int(1, 100), waitMs: 100 };
  const outcome = await ctx.client.send('POST', `/v1/topics/${TOPIC}/groups/${SIMPLE_GROUP}/fetch`, request);
  if (!outcome.answered || !expectStatus(ctx, outcome, 200, `fetch of group ${SIMPLE_GROUP}`)) return;
  recordGroupRead(ctx, group, outcome.body as GroupFetchBody);
  if (ctx.stopping()) return;
  const conflict = await commit(ctx, group, {});
  if (conflict !== null) ctx.ledger.violation(`simple commit of group ${SIMPLE_GROUP} refused: ${conflict}`);
}

interface Member {
  memberId: string;
  generation: number;
}

/** Joins the member group; null if the answer was lost. */
async function join(ctx: WorkerContext, group: GroupLedger): Promise<Member | null> {
  const outcome = await ctx.client.send('POST', `/v1/topics/${TOPIC}/groups/${group.name}/members`);
  if (!outcome.answered || !expectStatus(ctx, outcome, 201, `join of group ${group.name}`)) return null;
  const member = outcome.body as Member;
  seenGeneration(group, member.generation);
  return member;
}

/**
 * A member's fetch and fenced commit. Rebalances (a member of the last round
 * timing out, another worker joining) make commits stale: then the next fetch
 * brings the new generation. Returns the member to go on with, or null to join again.
 */
async function memberStep(ctx: WorkerContext, group: GroupLedger, member: Member): Promise<Member | null> {
  const body = { memberId: member.memberId, max: ctx.rng.int(1, 100), waitMs: 100 };
  const outcome = await ctx.client.send('POST', `/v1/topics/${TOPIC}/groups/${group.name}/fetch`, body);
  if (!outcome.answered) return member;
  if (outcome.status === 409 && problemCode(outcome.body) === 'unknown_member') return null;
  if (!expectStatus(ctx, outcome, 200, `member fetch of group ${group.name}`)) return member;
  const fetched = outcome.body as GroupFetchBody;
  recordGroupRead(ctx, group, fetched);
  if (ctx.stopping()) return member;
  const current = { memberId: member.memberId, generation: fetched.generation };
  const conflict = await commit(ctx, group, current);
  if (conflict === 'unknown_member') return null;
  if (conflict !== null && conflict !== 'stale_generation') {
    ctx.ledger.violation(`member commit of group ${group.name} refused: ${conflict}`);
  }
  return current;
}

/**
 * One member per worker and round, joined afresh: a join starts a generation,
 * which rewinds every position to its committed offset, so what a fetch cut
 * off by the last kill had taken is read again.
 */
function memberLoop(): (ctx: WorkerContext) => Promise<void> {
  let member: Member | null = null;
  return async (ctx) => {
    const group = ctx.ledger.group(MEMBER_GROUP);
    member = member === null ? await join(ctx, group) : await memberStep(ctx, group, member);
  };
}

// ---------------------------------------------------------------- the load

type Step = (ctx: WorkerContext) => Promise<void>;

/**
 * The mix of workers of every round: two of each kind, but one simple
 * consumer. A simple group is one consumer (as Kafka's assign()): a second
 * one's bare commit would commit what the first one's fetch took before its
 * answer arrived, which is that client's mistake, not the gateway's.
 */
function steps(): Step[] {
  return [
    produceToQueue,
    produceToQueue,
    consumeQueue,
    consumeQueue,
    ...HELD_QUEUES.map(holdPastLease),
    produceToTopic,
    produceToTopic,
    consumeSimple,
    memberLoop(),
    memberLoop(),
  ];
}

/** Starts every worker; each loops until `stopping()`, and the promise settles when all have stopped. */
export function runLoad(client: GatewayClient, ledger: Ledger, seed: number, round: number, stopping: () => boolean): Promise<void> {
  const workers = steps().map(async (step, worker) => {
    const ctx: WorkerContext = { client, ledger, rng: rngFor(seed, round, worker + 1), round, worker, stopping };
    while (!stopping()) await step(ctx);
  });
  return Promise.all(workers).then(() => undefined);
}
