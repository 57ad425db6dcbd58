import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { type ChildGateway, killChildGateways, startChildGateway } from './support/childGateway';
import {
  afterRestart,
  checkAnswered,
  checkEnded,
  checkStore,
  checkWorkDone,
  expectNoViolations,
  finalRound,
  setUp,
  type WorkRates,
} from './support/crashLoadChecks';
import { GatewayClient } from './support/crashLoadHttp';
import { Ledger } from './support/crashLoadLedger';
import { rngFor, roundsFromEnv, seedFromEnv } from './support/crashLoadRandom';
import { readStore } from './support/crashLoadStore';
import { MEMBER_GROUP, QUEUES, SIMPLE_GROUP, TOPIC, runLoad } from './support/crashLoadWorkers';
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

/**
 * The least a run must do of each kind of work, per second of load: about a
 * fifth of the lowest rate seen in 20-round runs on 2 cores busy with other
 * work (per second of load: 1480 produced, 280 acked, 35 nacked, 37 stale,
 * 600 and 640 read, 15 and 31 commits): a slow run passes, a stopped kind does not.
 */
const RATES: WorkRates = { produced: 300, acked: 55, nacked: 7, staleSettles: 7, simpleRead: 120, simpleCommits: 3, memberRead: 125, memberCommits: 6 };

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
  checkEnded(ledger, how, 'SIGKILL', `round ${round}`);
  checkAnswered(ledger, client, `round ${round}`);
}

async function crashRound(ledger: Ledger, round: number): Promise<void> {
  const rng = rngFor(SEED, round, 0);
  // Both modes promise that a 2xx survives a process crash (NORMAL defers only the fsync).
  const synchronous = rng.chance(0.5) ? 'FULL' : 'NORMAL';
  const loadMs = rng.int(LOAD_MS.min, LOAD_MS.max);
  const gateway = await startChildGateway(dataDir, ['--synchronous', synchronous]);
  const client = new GatewayClient(gateway.url);
  if (round === 0) await setUp(client, ledger);
  else await afterRestart(client, ledger, SEED, round);
  await loadAndKill(gateway, client, ledger, round, loadMs);
  checkStore(ledger, readStore(dataDir, QUEUES, TOPIC), `after the kill of round ${round} (${synchronous}, ${loadMs} ms)`);
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
      expectNoViolations(ledger, SEED, `round ${round}`);
    }
    // Before the final drain, whose acks would hide a load that acked nothing.
    checkWorkDone(ledger, RATES);
    expectNoViolations(ledger, SEED, 'work under load');
    await finalRound(await startChildGateway(dataDir), ledger, SEED, ROUNDS, () => readStore(dataDir, QUEUES, TOPIC));
    expectNoViolations(ledger, SEED, 'final round');
    process.stdout.write(`${summary(ledger)}\n`);
  },
  // About 1.5 s a round at first, more as the topic grows (the checks read it all): room to spare, and a bound.
  10_000 + ROUNDS * 4_000,
);
