import os from 'node:os';
import { type Backend, BenchPostgres, SQLITE } from './backend';
import { formatTable, type Row } from './report';
import { backlog } from './scenarios/backlog';
import { consume, consumePostgres } from './scenarios/consume';
import { gatewaysConsume, gatewaysProduce, gatewaysWakeUp } from './scenarios/gateways';
import { keyedProduce } from './scenarios/keyedProduce';
import { manyQueues } from './scenarios/manyQueues';
import { peer } from './scenarios/peer';
import { produceBatch, produceBatchPostgres } from './scenarios/produceBatch';
import { produceSingle, produceSinglePostgres } from './scenarios/produceSingle';
import { push } from './scenarios/push';
import { replayRead, replayReadPostgres } from './scenarios/replayRead';
import { requestReply } from './scenarios/requestReply';
import { schemaProduce } from './scenarios/schemaProduce';
import { sqs } from './scenarios/sqs';
import { streams } from './scenarios/streams';
import { uploads } from './scenarios/uploads';
import { type BenchSettings, readSettings } from './settings';

interface Scenario {
  /** What BENCH_ONLY calls it. */
  name: string;
  label: string;
  /** `postgres` starts the run's PostgreSQL server the first time it is called. */
  run: (settings: BenchSettings, postgres: () => Promise<Backend>) => Promise<Row[]>;
}

/** A scenario of one row. */
function single(run: (settings: BenchSettings) => Promise<Row>): Scenario['run'] {
  return async (settings) => [await run(settings)];
}

/** A scenario on PostgreSQL. */
function rowsOnPostgres(run: (settings: BenchSettings, postgres: Backend) => Promise<Row[]>): Scenario['run'] {
  return async (settings, postgres) => run(settings, await postgres());
}

/** A scenario of one row on PostgreSQL. */
function onPostgres(run: (settings: BenchSettings, postgres: Backend) => Promise<Row>): Scenario['run'] {
  return rowsOnPostgres(async (settings, postgres) => [await run(settings, postgres)]);
}

const SCENARIOS: Scenario[] = [
  { name: 'produce-single', label: '(a) single-message produce with a key vs express, (a′) its latency', run: produceSingle },
  {
    name: 'peer',
    label: '(a″) single-message produce with a key vs local-aws-sqs SendMessage; produce + fetch + ack vs send + receive + delete: server CPU',
    run: peer,
  },
  { name: 'produce-batch', label: '(b) batch produce vs raw SQLite, (b′) vs a single-table insert', run: produceBatch },
  { name: 'consume', label: '(c) fetch + ack vs batch produce over HTTP', run: single(consume) },
  {
    name: 'backlog',
    label: '(d) fetch + ack with a large backlog',
    run: single((settings) => backlog(SQLITE, settings.backlog, settings.backlogSamples)),
  },
  { name: 'replay', label: '(e) replay reads by offset vs raw SQLite', run: single(replayRead) },
  { name: 'keyed', label: '(f) keyed produce to 12 partitions vs queue produce', run: single(keyedProduce) },
  { name: 'push', label: '(g) push delivery vs a plain HTTP client, (h) its latency vs produce', run: push },
  { name: 'sqs', label: '(i) the SQS face vs local-aws-sqs, its query protocol vs JSON 1.0: server CPU of send, receive + delete', run: sqs },
  { name: 'request-reply', label: '(j) request–reply round trip vs calling the service directly', run: requestReply },
  { name: 'schema-produce', label: '(o) batch produce into a queue with a 20-property JSON Schema vs one without', run: single(schemaProduce) },
  { name: 'uploads', label: '(l) 200 concurrent 10 MB produce bodies: memory against the body budget', run: single(uploads) },
  {
    name: 'many-queues',
    label: '(k) 100,000 queues: creation, a healthz probe during lists/scrapes/dashboard/sweeps, produce–fetch–ack vs one queue',
    run: manyQueues,
  },
  { name: 'streams', label: '(p) stream delivery to 4 SSE readers vs polling: throughput, latency produce to arrival', run: streams },
  { name: 'pg-produce-single', label: '(a-pg) single-message produce on PostgreSQL vs SQLite', run: onPostgres(produceSinglePostgres) },
  { name: 'pg-produce-batch', label: '(b-pg) batch produce on PostgreSQL vs SQLite', run: onPostgres(produceBatchPostgres) },
  { name: 'pg-consume', label: '(c-pg) fetch + ack on PostgreSQL vs SQLite', run: onPostgres(consumePostgres) },
  {
    name: 'pg-backlog',
    label: '(d-pg) fetch + ack with a large backlog on PostgreSQL',
    run: onPostgres((settings, postgres) => backlog(postgres, settings.backlog, settings.backlogSamples)),
  },
  { name: 'pg-replay', label: '(e-pg) replay reads by offset on PostgreSQL vs SQLite', run: onPostgres(replayReadPostgres) },
  { name: 'pg-gateways-produce', label: '(n-pg) produce on 2 gateway processes over one PostgreSQL vs 1', run: rowsOnPostgres(gatewaysProduce) },
  { name: 'pg-gateways-consume', label: '(n-pg) fetch + ack on 2 gateway processes over one PostgreSQL vs 1', run: rowsOnPostgres(gatewaysConsume) },
  {
    name: 'pg-gateways-wakeup',
    label: '(m-pg) long-poll wake-up across 2 gateway processes over one PostgreSQL vs within one',
    run: rowsOnPostgres((_, postgres) => gatewaysWakeUp(postgres)),
  },
];

/** The scenarios BENCH_ONLY names, in run order; all without it. */
function chosen(only: string[] | null): Scenario[] {
  if (only === null) return SCENARIOS;
  const unknown = only.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    const names = SCENARIOS.map((scenario) => scenario.name).join(', ');
    throw new Error(`BENCH_ONLY: no scenario ${unknown.join(', ')}; there are ${names}`);
  }
  return SCENARIOS.filter((scenario) => only.includes(scenario.name));
}

/**
 * `npm run bench`: every scenario of the performance issue, each next to its
 * baseline measured in this same run, so the ratios hold on whatever machine
 * (and whatever load on it) the run happens on. Scenarios run one after the
 * other so that no two measured processes compete for the cores.
 *
 * All but (d), (h) and (m-pg) measure baseline and result in alternating rounds and
 * report the median of the per-round ratios (rounds.ts): on a shared machine
 * one measurement of each side, one after the other, swings too much. (a′)
 * takes autocannon's latency percentiles of (a)'s rounds. (h)
 * times both of its figures on the same messages; (m-pg) alternates one
 * wake-up of each kind at a time; (k)'s creation and health
 * probe rows are timed once, its produce and fetch + ack rows alternate.
 *
 * (a-pg)–(e-pg) are (a)–(e) on PostgreSQL: (a-pg), (b-pg), (c-pg) and (e-pg)
 * put the load of their letter on a gateway storing in PostgreSQL (the
 * result) and on one storing in SQLite (the baseline), in alternating rounds;
 * (d-pg) is (d) on PostgreSQL. The first of them starts a throw-away
 * PostgreSQL server (bench/postgresServer.ts: initdb in a temp dir, fsync and
 * synchronous_commit on; the Debian package postgresql must be installed),
 * which the run stops at its end. Their rows, and (d)'s, add each side's CPU
 * per message: the gateway's and the PostgreSQL server's (report.ts).
 *
 * (n-pg) and (m-pg) run gateway processes side by side over one PostgreSQL
 * database, each with a data dir of its own (scenarios/gateways.ts). (n-pg)
 * puts the loads of (a-pg), (b-pg) and (c-pg) on one gateway over a fresh
 * database (the baseline) and split evenly over two over another (the
 * result), in alternating rounds; its cpu column sums both gateways, its
 * notes give each gateway's CPU and store commits. (m-pg) times long-poll
 * wake-ups: a produce on one gateway waking a long-poll on the other (the
 * result) against both on one gateway (the baseline), p50 and p99.
 *
 * (a) and (a″) put their load on a gateway with a keys file, every request
 * carrying a key of scope `*:*` (gateway.ts withBenchKey); the other
 * scenarios run without keys. (b′) is (b)'s load against a bare single-table
 * insert (rawSqlite.ts single-table).
 *
 * (i) compares what each server spends on the CPU per message, not rates: on
 * 2 cores the SDK clients in the bench process bound the rates it would
 * compare (scenarios/sqs.ts). (a″) compares both against local-aws-sqs: the
 * rate of (a)'s load against SendMessage's, then each server's CPU per
 * message over send, receive and delete (scenarios/peer.ts).
 *
 * Environment (settings.ts). The defaults take twelve to thirteen minutes on 2
 * cores for all but uploads, many-queues and the pg- scenarios (sqs about four
 * and a half of them, peer and produce-batch about two each, schema-produce
 * one); uploads takes seconds, many-queues about 8 minutes at its defaults (5
 * of them producing its 10,000,000 messages, 3 GB of disk), the pg- scenarios
 * about eleven and a half, five of them pg-gateways-produce, -consume and -wakeup
 * (pg-backlog's million messages take 1.3 GB of disk while it runs):
 *   BENCH_ROUNDS           baseline/result round pairs of the alternating rows, default 5
 *   BENCH_SECONDS          measured seconds per round and side, default 5; (h) samples for twice that
 *   BENCH_WARMUP_SECONDS   unmeasured seconds of load on each side before its first round, default 2
 *   BENCH_BACKLOG          ready messages of (d)'s and (d-pg)'s large queue, default 1,000,000
 *   BENCH_BACKLOG_SAMPLES  messages fetched and acked per queue size in (d) and (d-pg), default 4000
 *   BENCH_QUEUES           queues (k) creates besides its own two, default 100,000
 *   BENCH_TOPICS           topics (k) creates, each with a consumer group, default 10,000
 *   BENCH_BIG_BACKLOG      ready messages of (k)'s big queue, default 10,000,000
 *   BENCH_ONLY             comma-separated scenarios to run, e.g. `push` or `consume,push`
 *                          (produce-single, peer, produce-batch, consume, backlog, replay, keyed, push, sqs, request-reply,
 *                          schema-produce, uploads, many-queues, pg-produce-single, pg-produce-batch, pg-consume, pg-backlog,
 *                          pg-replay, pg-gateways-produce, pg-gateways-consume, pg-gateways-wakeup); default all
 */
async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const scenarios = chosen(settings.only);
  const started = performance.now();
  const rows: Row[] = [];
  const postgres = new BenchPostgres();
  try {
    for (const scenario of scenarios) {
      // Progress goes to stderr: stdout is the report.
      const elapsed = ((performance.now() - started) / 1000).toFixed(0);
      process.stderr.write(`[${elapsed.padStart(3)} s] ${scenario.label}\n`);
      rows.push(...(await scenario.run(settings, () => postgres.backend())));
    }
  } finally {
    await postgres.stop();
  }

  const wallSeconds = (performance.now() - started) / 1000;
  const only = settings.only === null ? '' : ` only ${scenarios.map((scenario) => scenario.name).join(', ')} (BENCH_ONLY);`;
  process.stdout.write(
    [
      '',
      `mqgate bench:${only} all but (d), (d-pg), (h), (m-pg) and (k)'s creation and healthz rows ${settings.rounds} alternating rounds of ${settings.seconds} s per side` +
        ` after ${settings.warmupSeconds} s warm-up (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS);` +
        ` node ${process.version}, ${os.cpus().length} cores`,
      '',
      formatTable(rows),
      '',
      `wall time: ${wallSeconds.toFixed(1)} s`,
      '',
    ].join('\n'),
  );
  // The run is for reading, not gating: a missed target is reported, not an exit code.
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
