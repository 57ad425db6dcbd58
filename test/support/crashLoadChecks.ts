import type { ChildGateway } from './childGateway';
import { GatewayClient, problemCode } from './crashLoadHttp';
import type { GroupLedger, Ledger } from './crashLoadLedger';
import { rngFor } from './crashLoadRandom';
import type { StoreSnapshot } from './crashLoadStore';
import {
  MEMBER_GROUP,
  MEMBER_SESSION_TIMEOUT_MS,
  PARTITIONS,
  QUEUES,
  SIMPLE_GROUP,
  TOPIC,
  type WorkerContext,
  leaseMessages,
  sendProduce,
  settleLeases,
} from './crashLoadWorkers';

/** (4) The store is consistent as the crash left it, by the backend's own checks. */
function checkIntegrity(ledger: Ledger, store: StoreSnapshot, when: string): void {
  for (const problem of store.problems) ledger.violation(`${when}: ${problem}`);
}

/**
 * (1) and (2) for the queues: every 2xx-produced message is still stored, or
 * an ack of it returned `acked` (or got no answer, and so may have taken
 * effect); a message whose ack returned `acked` is not stored; and nothing is
 * stored that was never produced.
 */
function checkQueues(ledger: Ledger, store: StoreSnapshot, when: string): void {
  const { queue } = ledger;
  const stored = new Set<string>();
  for (const [id, value] of store.queues) {
    stored.add(value);
    if (!queue.attempted.has(value)) ledger.violation(`${when}: a queue holds '${value}', which was never produced`);
    ledger.queueId(value, id, when);
    const acked = queue.acked.get(value);
    if (acked !== undefined) {
      ledger.violation(`${when}: '${value}' is still stored, but its ack (delivery ${acked.deliveryCount}) returned acked`);
    }
  }
  for (const value of queue.produced) {
    if (!stored.has(value) && !queue.acked.has(value) && !queue.ackInDoubt.has(value)) {
      ledger.violation(`${when}: '${value}' was produced (2xx) and never acked, but is gone`);
    }
  }
}

/**
 * (1) for the topic: every 2xx-produced message is at the partition and
 * offset its produce answered; no slot holds a value it did not hold before;
 * and no value is stored twice, although produces cut off by the kill were
 * sent again (with their Idempotency-Key).
 */
function checkTopic(ledger: Ledger, store: StoreSnapshot, when: string): void {
  const copies = new Map<string, number>();
  for (const [slot, value] of store.topic) {
    const [partition, offset] = slot.split(':').map(Number);
    if (!ledger.topic.attempted.has(value)) ledger.violation(`${when}: topic holds '${value}', which was never produced`);
    ledger.topicSlot(partition, offset, value, when);
    copies.set(value, (copies.get(value) ?? 0) + 1);
  }
  for (const [value, count] of copies) if (count > 1) ledger.violation(`${when}: '${value}' is stored ${count} times in the topic`);
  for (const [value, { partition, offset }] of ledger.topic.produced) {
    const found = store.topic.get(`${partition}:${offset}`);
    if (found !== value) {
      ledger.violation(`${when}: '${value}' was produced (2xx) at ${partition}:${offset}, which holds ${found ?? 'nothing'}`);
    }
  }
}

/** Every check of the files a crash (or the final shutdown) left. */
export function checkStore(ledger: Ledger, store: StoreSnapshot, when: string): void {
  checkIntegrity(ledger, store, when);
  checkQueues(ledger, store, when);
  checkTopic(ledger, store, when);
}

interface Described {
  generation: number;
  partitions: Array<{ partition: number; committed: number | null }>;
}

/** (3) After a restart, each committed offset is at least the highest one answered before the crash. */
function checkDescribed(ledger: Ledger, group: GroupLedger, described: Described, when: string): void {
  if (described.generation < group.maxGeneration) {
    ledger.violation(`${when}: group ${group.name} is in generation ${described.generation}, below ${group.maxGeneration} answered before`);
  }
  group.maxGeneration = Math.max(group.maxGeneration, described.generation);
  for (const { partition, committed } of described.partitions) {
    const floor = group.floor.get(partition);
    if (floor !== undefined && (committed === null || committed < floor)) {
      ledger.violation(
        `${when}: group ${group.name} partition ${partition} committed ${String(committed)}, below ${floor} committed before`,
      );
    }
    if (committed !== null) group.floor.set(partition, Math.max(floor ?? 0, committed));
  }
}

export async function checkGroups(client: GatewayClient, ledger: Ledger, when: string): Promise<void> {
  for (const group of ledger.groups) {
    const outcome = await client.send('GET', `/v1/topics/${TOPIC}/groups/${group.name}`);
    if (!outcome.answered || outcome.status !== 200) {
      const why = outcome.answered ? `${outcome.status} ${problemCode(outcome.body)}` : outcome.error;
      ledger.violation(`${when}: describe of group ${group.name} failed: ${why}`);
      continue;
    }
    checkDescribed(ledger, group, outcome.body as Described, when);
  }
}

interface QueueView {
  stats: { ready: number; inFlight: number; delayed: number };
}

async function queueBacklog(client: GatewayClient, queue: string): Promise<number | null> {
  const outcome = await client.send('GET', `/v1/queues/${queue}`);
  if (!outcome.answered || outcome.status !== 200) return null;
  const { stats } = outcome.body as QueueView;
  return stats.ready + stats.inFlight + stats.delayed;
}

const DRAIN_WAIT_MS = 5000;
/** Leases cut off by the last kill run out within 1.5 s: three long-polls in a row with nothing is a stuck message. */
const DRAIN_IDLE_FETCHES = 3;

/** Leases a batch for a minute and acks it; returns how many messages came. */
async function drainOnce(ctx: WorkerContext, queue: string): Promise<number | null> {
  const leases = await leaseMessages(ctx, queue, { max: 1000, waitMs: DRAIN_WAIT_MS, visibilityTimeoutMs: 60_000 });
  if (leases === null) {
    ctx.ledger.violation(`drain: a fetch from ${queue} got no answer, or a wrong one`);
    return null;
  }
  if (leases.leased.length > 0) await settleLeases(ctx, leases, 'ack');
  return leases.leased.length;
}

/**
 * At the end: fetch and ack everything left, leases cut off by the last crash
 * included (the long-poll returns when they run out), until the queue is
 * empty. Every message that was ever promised then has an ack that returned
 * `acked`, or one that got no answer and took effect.
 */
export async function drainQueue(ctx: WorkerContext, queue: string, maxFetches: number): Promise<void> {
  let idle = 0;
  for (let i = 0; i < maxFetches && idle < DRAIN_IDLE_FETCHES; i += 1) {
    const backlog = await queueBacklog(ctx.client, queue);
    if (backlog === 0) return;
    const drained = await drainOnce(ctx, queue);
    if (drained === null) return;
    idle = drained === 0 ? idle + 1 : 0;
  }
  ctx.ledger.violation(`drain: ${queue} still has ${String(await queueBacklog(ctx.client, queue))} messages no fetch returns`);
}

// ---------------------------------------------------------------- rounds

/** A context for requests the harness makes itself, outside the workers. */
export function harnessContext(client: GatewayClient, ledger: Ledger, seed: number, round: number): WorkerContext {
  return { client, ledger, rng: rngFor(seed, round, 100), round, worker: 100, stopping: () => false };
}

type Put = [path: string, body: Record<string, unknown>];

/** Creates the run's queues, topic and groups on a fresh store: each must be answered 201. */
export async function setUp(client: GatewayClient, ledger: Ledger): Promise<void> {
  const puts: Put[] = [
    ...QUEUES.map((queue): Put => [`/v1/queues/${queue}`, { visibilityTimeoutMs: 1000 }]),
    [`/v1/topics/${TOPIC}`, { partitions: PARTITIONS }],
    [`/v1/topics/${TOPIC}/groups/${SIMPLE_GROUP}`, { resetPolicy: 'earliest' }],
    [`/v1/topics/${TOPIC}/groups/${MEMBER_GROUP}`, { resetPolicy: 'earliest', sessionTimeoutMs: MEMBER_SESSION_TIMEOUT_MS }],
  ];
  for (const [path, body] of puts) {
    const outcome = await client.send('PUT', path, body);
    const answer = outcome.answered ? outcome.status : outcome.error;
    if (answer !== 201) ledger.violation(`set-up: PUT ${path} answered ${answer}, expected 201`);
  }
}

/** Produces a crash cut off are sent again with their Idempotency-Key: each must now be answered 201. */
async function retryPending(ctx: WorkerContext): Promise<void> {
  for (const kind of ['queue', 'topic'] as const) {
    for (const request of ctx.ledger[kind].pending.splice(0)) await sendProduce(ctx, kind, request, true);
  }
}

/** What a gateway must show after a crash, before any new load: groups not behind, cut-off produces resolved. */
export async function afterRestart(client: GatewayClient, ledger: Ledger, seed: number, round: number): Promise<void> {
  await checkGroups(client, ledger, `restart before round ${round}`);
  await retryPending(harnessContext(client, ledger, seed, round));
}

/** How a gateway process ended: its exit code, or the signal that ended it. */
export type Ending = number | NodeJS.Signals;

/** The gateway must end only by our signal. */
export function checkEnded(ledger: Ledger, how: Ending, expected: Ending, when: string): void {
  if (how !== expected) ledger.violation(`${when}: the gateway ended with ${how}, expected ${expected}`);
}

/** No request may fail while the gateway is up: it answers every request it accepted. */
export function checkAnswered(ledger: Ledger, client: GatewayClient, when: string): void {
  for (const failure of client.failuresBeforeKill) ledger.violation(`${when}: request failed while the gateway was up: ${failure}`);
}

/**
 * A start rewinds every group's positions to its committed offsets (and a
 * join does too): whatever a fetch cut off by a crash had taken is read again,
 * so neither group commits anything no fetch answered with (at least once).
 */
function checkGroupsReadEverything(ledger: Ledger): void {
  for (const name of [SIMPLE_GROUP, MEMBER_GROUP]) {
    const unread = ledger.group(name).unreadBelowCommitted();
    if (unread.length > 0) {
      ledger.violation(`group ${name} committed past ${unread.length} messages no fetch answered with: ${unread.slice(0, 10).join(', ')}`);
    }
  }
}

/**
 * The last restart of a run: groups and cut-off produces checked, the queues
 * drained, a clean SIGTERM, then the store (`read` as the gateway left it)
 * checked again, the queues empty, and no group committed past what it read.
 */
export async function finalRound(
  gateway: ChildGateway,
  ledger: Ledger,
  seed: number,
  round: number,
  read: () => StoreSnapshot | Promise<StoreSnapshot>,
): Promise<void> {
  const client = new GatewayClient(gateway.url);
  await afterRestart(client, ledger, seed, round);
  for (const queue of QUEUES) await drainQueue(harnessContext(client, ledger, seed, round), queue, 500);
  client.markKilled();
  gateway.process.kill('SIGTERM');
  checkEnded(ledger, await gateway.exited, 0, 'final shutdown');
  checkAnswered(ledger, client, 'final shutdown');
  const store = await read();
  checkStore(ledger, store, 'after the final SIGTERM');
  if (store.queues.size > 0) ledger.violation(`after the drain the queues still hold ${store.queues.size} messages`);
  checkGroupsReadEverything(ledger);
}

/** Fails with every violation found so far, and how to replay the run. */
export function expectNoViolations(ledger: Ledger, seed: number, when: string): void {
  if (ledger.violations.length === 0) return;
  const shown = ledger.violations.slice(0, 25).map((v) => `  - ${v}`).join('\n');
  const more = ledger.violations.length > 25 ? `\n  … and ${ledger.violations.length - 25} more` : '';
  throw new Error(`crash harness (seed ${seed}, replay with CRASH_SEED=${seed}): ${when}:\n${shown}${more}`);
}

/** The least a run must do of each kind of work, per second of load. */
export interface WorkRates {
  produced: number;
  acked: number;
  nacked: number;
  staleSettles: number;
  simpleRead: number;
  simpleCommits: number;
  memberRead: number;
  memberCommits: number;
}

/**
 * The work the rounds did under load, each kind counted from answers, so that
 * a run in which one kind silently stopped (every fetch empty, every commit
 * refused, no lease outlived) fails however clean its store is. Prints what
 * was done; each kind that fell short of its rate is a violation.
 */
export function checkWorkDone(ledger: Ledger, rates: WorkRates): void {
  const seconds = ledger.loadMs / 1000;
  const simple = ledger.group(SIMPLE_GROUP);
  const members = ledger.group(MEMBER_GROUP);
  const work = [
    { what: 'messages produced', count: ledger.producedMessages, leastPerSecond: rates.produced },
    { what: 'receipts acked', count: ledger.acks, leastPerSecond: rates.acked },
    { what: 'receipts nacked', count: ledger.nacks, leastPerSecond: rates.nacked },
    { what: 'stale receipts answered expired over a live lease', count: ledger.staleSettles, leastPerSecond: rates.staleSettles },
    { what: `messages read by ${SIMPLE_GROUP}`, count: simple.fetched, leastPerSecond: rates.simpleRead },
    { what: `commits by ${SIMPLE_GROUP}`, count: simple.commits, leastPerSecond: rates.simpleCommits },
    { what: `messages read by ${MEMBER_GROUP}`, count: members.fetched, leastPerSecond: rates.memberRead },
    { what: `commits by ${MEMBER_GROUP}`, count: members.commits, leastPerSecond: rates.memberCommits },
  ];
  const counts = work.map(({ what, count }) => `${count} ${what}`).join(', ');
  process.stdout.write(`crash harness: work in ${seconds} s of load: ${counts}\n`);
  for (const { what, count, leastPerSecond } of work) {
    const least = Math.floor(leastPerSecond * seconds);
    if (count < least) ledger.violation(`only ${count} ${what} in ${seconds} s of load; a run does at least ${least}`);
  }
}
