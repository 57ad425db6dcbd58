import pg from 'pg';
import { createDatabase, startPostgres } from './postgresServer';

/**
 * What keeping API keys' rate limits in PostgreSQL, shared by every gateway,
 * would cost each request: a token-bucket UPDATE of the key's row, next to a
 * bare round trip. Sixteen callers for SECONDS each on a throw-away server of
 * the bench's (fsync and synchronous_commit on; then off for the rates'
 * sessions, as a shared limit could afford: a lost refill is harmless), one
 * hot key and then a hundred. The gateway divides the limits instead (the
 * `gateways` setting, api/rateLimits.ts `shareOf`): this is the figure that
 * choice was made on.
 *
 * Usage: npx tsc -b tsconfig.build.json && node dist/bench/sharedLimits.js
 */

const CALLERS = 16;
const SECONDS = 5;
const KEYS = 100;

const BUCKET = `UPDATE key_rates SET tokens = LEAST(100000, tokens + ($2 - at) * 1000 / 1000.0) - 1, at = $2
                 WHERE key = $1 RETURNING tokens`;

interface Measured {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** `call` from CALLERS callers at once for SECONDS: calls a second, and each call's latency. */
async function measure(call: (caller: number, i: number) => Promise<unknown>): Promise<Measured> {
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const start = performance.now();
        await call(caller, i);
        latencies.push(performance.now() - start);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { perSecond: latencies.length / SECONDS, p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const database = await createDatabase(server.url, 'mqgate_shared_limits');
  const pools = {
    durable: new pg.Pool({ connectionString: database.url, max: CALLERS }),
    lazy: new pg.Pool({ connectionString: database.url, max: CALLERS, options: '-c synchronous_commit=off' }),
  };
  // Dropping the database ends the pools' idle sessions, which they report as errors.
  for (const pool of Object.values(pools)) pool.on('error', () => undefined);
  try {
    await pools.durable.query('CREATE TABLE key_rates (key text PRIMARY KEY, tokens double precision NOT NULL, at bigint NOT NULL)');
    await pools.durable.query(`INSERT INTO key_rates SELECT 'k' || i, 100000, 0 FROM generate_series(0, ${KEYS - 1}) AS i`);
    const bucket = (pool: pg.Pool, key: (caller: number, i: number) => string) => (caller: number, i: number) =>
      pool.query({ name: 'bucket', text: BUCKET, values: [key(caller, i), Date.now()] });
    const rows: Array<[string, Measured]> = [
      ['round trip (SELECT 1)', await measure(() => pools.durable.query('SELECT 1'))],
      ['one key, synchronous_commit on', await measure(bucket(pools.durable, () => 'k0'))],
      ['one key, synchronous_commit off', await measure(bucket(pools.lazy, () => 'k0'))],
      [`${KEYS} keys, synchronous_commit on`, await measure(bucket(pools.durable, (caller, i) => `k${(caller * 7 + i) % KEYS}`))],
      [`${KEYS} keys, synchronous_commit off`, await measure(bucket(pools.lazy, (caller, i) => `k${(caller * 7 + i) % KEYS}`))],
    ];
    process.stdout.write(`shared rate limits in PostgreSQL: ${CALLERS} callers, ${SECONDS} s each\n`);
    for (const [name, m] of rows) {
      process.stdout.write(`${name.padEnd(36)} ${m.perSecond.toFixed(0).padStart(7)} calls/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms\n`);
    }
  } finally {
    await Promise.all([pools.durable.end(), pools.lazy.end()]);
    await database.drop();
    await server.stop();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
