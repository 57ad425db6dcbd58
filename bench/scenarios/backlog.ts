import { Metrics } from '../../api/metrics';
import { PostgresStore } from '../../persistence/postgres/postgresStore';
import { SqliteStore } from '../../persistence/sqlite/sqliteStore';
import type { NewMessage, Store } from '../../persistence/store';
import { systemClock } from '../../queue/clock';
import { DEFAULT_LIMITS, defaultQueueSettings } from '../../queue/limits';
import { QueueService } from '../../queue/queueService';
import { SchemaService } from '../../queue/schemas';
import { rules } from '../../queue/rules';
import { Wakeups } from '../../queue/wakeups';
import type { Backend, SideMeter } from '../backend';
import { ownClock } from '../cpuMeter';
import { storedValueOfSize } from '../payload';
import { seedPostgresQueue } from '../pgSeed';
import { atMost, type Row, type Target } from '../report';
import { median } from '../rounds';

const QUEUE = 'bench';
const SMALL_BACKLOG = 1000;
/** 1 KB like the other scenarios: seeding a million of them takes tens of seconds, which the run can afford. */
const VALUE_BYTES = 1024;
const SEED_BATCH = 1000;
/**
 * Messages per size per round. Rounds alternate between the sizes and top
 * both queues back up in between, so the small one stays near 1,000 ready and
 * drift on a noisy machine hits both sizes alike.
 */
const ROUND = 250;
const WARMUP_MESSAGES = 500;
/** What each backend's row is called and must meet: (d) on SQLite, (d-pg) on PostgreSQL. */
const ROWS: Record<Backend['name'], { tag: string; target: Target }> = {
  SQLite: { tag: '(d)', target: atMost(1.25) },
  PostgreSQL: { tag: '(d-pg)', target: atMost(1.5) },
};

/** Its meter measures the CPU of the timed fetches and acks: this process's (the gateway's code runs in it) and the database server's. */
interface Backlog extends SideMeter {
  size: number;
  store: Store;
  queues: QueueService;
  /** Per-round µs per message. */
  rounds: number[];
}

async function produce(store: Store, count: number): Promise<void> {
  const message: NewMessage = {
    key: null,
    headers: {},
    contentType: 'application/json',
    value: storedValueOfSize(VALUE_BYTES),
    group: null,
    delayMs: 0,
    idempotencyKey: null,
    bytes: VALUE_BYTES,
  };
  const options = { now: Date.now(), idempotencyWindowMs: DEFAULT_LIMITS.idempotencyWindowMs };
  for (let left = count; left > 0; left -= SEED_BATCH) {
    await store.produce({ queue: QUEUE, messages: Array.from({ length: Math.min(SEED_BATCH, left) }, () => message), ...options });
  }
}

function createQueue(store: Store): Promise<unknown> {
  return store.putQueue({ name: QUEUE, settings: defaultQueueSettings(DEFAULT_LIMITS), now: Date.now() });
}

/**
 * How each backend opens its store at `location` (backend.ts's FreshStore)
 * with the queue seeded with `size` ready messages, fast, in the
 * durability the measurement is about. SQLite: the store's own produce,
 * SEED_BATCH messages per call, with synchronous=NORMAL (no fsync per commit),
 * then reopened with FULL. PostgreSQL: one INSERT … SELECT generate_series of
 * the rows the store's produce writes (pgSeed.ts, which counts the rows).
 */
const SEEDED: Record<Backend['name'], { seeding: string; open: (location: string, size: number) => Promise<Store> }> = {
  SQLite: {
    seeding: `through the store's produce, ${SEED_BATCH.toLocaleString('en-US')} per call, synchronous=NORMAL`,
    open: async (dataDir, size) => {
      const seeding = new SqliteStore({ dataDir, synchronous: 'NORMAL', rules });
      try {
        await createQueue(seeding);
        await produce(seeding, size);
      } finally {
        await seeding.close();
      }
      return new SqliteStore({ dataDir, synchronous: 'FULL', rules });
    },
  },
  PostgreSQL: {
    seeding:
      "with one INSERT … SELECT generate_series of the rows the store's produce writes, then VACUUM ANALYZE; the ready rows with their messages counted",
    open: async (url, size) => {
      const store = new PostgresStore({ url, rules });
      await createQueue(store);
      await seedPostgresQueue(url, QUEUE, size, storedValueOfSize(VALUE_BYTES));
      return store;
    },
  },
};

/** A queue of `size` ready messages in the store at `location`; its stats must count them all ready. */
async function openBacklog(backend: Backend, location: string, size: number): Promise<Backlog> {
  const store = await SEEDED[backend.name].open(location, size);
  const { ready } = await store.queueStats({ queue: QUEUE, now: Date.now() });
  if (ready !== size) throw new Error(`seeded ${size} messages on ${backend.name}, but ${ready} are ready`);
  const metrics = new Metrics();
  const queues = new QueueService(store, systemClock, DEFAULT_LIMITS, new Wakeups(store, systemClock), metrics, new SchemaService(store, systemClock, metrics));
  return { size, store, queues, ...backend.meter(ownClock), rounds: [] };
}

/** Fetches one message and acks it, `count` times in a row; returns µs per message. */
async function fetchAck(backlog: Backlog, count: number): Promise<number> {
  const signal = new AbortController().signal;
  const { seconds } = await backlog.meter.during(async () => {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const [message] = await backlog.queues.fetch({ queue: QUEUE }, { max: 1, waitMs: 0 }, signal);
      if (message === undefined) throw new Error(`the ${backlog.size}-message queue ran dry`);
      const [result] = await backlog.queues.ack({ queue: QUEUE }, [message.receipt]);
      if (result.status !== 'acked') throw new Error(`ack refused: ${JSON.stringify(result)}`);
    }
    return { handled: count, seconds: (performance.now() - start) / 1000 };
  });
  // Untimed: put back what was consumed, so the backlog stays the size it is named after.
  await produce(backlog.store, count);
  return (seconds * 1e6) / count;
}

/**
 * (d) Sequential fetch (max 1) + ack in-process through QueueService on
 * `backend`, with a million ready messages and with a thousand, each in a
 * store of its own: the cost of taking one message must not grow with the
 * backlog (the claim is an index range scan).
 */
export async function backlog(backend: Backend, largeSize: number, samples: number): Promise<Row> {
  return backend.withFreshStore((smallStore) =>
    backend.withFreshStore(async (largeStore) => {
      const seedStart = performance.now();
      const large = await openBacklog(backend, largeStore.location, largeSize);
      const seedSeconds = (performance.now() - seedStart) / 1000;
      const small = await openBacklog(backend, smallStore.location, SMALL_BACKLOG);
      const rounds = Math.max(1, Math.round(samples / ROUND));
      try {
        for (const each of [small, large]) await fetchAck(each, WARMUP_MESSAGES);
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? [small, large] : [large, small];
          for (const each of order) each.rounds.push(await fetchAck(each, ROUND));
        }
      } finally {
        await Promise.all([small.store.close(), large.store.close()]);
      }
      const count = (n: number): string => n.toLocaleString('en-US');
      const { tag, target } = ROWS[backend.name];
      return {
        scenario: `${tag} fetch1+ack, ${count(largeSize)} vs ${count(SMALL_BACKLOG)} ready`,
        result: { value: median(large.rounds), unit: 'µs/msg' },
        baseline: { value: median(small.rounds), unit: 'µs/msg' },
        target,
        cpu: { result: large.cpu(), baseline: small.cpu() },
        notes: [
          `in-process QueueService on ${backend.description}, ${VALUE_BYTES} B values; median of ${rounds} alternating rounds of ${ROUND} messages per size;` +
            ' the gateway\'s CPU here is the bench process\'s',
          `seeded ${count(largeSize)} messages ${SEEDED[backend.name].seeding}, in ${seedSeconds.toFixed(1)} s; the queue's stats then counted them all ready`,
        ],
      };
    }),
  );
}
