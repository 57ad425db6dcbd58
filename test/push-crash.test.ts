import fs from 'node:fs';
import { json, killChildGateways, startChildGateway } from './support/childGateway';
import { eventually, polled, type Receiver, startReceiver } from './support/receiver';
import { tempDir } from './support/testGateway';

const N = 300;

/** The receivers of the running test: closed after it however it ended, since an open one keeps jest from exiting. */
const receivers: Receiver[] = [];

async function receiverAnswering(answer: Receiver['answer']): Promise<Receiver> {
  const receiver = await startReceiver(Date.now, answer);
  receivers.push(receiver);
  return receiver;
}

afterEach(async () => {
  killChildGateways();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

test(`push survives SIGKILL with deliveries in flight: every one of ${N} queue and ${N} group messages is delivered after the restart`, async () => {
  const dataDir = tempDir();
  // Answers take a while, so that many deliveries are in flight at any moment.
  const receiver = await receiverAnswering(() => ({ status: 204, delayMs: 20 }));
  const first = await startChildGateway(dataDir);
  expect((await json(`${first.url}/v1/queues/orders`, 'PUT', {})).status).toBe(201);
  expect((await json(`${first.url}/v1/topics/events`, 'PUT', { partitions: 3 })).status).toBe(201);
  expect((await json(`${first.url}/v1/topics/events/groups/g`, 'PUT', { resetPolicy: 'earliest' })).status).toBe(201);
  const settings = { timeoutMs: 1000, concurrency: 16 };
  for (const [name, source] of [['q', { queue: 'orders' }], ['g', { topic: 'events', group: 'g' }]] as const) {
    expect((await json(`${first.url}/v1/push-subscriptions/${name}`, 'PUT', { source, url: `${receiver.url}/${name}`, ...settings })).status).toBe(201);
  }
  const values = Array.from({ length: N }, (_, i) => ({ value: i, key: `k${i % 10}` }));
  for (let i = 0; i < N; i += 50) {
    expect((await json(`${first.url}/v1/queues/orders/messages`, 'POST', { messages: values.slice(i, i + 50) })).status).toBe(201);
    expect((await json(`${first.url}/v1/topics/events/messages`, 'POST', { messages: values.slice(i, i + 50) })).status).toBe(201);
  }
  // Killed in the middle: some delivered and acked, some in flight, the rest not yet taken.
  await eventually(() => receiver.received.length >= N / 2, 20_000);
  first.process.kill('SIGKILL');
  expect(await first.exited).toBe('SIGKILL');
  const beforeRestart = receiver.received.length;
  expect(beforeRestart).toBeLessThan(2 * N);

  const second = await startChildGateway(dataDir);
  const delivered = (path: string) => new Set(receiver.received.filter((r) => r.path === path).map((r) => Number(r.body.toString())));
  // In-flight leases come back once they run out (timeout + 5 s); the group starts over from its committed offsets.
  await eventually(() => delivered('/q').size === N && delivered('/g').size === N, 30_000);
  expect(receiver.received.length).toBeGreaterThan(beforeRestart);
  // And every delivery is settled: the queue is empty, the group has no lag.
  const settled = async (): Promise<boolean> => {
    const queue = await json(`${second.url}/v1/queues/orders`, 'GET');
    const group = await json(`${second.url}/v1/topics/events/groups/g`, 'GET');
    const stats = queue.body.stats as { ready: number; inFlight: number; delayed: number };
    return stats.ready + stats.inFlight + stats.delayed === 0 && (group.body.partitions as Array<{ lag: number }>).every((p) => p.lag === 0);
  };
  await polled(settled, 10_000);
  expect(await settled()).toBe(true);
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('SIGTERM stops push cleanly: exit 0, and messages waiting for a retry are back in the queue for the next start', async () => {
  const dataDir = tempDir();
  const receiver = await receiverAnswering(() => ({ status: 503 }));
  const first = await startChildGateway(dataDir);
  await json(`${first.url}/v1/queues/orders`, 'PUT', {});
  const push = { source: { queue: 'orders' }, url: `${receiver.url}/hook`, backoff: { initialMs: 600_000, maxMs: 600_000 } };
  expect((await json(`${first.url}/v1/push-subscriptions/p`, 'PUT', push)).status).toBe(201);
  await json(`${first.url}/v1/queues/orders/messages`, 'POST', { messages: [1, 2, 3].map((value) => ({ value })) });
  await eventually(() => receiver.received.length === 3);
  // The answers are on their way back: wait until the gateway has counted all three failures.
  const status = async () => (await json(`${first.url}/v1/push-subscriptions/p`, 'GET')).body.status as { failures: number };
  await polled(async () => (await status()).failures >= 3);
  expect(await status()).toMatchObject({ inFlight: 3, failures: 3 });
  first.process.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  // Back at once, not after their ten-minute wait.
  receiver.answer = () => ({ status: 204 });
  const second = await startChildGateway(dataDir);
  await eventually(() => receiver.received.length === 6);
  expect(receiver.received.slice(3).map((r) => r.headers['mqgate-attempt'])).toEqual(['2', '2', '2']);
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});
