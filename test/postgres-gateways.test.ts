import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import type { MessageEvents } from '../queue/events';
import { DEFAULT_LIMITS } from '../queue/limits';
import { OWNERSHIP_MS as OWNERSHIP_MS_DEFAULT } from '../queue/push/dispatcher';
import { rules } from '../queue/rules';
import { createServices, type Services } from '../queue/services';
import { inPartition, message, opts, settings, sweepAt, T0, topicSettings } from './store-contract/fixtures';
import { type ChildGateway, json, killChildGateways, startChildGateway } from './support/childGateway';
import { eventually, type Receiver, startReceiver } from './support/receiver';
import { ManualClock } from './support/manualClock';
import { tempDir } from './support/testGateway';
import { createTestDatabase, freshSchemaUrl, type TestDatabase } from './support/testPostgres';

/**
 * Several gateway processes over one PostgreSQL database: what one of them
 * commits, every other one must act on as if it had committed it itself.
 * Stores over one schema stand for gateways where a store's calls tell it
 * all; gateway processes where it takes the HTTP API.
 */

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());
afterEach(killChildGateways);

/** The groups fetches make: read from the start, members that never expire within a test. */
const GROUP = { resetPolicy: 'earliest' as const, sessionTimeoutMs: 60_000 };

/** How long a test waits for a condition before it fails: generous, for a loaded machine. */
const PATIENCE_MS = 20_000;
/** The gateway processes' `ownershipMs`. */
const OWNERSHIP_MS = 3000;

describe('announcements between stores over one schema', () => {
  let stores: [PostgresStore, PostgresStore];
  /** What each store's onAvailable and onReplied listeners heard, in order. */
  let heard: [Array<string | null>, Array<string | null>];
  let replies: [Array<string | null>, Array<string | null>];

  beforeEach(async () => {
    const schema = `gateways_${randomBytes(6).toString('hex')}`;
    const open = (): PostgresStore => new PostgresStore({ url: database.url, schema, rules, poolSize: 4 });
    stores = [open(), open()];
    await Promise.all(stores.map((store) => store.checkReady()));
    heard = [[], []];
    replies = [[], []];
    stores.forEach((store, i) => {
      store.onAvailable((queue) => heard[i].push(queue));
      store.onReplied((id) => replies[i].push(id));
    });
    // Listening once each has been told to look again (null): from then on nothing is missed.
    await eventually(() => heard.every((names) => names.includes(null)) && replies.every((ids) => ids.includes(null)), PATIENCE_MS);
    heard = [[], []];
    replies = [[], []];
  });
  afterEach(() => Promise.all(stores.map((store) => store.close())));

  test('a produce, a delayed nack and a reply committed by one are heard by the other; each hears its own once', async () => {
    const [a, b] = stores;
    await a.putQueue({ name: 'q', settings: settings(), now: T0 });
    await a.putQueue({ name: 'r', settings: settings(), now: T0 });
    await a.produce({ queue: 'q', messages: [message('one')], ...opts() });
    await eventually(() => heard[1].includes('q'), PATIENCE_MS);
    const { subscriptionId, leases } = await b.claim({ from: { queue: 'q' }, max: 1, now: T0, visibilityTimeoutMs: 1000 });
    const refs = leases.map((lease) => ({ subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount }));
    await b.settle({ at: { queue: 'q' }, refs, settlement: { kind: 'nack', availableAt: T0 + 500 }, now: T0 });
    await eventually(() => heard[0].length === 2, PATIENCE_MS);
    // Notifications come in commit order: had a's own produce come back to it, it would be heard before b's produce into r.
    await b.produce({ queue: 'r', messages: [message('two')], ...opts() });
    await eventually(() => heard[0].includes('r'), PATIENCE_MS);
    expect(heard[0]).toEqual(['q', 'q', 'r']);
    expect(heard[1]).toEqual(['q', 'q', 'r']);

    await a.produceRequest({ queue: 'q', message: message('question'), pending: { correlationId: 'c1', deadline: T0 + 10_000 }, ...opts() });
    const reply = { status: 200, contentType: 'text/plain', headers: {}, body: Buffer.from('answer') };
    expect(await b.putReply({ queue: 'q', correlationId: 'c1', reply, now: T0 })).toBe('stored');
    await eventually(() => replies[0].includes('c1'), PATIENCE_MS);
    expect(replies).toEqual([['c1'], ['c1']]);
  });

  test('a lost listening connection is told as null (look again), and what is committed after it reconnects is heard', async () => {
    const [a] = stores;
    await a.putQueue({ name: 'q', settings: settings(), now: T0 });
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mqgate:listen'`,
      );
      expect(rows.map((row) => row.ended)).toEqual([true, true]);
    } finally {
      await admin.end();
    }
    await eventually(() => heard.every((names) => names.includes(null)), PATIENCE_MS);
    await a.produce({ queue: 'q', messages: [message('after')], ...opts() });
    await eventually(() => heard[1].includes('q'), PATIENCE_MS);
  });
});

describe('group positions of several gateway processes', () => {
  test("a gateway's start rewinds the positions it moved itself and those of gateways gone, never a live one's; the sweeper rewinds the gone ones'", async () => {
    const schema = `positions_${randomBytes(6).toString('hex')}`;
    const open = (holder: string): PostgresStore => new PostgresStore({ url: database.url, schema, rules, poolSize: 2, holder });
    let [a, b] = [open('a'), open('b')];
    try {
      await a.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await a.produceTopic({ topic: 't', messages: Array.from({ length: 10 }, (_, i) => inPartition(0, `m${i}`)), ...opts() });
      // Each present: a sweep renews its presence (and a's takes the sweep lease).
      await a.sweep(sweepAt(T0, { holder: 'a' }));
      await b.sweep(sweepAt(T0, { holder: 'b' }));
      const next = async (store: PostgresStore, group: string, max = 1): Promise<number[]> => {
        const fetched = await store.fetchGroup({ topic: 't', group, memberId: null, max, maxBytes: 1 << 20, now: T0, defaults: GROUP });
        return fetched.messages.map((m) => m.offset);
      };
      // g1 is read through a, g2 through b; neither commits.
      expect(await next(a, 'g1', 5)).toEqual([0, 1, 2, 3, 4]);
      expect(await next(b, 'g2', 5)).toEqual([0, 1, 2, 3, 4]);
      // b starts again, as the same gateway: what it moved goes back; what a (alive) moved does not.
      await b.close();
      b = open('b');
      await b.checkReady();
      expect(await next(a, 'g1')).toEqual([5]);
      expect(await next(b, 'g2')).toEqual([0]);
      // a is gone: its presence runs out, and the next sweeper rewinds what it moved.
      await a.sweep(sweepAt(T0, { holder: 'a', leaseMs: 0 }));
      await b.sweep(sweepAt(T0, { holder: 'b' }));
      expect(await next(b, 'g1')).toEqual([0]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('gateways whose clocks disagree', () => {
  const SKEW_MS = 800;
  const VISIBILITY_MS = 5000;
  const quiet: MessageEvents = { produced: () => undefined, delivered: () => undefined, acked: () => undefined, schemaRefused: () => undefined };

  /** Two gateways' services over one fresh schema, b's clock SKEW_MS ahead of a's, each allowing `clockSkewMs`. */
  function skewedGateways(clockSkewMs: number): { stores: PostgresStore[]; clocks: ManualClock[]; services: Services[] } {
    const schema = `clocks_${randomBytes(6).toString('hex')}`;
    const stores = [0, 1].map(() => new PostgresStore({ url: database.url, schema, rules, poolSize: 2 }));
    const clocks = [new ManualClock(T0), new ManualClock(T0 + SKEW_MS)];
    const services = stores.map((store, i) =>
      createServices(store, {
        clock: clocks[i],
        limits: { ...DEFAULT_LIMITS, clockSkewMs },
        targets: { allowedHosts: null },
        random: () => 0.5,
        onError: (error) => {
          throw error;
        },
        events: quiet,
      }),
    );
    return { stores, clocks, services };
  }

  test.each([
    [SKEW_MS, 'never sees a lease of the other end early', 0],
    [0, 'takes the lease early (what clockSkewMs is for)', 1],
  ])('with clockSkewMs %i, the gateway whose clock runs ahead %s', async (clockSkewMs, _what, takenEarly) => {
    const { stores, clocks, services } = skewedGateways(clockSkewMs);
    try {
      const [a, b] = services;
      await stores[0].putQueue({ name: 'q', settings: settings(), now: clocks[0].now() });
      await stores[0].produce({ queue: 'q', messages: [message('one')], ...opts(clocks[0].now()) });
      const signal = new AbortController().signal;
      const leased = await a.queues.claimWhenReady({ queue: 'q' }, 1, VISIBILITY_MS, clocks[0].now(), signal);
      expect(leased.leases).toHaveLength(1);
      // Real time: the lease has a moment left. b's clock, SKEW_MS ahead, reads past its end.
      for (const clock of clocks) clock.advance(VISIBILITY_MS - SKEW_MS / 2);
      const early = await b.queues.claimWhenReady({ queue: 'q' }, 1, VISIBILITY_MS, clocks[1].now(), signal);
      expect(early.leases).toHaveLength(takenEarly);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test("with clockSkewMs, the lease still ends for everyone: a's clock sees it end the allowance after the visibility timeout", async () => {
    const { stores, clocks, services } = skewedGateways(SKEW_MS);
    try {
      const [a] = services;
      await stores[0].putQueue({ name: 'q', settings: settings(), now: clocks[0].now() });
      await stores[0].produce({ queue: 'q', messages: [message('one')], ...opts(clocks[0].now()) });
      const signal = new AbortController().signal;
      await a.queues.claimWhenReady({ queue: 'q' }, 1, VISIBILITY_MS, clocks[0].now(), signal);
      clocks[0].advance(VISIBILITY_MS + SKEW_MS - 1);
      expect((await a.queues.claimWhenReady({ queue: 'q' }, 1, VISIBILITY_MS, clocks[0].now(), signal)).leases).toHaveLength(0);
      clocks[0].advance(1);
      expect((await a.queues.claimWhenReady({ queue: 'q' }, 1, VISIBILITY_MS, clocks[0].now(), signal)).leases).toHaveLength(1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe('move tasks of several gateways', () => {
  const quiet: MessageEvents = { produced: () => undefined, delivered: () => undefined, acked: () => undefined, schemaRefused: () => undefined };

  /** Lets the event loop turn (no timers: the manual clocks stay put) until `condition`, read from the store, holds. */
  async function untilStored(condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + PATIENCE_MS;
    while (!(await condition()) && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(await condition()).toBe(true);
  }

  test('a task is run by one gateway at a time: another over the database leaves it while its runner holds it, and takes it over, where it stood, once given up', async () => {
    const schema = `tasks_${randomBytes(6).toString('hex')}`;
    const stores = [0, 1].map(() => new PostgresStore({ url: database.url, schema, rules, poolSize: 2 }));
    const clocks = [new ManualClock(T0), new ManualClock(T0)];
    const [a, b] = stores.map((store, i) =>
      createServices(store, {
        clock: clocks[i],
        limits: DEFAULT_LIMITS,
        targets: { allowedHosts: null },
        random: () => 0.5,
        onError: (error) => {
          throw error;
        },
        events: quiet,
        instance: `gateway-${i}`,
      }),
    );
    const [store] = stores;
    const moved = async (): Promise<number> => (await store.moveTasks({ queue: 'dlq', max: 1 }))[0].moved;
    try {
      await store.putQueue({ name: 'dlq', settings: settings(), now: T0 });
      await store.putQueue({ name: 'q', settings: settings({ maxDeliveries: 1, deadLetterQueue: 'dlq' }), now: T0 });
      await store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((text) => message(text)), ...opts() });
      await store.claim({ from: { queue: 'q' }, max: 3, now: T0, visibilityTimeoutMs: 1000 });
      expect((await store.claim({ from: { queue: 'q' }, max: 3, now: T0 + 1000, visibilityTimeoutMs: 1000 })).leases).toEqual([]);
      for (const clock of clocks) clock.advance(1000);

      expect(await a.moveTasks.startTask({ queue: 'dlq', handle: 'h', destination: null, maxPerSecond: 1, toMove: 3 })).toBe(true);
      await untilStored(async () => !a.moveTasks.busy && (await moved()) === 1);
      // b looks for tasks nobody runs (at its start, then every third of ownershipMs): a holds this one.
      await b.moveTasks.start();
      expect(b.moveTasks.busy).toBe(false);
      clocks[0].advance(1000);
      await untilStored(async () => !a.moveTasks.busy && (await moved()) === 2);

      // a stops, giving it up: b's next look takes it over, and moves the last one.
      await a.moveTasks.stop();
      clocks[1].advance(OWNERSHIP_MS_DEFAULT / 3);
      await untilStored(async () => (await store.moveTasks({ queue: 'dlq', max: 1 }))[0].status === 'completed');
      expect(await moved()).toBe(3);
      expect((await store.queueStats({ queue: 'q', now: clocks[1].now() })).ready).toBe(3);
    } finally {
      await Promise.all([a.moveTasks.stop(), b.moveTasks.stop()]);
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('two gateway processes over one database', () => {
  let gateways: [ChildGateway, ChildGateway];
  const receivers: Receiver[] = [];

  beforeEach(async () => {
    const url = await freshSchemaUrl(database.url, 'gateways');
    // Push subscriptions change hands within OWNERSHIP_MS * 4/3 of their owner's death, each gateway looking every third of it.
    const start = (): Promise<ChildGateway> => startChildGateway(tempDir(), ['--store', url, '--ownership-ms', String(OWNERSHIP_MS)]);
    gateways = [await start(), await start()];
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  test('a long-poll waiting on one gateway is answered by a produce on the other well before its wait is over', async () => {
    const [a, b] = gateways;
    expect((await json(`${a.url}/v1/queues/orders`, 'PUT', {})).status).toBe(201);
    const waitMs = 20_000;
    const started = Date.now();
    const polled = json(`${b.url}/v1/queues/orders/fetch`, 'POST', { max: 1, waitMs });
    // Give the long-poll time to find the queue empty and wait: the produce must wake it, not precede it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await json(`${a.url}/v1/queues/orders/messages`, 'POST', { messages: [{ value: 'wake up', valueEncoding: 'text' }] })).status).toBe(201);
    const answer = await polled;
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(200);
    expect((answer.body.messages as Array<{ value: string }>).map((m) => m.value)).toEqual(['wake up']);
    // Not woken, it would have waited its whole 20 s.
    expect(elapsed).toBeLessThan(waitMs / 3);
  });

  test("a push subscription is run by one gateway at a time; killed, its owner's work is taken over: nothing skipped, a group's key order kept", async () => {
    const N = 200;
    const CONCURRENCY = 4;
    const KEYS = 5;
    // Slow enough that delivering everything takes longer than the other gateway takes to look for owners.
    const ANSWER_MS = 200;
    // In flight at the receiver, per push subscription: counted when a delivery arrives, and again when its answer is due.
    const open = new Map<string, number>();
    const mostOpen = new Map<string, number>();
    const receiver = await startReceiver(Date.now, ({ path }) => {
      open.set(path, (open.get(path) ?? 0) + 1);
      mostOpen.set(path, Math.max(mostOpen.get(path) ?? 0, open.get(path) ?? 0));
      setTimeout(() => open.set(path, (open.get(path) ?? 0) - 1), ANSWER_MS);
      return { status: 204, delayMs: ANSWER_MS };
    });
    receivers.push(receiver);
    const [a, b] = gateways;
    expect((await json(`${a.url}/v1/queues/orders`, 'PUT', {})).status).toBe(201);
    expect((await json(`${a.url}/v1/topics/events`, 'PUT', { partitions: 3 })).status).toBe(201);
    expect((await json(`${a.url}/v1/topics/events/groups/g`, 'PUT', { resetPolicy: 'earliest' })).status).toBe(201);
    const sources = { '/queue': { queue: 'orders' }, '/group': { topic: 'events', group: 'g' } };
    for (const [path, source] of Object.entries(sources)) {
      const push = { source, url: `${receiver.url}${path}`, concurrency: CONCURRENCY, ordering: 'key' };
      expect((await json(`${a.url}/v1/push-subscriptions${path}`, 'PUT', push)).status).toBe(201);
    }
    for (let i = 0; i < N; i += 10) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ value: String(i + j), valueEncoding: 'text', key: `k${(i + j) % KEYS}` }));
      // Produced through both: the owner hears of the other's produces too.
      const through = gateways[(i / 10) % 2].url;
      expect((await json(`${through}/v1/queues/orders/messages`, 'POST', { messages })).status).toBe(201);
      expect((await json(`${through}/v1/topics/events/messages`, 'POST', { messages })).status).toBe(201);
    }
    const deliveredTo = (path: string): Set<number> => new Set(receiver.received.filter((r) => r.path === path).map((r) => Number(r.body.toString())));
    await eventually(() => deliveredTo('/queue').size >= N / 4 && deliveredTo('/group').size >= N / 4, PATIENCE_MS);
    // Time for b to look for push subscriptions without an owner while a runs them: it must find none.
    await new Promise((resolve) => setTimeout(resolve, OWNERSHIP_MS / 2));
    const withinConcurrency = (): boolean => ['/queue', '/group'].every((path) => (mostOpen.get(path) ?? 0) <= CONCURRENCY);
    expect(withinConcurrency()).toBe(true);
    expect(deliveredTo('/queue').size < N && deliveredTo('/group').size < N).toBe(true);
    // The gateway that made them owns them: it took their leases first. Killed, it gives nothing up; b takes over once the leases run out.
    a.process.kill('SIGKILL');
    await a.exited;
    await eventually(() => deliveredTo('/queue').size === N && deliveredTo('/group').size === N, 2 * PATIENCE_MS);
    // Never two owners at once: the concurrency of each holds across the gateways, before and after the takeover.
    expect(withinConcurrency()).toBe(true);
    // From a group, per key, first deliveries in produce order: the new owner starts again from the committed offsets.
    for (let k = 0; k < KEYS; k += 1) {
      const ofKey = receiver.received.filter((r) => r.path === '/group' && r.headers['mqgate-key'] === `k${k}`);
      const firsts = [...new Set(ofKey.map((r) => Number(r.body.toString())))];
      expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
    }
    // The survivor serves on: a new message is delivered.
    expect((await json(`${b.url}/v1/queues/orders/messages`, 'POST', { messages: [{ value: String(N), valueEncoding: 'text' }] })).status).toBe(201);
    await eventually(() => deliveredTo('/queue').has(N), PATIENCE_MS);
  }, 90_000);
});
