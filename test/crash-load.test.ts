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
  QUEUE,
  SIMPLE_GROUP,
  TOPIC,
  type WorkerContext,
  runLoad,
  sendProduce,
} from './support/crashLoadWorkers';
import { tempDir } from './support/testGateway';

// Crash safety under load: rounds of concurrent produce, fetch/ack and group
// fetch/commit against the compiled gateway, each ended by a SIGKILL while
// requests are in flight; after each kill the files are checked against every
// answer the gateway gave. `CRASH_ROUNDS=200 npx jest test/crash-load.test.ts`
// runs longer; `CRASH_SEED=<seed>` replays a run's choices (load length, kill
// moment, batch sizes, durability mode), though not its exact interleaving.
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

async function setUp(client: GatewayClient): Promise<void> {
  const created = [
    await client.send('PUT', `/v1/queues/${QUEUE}`, { visibilityTimeoutMs: 1000 }),
    await client.send('PUT', `/v1/topics/${TOPIC}`, { partitions: PARTITIONS }),
    await client.send('PUT', `/v1/topics/${TOPIC}/groups/${SIMPLE_GROUP}`, { resetPolicy: 'earliest' }),
    await client.send('PUT', `/v1/topics/${TOPIC}/groups/${MEMBER_GROUP}`, {
      resetPolicy: 'earliest',
      sessionTimeoutMs: MEMBER_SESSION_TIMEOUT_MS,
    }),
  ];
  expect(created.map((outcome) => (outcome.answered ? outcome.status : outcome.error))).toEqual([201, 201, 201, 201]);
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
  checkStore(ledger, readStore(dataDir, QUEUE, TOPIC), `after the kill of round ${round} (${synchronous}, ${loadMs} ms)`);
}

/** One more restart: groups and cut-off produces checked, the queue drained, a clean SIGTERM, the files checked again. */
async function finalRound(ledger: Ledger): Promise<void> {
  const gateway = await startChildGateway(dataDir);
  const client = new GatewayClient(gateway.url);
  await afterRestart(client, ledger, ROUNDS);
  await drainQueue(harnessContext(client, ledger, ROUNDS), 500);
  client.markKilled();
  gateway.process.kill('SIGTERM');
  checkProcess(ledger, client, await gateway.exited, 0, 'final shutdown');
  const store = readStore(dataDir, QUEUE, TOPIC);
  checkStore(ledger, store, 'after the final SIGTERM');
  if (store.queue.size > 0) ledger.violation(`after the drain the queue still holds ${store.queue.size} messages`);
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

function summary(ledger: Ledger): string {
  const { queue, topic } = ledger;
  return (
    `crash harness: ${ROUNDS} rounds, ${ledger.producedMessages} produces acknowledged, ${ledger.acks} acks, ` +
    `${ledger.commits} commits, seed ${SEED} (queue ${queue.produced.size} + topic ${topic.produced.size} messages, ` +
    `${queue.deliveries} deliveries, ${ledger.groups.map((g) => `${g.fetched} read by ${g.name}`).join(', ')}, ` +
    `${ledger.inFlightAtKills} requests in flight at the kills)`
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
    await finalRound(ledger);
    expectNoViolations(ledger, 'final round');
    process.stdout.write(`${summary(ledger)}\n`);
  },
  // About 1.5 s a round at first, more as the topic grows (the checks read it all): room to spare, and a bound.
  10_000 + ROUNDS * 4_000,
);
