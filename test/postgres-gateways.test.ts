import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import { rules } from '../queue/rules';
import { message, opts, settings, T0 } from './store-contract/fixtures';
import { type ChildGateway, killChildGateways, startChildGateway } from './support/childGateway';
import { tempDir } from './support/testGateway';
import { createTestDatabase, type TestDatabase } from './support/testPostgres';

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

/** How long a test waits for a condition before it fails: generous, for a loaded machine. */
const PATIENCE_MS = 20_000;

/** Resolves once `condition` holds; fails after PATIENCE_MS, saying what it waited for. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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
    await until(() => heard.every((names) => names.includes(null)) && replies.every((ids) => ids.includes(null)), 'both stores listening');
    heard = [[], []];
    replies = [[], []];
  });
  afterEach(() => Promise.all(stores.map((store) => store.close())));

  test('a produce, a delayed nack and a reply committed by one are heard by the other; each hears its own once', async () => {
    const [a, b] = stores;
    await a.putQueue({ name: 'q', settings: settings(), now: T0 });
    await a.putQueue({ name: 'r', settings: settings(), now: T0 });
    await a.produce({ queue: 'q', messages: [message('one')], ...opts() });
    await until(() => heard[1].includes('q'), "b hearing a's produce");
    const { subscriptionId, leases } = await b.claim({ from: { queue: 'q' }, max: 1, now: T0, visibilityTimeoutMs: 1000 });
    const refs = leases.map((lease) => ({ subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount }));
    await b.settle({ at: { queue: 'q' }, refs, settlement: { kind: 'nack', availableAt: T0 + 500 }, now: T0 });
    await until(() => heard[0].length === 2, "a hearing b's nack");
    // Notifications come in commit order: had a's own produce come back to it, it would be heard before b's produce into r.
    await b.produce({ queue: 'r', messages: [message('two')], ...opts() });
    await until(() => heard[0].includes('r'), "a hearing b's produce");
    expect(heard[0]).toEqual(['q', 'q', 'r']);
    expect(heard[1]).toEqual(['q', 'q', 'r']);

    await a.produceRequest({ queue: 'q', message: message('question'), pending: { correlationId: 'c1', deadline: T0 + 10_000 }, ...opts() });
    const reply = { status: 200, contentType: 'text/plain', headers: {}, body: Buffer.from('answer') };
    expect(await b.putReply({ queue: 'q', correlationId: 'c1', reply, now: T0 })).toBe('stored');
    await until(() => replies[0].includes('c1'), "a hearing b's reply");
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
    await until(() => heard.every((names) => names.includes(null)), 'both stores listening again');
    await a.produce({ queue: 'q', messages: [message('after')], ...opts() });
    await until(() => heard[1].includes('q'), "b hearing a's produce after reconnecting");
  });
});

describe('two gateway processes over one database', () => {
  let gateways: [ChildGateway, ChildGateway];

  beforeEach(async () => {
    const url = new URL(database.url);
    url.searchParams.set('options', `-c search_path=gateways_${randomBytes(6).toString('hex')}`);
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${url.searchParams.get('options')?.split('=')[1]}`);
    await admin.end();
    gateways = [await startChildGateway(tempDir(), ['--store', url.toString()]), await startChildGateway(tempDir(), ['--store', url.toString()])];
  });

  test('a long-poll waiting on one gateway is answered by a produce on the other well before its wait is over', async () => {
    const [a, b] = gateways;
    const put = await fetch(`${a.url}/v1/queues/orders`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(put.status).toBe(201);
    const waitMs = 20_000;
    const started = Date.now();
    const polled = fetch(`${b.url}/v1/queues/orders/fetch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max: 1, waitMs }),
    });
    // Give the long-poll time to find the queue empty and wait: the produce must wake it, not precede it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const produced = await fetch(`${a.url}/v1/queues/orders/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ value: 'wake up', valueEncoding: 'text' }] }),
    });
    expect(produced.status).toBe(201);
    const answer = await polled;
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { messages: Array<{ value: string }> };
    expect(body.messages.map((m) => m.value)).toEqual(['wake up']);
    // Not woken, it would have waited its whole 20 s.
    expect(elapsed).toBeLessThan(waitMs / 3);
  });
});
