import { Metrics } from '../../api/metrics';
import { SqliteStore } from '../../persistence/sqlite/sqliteStore';
import type { NewMessage } from '../../persistence/store';
import { systemClock } from '../../queue/clock';
import { DEFAULT_LIMITS, defaultQueueSettings } from '../../queue/limits';
import { QueueService } from '../../queue/queueService';
import { rules } from '../../queue/rules';
import { Wakeups } from '../../queue/wakeups';
import { storedValueOfSize } from '../payload';
import { atMost, type Row } from '../report';
import { median } from '../rounds';
import { withTempDir } from '../tempDir';

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

interface Backlog {
  size: number;
  store: SqliteStore;
  queues: QueueService;
  /** Per-round µs per message. */
  rounds: number[];
}

async function produce(store: SqliteStore, count: number): Promise<void> {
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

/**
 * A queue of `size` ready messages in `dir`, seeded with synchronous=NORMAL
 * (no fsync per commit, for speed) and reopened with FULL, the durability
 * the measurement is about.
 */
async function openBacklog(dir: string, size: number): Promise<Backlog> {
  const seeding = new SqliteStore({ dataDir: dir, synchronous: 'NORMAL', rules });
  try {
    await seeding.putQueue({ name: QUEUE, settings: defaultQueueSettings(DEFAULT_LIMITS), now: Date.now() });
    await produce(seeding, size);
  } finally {
    await seeding.close();
  }
  const store = new SqliteStore({ dataDir: dir, synchronous: 'FULL', rules });
  return { size, store, queues: new QueueService(store, systemClock, DEFAULT_LIMITS, new Wakeups(store, systemClock), new Metrics()), rounds: [] };
}

/** Fetches one message and acks it, `count` times in a row; returns µs per message. */
async function fetchAck(backlog: Backlog, count: number): Promise<number> {
  const signal = new AbortController().signal;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const [message] = await backlog.queues.fetch({ queue: QUEUE }, { max: 1, waitMs: 0 }, signal);
    if (message === undefined) throw new Error(`the ${backlog.size}-message queue ran dry`);
    const [result] = await backlog.queues.ack({ queue: QUEUE }, [message.receipt]);
    if (result.status !== 'acked') throw new Error(`ack refused: ${JSON.stringify(result)}`);
  }
  const micros = ((performance.now() - start) * 1000) / count;
  // Untimed: put back what was consumed, so the backlog stays the size it is named after.
  await produce(backlog.store, count);
  return micros;
}

/**
 * (d) Sequential fetch (max 1) + ack in-process through QueueService, with a
 * million ready messages and with a thousand: the cost of taking one message
 * must not grow with the backlog (the claim is an index range scan).
 */
export async function backlog(largeSize: number, samples: number): Promise<Row> {
  return withTempDir('backlog-small', (smallDir) =>
    withTempDir('backlog-large', async (largeDir) => {
      const seedStart = performance.now();
      const large = await openBacklog(largeDir, largeSize);
      const seedSeconds = (performance.now() - seedStart) / 1000;
      const small = await openBacklog(smallDir, SMALL_BACKLOG);
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
      return {
        scenario: `(d) fetch1+ack, ${count(largeSize)} vs ${count(SMALL_BACKLOG)} ready`,
        result: { value: median(large.rounds), unit: 'µs/msg' },
        baseline: { value: median(small.rounds), unit: 'µs/msg' },
        target: atMost(1.25),
        notes: [
          `in-process QueueService, synchronous=FULL, ${VALUE_BYTES} B values; median of ${rounds} alternating rounds of ${ROUND} messages per size`,
          `seeded ${count(largeSize)} messages (synchronous=NORMAL) in ${seedSeconds.toFixed(1)} s`,
        ],
      };
    }),
  );
}
