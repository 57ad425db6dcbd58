import fs from 'node:fs';
import type { Response } from 'supertest';
import type { Fsync } from '../persistence/sqlite/walSync';
import { expectFault, soapPost, VERSIONS } from './support/soapCallers';
import { call, until } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sqliteStoreOf } from './support/testStore';

// A SIGKILL leaves the kernel's page cache to be written out, so the crash
// tests cannot see an answer that left before the fsync of its commit. Here
// the store's fsync of its log is held until the test lets it run: what a
// power loss at that moment would take back must not have been answered yet.

/**
 * The store's fsyncs of its log: run at once until `hold()`, then each held
 * until `release()` runs the real fs.fsync. Each held one that returns is
 * logged in `events`, where the test logs the answers it gets, in order.
 */
class FsyncGate {
  readonly events: string[] = [];
  /** How many writes the fsyncs that returned made durable, counted from `hold()`. */
  durable = 0;
  private readonly held: Array<() => void> = [];
  private holding = false;
  private failing = false;
  private from = 0;

  /** `operations`: how many writes the store has committed (its commitStats). */
  constructor(private readonly operations: () => number) {}

  readonly fsync: Fsync = (fd, callback) => {
    if (this.failing) {
      callback(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
      return;
    }
    if (!this.holding) {
      fs.fsync(fd, callback);
      return;
    }
    // An fsync covers what was written before it was asked, whatever commits while it runs.
    const covers = this.operations() - this.from;
    this.held.push(() =>
      fs.fsync(fd, (error) => {
        this.durable = covers;
        this.events.push('fsync returned');
        callback(error);
      }),
    );
  };

  /** From now on every fsync fails, as on a failing disk. */
  fail(): void {
    this.failing = true;
  }

  hold(): void {
    this.holding = true;
    this.from = this.operations();
  }

  get waiting(): number {
    return this.held.length;
  }

  /** Lets the oldest held fsync run. */
  release(): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error('no fsync is held');
    next();
  }

  /** Stops holding and lets every held fsync run, so that the store can close after a failed test. */
  open(): void {
    this.holding = false;
    while (this.held.length > 0) this.release();
  }
}

let t: TestGateway;
let gate: FsyncGate;
let receipt: string;

beforeEach(async () => {
  gate = new FsyncGate(() => sqliteStoreOf(t).commitStats.operations);
  t = testGateway({ fsync: gate.fsync });
  await call('putQueue', t.http.put('/v1/queues/q').send({}));
  await call('produceMessages', t.http.post('/v1/queues/q/messages').send({ messages: [{ value: 'to ack' }, { value: 'to fetch' }] }));
  const fetched = await call('fetchMessages', t.http.post('/v1/queues/q/fetch').send({ max: 1 }));
  receipt = (fetched.body as { messages: Array<{ receipt: string }> }).messages[0].receipt;
  await call('putTopic', t.http.put('/v1/topics/t').send({}));
  await call('putGroup', t.http.put('/v1/topics/t/groups/g').send({ resetPolicy: 'earliest' }));
  await call('produceToTopic', t.http.post('/v1/topics/t/messages').send({ messages: [{ value: 'to commit' }] }));
  await call('fetchGroup', t.http.post('/v1/topics/t/groups/g/fetch').send({}));
});

afterEach(async () => {
  gate.open();
  await disposeTestGateway(t);
});

/**
 * A request that writes nothing, answered at once: sent after a write has
 * committed, its answer comes after the write's would have, had that not
 * waited for the fsync. So the test can tell "held" from "not here yet".
 */
async function probe(): Promise<void> {
  expect((await call('getHealth', t.http.get('/healthz'))).status).toBe(200);
}

const WRITES: Array<[string, () => Promise<Response>, number]> = [
  ['a produce', () => call('produceMessages', t.http.post('/v1/queues/q/messages').send({ messages: [{ value: 'new' }] })), 201],
  ['a fetch (its lease and receipt)', () => call('fetchMessages', t.http.post('/v1/queues/q/fetch').send({ max: 1 })), 200],
  ['an ack', () => call('ackMessages', t.http.post('/v1/queues/q/ack').send({ receipts: [receipt] })), 200],
  ['a consumer group commit', () => call('commitGroup', t.http.post('/v1/topics/t/groups/g/commit').send({})), 200],
];

test.each(WRITES)('%s: no answer while the fsync of its commit is held, the answer once it has returned', async (_name, send, status) => {
  gate.hold();
  const answered = send().then((res) => gate.events.push(`answered ${res.status}`));
  await until(() => gate.waiting > 0);
  await probe();
  expect(gate.events).toEqual([]);
  gate.release();
  await answered;
  expect(gate.events).toEqual(['fsync returned', `answered ${status}`]);
});

test('writes sent while an fsync is held wait for an fsync of their own: no answer before an fsync that covers it', async () => {
  const WAVE = 10;
  gate.hold();
  /** At each answer: its status, how many writes had been answered with it, and how many were durable. */
  const answers: Array<{ status: number; answered: number; durable: number }> = [];
  const produce = (value: string): Promise<void> =>
    call('produceMessages', t.http.post('/v1/queues/q/messages').send({ messages: [{ value }] })).then(({ status }) => {
      answers.push({ status, answered: answers.length + 1, durable: gate.durable });
    });
  const sent = Array.from({ length: WAVE }, (_, i) => produce(`first ${i}`));
  await until(() => gate.waiting > 0);
  // Sent once the first commit's fsync is held, so none of these is in what it covers.
  sent.push(...Array.from({ length: WAVE }, (_, i) => produce(`second ${i}`)));
  while (answers.length < 2 * WAVE) {
    await until(() => gate.waiting > 0 || answers.length === 2 * WAVE);
    if (gate.waiting > 0) {
      await probe();
      gate.release();
    }
  }
  await Promise.all(sent);
  expect(answers.filter(({ status, answered, durable }) => status !== 201 || answered > durable)).toEqual([]);
  expect(gate.events.filter((event) => event === 'fsync returned').length).toBeGreaterThanOrEqual(2);
});

// What the client of a write whose fsync fails is told, SOAP callers included (soap.test.ts has every other SOAP answer).
describe.each(VERSIONS)('SOAP $version', (soap) => {
  test('a store that cannot confirm the write is a gateway fault carrying storage_unavailable, with Retry-After', async () => {
    gate.fail();
    // The queue's creation is what fails to sync; from then on the store refuses every write.
    await t.http.put('/v1/queues/r').send({});
    const res = await call('produceMessages', soapPost(t.http, soap, '/v1/queues/q/messages'));
    expectFault(res, soap, 'storage_unavailable', 503, 'gateway');
    expect(res.headers['retry-after']).toBe('1');
    expect(t.internalErrors.map((e) => e.code)).toEqual(['storage_unavailable', 'storage_unavailable']);
  });
});
