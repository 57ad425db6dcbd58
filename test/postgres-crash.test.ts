import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';
import { createDatabase, type PostgresServer, startPostgres } from '../bench/postgresServer';
import { type ChildGateway, killChildGateways, startChildGateway } from './support/childGateway';
import {
  type WorkRates,
  afterRestart,
  checkAnswered,
  checkEnded,
  checkStore,
  checkWorkDone,
  expectNoViolations,
  finalRound,
  setUp,
} from './support/crashLoadChecks';
import { problemCode } from './support/crashLoadHttp';
import { Ledger } from './support/crashLoadLedger';
import { OutageClient, readPostgresStore } from './support/crashLoadPostgres';
import { rngFor, roundsFromEnv, seedFromEnv } from './support/crashLoadRandom';
import { MEMBER_GROUP, QUEUES, SIMPLE_GROUP, TOPIC, runLoad } from './support/crashLoadWorkers';
import { tempDir } from './support/testGateway';

// The crash harness of test/crash-load.test.ts on the PostgreSQL backend,
// where there are two processes to lose: rounds of the same mixed load
// against a gateway process over a server of this file's own (the run's
// shared server must never go down under the other files), each ended by a
// SIGKILL of the gateway, an immediate shutdown of the server under the
// running gateway, or both at once; after each, the database is checked
// against every answer the gateway gave. Then outages with no restart of the
// gateway: calls in flight as the server goes down and every call while it
// is down answer 503 storage_unavailable, never 500; the same process serves
// again once it is back; and a group fetch whose commit the server took down
// with its answer gives its messages again. Last, a gateway cannot start
// while its server is down.
// `CRASH_ROUNDS=30 npx jest test/postgres-crash.test.ts` runs longer;
// `CRASH_SEED=<seed>` replays a run's choices (load length, crash moment,
// batch sizes), though not its exact interleaving.
const ROUNDS = roundsFromEnv(process.env, 9);
const SEED = seedFromEnv(process.env);
const LOAD_MS = { min: 200, max: 1200 };

/** What each round crashes, in turn. */
const CRASHES = ['gateway', 'server', 'both'] as const;
type Crash = (typeof CRASHES)[number];
const CRASH_WORDS: Record<Crash, string> = {
  gateway: 'SIGKILL of the gateway',
  server: 'immediate shutdown of the server under the gateway',
  both: 'SIGKILL of the gateway and immediate shutdown of the server at once',
};

/** Answers 503 the load must have had while the server is down before a round ends: the workers have met the outage. */
const OUTAGE_ANSWERS = 20;
/** Bounds the wait for them: a gateway that answers no call while its server is down hangs its callers. */
const OUTAGE_ANSWERS_MS = 10_000;
/** How soon a gateway serves again once the server takes connections: its pool opens new ones on the next call. */
const SERVES_AGAIN_MS = 5000;
const POLL_MS = 50;

let server: PostgresServer;
const dataDir = tempDir('mqgate-pg-crash-');

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterEach(async () => {
  killChildGateways();
  // A test that failed with the server down leaves it down for the next.
  if (server.pid() === null) await server.restart();
});

afterAll(async () => {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface LogLine {
  msg: string;
  code?: string;
  cause?: string;
  operation?: string | null;
  status?: number;
}

/** A gateway process over this file's server, and its log lines since it listens (it logs JSON lines to stderr). */
interface Watched {
  gateway: ChildGateway;
  log(): LogLine[];
}

async function startGateway(storeUrl = server.url): Promise<Watched> {
  const gateway = await startChildGateway(dataDir, ['--store', storeUrl]);
  let text = '';
  gateway.process.stderr?.on('data', (chunk: string) => (text += chunk));
  // Whole lines only: the last piece may be a line still being written.
  const log = (): LogLine[] =>
    text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as LogLine);
  return { gateway, log };
}

/** The lines that tell of a fault, in short: an internal error with its cause, a request answered 500. */
function faults(lines: LogLine[]): string[] {
  return lines.flatMap((line) => {
    if (line.code === 'internal_error') return [`internal_error: ${line.cause ?? line.msg}`];
    if (line.msg === 'request' && line.status === 500) return [`${line.operation ?? 'request'} answered 500`];
    return [];
  });
}

/** Polls `done` until it holds; false if it did not within `withinMs`. */
async function until(done: () => boolean | Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await delay(POLL_MS);
  }
}

async function ready(url: string): Promise<boolean> {
  const res = await fetch(`${url}/readyz`);
  await res.arrayBuffer();
  return res.status === 200;
}

// ---------------------------------------------------------------- crashes under load

/** Each fault the gateway logged is a violation, with the cause it logged: the answers say only `500 internal_error`. */
function checkLog({ log }: Watched, ledger: Ledger, when: string): void {
  for (const fault of faults(log())) ledger.violation(`${when}: the gateway logged ${fault}`);
}

/**
 * Crashes `what` under the round's load, with requests in flight. The
 * gateway lives on only when its server alone went down: then the load goes
 * on into the outage, and its 503s are requests without an answer.
 */
async function crash(what: Crash, gateway: ChildGateway, client: OutageClient, ledger: Ledger, when: string): Promise<void> {
  if (what === 'server') {
    client.storeDown();
    await server.crash();
    if (!(await until(() => client.unavailable >= OUTAGE_ANSWERS, OUTAGE_ANSWERS_MS))) {
      ledger.violation(`${when}: fewer than ${OUTAGE_ANSWERS} answers 503 storage_unavailable in ${OUTAGE_ANSWERS_MS} ms of the outage`);
    }
    return;
  }
  client.markKilled();
  if (what === 'both') client.storeDown();
  // Both signals go out in this turn of the loop: server.crash() sends its own before its first await.
  const serverDown = what === 'both' ? server.crash() : Promise.resolve();
  gateway.process.kill('SIGKILL');
  await serverDown;
  checkEnded(ledger, await gateway.exited, 'SIGKILL', when);
}

/** One round; resolves with the gateway when it lives on into the next. */
async function crashRound(ledger: Ledger, round: number, kept: Watched | null, done: Record<Crash, number>): Promise<Watched | null> {
  const loadMs = rngFor(SEED, round, 0).int(LOAD_MS.min, LOAD_MS.max);
  const crashed = CRASHES[round % CRASHES.length];
  const when = `round ${round} (${CRASH_WORDS[crashed]}, ${loadMs} ms)`;
  const watched = kept ?? (await startGateway());
  const { gateway } = watched;
  const client = new OutageClient(gateway.url);
  if (round === 0) await setUp(client, ledger);
  else await afterRestart(client, ledger, SEED, round);
  let stopping = false;
  const load = runLoad(client, ledger, SEED, round, () => stopping);
  // Timing chooses only the crash moment; what is checked afterwards depends on answers, never on time.
  await delay(loadMs);
  await client.whenBusy();
  ledger.inFlightAtKills += client.inFlight;
  ledger.loadMs += loadMs;
  await crash(crashed, gateway, client, ledger, when);
  stopping = true;
  await load;
  checkAnswered(ledger, client, when);
  checkLog(watched, ledger, when);
  if (server.pid() === null) await server.restart();
  checkStore(ledger, await readPostgresStore(server.url, QUEUES, TOPIC), `after ${when}`);
  done[crashed] += 1;
  if (crashed !== 'server') return null;
  // The same process, with no restart: its pool must find the server again by itself.
  if (!(await until(() => ready(gateway.url), SERVES_AGAIN_MS))) {
    ledger.violation(`${when}: the gateway was not ready within ${SERVES_AGAIN_MS} ms of the server's restart`);
  }
  return watched;
}

/**
 * About a fifth of the lowest rates seen in runs of 9 to 15 rounds on 2
 * cores (per second of load: 428 produced, 100 acked, 6 nacked, 20 stale,
 * 155 and 163 read, 2.7 and 3.3 commits): a slow run passes, a kind of work
 * that stopped does not.
 */
const WORK_RATES: WorkRates = {
  produced: 85,
  acked: 20,
  nacked: 1.2,
  staleSettles: 4,
  simpleRead: 30,
  simpleCommits: 0.5,
  memberRead: 30,
  memberCommits: 0.6,
};

test(
  `crash safety on PostgreSQL: ${ROUNDS} crashes of the gateway, the server or both, with requests in flight, lose nothing acknowledged`,
  async () => {
    process.stdout.write(`postgres crash harness: seed ${SEED} (replay with CRASH_SEED=${SEED}), ${ROUNDS} rounds\n`);
    const ledger = new Ledger([SIMPLE_GROUP, MEMBER_GROUP]);
    const done: Record<Crash, number> = { gateway: 0, server: 0, both: 0 };
    let kept: Watched | null = null;
    for (let round = 0; round < ROUNDS; round += 1) {
      kept = await crashRound(ledger, round, kept, done);
      expectNoViolations(ledger, SEED, `round ${round}`);
    }
    // Before the final drain, whose acks would hide a load that acked nothing.
    checkWorkDone(ledger, WORK_RATES);
    expectNoViolations(ledger, SEED, 'work under load');
    const last = kept ?? (await startGateway());
    await finalRound(last.gateway, ledger, SEED, ROUNDS, () => readPostgresStore(server.url, QUEUES, TOPIC));
    checkLog(last, ledger, 'final round');
    expectNoViolations(ledger, SEED, 'final round');
    const { queue, topic } = ledger;
    process.stdout.write(
      `postgres crash harness: ${ROUNDS} rounds, seed ${SEED}: ${CRASHES.map((e) => `${done[e]} × ${CRASH_WORDS[e]}`).join(', ')} ` +
        `(queue ${queue.produced.size} + topic ${topic.produced.size} messages, ${queue.deliveries} deliveries, ` +
        `${ledger.inFlightAtKills} requests in flight at the crashes)\n`,
    );
  },
  // About 3 s a round, the server's recovery included: room to spare, and a bound.
  20_000 + ROUNDS * 8_000,
);

// ---------------------------------------------------------------- outages without a restart of the gateway

interface Answer {
  status: number;
  code: string | null;
  retryAfter: string | null;
  body: unknown;
}

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed: unknown = text === '' ? null : JSON.parse(text);
  return { status: res.status, code: problemCode(parsed), retryAfter: res.headers.get('retry-after'), body: parsed };
}

/** Fast shutdown, as `pg_ctl stop -m fast` does it (SIGINT to the postmaster): sessions end, a checkpoint is written. */
async function shutDownFast(): Promise<void> {
  const pid = server.pid();
  if (pid === null) throw new Error('the server is not running');
  process.kill(pid, 'SIGINT');
  if (!(await until(() => server.pid() === null, 30_000))) throw new Error('the server did not shut down within 30 s');
}

const SHUTDOWNS = { fast: shutDownFast, immediate: () => server.crash() };

const text = (value: string): Record<string, unknown> => ({ value, valueEncoding: 'text' });

/** Creates a queue, a topic and its group `g`; queues and topics share one namespace. */
async function setUpOutage(url: string, queue: string, topic: string): Promise<void> {
  const puts: Array<[string, Record<string, unknown>]> = [
    [`/v1/queues/${queue}`, { visibilityTimeoutMs: 60_000 }],
    [`/v1/topics/${topic}`, { partitions: 1 }],
    [`/v1/topics/${topic}/groups/g`, { resetPolicy: 'earliest' }],
  ];
  for (const [path, body] of puts) expect((await call(url, 'PUT', path, body)).status).toBe(201);
}

interface Repeated {
  what: string;
  method: string;
  path: string;
  body?: Record<string, unknown>;
  /** The status while the server is up. */
  ok: number;
}

/**
 * Two loops of each call, each sending it again as soon as it is answered,
 * so that calls of every kind are in flight when `shutdown` stops the server;
 * the loops stop once each has been answered 503 storage_unavailable (with
 * Retry-After). Resolves with every answer that was neither that nor the
 * call's `ok`.
 */
async function throughShutdown(url: string, calls: Repeated[], shutdown: () => Promise<void>): Promise<string[]> {
  const loops = [...calls, ...calls].map((repeated) => ({ repeated, served: false, refused: false }));
  const wrong: string[] = [];
  let stopping = false;
  const running = loops.map(async (loop) => {
    const { what, method, path, body, ok } = loop.repeated;
    while (!stopping) {
      const answer = await call(url, method, path, body);
      if (answer.status === ok) loop.served = true;
      else if (answer.status === 503 && answer.code === 'storage_unavailable' && answer.retryAfter !== null) loop.refused = true;
      else wrong.push(`${what}: ${answer.status} ${answer.code ?? JSON.stringify(answer.body)}`);
    }
  });
  try {
    expect(await until(() => loops.every((loop) => loop.served), 10_000)).toBe(true);
    await shutdown();
    expect(await until(() => loops.every((loop) => loop.refused), OUTAGE_ANSWERS_MS)).toBe(true);
  } finally {
    stopping = true;
    await Promise.all(running);
  }
  return wrong;
}

describe.each(Object.keys(SHUTDOWNS) as Array<keyof typeof SHUTDOWNS>)('%s shutdown of the server under a running gateway', (shutdown) => {
  test('calls in flight as it goes down are answered as usual or 503 storage_unavailable, never 500', async () => {
    const { gateway, log } = await startGateway();
    const { url } = gateway;
    const queue = `in-flight-${shutdown}`;
    const topic = `in-flight-${shutdown}-log`;
    await setUpOutage(url, queue, topic);
    const wrong = await throughShutdown(
      url,
      [
        { what: 'produce to the queue', method: 'POST', path: `/v1/queues/${queue}/messages`, body: { messages: [text('q')] }, ok: 201 },
        { what: 'fetch', method: 'POST', path: `/v1/queues/${queue}/fetch`, body: { max: 5, waitMs: 0 }, ok: 200 },
        { what: 'produce to the topic', method: 'POST', path: `/v1/topics/${topic}/messages`, body: { messages: [text('t')] }, ok: 201 },
        { what: 'queue stats', method: 'GET', path: `/v1/queues/${queue}`, ok: 200 },
        { what: 'topic', method: 'GET', path: `/v1/topics/${topic}`, ok: 200 },
      ],
      SHUTDOWNS[shutdown],
    );
    expect({ wrong, faults: faults(log()) }).toEqual({ wrong: [], faults: [] });
  }, 60_000);

  test('every call answers 503 storage_unavailable with Retry-After; back, the same process serves, and the refused produce is stored once', async () => {
    const { gateway, log } = await startGateway();
    const { url } = gateway;
    const queue = `outage-${shutdown}`;
    const topic = `outage-${shutdown}-log`;
    const key = `outage-${shutdown}-produce`;
    await setUpOutage(url, queue, topic);
    expect((await call(url, 'POST', `/v1/topics/${topic}/messages`, { messages: [text('read by g')] })).status).toBe(201);
    expect((await call(url, 'POST', `/v1/topics/${topic}/groups/g/fetch`, { max: 10, waitMs: 0 })).body).toMatchObject({
      messages: [{ value: 'read by g' }],
    });
    expect((await call(url, 'POST', `/v1/queues/${queue}/messages`, { messages: [text('leased')] })).status).toBe(201);
    const leased = await call(url, 'POST', `/v1/queues/${queue}/fetch`, { max: 1, waitMs: 0 });
    const [{ receipt }] = (leased.body as { messages: Array<{ receipt: string }> }).messages;

    await SHUTDOWNS[shutdown]();
    const down = {
      produce: await call(url, 'POST', `/v1/queues/${queue}/messages`, { messages: [text('during the outage')] }, { 'Idempotency-Key': key }),
      fetch: await call(url, 'POST', `/v1/queues/${queue}/fetch`, { max: 10, waitMs: 0 }),
      ack: await call(url, 'POST', `/v1/queues/${queue}/ack`, { receipts: [receipt] }),
      commit: await call(url, 'POST', `/v1/topics/${topic}/groups/g/commit`, {}),
      stats: await call(url, 'GET', `/v1/queues/${queue}`),
      readyz: await call(url, 'GET', '/readyz'),
    };
    const seen = Object.fromEntries(Object.entries(down).map(([what, { status, code, retryAfter }]) => [what, { status, code, retryAfter }]));
    const unavailable = { status: 503, code: 'storage_unavailable', retryAfter: expect.stringMatching(/^[1-9]\d*$/) };
    expect(seen).toEqual(Object.fromEntries(Object.keys(down).map((what) => [what, unavailable])));

    await server.restart();
    // The same process, with no restart: its pool finds the server again by itself.
    expect(await until(() => ready(url), SERVES_AGAIN_MS)).toBe(true);
    expect((await call(url, 'POST', `/v1/queues/${queue}/messages`, { messages: [text('after the outage')] })).status).toBe(201);
    const fetched = await call(url, 'POST', `/v1/queues/${queue}/fetch`, { max: 10, waitMs: 0 });
    expect((fetched.body as { messages: Array<{ value: string }> }).messages.map((m) => m.value)).toContain('after the outage');
    // What was refused changed nothing: the lease is still live, its ack and the group's commit go through now.
    expect((await call(url, 'POST', `/v1/queues/${queue}/ack`, { receipts: [receipt] })).body).toMatchObject({
      results: [{ status: 'acked', receipt }],
    });
    expect((await call(url, 'POST', `/v1/topics/${topic}/groups/g/commit`, {})).status).toBe(200);
    // Refused or not, the produce sent again with its key is answered 201, and then as a duplicate: stored once.
    const retries: Answer[] = [];
    for (let i = 0; i < 2; i += 1) {
      retries.push(await call(url, 'POST', `/v1/queues/${queue}/messages`, { messages: [text('during the outage')] }, { 'Idempotency-Key': key }));
    }
    expect(retries.map((r) => r.status)).toEqual([201, 201]);
    expect((retries[1].body as { messages: Array<{ duplicate: boolean }> }).messages[0].duplicate).toBe(true);
    const stored = [...(await readPostgresStore(server.url, [queue], topic)).queues.values()];
    expect(stored.filter((value) => value === 'during the outage')).toHaveLength(1);

    expect(faults(log())).toEqual([]);
    expect(gateway.process.exitCode).toBeNull();
    gateway.process.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  }, 60_000);
});

/** Runs one statement on the server as its superuser, on a connection of its own. */
async function onServer(url: string, sql: string, values: unknown[] = []): Promise<unknown[]> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query<Record<string, unknown>>(sql, values)).rows;
  } finally {
    await db.end();
  }
}

/**
 * Every COMMIT that wrote something waits, after its WAL is flushed, for a
 * synchronous standby that does not exist: committed on this server, and
 * unanswered until the setting goes. ALTER SYSTEM keeps it across a restart.
 */
async function holdCommits(hold: boolean): Promise<void> {
  await onServer(server.url, hold ? "ALTER SYSTEM SET synchronous_standby_names = 'absent'" : 'ALTER SYSTEM RESET synchronous_standby_names');
  await onServer(server.url, 'SELECT pg_reload_conf()');
}

test('a group fetch that committed but whose answer the server took down with it is given again: a commit without offsets skips nothing', async () => {
  // A database of its own: no other data for the gateway's sweeps to write to, so the one commit held is the fetch's.
  const database = await createDatabase(server.url, 'mqgate_unconfirmed');
  try {
    const { gateway } = await startGateway(database.url);
    const { url } = gateway;
    const topic = 'unconfirmed-log';
    await setUpOutage(url, 'unconfirmed', topic);
    const produced = await call(url, 'POST', `/v1/topics/${topic}/messages`, { messages: ['m0', 'm1', 'm2'].map(text) });
    expect(produced.status).toBe(201);
    await holdCommits(true);
    const groupFetch = `/v1/topics/${topic}/groups/g/fetch`;
    const lost = call(url, 'POST', groupFetch, { max: 10, waitMs: 0 });
    // The fetch's commit, held: a commit that waits for the standby and still holds its lock on group_offsets
    // (another commit of the gateway's, a lease's renewal, may be held too, and is not the one this is about).
    const held = `SELECT 1 FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
      WHERE a.wait_event = 'SyncRep' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.relation = 'group_offsets'::regclass`;
    expect(await until(async () => (await onServer(database.url, held)).length > 0, 10_000)).toBe(true);
    await server.crash();
    expect(await lost).toMatchObject({ status: 503, code: 'storage_unavailable', body: { detail: expect.stringContaining('may or may not') } });
    await server.restart();
    await holdCommits(false);
    // It had: the group's position is past the three messages the client never got.
    expect(await onServer(database.url, 'SELECT "position", committed FROM group_offsets')).toEqual([{ position: '3', committed: '0' }]);
    expect(await until(() => ready(url), SERVES_AGAIN_MS)).toBe(true);
    // A commit of what the group's fetches delivered must commit none of them, and the next fetch must bring them.
    expect((await call(url, 'POST', `/v1/topics/${topic}/groups/g/commit`, {})).status).toBe(200);
    expect((await call(url, 'GET', `/v1/topics/${topic}/groups/g`)).body).toMatchObject({ partitions: [{ partition: 0, committed: 0 }] });
    const again = await call(url, 'POST', groupFetch, { max: 10, waitMs: 0 });
    expect((again.body as { messages: Array<{ value: string }> }).messages.map((m) => m.value)).toEqual(['m0', 'm1', 'm2']);
  } finally {
    if (server.pid() === null) await server.restart();
    await holdCommits(false);
    // WITH (FORCE): the gateway's sessions end with it.
    await database.drop();
  }
}, 60_000);

test('a gateway started while the server is down exits 1 with a message naming the store', async () => {
  await server.crash();
  const failed = await startGateway().then(
    () => 'the gateway started',
    (error: Error) => error.message,
  );
  expect(failed).toMatch(/^gateway exited \(1\) before listening/);
  expect(failed).toContain(`the PostgreSQL store at 127.0.0.1:${server.port}/mqgate cannot be used`);
});
