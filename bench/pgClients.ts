import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import pg from 'pg';
import postgres from 'postgres';
import { MESSAGE_BYTES, storedValueOfSize } from './payload';
import { atLeast, formatTable, type Row } from './report';
import { alternate, alternatingRow, median, type Side } from './rounds';
import { readSettings, type RoundTiming } from './settings';

/**
 * The two PostgreSQL clients for node side by side, against one server in the
 * same run: `pg` (node-postgres, the one the backend uses; the result column)
 * and `postgres` (the baseline). Each numbered scenario is what a gateway
 * operation asks of its client: (a) a one-message produce, one INSERT …
 * RETURNING in its own transaction, from 1 and from 16 callers at once, and
 * the transport of one value of the largest default size (1 MiB) to the
 * server; (b) a batch produce of 100 × 1 KB as one INSERT … SELECT FROM
 * unnest(arrays); (c) a claim, BEGIN; SELECT … FOR UPDATE SKIP LOCKED; UPDATE;
 * COMMIT. Both clients get a pool of POOL_SIZE connections (the backend's
 * default), send the same SQL text, and prepare it (pg: named statements;
 * postgres: prepare). The server commits with synchronous_commit=on, so every
 * transaction waits for its WAL flush. The rows alternate rounds between the
 * clients (rounds.ts); each row's notes add this process's CPU time per
 * operation, which the disk's noise does not touch.
 *
 * Then what cannot be timed as a rate: (d) notify-to-listener latency, and
 * whether a listener whose connection is killed hears the next notification;
 * (f) whether a multi-host URL with target_session_attrs connects past a dead
 * first host. (e) prepared statements: both are used in (a)–(c), as said above.
 *
 * Usage: node dist/bench/pgClients.js postgres://user@host:port/db
 * It makes a database of its own on that server and drops it at the end.
 * BENCH_ROUNDS, BENCH_SECONDS and BENCH_WARMUP_SECONDS as for `npm run bench`
 * (settings.ts); at their defaults a run takes about six and a half minutes.
 */

const POOL_SIZE = 10;
const BATCH = 100;
/** Ready rows (c) claims from; a claim puts its row back at the end, so they never run out. */
const CLAIMABLE = 10_000;
const LISTEN_CHANNEL = 'bench';
const LISTENER_NAME = 'mqgate-bench-listener';
const NOTIFY_SAMPLES = 200;
const RECONNECT_WAIT_MS = 10_000;
const RECONNECT_POLL_MS = 50;
/** Type oids of bigint[] and bytea[] (pg_type.oid: fixed in every PostgreSQL). */
const BIGINT_ARRAY = 1016;
const BYTEA_ARRAY = 1001;
/** The gateway's default largest message (queue/limits.ts). */
const LARGEST_MESSAGE_BYTES = 1024 * 1024;

/** The gateway's two hottest tables, as far as these statements touch them. */
const SCHEMA = `
CREATE TABLE messages (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic_id     bigint NOT NULL,
  partition    integer NOT NULL,
  "offset"     bigint NOT NULL,
  timestamp    bigint NOT NULL,
  headers      text NOT NULL,
  content_type text NOT NULL,
  value        bytea NOT NULL
);
CREATE UNIQUE INDEX messages_by_offset ON messages (topic_id, partition, "offset");
CREATE TABLE deliveries (
  subscription_id bigint NOT NULL,
  message_id      bigint NOT NULL,
  available_at    bigint NOT NULL,
  delivery_count  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (subscription_id, message_id)
);
CREATE INDEX deliveries_by_availability ON deliveries (subscription_id, available_at, message_id);
INSERT INTO deliveries (subscription_id, message_id, available_at) SELECT 1, n, 0 FROM generate_series(1, ${CLAIMABLE}) AS n;
`;

const INSERT_ONE = `INSERT INTO messages (topic_id, partition, "offset", timestamp, headers, content_type, value)
VALUES (1, 0, $1, $2, '{}', 'application/json', $3) RETURNING id`;
const INSERT_BATCH = `INSERT INTO messages (topic_id, partition, "offset", timestamp, headers, content_type, value)
SELECT 1, 0, o, $1, '{}', 'application/json', v FROM unnest($2::bigint[], $3::bytea[]) AS m (o, v)`;
const CLAIM_SELECT = `SELECT message_id FROM deliveries WHERE subscription_id = 1 AND available_at <= $1
ORDER BY available_at, message_id LIMIT 1 FOR UPDATE SKIP LOCKED`;
const CLAIM_UPDATE = `UPDATE deliveries SET available_at = $1, delivery_count = delivery_count + 1
WHERE subscription_id = 1 AND message_id = $2`;
const SEND_VALUE = 'SELECT length($1::bytea)';

/** The same statements, each client its own way of sending them. */
interface Driver {
  insertOne(offset: number, value: Buffer): Promise<void>;
  /** (a) The value sent and measured by the server, nothing stored: what the client's encoding of bytes costs. */
  sendValue(value: Buffer): Promise<void>;
  insertBatch(offsets: number[], values: Buffer[]): Promise<void>;
  claimOne(now: number): Promise<void>;
  end(): Promise<void>;
}

function pgDriver(url: string): Driver {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  return {
    insertOne: async (offset, value) => {
      await pool.query({ name: 'insert-one', text: INSERT_ONE, values: [offset, Date.now(), value] });
    },
    sendValue: async (value) => {
      await pool.query({ name: 'send-value', text: SEND_VALUE, values: [value] });
    },
    insertBatch: async (offsets, values) => {
      await pool.query({ name: 'insert-batch', text: INSERT_BATCH, values: [Date.now(), offsets, values] });
    },
    claimOne: async (now) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ message_id: string }>({ name: 'claim-select', text: CLAIM_SELECT, values: [now] });
        if (rows.length > 0) await client.query({ name: 'claim-update', text: CLAIM_UPDATE, values: [now, rows[0].message_id] });
        await client.query('COMMIT');
        client.release();
      } catch (error) {
        // A connection left inside a failed transaction must not go back to the pool.
        client.release(true);
        throw error;
      }
    },
    end: () => pool.end(),
  };
}

function postgresDriver(url: string): Driver {
  const sql = postgres(url, { max: POOL_SIZE });
  return {
    insertOne: async (offset, value) => {
      await sql.unsafe(INSERT_ONE, [offset, Date.now(), value], { prepare: true });
    },
    sendValue: async (value) => {
      await sql.unsafe(SEND_VALUE, [value], { prepare: true });
    },
    insertBatch: async (offsets, values) => {
      // Array parameters name their array type: a bare JS array is sent as its elements' type, and sql.array()
      // infers the array type only once the connection has read the server's types, so not on a first query.
      await sql.unsafe(INSERT_BATCH, [Date.now(), sql.array(offsets, BIGINT_ARRAY), sql.array(values, BYTEA_ARRAY)], { prepare: true });
    },
    claimOne: async (now) => {
      await sql.begin(async (tx) => {
        const rows = await tx.unsafe<Array<{ message_id: string }>>(CLAIM_SELECT, [now], { prepare: true });
        if (rows.length > 0) await tx.unsafe(CLAIM_UPDATE, [now, rows[0].message_id], { prepare: true });
      });
    },
    end: () => sql.end(),
  };
}

/** Offsets are unique per partition: one counter for both clients. */
let nextOffset = 0;
const value = storedValueOfSize(MESSAGE_BYTES);
const largestValue = storedValueOfSize(LARGEST_MESSAGE_BYTES);
const batchValues = Array.from({ length: BATCH }, () => value);

/** A client's side of one scenario, and this process's CPU time per operation in each of its runs. */
interface MeteredSide {
  side: Side;
  cpuPerOperation: number[];
}

/** `callers` loops of `operation` for `seconds`: operations per second times `rowsPerOperation`. */
function side(callers: number, rowsPerOperation: number, operation: () => Promise<void>): MeteredSide {
  const cpuPerOperation: number[] = [];
  return {
    cpuPerOperation,
    side: async (seconds) => {
      const deadline = performance.now() + seconds * 1000;
      let operations = 0;
      const loop = async (): Promise<void> => {
        while (performance.now() < deadline) {
          await operation();
          operations += 1;
        }
      };
      const cpu = process.cpuUsage();
      const start = performance.now();
      await Promise.all(Array.from({ length: callers }, loop));
      const elapsed = performance.now() - start;
      const used = process.cpuUsage(cpu);
      cpuPerOperation.push((used.user + used.system) / operations);
      return (operations * rowsPerOperation * 1000) / elapsed;
    },
  };
}

interface Scenario {
  label: string;
  callers: number;
  rowsPerOperation: number;
  unit: string;
  operation: (driver: Driver) => () => Promise<void>;
}

const insertOne = (driver: Driver) => () => driver.insertOne(nextOffset++, value);
const sendLargest = (driver: Driver) => () => driver.sendValue(largestValue);
const insertBatch = (driver: Driver) => () => {
  const first = nextOffset;
  nextOffset += BATCH;
  return driver.insertBatch(
    Array.from({ length: BATCH }, (_, i) => first + i),
    batchValues,
  );
};
const claimOne = (driver: Driver) => () => driver.claimOne(Date.now());

const SCENARIOS: Scenario[] = [
  ...[1, 16].flatMap((callers) => {
    const who = callers === 1 ? '1 caller' : `${callers} callers`;
    return [
      { label: `(a) INSERT…RETURNING 1x1KB, ${who}`, callers, rowsPerOperation: 1, unit: 'tx/s', operation: insertOne },
      { label: `(b) unnest INSERT ${BATCH}x1KB, ${who}`, callers, rowsPerOperation: BATCH, unit: 'msg/s', operation: insertBatch },
      { label: `(c) BEGIN; SELECT…SKIP LOCKED; UPDATE; COMMIT, ${who}`, callers, rowsPerOperation: 1, unit: 'tx/s', operation: claimOne },
    ];
  }),
  { label: '(a) SELECT length($1) of a 1 MiB value, 1 caller', callers: 1, rowsPerOperation: 1, unit: 'values/s', operation: sendLargest },
];

async function measure(timing: RoundTiming, scenario: Scenario, drivers: { pg: Driver; postgres: Driver }): Promise<Row> {
  const make = (driver: Driver): MeteredSide => side(scenario.callers, scenario.rowsPerOperation, scenario.operation(driver));
  const pgSide = make(drivers.pg);
  const postgresSide = make(drivers.postgres);
  const alternation = await alternate(timing, postgresSide.side, pgSide.side);
  const perCaller = (rate: number): string => `${((scenario.callers * scenario.rowsPerOperation * 1e6) / rate).toFixed(0)} µs`;
  const cpu = (metered: MeteredSide): string => `${median(metered.cpuPerOperation).toFixed(0)} µs`;
  return alternatingRow(
    {
      scenario: scenario.label,
      resultUnit: scenario.unit,
      baselineUnit: scenario.unit,
      // pg is chosen for its handling of bytes ((a) 1 MiB, (b)); elsewhere it must not lose by more than the noise.
      target: atLeast(0.9),
      notes: [
        `one operation per caller took ${perCaller(median(alternation.results))} (pg), ${perCaller(median(alternation.baselines))} (postgres);` +
          ` CPU of this process per operation ${cpu(pgSide)} (pg), ${cpu(postgresSide)} (postgres)`,
      ],
    },
    timing,
    alternation,
  );
}

/** A listener of LISTEN_CHANNEL on a connection of its own, named LISTENER_NAME so it can be killed from outside. */
interface Listening {
  /** Resolves with the first notification whose payload is `payload`. */
  next(payload: string): Promise<void>;
  close(): Promise<void>;
}

function waiter(): { next(payload: string): Promise<void>; heard(payload: string): void } {
  const waiting = new Map<string, () => void>();
  return {
    next: (payload) => new Promise((resolve) => waiting.set(payload, resolve)),
    heard: (payload) => {
      waiting.get(payload)?.();
      waiting.delete(payload);
    },
  };
}

async function postgresListener(url: string): Promise<Listening> {
  const sql = postgres(url, { max: 1, connection: { application_name: LISTENER_NAME } });
  const notifications = waiter();
  // The client keeps the LISTEN connection up itself: it reconnects with backoff and listens again.
  await sql.listen(LISTEN_CHANNEL, notifications.heard);
  return { next: notifications.next, close: () => sql.end() };
}

async function pgListener(url: string): Promise<Listening> {
  const client = new pg.Client({ connectionString: url, application_name: LISTENER_NAME });
  const notifications = waiter();
  // The bare client has no reconnect (persistence/postgres/connection.ts's listen() adds one): a killed connection
  // only reports an error, which must be caught or it ends the process.
  client.on('error', () => undefined);
  client.on('notification', (message) => notifications.heard(message.payload ?? ''));
  await client.connect();
  await client.query(`LISTEN ${LISTEN_CHANNEL}`);
  return { next: notifications.next, close: () => client.end() };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** (d) Median notify-to-listener time, then: does the listener hear again after its backend is terminated, and after how long. */
async function listenCheck(name: string, url: string, admin: postgres.Sql, listen: (url: string) => Promise<Listening>): Promise<string> {
  const listener = await listen(url);
  const notify = (payload: string) => admin`SELECT pg_notify(${LISTEN_CHANNEL}, ${payload})`;
  const times: number[] = [];
  for (let i = 0; i < NOTIFY_SAMPLES; i++) {
    const heard = listener.next(`sample ${i}`);
    const start = performance.now();
    await notify(`sample ${i}`);
    await heard;
    times.push(performance.now() - start);
  }
  await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${LISTENER_NAME}`;
  const killed = performance.now();
  const again = listener.next('again');
  let heardAgain = false;
  while (!heardAgain && performance.now() - killed < RECONNECT_WAIT_MS) {
    await notify('again');
    heardAgain = await withTimeout(again, RECONNECT_POLL_MS);
  }
  await listener.close();
  const after = heardAgain
    ? `heard again ${(performance.now() - killed).toFixed(0)} ms after its backend was terminated`
    : `heard nothing within ${RECONNECT_WAIT_MS / 1000} s after its backend was terminated`;
  return `${name}: notify→listener median ${(median(times) * 1000).toFixed(0)} µs over ${NOTIFY_SAMPLES}; ${after}`;
}

/** A loopback port nothing listens on: the dead first host of (f). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address() as net.AddressInfo;
      probe.close(() => resolve(address.port));
    });
  });
}

/** (f) `SELECT 1` through a URL whose first host is down and whose second is the server. */
async function failoverCheck(name: string, url: string, query: (url: string) => Promise<void>): Promise<string> {
  const parsed = new URL(url);
  const hosts = `127.0.0.1:${await closedPort()},${parsed.host}`;
  const multiHost = `postgres://${parsed.username}@${hosts}${parsed.pathname}?target_session_attrs=read-write`;
  try {
    await query(multiHost);
    return `${name}: connected to the second host of ${hosts} (target_session_attrs=read-write)`;
  } catch (error) {
    return `${name}: failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

async function main(): Promise<void> {
  const url = process.argv[2];
  if (url === undefined) throw new Error('usage: node dist/bench/pgClients.js postgres://user@host:port/db');
  const timing = readSettings(process.env);
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  const database = `mqgate_bench_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE ${database}`);
  const benchUrl = Object.assign(new URL(url), { pathname: `/${database}` }).toString();
  const started = performance.now();
  try {
    const setup = postgres(benchUrl, { max: 1, onnotice: () => undefined });
    await setup.unsafe(SCHEMA);
    const settings = await setup<Array<{ name: string; setting: string }>>`
      SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'server_version', 'max_connections')`;
    await setup.end();

    const drivers = { pg: pgDriver(benchUrl), postgres: postgresDriver(benchUrl) };
    const rows: Row[] = [];
    try {
      for (const scenario of SCENARIOS) {
        process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${scenario.label}\n`);
        rows.push(await measure(timing, scenario, drivers));
      }
    } finally {
      await Promise.all([drivers.pg.end(), drivers.postgres.end()]);
    }

    process.stderr.write('(d) listeners, (f) failover\n');
    const benchAdmin = postgres(benchUrl, { max: 1 });
    const listening = [
      await listenCheck('pg', benchUrl, benchAdmin, pgListener),
      await listenCheck('postgres', benchUrl, benchAdmin, postgresListener),
    ];
    await benchAdmin.end();
    const failover = [
      await failoverCheck('pg', benchUrl, async (multiHost) => {
        const client = new pg.Client({ connectionString: multiHost, connectionTimeoutMillis: 5000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
        } finally {
          await client.end().catch(() => undefined);
        }
      }),
      await failoverCheck('postgres', benchUrl, async (multiHost) => {
        const sql = postgres(multiHost, { max: 1, connect_timeout: 5 });
        try {
          await sql`SELECT 1`;
        } finally {
          await sql.end();
        }
      }),
    ];

    const server = settings.map(({ name, setting }) => `${name}=${setting}`).join(', ');
    process.stdout.write(
      [
        '',
        `mqgate pgClients: pg (result) vs postgres (baseline), pool of ${POOL_SIZE} each, same server (${server});` +
          ` ${timing.rounds} alternating rounds of ${timing.seconds} s per side after ${timing.warmupSeconds} s warm-up;` +
          ` node ${process.version}, ${os.cpus().length} cores`,
        '',
        formatTable(rows),
        '',
        '(d) LISTEN/NOTIFY',
        ...listening.map((line) => `  ${line}`),
        '(e) prepared statements: pg prepares a statement given a name (one text per name) once per connection; postgres every',
        '    parameterized one (prepare: true, the default for tagged queries). Both prepared in (a)–(c). Parameters: pg sends a',
        '    Buffer in binary, postgres every parameter as text (bytea as hex, twice its size): the 1 MiB row above.',
        '(f) multi-host URL',
        ...failover.map((line) => `  ${line}`),
        '',
        `wall time: ${((performance.now() - started) / 1000).toFixed(1)} s`,
        '',
      ].join('\n'),
    );
  } finally {
    await admin.unsafe(`DROP DATABASE ${database} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`pgClients failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
