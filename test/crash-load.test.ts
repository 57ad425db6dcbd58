import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { type ChildGateway, killChildGateways, startChildGateway } from './support/childGateway';
import { checkGroups, checkStore, drainQueue } from './support/crashLoadChecks';
import { GatewayClient } from './support/crashLoadHttp';
import { Ledger } from './support/crashLoadLedger';
import { rngFor, roundsFromEnv, seedFromEnv } from './support/crashLoadRandom';
import { readStore } from './support/crashLoadStore';
import {
  MEMBER_GROUP,
  MEMBER_SESSION_TIMEOUT_MS,
  PARTITIONS,
  QUEUES,
  SIMPLE_GROUP,
  TOPIC,
  type WorkerContext,
  runLoad,
  sendProduce,
} from './support/crashLoadWorkers';
import { tempDir } from './support/testGateway';

// Crash safety under load: rounds of concurrent produce, fetch/ack, settles
// of leases that ran out, and group fetch/commit against the compiled
// gateway, each ended by a SIGKILL while requests are in flight; after each
// kill the files are checked against every answer the gateway gave.
// `CRASH_ROUNDS=200 npx jest test/crash-load.test.ts` runs longer;
// `CRASH_SEED=<seed>` replays a run's choices (load length, kill moment,
// batch sizes, durability mode), though not its exact interleaving.
const ROUNDS = roundsFromEnv(process.env, 20);
const SEED = seedFromEnv(process.env);
const LOAD_MS = { min: 200, max: 1200 };

const dataDir = tempDir('mqgate-crash-load-');

afterEach(killChildGateways);
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** A context for requests the harness makes itself, outside the workers. */
function harnessContext(client: GatewayClient, ledger: Ledger, round: number): WorkerContext {
  return { client, ledger, rng: rngFor(SEED, round, 100), round, worker: 100, stopping: () => false };
}

type Put = [path: string, body: Record<string, unknown>];

async function setUp(client: GatewayClient): Promise<void> {
  const puts: Put[] = [
    ...QUEUES.map((queue): Put => [`/v1/queues/${queue}`, { visibilityTimeoutMs: 1000 }]),
    [`/v1/topics/${TOPIC}`, { partitions: PARTITIONS }],
    [`/v1/topics/${TOPIC}/groups/${SIMPLE_GROUP}`, { resetPolicy: 'earliest' }],
    [`/v1/topics/${TOPIC}/groups/${MEMBER_GROUP}`, { resetPolicy: 'earliest', sessionTimeoutMs: MEMBER_SESSION_TIMEOUT_MS }],
  ];
  const created: Array<number | string> = [];
  for (const [path, body] of puts) {
    const outcome = await client.send('PUT', path, body);
    created.push(outcome.answered ? outcome.status : outcome.error);
  }
  expect(created).toEqual(puts.map(() => 201));
}

/** Produces the kill cut off are sent again with their Idempotency-Key: each must now be answered 201. */
async function retryPending(ctx: WorkerContext): Promise<void> {
  for (const kind of ['queue', 'topic'] as const) {
    for (const request of ctx.ledger[kind].pending.splice(0)) await sendProduce(ctx, kind, request, true);
  }
}

/** What a restarted gateway must show before any new load: groups not behind, cut-off produces resolved. */
async function afterRestart(client: GatewayClient, ledger: Ledger, round: number): Promise<void> {
  await checkGroups(client, ledger, `restart before round ${round}`);
  await retryPending(harnessContext(client, ledger, round));
}

type Ending = number | NodeJS.Signals;

/** The gateway must end only by our signal, and no request may fail while it is up. */
function checkProcess(ledger: Ledger, client: GatewayClient, how: Ending, expected: Ending, when: string): void {
  if (how !== expected) ledger.violation(`${when}: the gateway ended with ${how}, expected ${expected}`);
  for (const failure of client.failuresBeforeKill) ledger.violation(`${when}: request failed while the gateway was up: ${failure}`);
}

/** Load for a random while, then SIGKILL at once, with requests in flight. */
async function loadAndKill(gateway: ChildGateway, client: GatewayClient, ledger: Ledger, round: number, loadMs: number): Promise<void> {
  let stopping = false;
  const load = runLoad(client, ledger, SEED, round, () => stopping);
  // Timing chooses only the kill moment; what is checked afterwards depends on answers, never on time.
  await delay(loadMs);
  await client.whenBusy();
  ledger.inFlightAtKills += client.inFlight;
  ledger.loadMs += loadMs;
  stopping = true;
  client.markKilled();
  gateway.process.kill('SIGKILL');
  const how = await gateway.exited;
  await load;
  checkProcess(ledger, client, how, 'SIGKILL', `round ${round}`);
}

async function crashRound(ledger: Ledger, round: number): Promise<void> {
  const rng = rngFor(SEED, round, 0);
  // Both modes promise that a 2xx survives a process crash (NORMAL defers only the fsync).
  const synchronous = rng.chance(0.5) ? 'FULL' : 'NORMAL';
  const loadMs = rng.int(LOAD_MS.min, LOAD_MS.max);
  const gateway = await startChildGateway(dataDir, ['--synchronous', synchronous]);
  const client = new GatewayClient(gateway.url);
  if (round === 0) await setUp(client);
  else await afterRestart(client, ledger, round);
  await loadAndKill(gateway, client, ledger, round, loadMs);
  checkStore(ledger, readStore(dataDir, QUEUES, TOPIC), `after the kill of round ${round} (${synchronous}, ${loadMs} ms)`);
}

/** One more restart: groups and cut-off produces checked, the queues drained, a clean SIGTERM, the files checked again. */
async function finalRound(ledger: Ledger): Promise<void> {
  const gateway = await startChildGateway(dataDir);
  const client = new GatewayClient(gateway.url);
  await afterRestart(client, ledger, ROUNDS);
  for (const queue of QUEUES) await drainQueue(harnessContext(client, ledger, ROUNDS), queue, 500);
  client.markKilled();
  gateway.process.kill('SIGTERM');
  checkProcess(ledger, client, await gateway.exited, 0, 'final shutdown');
  const store = readStore(dataDir, QUEUES, TOPIC);
  checkStore(ledger, store, 'after the final SIGTERM');
  if (store.queues.size > 0) ledger.violation(`after the drain the queues still hold ${store.queues.size} messages`);
  checkGroupsReadEverything(ledger);
}

/**
 * A start rewinds every group's positions to its committed offsets (and a
 * join does too): whatever a fetch cut off by a kill had taken is read again,
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

/** Fails with every violation found so far, and how to replay the run. */
function expectNoViolations(ledger: Ledger, when: string): void {
  if (ledger.violations.length === 0) return;
  const shown = ledger.violations.slice(0, 25).map((v) => `  - ${v}`).join('\n');
  const more = ledger.violations.length > 25 ? `\n  … and ${ledger.violations.length - 25} more` : '';
  throw new Error(`crash harness (seed ${SEED}, replay with CRASH_SEED=${SEED}): ${when}:\n${shown}${more}`);
}

/** One kind of work a run must do, counted from the gateway's answers. */
interface Work {
  what: string;
  count: number;
  /** The least a run must do of it, per second of load. */
  leastPerSecond: number;
}

/**
 * The work the rounds did under load, each kind counted from answers, so that
 * a run in which one kind silently stopped (every fetch empty, every commit
 * refused, no lease outlived) fails however clean its files are. Each least
 * is about a fifth of the lowest rate seen in 20-round runs on 2 cores busy
 * with other work (per second of load: 1480 produced, 280 acked, 35 nacked,
 * 37 stale, 600 and 640 read, 15 and 31 commits): a slow run passes, a
 * stopped kind does not.
 */
function workUnderLoad(ledger: Ledger): Work[] {
  const simple = ledger.group(SIMPLE_GROUP);
  const members = ledger.group(MEMBER_GROUP);
  return [
    { what: 'messages produced', count: ledger.producedMessages, leastPerSecond: 300 },
    { what: 'receipts acked', count: ledger.acks, leastPerSecond: 55 },
    { what: 'receipts nacked', count: ledger.nacks, leastPerSecond: 7 },
    { what: 'stale receipts answered expired over a live lease', count: ledger.staleSettles, leastPerSecond: 7 },
    { what: `messages read by ${SIMPLE_GROUP}`, count: simple.fetched, leastPerSecond: 120 },
    { what: `commits by ${SIMPLE_GROUP}`, count: simple.commits, leastPerSecond: 3 },
    { what: `messages read by ${MEMBER_GROUP}`, count: members.fetched, leastPerSecond: 125 },
    { what: `commits by ${MEMBER_GROUP}`, count: members.commits, leastPerSecond: 6 },
  ];
}

/** Prints the work done under load, and finds each kind that fell short. */
function checkWorkDone(ledger: Ledger): void {
  const seconds = ledger.loadMs / 1000;
  const work = workUnderLoad(ledger);
  const counts = work.map(({ what, count }) => `${count} ${what}`).join(', ');
  process.stdout.write(`crash harness: work in ${seconds} s of load: ${counts}\n`);
  for (const { what, count, leastPerSecond } of work) {
    const least = Math.floor(leastPerSecond * seconds);
    if (count < least) ledger.violation(`only ${count} ${what} in ${seconds} s of load; a run does at least ${least}`);
  }
}

function summary(ledger: Ledger): string {
  const { queue, topic } = ledger;
  return (
    `crash harness: ${ROUNDS} rounds, seed ${SEED} (queue ${queue.produced.size} + topic ${topic.produced.size} messages, ` +
    `${queue.deliveries} deliveries, ${ledger.inFlightAtKills} requests in flight at the kills)`
  );
}

test(
  `crash safety under load: ${ROUNDS} SIGKILLs with requests in flight lose nothing acknowledged`,
  async () => {
    process.stdout.write(`crash harness: seed ${SEED} (replay with CRASH_SEED=${SEED}), ${ROUNDS} rounds\n`);
    const ledger = new Ledger([SIMPLE_GROUP, MEMBER_GROUP]);
    for (let round = 0; round < ROUNDS; round += 1) {
      await crashRound(ledger, round);
      expectNoViolations(ledger, `round ${round}`);
    }
    // Before the final drain, whose acks would hide a load that acked nothing.
    checkWorkDone(ledger);
    expectNoViolations(ledger, 'work under load');
    await finalRound(ledger);
    expectNoViolations(ledger, 'final round');
    process.stdout.write(`${summary(ledger)}\n`);
  },
  // About 1.5 s a round at first, more as the topic grows (the checks read it all): room to spare, and a bound.
  10_000 + ROUNDS * 4_000,
);
