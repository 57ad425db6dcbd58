import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NOT_READY, OLDEST_READY } from '../persistence/sqlite/queueStats';
import { DATABASE_FILE, SqliteStore } from '../persistence/sqlite/sqliteStore';
import type { DeliveryRef, QueueStats, SubscriptionRef } from '../persistence/store';
import { rules } from '../queue/rules';
import { type Rng, rngFor } from './support/crashLoadRandom';
import { inPartition, message, settings, SUBSCRIPTION, sweepAt, T0, topicSettings, WINDOW } from './store-contract/fixtures';
import { tempDir } from './support/testGateway';

/**
 * Stats come from counters (migration 008) that each insert of delivery rows
 * adds to (migration 015) and a trigger on their delete takes from, and from a range of the rows not ready now. A random history of every kind
 * of change to deliveries, on queues and on a topic's queue subscriptions,
 * is checked after each step: every stat of every queue subscription must
 * equal a recount that scans its rows, as stats were computed before 008.
 * STATS_SEED replays a history; without it one fixed and one fresh seed run.
 */

const STEPS = 400;

type Compared = Pick<QueueStats, 'ready' | 'inFlight' | 'delayed' | 'bytes' | 'oldestReadyAgeMs'>;

interface Recount {
  ready: number;
  in_flight: number;
  delayed: number;
  bytes: number;
  orphans: number;
  oldest_timestamp: number | null;
}

interface SubscriptionName {
  kind: 'queue' | 'topic';
  topic: string;
  name: string;
}

/** The rows of one subscription read one by one, joined to their messages for the bytes: nothing of migration 008 is used. */
const RECOUNT = `
  SELECT COALESCE(SUM(d.available_at <= :now), 0)               AS ready,
         COALESCE(SUM(d.available_at > :now AND d.leased = 1), 0) AS in_flight,
         COALESCE(SUM(d.available_at > :now AND d.leased = 0), 0) AS delayed,
         COALESCE(SUM(length(m.value)), 0)                       AS bytes,
         COALESCE(SUM(m.id IS NULL), 0)                          AS orphans,
         (SELECT timestamp FROM messages WHERE id =
            (SELECT MIN(message_id) FROM deliveries WHERE subscription_id = :subscription AND available_at <= :now)) AS oldest_timestamp
    FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id
   WHERE d.subscription_id = :subscription`;

const SUBSCRIPTIONS = `SELECT s.id, t.kind, t.name AS topic, s.name FROM subscriptions s JOIN topics t ON t.id = s.topic_id ORDER BY s.id`;

/** A store over `dataDir`, with queue/'s rules; NORMAL, as no test here is about fsyncs. */
const openStore = (dataDir: string): SqliteStore => new SqliteStore({ dataDir, synchronous: 'NORMAL', rules });

/** A store over a temp dir, that can be closed and opened again, and a read-only connection beside it for recounts. */
class Harness {
  dataDir = tempDir('mqgate-stats-');
  store = openStore(this.dataDir);
  private raw = new Database(path.join(this.dataDir, DATABASE_FILE), { readonly: true });
  /** Data dirs left behind by crashes, removed at the end. */
  private readonly crashed: string[] = [];

  async restart(): Promise<void> {
    await this.store.close();
    this.store = openStore(this.dataDir);
  }

  /**
   * A crash: the files as they are on disk this moment (the database and its
   * log, no close, no checkpoint), as a SIGKILL leaves them, copied to a new
   * data dir that the next store recovers from. The old store is let go.
   */
  async crash(): Promise<void> {
    const copy = tempDir('mqgate-stats-crash-');
    for (const file of [DATABASE_FILE, `${DATABASE_FILE}-wal`]) {
      if (fs.existsSync(path.join(this.dataDir, file))) fs.copyFileSync(path.join(this.dataDir, file), path.join(copy, file));
    }
    this.raw.close();
    await this.store.close();
    this.crashed.push(this.dataDir);
    this.dataDir = copy;
    this.store = openStore(copy);
    this.raw = new Database(path.join(copy, DATABASE_FILE), { readonly: true });
  }

  /** Every queue subscription's stats as the store gives them, beside a recount of its rows. */
  async compare(now: number): Promise<void> {
    const rows = this.raw.prepare<[], SubscriptionName & { id: number }>(SUBSCRIPTIONS).all();
    for (const row of rows) {
      const recount = this.raw.prepare<{ subscription: number; now: number }, Recount>(RECOUNT).get({ subscription: row.id, now }) as Recount;
      expect({ subscription: row.name, orphans: recount.orphans }).toEqual({ subscription: row.name, orphans: 0 });
      const expected: Compared = {
        ready: recount.ready,
        inFlight: recount.in_flight,
        delayed: recount.delayed,
        bytes: recount.bytes,
        oldestReadyAgeMs: recount.oldest_timestamp === null ? null : Math.max(0, now - recount.oldest_timestamp),
      };
      const stats =
        row.kind === 'queue'
          ? await this.store.queueStats({ queue: row.topic, now })
          : await this.store.subscriptionStats({ topic: row.topic, subscription: row.name, now });
      const { ready, inFlight, delayed, bytes, oldestReadyAgeMs } = stats;
      expect({ at: `${row.topic}/${row.name}`, ready, inFlight, delayed, bytes, oldestReadyAgeMs }).toEqual({ at: `${row.topic}/${row.name}`, ...expected });
    }
  }

  async dispose(): Promise<void> {
    this.raw.close();
    await this.store.close();
    for (const dir of [this.dataDir, ...this.crashed]) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The queue subscriptions the history works on; `t/s3` comes and goes. */
const REFS: Record<string, SubscriptionRef> = {
  q: { queue: 'q' },
  dlq: { queue: 'dlq' },
  s1: { topic: 't', subscription: 's1' },
  s2: { topic: 't', subscription: 's2' },
  s3: { topic: 't', subscription: 's3' },
};

/** What a history did at least once, so that a run that never dead-letters (say) does not pass unnoticed. */
type Event = 'delayed produce' | 'claim' | 'ack' | 'nack' | 'extend' | 'dead letter' | 'redrive' | 'purge' | 'retention' | 'restart' | 'crash' | 'cascade';

/** One random history; returns what happened in it. */
async function history(h: Harness, rng: Rng, log: string[]): Promise<Set<Event>> {
  const seen = new Set<Event>();
  let now = T0;
  const leases = new Map<string, DeliveryRef[]>(Object.keys(REFS).map((name) => [name, []]));
  let s3 = false;
  const value = () => Buffer.from('x'.repeat(rng.int(0, 300)));
  const pick = <T>(items: T[]): T => items[rng.int(0, items.length - 1)];
  const subscriptionNames = () => Object.keys(REFS).filter((name) => name !== 's3' || s3);
  const leasesOf = (name: string) => leases.get(name) as DeliveryRef[];
  /** Adds what the step logged last came to: logged before it runs, a failing step is named. */
  const outcome = (text: string) => {
    log[log.length - 1] += ` → ${text}`;
  };
  /** Some leases of one subscription that has any, taken off the list whether or not they are still live. */
  const takeLeases = (): { name: string; refs: DeliveryRef[] } => {
    const holding = subscriptionNames().filter((name) => leasesOf(name).length > 0);
    const name = pick(holding.length > 0 ? holding : subscriptionNames());
    const refs = leasesOf(name).filter(() => rng.chance(0.5));
    leases.set(name, leasesOf(name).filter((ref) => !refs.includes(ref)));
    return { name, refs };
  };

  await h.store.putQueue({ name: 'dlq', settings: settings({ retentionMs: 40_000 }), now });
  await h.store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq', retentionMs: 25_000 }), now });
  await h.store.putTopic({ name: 't', settings: topicSettings({ partitions: 2, retentionMs: 15_000 }), now });
  await h.store.putSubscription({ topic: 't', subscription: 's1', settings: { ...SUBSCRIPTION, maxDeliveries: 1, deadLetterQueue: 'dlq' }, fromEarliest: false, now });
  await h.store.putSubscription({ topic: 't', subscription: 's2', settings: SUBSCRIPTION, fromEarliest: false, now });

  for (let step = 0; step < STEPS; step += 1) {
    const roll = rng.next();
    if (roll < 0.13) {
      const delays = Array.from({ length: rng.int(1, 4) }, () => pick([null, 0, 0, rng.int(1, 4000)]));
      if (delays.some((delay) => delay !== null && delay > 0)) seen.add('delayed produce');
      log.push(`produce q ${JSON.stringify(delays)}`);
      await h.store.produce({ queue: 'q', messages: delays.map((delayMs) => message('', { value: value(), delayMs })), now, idempotencyWindowMs: WINDOW });
    } else if (roll < 0.24) {
      const count = rng.int(1, 4);
      log.push(`produce t ×${count}`);
      const messages = Array.from({ length: count }, () => ({ ...message('', { value: value() }), partition: rng.int(0, 1) }));
      await h.store.produceTopic({ topic: 't', messages, now, idempotencyWindowMs: WINDOW });
    } else if (roll < 0.4) {
      const name = pick(subscriptionNames());
      log.push(`claim ${name}`);
      const dlqProduced = async () => (await h.store.queueStats({ queue: 'dlq', now })).produced;
      const before = await dlqProduced();
      const { subscriptionId, leases: got } = await h.store.claim({
        from: REFS[name],
        max: rng.int(1, 4),
        now,
        visibilityTimeoutMs: pick([null, rng.int(200, 3000)]),
      });
      outcome(String(got.length));
      if (got.length > 0) seen.add('claim');
      if ((await dlqProduced()) > before) seen.add('dead letter');
      const refs = got.map((lease) => ({ subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount }));
      leasesOf(name).push(...refs);
    } else if (roll < 0.58) {
      const { name, refs } = takeLeases();
      const kind = pick(['ack', 'nack', 'extend'] as const);
      const at = now + pick([0, rng.int(1, 3000)]);
      const settlement = kind === 'ack' ? { kind } : kind === 'nack' ? { kind, availableAt: at } : { kind, leaseUntil: at + 1 };
      log.push(`${kind} ${name} ×${refs.length}`);
      const statuses = await h.store.settle({ at: REFS[name], refs, settlement, now });
      outcome(statuses.join(','));
      if (statuses.some((status) => status !== 'expired' && status !== 'unknown')) seen.add(kind);
    } else if (roll < 0.62) {
      // The newest lease of a subscription that dead-letters: the likeliest to be live still.
      const holding = subscriptionNames().filter((name) => name !== 'dlq' && leasesOf(name).length > 0);
      if (holding.length === 0) continue;
      const name = pick(holding);
      const ref = leasesOf(name).pop() as DeliveryRef;
      log.push(`dead-letter lease ${name}`);
      const moved = await h.store.deadLetterLease({ at: REFS[name], ref, deadLetterQueue: 'dlq', headers: { reason: 'test' }, now });
      outcome(String(moved));
      if (moved) seen.add('dead letter');
    } else if (roll < 0.76) {
      const ms = rng.int(1, 2000);
      log.push(`clock +${ms}`);
      now += ms;
    } else if (roll < 0.83) {
      const to = pick([null, null, 'q']);
      log.push(`redrive to ${to}`);
      const result = await h.store.redrive({ deadLetterQueue: 'dlq', max: rng.int(1, 5), to, now });
      outcome(JSON.stringify(result));
      if (result.redriven > 0) seen.add('redrive');
    } else if (roll < 0.86) {
      const queue = pick(['q', 'q', 'dlq']);
      log.push(`purge ${queue}`);
      const purged = await h.store.purgeQueue(queue);
      outcome(String(purged));
      if (purged > 0) seen.add('purge');
    } else if (roll < 0.91) {
      log.push('sweep');
      const result = await h.store.sweep(sweepAt(now, { repliesBefore: now, budget: rng.int(1, 20) }));
      outcome(JSON.stringify(result));
      if (result.expiredMessages > 0) seen.add('retention');
    } else if (roll < 0.93) {
      log.push('restart');
      await h.restart();
      seen.add('restart');
    } else if (roll < 0.95) {
      log.push('crash');
      await h.crash();
      seen.add('crash');
    } else {
      // A subscription deleted with its rows (a cascade), or made again from the next message or from every retained one.
      if (s3) {
        log.push('delete t/s3');
        const { ready, inFlight, delayed } = await h.store.subscriptionStats({ topic: 't', subscription: 's3', now });
        if (ready + inFlight + delayed > 0) seen.add('cascade');
        await h.store.deleteSubscription({ topic: 't', subscription: 's3' });
      } else {
        const fromEarliest = rng.chance(0.7);
        log.push(`put t/s3 fromEarliest=${fromEarliest}`);
        await h.store.putSubscription({ topic: 't', subscription: 's3', settings: { visibilityTimeoutMs: 1500, maxDeliveries: 2, deadLetterQueue: 'dlq' }, fromEarliest, now });
      }
      s3 = !s3;
      leases.set('s3', []);
    }
    await h.compare(now);
  }
  return seen;
}

const ALL_EVENTS: Event[] = ['delayed produce', 'claim', 'ack', 'nack', 'extend', 'dead letter', 'redrive', 'purge', 'retention', 'restart', 'crash', 'cascade'];
const envSeed = process.env.STATS_SEED;
const seeds = envSeed === undefined || envSeed.trim() === '' ? [20_260_301, randomInt(1, 2 ** 31)] : [Number(envSeed) >>> 0];

describe('stats equal a recount of the rows after every step of a random history', () => {
  test.each(seeds)(`seed %i (STATS_SEED=<seed> replays it), ${STEPS} steps`, async (seed) => {
    const h = new Harness();
    const log: string[] = [];
    try {
      const seen = await history(h, rngFor(seed), log);
      expect(ALL_EVENTS.filter((event) => !seen.has(event))).toEqual([]);
    } catch (error) {
      const last = log.slice(-8).map((line, i) => `  ${log.length - Math.min(8, log.length) + i}: ${line}`);
      throw new Error(`STATS_SEED=${seed}, ${log.length} steps logged; the last ones:\n${last.join('\n')}\n${String(error)}`);
    } finally {
      await h.dispose();
    }
  }, 120_000);
});

describe('stats counters', () => {
  let h: Harness;

  beforeEach(() => {
    h = new Harness();
  });

  afterEach(() => h.dispose());

  test('the stats queries read a bounded range: the rows not ready, and the key up to the first ready row', () => {
    const db = new Database(path.join(h.dataDir, DATABASE_FILE), { readonly: true });
    const plan = (sql: string): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ subscription: 1, now: 5 }) as Array<{ detail: string }>).map((p) => p.detail).join('\n');
    try {
      expect(plan(NOT_READY)).toBe('SEARCH deliveries USING INDEX deliveries_by_availability (subscription_id=? AND available_at>?)');
      // In message_id order along the primary key, stopping at the first ready row: no scan of the ready ones, no sort.
      expect(plan(OLDEST_READY)).toBe('SEARCH deliveries USING PRIMARY KEY (subscription_id=?)');
    } finally {
      db.close();
    }
  });

  test('deleting a subscription, a queue or a topic fires the delete trigger for each row the cascade takes, and leaves the other counts right', async () => {
    await h.store.putQueue({ name: 'q', settings: settings(), now: T0 });
    await h.store.putQueue({ name: 'other', settings: settings(), now: T0 });
    await h.store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
    for (const subscription of ['a', 'b']) await h.store.putSubscription({ topic: 't', subscription, settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
    const options = { now: T0, idempotencyWindowMs: WINDOW };
    await h.store.produce({ queue: 'q', messages: [message('one'), message('two')], ...options });
    await h.store.produce({ queue: 'other', messages: [message('kept')], ...options });
    await h.store.produceTopic({ topic: 't', messages: [inPartition(0, 'three')], ...options });
    await h.store.close();
    // A connection of the test's own, with a log the counting trigger's twin writes to: SQLite fires
    // AFTER DELETE triggers for rows a cascade deletes, without recursive_triggers.
    const db = new Database(path.join(h.dataDir, DATABASE_FILE));
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TEMP TABLE deleted (subscription_id INTEGER, bytes INTEGER);
             CREATE TEMP TRIGGER log_delete AFTER DELETE ON main.deliveries BEGIN INSERT INTO deleted VALUES (OLD.subscription_id, OLD.bytes); END`);
    const idOf = (topic: string, name: string) =>
      db.prepare('SELECT s.id FROM subscriptions s JOIN topics t ON t.id = s.topic_id WHERE t.name = ? AND s.name = ?').pluck().get(topic, name) as number;
    const [q, a, b, other] = [idOf('q', '$queue'), idOf('t', 'a'), idOf('t', 'b'), idOf('other', '$queue')];
    db.prepare('DELETE FROM subscriptions WHERE id = ?').run(a);
    db.prepare("DELETE FROM topics WHERE name = 'q'").run();
    expect(db.prepare('SELECT subscription_id, bytes FROM deleted ORDER BY subscription_id, bytes').all()).toEqual([
      { subscription_id: q, bytes: 3 },
      { subscription_id: q, bytes: 3 },
      { subscription_id: a, bytes: 5 },
    ]);
    expect(db.prepare('SELECT id, waiting, waiting_bytes FROM subscriptions ORDER BY id').all()).toEqual([
      { id: other, waiting: 1, waiting_bytes: 4 },
      { id: b, waiting: 1, waiting_bytes: 5 },
    ]);
    db.prepare("DELETE FROM topics WHERE name = 't'").run();
    expect(db.prepare('SELECT count(*) FROM deleted WHERE subscription_id = ?').pluck().get(b)).toBe(1);
    db.close();
    h.store = openStore(h.dataDir);
    expect(await h.store.queueStats({ queue: 'other', now: T0 })).toMatchObject({ ready: 1, bytes: 4 });
  });

  test('migration 008 counts the rows and bytes a database already holds', async () => {
    await h.store.putQueue({ name: 'q', settings: settings(), now: T0 });
    await h.store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
    await h.store.putSubscription({ topic: 't', subscription: 's', settings: SUBSCRIPTION, fromEarliest: false, now: T0 });
    const options = { now: T0, idempotencyWindowMs: WINDOW };
    await h.store.produce({ queue: 'q', messages: [message('a'), message('bb', { delayMs: 500 }), message('ccc')], ...options });
    await h.store.produceTopic({ topic: 't', messages: [inPartition(0, 'dddd')], ...options });
    await h.store.claim({ from: { queue: 'q' }, max: 1, now: T0, visibilityTimeoutMs: 1000 });
    await h.store.close();
    // The database as the release before 008 left it (and so before 009, which indexes its counter, and 015).
    const db = new Database(path.join(h.dataDir, DATABASE_FILE));
    db.exec(`DROP INDEX queues_by_backlog;
             DROP TRIGGER deliveries_count_delete;
             ALTER TABLE deliveries DROP COLUMN bytes;
             ALTER TABLE subscriptions DROP COLUMN waiting;
             ALTER TABLE subscriptions DROP COLUMN waiting_bytes;
             DELETE FROM schema_migrations WHERE version IN (8, 9, 15);`);
    db.close();
    h.store = openStore(h.dataDir);
    expect(await h.store.queueStats({ queue: 'q', now: T0 })).toMatchObject({ ready: 1, inFlight: 1, delayed: 1, bytes: 6 });
    expect(await h.store.subscriptionStats({ topic: 't', subscription: 's', now: T0 })).toMatchObject({ ready: 1, bytes: 4 });
    await h.compare(T0);
    // 015 after 008: what is inserted next is counted once, not by a trigger as well.
    await h.store.produce({ queue: 'q', messages: [message('eeeee')], ...options });
    await h.store.produceTopic({ topic: 't', messages: [inPartition(0, 'ff')], ...options });
    expect(await h.store.queueStats({ queue: 'q', now: T0 })).toMatchObject({ ready: 2, bytes: 11 });
    await h.compare(T0 + 1000);
  });

  test('migration 015 leaves the counts of a database it finds, and the inserts after it are each counted once', async () => {
    await h.store.putQueue({ name: 'q', settings: settings(), now: T0 });
    await h.store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
    const options = { now: T0, idempotencyWindowMs: WINDOW };
    await h.store.produce({ queue: 'q', messages: [message('a'), message('bb')], ...options });
    await h.store.produceTopic({ topic: 't', messages: [inPartition(0, 'ccc'), inPartition(0, 'dddd')], ...options });
    await h.store.close();
    // The database as the release before 015 left it: the insert trigger of 008 counts every row.
    const db = new Database(path.join(h.dataDir, DATABASE_FILE));
    db.exec(`CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
             BEGIN
               UPDATE subscriptions SET waiting = waiting + 1, waiting_bytes = waiting_bytes + NEW.bytes WHERE id = NEW.subscription_id;
             END;
             DELETE FROM schema_migrations WHERE version = 15;`);
    db.close();
    h.store = openStore(h.dataDir);
    expect(await h.store.queueStats({ queue: 'q', now: T0 })).toMatchObject({ ready: 2, bytes: 3 });
    // Each of the three inserts: a produce, a backfill, and (below) a redrive to a topic subscription.
    await h.store.produce({ queue: 'q', messages: [message('eeeee')], ...options });
    await h.store.putSubscription({ topic: 't', subscription: 's', settings: SUBSCRIPTION, fromEarliest: true, now: T0 });
    expect(await h.store.queueStats({ queue: 'q', now: T0 })).toMatchObject({ ready: 3, bytes: 8 });
    expect(await h.store.subscriptionStats({ topic: 't', subscription: 's', now: T0 })).toMatchObject({ ready: 2, bytes: 7 });
    await h.compare(T0);
  });
});
