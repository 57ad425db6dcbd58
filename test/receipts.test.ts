import { createHmac, randomBytes } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { decodeReceipt, encodeReceipt } from '../queue/receipts';
import { call } from './support/specResponses';
import { ordersQueuePerTest, type SqsGateway } from './support/sqsGateway';
import { disposeTestGateway, tempDir, type TestGateway, testGateway } from './support/testGateway';

/**
 * Receipts are signed with the store's secret: one can be neither guessed
 * from ids nor altered, yet every process over the store honours it, and
 * fencing (a stale receipt is `expired`) is as before.
 */

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every string one character away from `receipt`: each position changed to each other base64url character. */
function oneCharacterAway(receipt: string): string[] {
  return [...receipt].flatMap((original, i) =>
    [...BASE64URL].filter((c) => c !== original).map((c) => `${receipt.slice(0, i)}${c}${receipt.slice(i + 1)}`),
  );
}

/** The last character with its lowest bit flipped: often a spare bit, which Node's lenient base64 decoder ignores. */
function lastBitFlipped(receipt: string): string {
  const last = BASE64URL.indexOf(receipt[receipt.length - 1]);
  return `${receipt.slice(0, -1)}${BASE64URL[last ^ 1]}`;
}

/** The receipt format before signing: base64url of `subscription.message.count`, which anyone could build. */
function unsignedReceipt(subscriptionId: string, messageId: string, deliveryCount: number): string {
  return Buffer.from(`${subscriptionId}.${messageId}.${deliveryCount}`).toString('base64url');
}

/** The API's limit on receipts per request. */
const RECEIPTS_PER_REQUEST = 1000;

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

describe('the receipt format', () => {
  const secret = randomBytes(32);
  const ref = { subscriptionId: '3', messageId: '42', deliveryCount: 2 };

  test('a receipt names its delivery under the secret it was signed with, and under no other', () => {
    const receipt = encodeReceipt(ref, secret);
    expect(decodeReceipt(receipt, secret)).toEqual(ref);
    expect(decodeReceipt(receipt, randomBytes(32))).toBeNull();
  });

  test('no string one character away from a receipt is one, spare bits of the last character included', () => {
    const altered = oneCharacterAway(encodeReceipt(ref, secret));
    expect(altered.filter((receipt) => decodeReceipt(receipt, secret) !== null)).toEqual([]);
  });

  test('a tag alone, even the right tag of an empty name under the secret, is no receipt', () => {
    const tagOfNothing = createHmac('sha256', secret).update(Buffer.alloc(0)).digest().subarray(0, 16);
    expect(decodeReceipt(tagOfNothing.toString('base64url'), secret)).toBeNull();
  });

  test('the old unsigned format is no receipt, nor is a real one padded, cut short or with a character added', () => {
    const receipt = encodeReceipt(ref, secret);
    for (const forged of [unsignedReceipt('3', '42', 2), `${receipt}==`, `${receipt}A`, receipt.slice(0, -1), receipt.slice(0, 22), '']) {
      expect(decodeReceipt(forged, secret)).toBeNull();
    }
  });
});

/** The /v1 calls these tests make, on gateway `t`, each response checked against openapi.yaml. */
function v1(t: TestGateway) {
  return {
    put: (queue: string, body: object = {}) => call('putQueue', t.http.put(`/v1/queues/${queue}`).send(body)),
    produce: (queue: string, values: unknown[]) =>
      call('produceMessages', t.http.post(`/v1/queues/${queue}/messages`).send({ messages: values.map((value) => ({ value })) })),
    fetch: async (queue: string, body: object = {}): Promise<Array<{ id: string; receipt: string; deliveryCount: number; value: unknown }>> =>
      (await call('fetchMessages', t.http.post(`/v1/queues/${queue}/fetch`).send(body))).body.messages,
    settle: async (action: 'ack' | 'nack' | 'extend', queue: string, body: object): Promise<Array<{ status: string; code?: string }>> =>
      (await call({ ack: 'ackMessages', nack: 'nackMessages', extend: 'extendLeases' }[action], t.http.post(`/v1/queues/${queue}/${action}`).send(body)))
        .body.results,
    stats: async (queue: string): Promise<{ ready: number; inFlight: number; acked: number }> =>
      (await call('getQueue', t.http.get(`/v1/queues/${queue}`))).body.stats,
  };
}

describe('receipts over /v1', () => {
  let t: TestGateway;
  let api: ReturnType<typeof v1>;

  beforeEach(async () => {
    t = testGateway();
    api = v1(t);
    await api.put('q', { visibilityTimeoutMs: 30_000 });
  });

  afterEach(() => disposeTestGateway(t));

  test('a receipt with any one character changed is unknown, and the lease it came from still holds', async () => {
    await api.produce('q', ['a', 'b']);
    const [a, b] = await api.fetch('q', { max: 2 });
    for (const receipts of chunks(oneCharacterAway(a.receipt), RECEIPTS_PER_REQUEST)) {
      const results = await api.settle('ack', 'q', { receipts });
      expect(results.filter((r) => r.status !== 'unknown' || r.code !== 'receipt_unknown')).toEqual([]);
    }
    expect(await api.stats('q')).toMatchObject({ ready: 0, inFlight: 2, acked: 0 });
    expect(await api.settle('ack', 'q', { receipts: [a.receipt, b.receipt] })).toEqual([
      { receipt: a.receipt, status: 'acked' },
      { receipt: b.receipt, status: 'acked' },
    ]);
  });

  test('nack and extend with an altered receipt move no lease', async () => {
    await api.produce('q', ['a']);
    const [a] = await api.fetch('q', { visibilityTimeoutMs: 1000 });
    const altered = lastBitFlipped(a.receipt);
    expect(await api.settle('nack', 'q', { receipts: [altered], delayMs: 0 })).toEqual([{ receipt: altered, status: 'unknown', code: 'receipt_unknown' }]);
    expect(await api.fetch('q')).toEqual([]);
    expect(await api.settle('extend', 'q', { receipts: [altered], visibilityTimeoutMs: 60_000 })).toEqual([
      { receipt: altered, status: 'unknown', code: 'receipt_unknown' },
    ]);
    // The lease still ends when it was given to: the extend did not take.
    t.clock.advance(1000);
    expect((await api.fetch('q')).map((m) => [m.value, m.deliveryCount])).toEqual([['a', 2]]);
  });

  test('a receipt built by hand from the real ids, in the old unsigned format, is unknown and settles nothing', async () => {
    await api.produce('q', ['a']);
    const [a] = await api.fetch('q');
    const queue = await t.store.getQueue('q');
    const guessed = unsignedReceipt(queue?.subscriptionId ?? '', a.id, a.deliveryCount);
    const extras = { ack: {}, nack: { delayMs: 0 }, extend: { visibilityTimeoutMs: 1000 } };
    for (const action of ['ack', 'nack', 'extend'] as const) {
      const results = await api.settle(action, 'q', { receipts: [guessed], ...extras[action] });
      expect(results).toEqual([{ receipt: guessed, status: 'unknown', code: 'receipt_unknown' }]);
    }
    expect(await api.stats('q')).toMatchObject({ inFlight: 1, acked: 0 });
    expect(await api.settle('ack', 'q', { receipts: [a.receipt] })).toEqual([{ receipt: a.receipt, status: 'acked' }]);
  });

  test('a receipt stale after a redelivery is still expired for ack, nack and extend; the new one settles', async () => {
    await api.produce('q', ['a']);
    const [first] = await api.fetch('q', { visibilityTimeoutMs: 1000 });
    t.clock.advance(1000);
    const [second] = await api.fetch('q');
    expect(second.deliveryCount).toBe(2);
    expect(await api.settle('ack', 'q', { receipts: [first.receipt] })).toEqual([{ receipt: first.receipt, status: 'expired', code: 'receipt_expired' }]);
    expect(await api.settle('nack', 'q', { receipts: [first.receipt] })).toEqual([{ receipt: first.receipt, status: 'expired', code: 'receipt_expired' }]);
    expect(await api.settle('extend', 'q', { receipts: [first.receipt], visibilityTimeoutMs: 1000 })).toEqual([
      { receipt: first.receipt, status: 'expired', code: 'receipt_expired' },
    ]);
    expect(await api.settle('ack', 'q', { receipts: [second.receipt] })).toEqual([{ receipt: second.receipt, status: 'acked' }]);
  });
});

describe('receipts across gateways over one data dir', () => {
  test('a receipt survives a restart of the gateway', async () => {
    const dataDir = tempDir();
    const before = testGateway({ dataDir });
    await v1(before).put('q', { visibilityTimeoutMs: 30_000 });
    await v1(before).produce('q', ['a']);
    const [a] = await v1(before).fetch('q');
    await before.close();
    const after = testGateway({ dataDir });
    try {
      expect(await v1(after).settle('ack', 'q', { receipts: [a.receipt] })).toEqual([{ receipt: a.receipt, status: 'acked' }]);
    } finally {
      await disposeTestGateway(after);
    }
  });

  test('a receipt one gateway issued is honoured by a second one open over the same file, and the other way round', async () => {
    const one = testGateway();
    const two = testGateway({ dataDir: one.dataDir });
    try {
      await v1(one).put('q', { visibilityTimeoutMs: 30_000 });
      await v1(one).produce('q', ['a', 'b']);
      const [a] = await v1(one).fetch('q');
      const [b] = await v1(two).fetch('q');
      expect(await v1(two).settle('ack', 'q', { receipts: [a.receipt] })).toEqual([{ receipt: a.receipt, status: 'acked' }]);
      expect(await v1(one).settle('ack', 'q', { receipts: [b.receipt] })).toEqual([{ receipt: b.receipt, status: 'acked' }]);
    } finally {
      await two.close();
      await disposeTestGateway(one);
    }
  });
});

describe('receipt handles over SQS', () => {
  let g: SqsGateway;
  let sqs: SQSClient;
  let url: string;

  ordersQueuePerTest((queue) => {
    ({ g, sqs, url } = queue);
  });

  const receive = async (): Promise<Message[]> => (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];
  const stats = async (): Promise<{ ready: number; inFlight: number }> => (await g.t.http.get('/v1/queues/orders')).body.stats;
  const invalidHandle = { name: 'ReceiptHandleIsInvalid', $metadata: { httpStatusCode: 404 } };

  test('DeleteMessage and ChangeMessageVisibility refuse an altered handle as ReceiptHandleIsInvalid, and the lease holds', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    const [message] = await receive();
    const altered = lastBitFlipped(message.ReceiptHandle ?? '');
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: altered }))).rejects.toMatchObject(invalidHandle);
    await expect(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: altered, VisibilityTimeout: 0 }))).rejects.toMatchObject(
      invalidHandle,
    );
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 1 });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 0 });
  });

  test('batches fail an altered handle, or one built by hand from the real ids, as ReceiptHandleIsInvalid, and settle the rest', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b' }));
    const [a, b] = await receive();
    const queue = await g.t.store.getQueue('orders');
    const forged = [
      { Id: 'altered', ReceiptHandle: lastBitFlipped(b.ReceiptHandle ?? '') },
      { Id: 'guessed', ReceiptHandle: unsignedReceipt(queue?.subscriptionId ?? '', b.MessageId ?? '', 1) },
    ];
    const invalid = forged.map(({ Id }) => expect.objectContaining({ Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true }));
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [{ Id: 'a', ReceiptHandle: a.ReceiptHandle, VisibilityTimeout: 60 }, ...forged.map((entry) => ({ ...entry, VisibilityTimeout: 0 }))],
      }),
    );
    expect(changed.Successful).toEqual([{ Id: 'a' }]);
    expect(changed.Failed).toEqual(invalid);
    const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', ReceiptHandle: a.ReceiptHandle }, ...forged] }));
    expect(deleted.Successful).toEqual([{ Id: 'a' }]);
    expect(deleted.Failed).toEqual(invalid);
    // b is still leased to whoever received it: neither the nack nor the delete took.
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 1 });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: b.ReceiptHandle }));
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 0 });
  });
});
