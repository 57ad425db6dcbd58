import crypto from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { parse as parseContentType } from 'content-type';
import type { QueueStats } from '../persistence/store';
import {
  awsCli,
  boto3,
  type Boto3Client,
  type ClientName,
  type Credentials,
  type Outcome,
  type Operation,
  type OutputOf,
  type Refusal,
  sdkV2,
  sdkV3,
  type SqsClient,
} from './support/legacySqs';
import { until } from './support/specResponses';
import { sqsKey } from './support/sqsGateway';
import { disposeTestGateway, type TestGateway, type TestGatewayOptions, testGateway } from './support/testGateway';

/**
 * The SQS face as the clients people run call it: the legacy ones that speak
 * the query protocol (Debian's AWS CLI 2.9 and boto3 1.26, aws-sdk for
 * JavaScript v2) and the current SDK (v3, AWS JSON 1.0), all against one
 * gateway, each making the same round trips on queues of its own. Every
 * client signs with keys of its own, so that what each one sent and got on
 * the wire can be told apart: the last test checks that the legacy clients
 * really spoke the query protocol.
 */

// Python and the CLI start in about half a second a process, on 2 cores.
jest.setTimeout(60_000);

/** What went over the wire in one exchange: who signed it, and the media types both ways. */
interface Exchange {
  accessKeyId: string | null;
  sent: string | null;
  received: string | null;
}

/** The access key id a request is signed with: in its Authorization header, or in a presigned URL's X-Amz-Credential. */
function accessKeyIdOf(req: IncomingMessage): string | null {
  const fromHeader = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
  if (fromHeader !== undefined) return fromHeader;
  const credential = new URL(req.url ?? '/', 'http://gateway').searchParams.get('X-Amz-Credential');
  return credential === null ? null : (credential.split('/')[0] ?? null);
}

function mediaTypeOf(contentType: string | number | string[] | undefined): string | null {
  return typeof contentType === 'string' ? parseContentType(contentType).type : null;
}

/** A test gateway on a socket of its own, which writes down every exchange before the app has it. */
interface RecordedGateway {
  t: TestGateway;
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

async function recordedGateway(options: TestGatewayOptions): Promise<RecordedGateway> {
  const t = testGateway(options);
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    res.on('finish', () =>
      exchanges.push({ accessKeyId: accessKeyIdOf(req), sent: mediaTypeOf(req.headers['content-type']), received: mediaTypeOf(res.getHeader('content-type')) }),
    );
    t.app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    t,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await disposeTestGateway(t);
    },
  };
}

/**
 * The clients in the order their tests run, each with the prefix of its
 * queues' names and the other client whose send wakes its long-poll.
 */
const CLIENTS: Array<{ name: ClientName; protocol: 'query' | 'json'; prefix: string; waker: ClientName }> = [
  { name: 'aws-cli', protocol: 'query', prefix: 'cli', waker: 'boto3' },
  { name: 'boto3', protocol: 'query', prefix: 'boto3', waker: 'aws-sdk-v2' },
  { name: 'aws-sdk-v2', protocol: 'query', prefix: 'v2', waker: 'aws-sdk-v3' },
  { name: 'aws-sdk-v3', protocol: 'json', prefix: 'v3', waker: 'aws-cli' },
];

/** Each client's keys: one that may do anything, and one whose scopes cover none of the client's queues. */
const KEYS = Object.fromEntries(
  CLIENTS.map(({ name, prefix }) => [name, { own: sqsKey(name, ['*:*']), narrow: sqsKey(`${name}-narrow`, [`*:queues/${prefix}-public-*`]) }]),
) as Record<ClientName, { own: ReturnType<typeof sqsKey>; narrow: ReturnType<typeof sqsKey> }>;

let g: RecordedGateway;
let clients: Record<ClientName, SqsClient>;
let python: Boto3Client;

beforeAll(async () => {
  g = await recordedGateway({ keys: Object.values(KEYS).flatMap(({ own, narrow }) => [own.record, narrow.record]) });
  python = boto3(g.url, KEYS.boto3.own.credentials);
  clients = {
    'aws-cli': awsCli(g.url, KEYS['aws-cli'].own.credentials),
    boto3: python,
    'aws-sdk-v2': sdkV2(g.url, KEYS['aws-sdk-v2'].own.credentials),
    'aws-sdk-v3': sdkV3(g.url, KEYS['aws-sdk-v3'].own.credentials),
  };
});

afterAll(async () => {
  // Clients first: a call still waiting would hold the gateway's shutdown.
  await Promise.all(Object.values(clients ?? {}).map((client) => client.close()));
  await g?.close();
});

const urlOf = (name: string): string => `${g.url}/000000000000/${name}`;
const arnOf = (name: string): string => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const stats = async (name: string): Promise<QueueStats> => (await g.t.queues.get(name)).stats;

/** A call's result; a refusal fails the test with what the client reported. */
async function ok<O extends Operation>(outcome: Promise<Outcome<O>>): Promise<OutputOf<O>> {
  const settled = await outcome;
  if (!settled.ok) throw new Error(`refused: ${JSON.stringify(settled.refusal)}`);
  return settled.output;
}

const messagesOf = (output: OutputOf<'ReceiveMessage'>): Message[] => output.Messages ?? [];

/**
 * An SQS error: the name of v3's exception for it, its query code, its HTTP
 * status, whether SQS's model (that of the legacy SDKs too) names it, and its
 * message where SQS always words it the same.
 */
interface SqsErrorKind {
  name: string;
  code: string;
  status: number;
  modeled: boolean;
  message?: string;
}

const QUEUE_DOES_NOT_EXIST: SqsErrorKind = {
  name: 'QueueDoesNotExist',
  code: 'AWS.SimpleQueueService.NonExistentQueue',
  status: 400,
  modeled: true,
  message: 'The specified queue does not exist.',
};
const RECEIPT_HANDLE_IS_INVALID: SqsErrorKind = { name: 'ReceiptHandleIsInvalid', code: 'ReceiptHandleIsInvalid', status: 404, modeled: true };
const SIGNATURE_DOES_NOT_MATCH: SqsErrorKind = { name: 'SignatureDoesNotMatch', code: 'SignatureDoesNotMatch', status: 403, modeled: false };
const ACCESS_DENIED: SqsErrorKind = { name: 'AccessDenied', code: 'AccessDenied', status: 403, modeled: false };

/**
 * How each client reports an SQS error, as its documentation says: v3 raises
 * the exception of the error's name (an unmodeled one under its code); v2 an
 * error whose `code` is the query code; boto3 the class of
 * client.exceptions the model names, ClientError for the others; the CLI
 * prints "An error occurred (<code>)" and exits 254 (the service refused).
 */
const REPORTED: Record<ClientName, (kind: SqsErrorKind) => Omit<Refusal, 'message'>> = {
  'aws-cli': (kind) => ({ raised: kind.code, code: kind.code, status: { exit: 254 } }),
  boto3: (kind) => ({ raised: kind.modeled ? kind.name : 'ClientError', code: kind.code, status: { http: kind.status } }),
  'aws-sdk-v2': (kind) => ({ raised: kind.code, code: kind.code, status: { http: kind.status } }),
  'aws-sdk-v3': (kind) => ({ raised: kind.name, code: kind.code, status: { http: kind.status } }),
};

const md5Hex = (data: Buffer | string): string => crypto.createHash('md5').update(data).digest('hex');

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * MD5OfMessageAttributes as the SQS documentation defines it, computed here
 * apart from the gateway's: per attribute in name order, its name, DataType
 * and value each prefixed with its byte length (4 bytes, big-endian), the
 * value after a byte saying string (1) or binary (2).
 */
function md5OfAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const parts = Object.keys(attributes)
    .sort()
    .flatMap((name) => {
      const { DataType = '', StringValue, BinaryValue } = attributes[name];
      const value = BinaryValue === undefined ? [Buffer.from([1]), lengthPrefixed(Buffer.from(StringValue ?? '', 'utf8'))] : [Buffer.from([2]), lengthPrefixed(Buffer.from(BinaryValue))];
      return [lengthPrefixed(Buffer.from(name, 'utf8')), lengthPrefixed(Buffer.from(DataType, 'utf8')), ...value];
    });
  return md5Hex(Buffer.concat(parts));
}

/** Text XML must escape, characters outside the BMP, and a byte length unlike its character count (for the MD5s). */
const BODY = 'Grüße <order id="7"> & 緑茶 🍵';
/** Bytes that are not UTF-8, with a NUL and line ends: only base64 carries them intact. */
const PAYLOAD = Buffer.from([0x00, 0x01, 0x0a, 0x0d, 0x7f, 0x80, 0xc3, 0x28, 0xfe, 0xff]);
/** Whitespace XML could lose: spaces at either end, and a CR, which a parser reads as a line end unless written as a reference. */
const FOURTH = ' fourth,\r\non two lines\t ';
const ATTRIBUTES: Record<string, MessageAttributeValue> = {
  greeting: { DataType: 'String', StringValue: 'héllo <b>&</b>' },
  count: { DataType: 'Number', StringValue: '-12.5e3' },
  'price.eur': { DataType: 'Number.decimal', StringValue: '19.99' },
  raw: { DataType: 'Binary', BinaryValue: PAYLOAD },
  thumbnail: { DataType: 'Binary.png', BinaryValue: Buffer.from([0x89, 0x50, 0x4e, 0x47]) },
};

describe.each(CLIENTS)('$name ($protocol protocol)', ({ name, prefix, waker }) => {
  const client = (): SqsClient => clients[name];
  const refused = (kind: SqsErrorKind) => ({ ok: false, refusal: { ...REPORTED[name](kind), message: kind.message ?? expect.any(String) } });

  test('queues: created with attributes and tags, listed by prefix, found by name; attributes set and read; tags added, removed and listed', async () => {
    const sqs = client();
    const queue = `${prefix}-orders`;
    // Two other queues: one the prefix takes in, one it leaves out.
    await g.t.queues.put(`${prefix}-orders-archive`, {});
    await g.t.queues.put(`${prefix}-other`, {});
    const created = await ok(
      sqs.call('CreateQueue', {
        QueueName: queue,
        Attributes: { VisibilityTimeout: '45', DelaySeconds: '2', MessageRetentionPeriod: '3600', ReceiveMessageWaitTimeSeconds: '5', MaximumMessageSize: '2048' },
        tags: { team: 'payments', tier: 'gold', owner: 'ops' },
      }),
    );
    expect(created).toEqual({ QueueUrl: urlOf(queue) });
    // Reads, side by side: the CLI starts a process for each.
    const [listed, found] = await Promise.all([
      ok(sqs.call('ListQueues', { QueueNamePrefix: `${prefix}-orders` })),
      ok(sqs.call('GetQueueUrl', { QueueName: queue })),
    ]);
    expect(listed).toEqual({ QueueUrls: [urlOf(queue), urlOf(`${prefix}-orders-archive`)] });
    expect(found).toEqual({ QueueUrl: urlOf(queue) });

    await ok(sqs.call('SetQueueAttributes', { QueueUrl: urlOf(queue), Attributes: { VisibilityTimeout: '60', MaximumMessageSize: '4096' } }));
    expect(await g.t.queues.settings(queue)).toMatchObject({ visibilityTimeoutMs: 60_000, delayMs: 2000, retentionMs: 3_600_000, receiveWaitMs: 5000, maxMessageBytes: 4096 });
    const { Attributes } = await ok(sqs.call('GetQueueAttributes', { QueueUrl: urlOf(queue), AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({
      QueueArn: arnOf(queue),
      VisibilityTimeout: '60',
      DelaySeconds: '2',
      MessageRetentionPeriod: '3600',
      ReceiveMessageWaitTimeSeconds: '5',
      MaximumMessageSize: '4096',
      ApproximateNumberOfMessages: '0',
      CreatedTimestamp: String(Math.floor(g.t.clock.now() / 1000)),
    });

    await ok(sqs.call('TagQueue', { QueueUrl: urlOf(queue), Tags: { tier: 'platinum', env: 'test' } }));
    await ok(sqs.call('UntagQueue', { QueueUrl: urlOf(queue), TagKeys: ['team'] }));
    expect(await ok(sqs.call('ListQueueTags', { QueueUrl: urlOf(queue) }))).toEqual({ Tags: { owner: 'ops', tier: 'platinum', env: 'test' } });
  });

  test('messages: String, Number and Binary attributes and the MD5s of body and attributes; a batch; received with every attribute; visibility, deletes, purge', async () => {
    const sqs = client();
    const queue = `${prefix}-messages`;
    await g.t.queues.put(queue, {});
    const sent = await ok(sqs.call('SendMessage', { QueueUrl: urlOf(queue), MessageBody: BODY, MessageAttributes: ATTRIBUTES }));
    expect(sent).toEqual({ MessageId: expect.any(String), MD5OfMessageBody: md5Hex(BODY), MD5OfMessageAttributes: md5OfAttributes(ATTRIBUTES) });

    const kind = { kind: { DataType: 'String.tag', StringValue: 'batch' } };
    const batch = await ok(
      sqs.call('SendMessageBatch', {
        QueueUrl: urlOf(queue),
        Entries: [
          { Id: 'second', MessageBody: 'second' },
          { Id: 'third', MessageBody: 'third', MessageAttributes: kind },
          { Id: 'fourth', MessageBody: FOURTH },
        ],
      }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    expect(batch.Successful).toEqual([
      { Id: 'second', MessageId: expect.any(String), MD5OfMessageBody: md5Hex('second') },
      { Id: 'third', MessageId: expect.any(String), MD5OfMessageBody: md5Hex('third'), MD5OfMessageAttributes: md5OfAttributes(kind) },
      { Id: 'fourth', MessageId: expect.any(String), MD5OfMessageBody: md5Hex(FOURTH) },
    ]);

    const received = messagesOf(
      await ok(sqs.call('ReceiveMessage', { QueueUrl: urlOf(queue), MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageAttributeNames: ['All'] })),
    );
    const byBody = new Map(received.map((message) => [message.Body, message]));
    expect([...byBody.keys()].sort()).toEqual([FOURTH, BODY, 'second', 'third'].sort());
    const now = String(g.t.clock.now());
    expect(byBody.get(BODY)).toEqual({
      MessageId: sent.MessageId,
      ReceiptHandle: expect.any(String),
      Body: BODY,
      MD5OfBody: md5Hex(BODY),
      // SenderId: the key that signed the send.
      Attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, ApproximateFirstReceiveTimestamp: now, SenderId: KEYS[name].own.credentials.accessKeyId },
      MD5OfMessageAttributes: md5OfAttributes(ATTRIBUTES),
      MessageAttributes: ATTRIBUTES,
    });
    // The bytes themselves, whatever toEqual makes of a Buffer.
    expect(Buffer.compare(byBody.get(BODY)?.MessageAttributes?.raw?.BinaryValue ?? Buffer.alloc(0), PAYLOAD)).toBe(0);
    expect(byBody.get('third')).toMatchObject({ MessageAttributes: kind, MD5OfMessageAttributes: md5OfAttributes(kind), MD5OfBody: md5Hex('third') });
    expect(byBody.get('second')?.MessageAttributes).toBeUndefined();
    const handle = (body: string): string => byBody.get(body)?.ReceiptHandle ?? '';

    // Side by side, each on messages of its own: the first made visible again, the others deleted.
    const [, , deleted] = await Promise.all([
      ok(sqs.call('ChangeMessageVisibility', { QueueUrl: urlOf(queue), ReceiptHandle: handle(BODY), VisibilityTimeout: 0 })),
      ok(sqs.call('DeleteMessage', { QueueUrl: urlOf(queue), ReceiptHandle: handle('second') })),
      ok(
        sqs.call('DeleteMessageBatch', {
          QueueUrl: urlOf(queue),
          Entries: [
            { Id: 'third', ReceiptHandle: handle('third') },
            { Id: 'fourth', ReceiptHandle: handle(FOURTH) },
            { Id: 'forged', ReceiptHandle: 'bm90LWEtcmVjZWlwdA' },
          ],
        }),
      ),
    ]);
    expect(deleted.Successful).toEqual([{ Id: 'third' }, { Id: 'fourth' }]);
    expect(deleted.Failed).toEqual([{ Id: 'forged', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: expect.any(String) }]);
    // The one left, made visible: the first.
    expect(await stats(queue)).toMatchObject({ ready: 1, inFlight: 0, acked: 3 });

    await ok(sqs.call('PurgeQueue', { QueueUrl: urlOf(queue) }));
    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, acked: 3 });
  });

  test(`a long-poll waits on the empty queue until ${waker} sends`, async () => {
    const queue = `${prefix}-waiting`;
    await g.t.queues.put(queue, {});
    let done = false;
    const waiting = client().call('ReceiveMessage', { QueueUrl: urlOf(queue), WaitTimeSeconds: 10, MessageAttributeNames: ['All'] });
    void waiting.then(
      () => (done = true),
      () => (done = true),
    );
    // Sent sooner, the receive's first look would find the message, and no wake-up be needed. The clock stands still: only the send ends the wait.
    await until(() => g.t.wakeups.waiting === 1 || done);
    expect(done).toBe(false);
    const from = { from: { DataType: 'String', StringValue: waker } };
    const sent = await ok(clients[waker].call('SendMessage', { QueueUrl: urlOf(queue), MessageBody: 'wake up', MessageAttributes: from }));
    expect(messagesOf(await ok(waiting))).toEqual([
      {
        MessageId: sent.MessageId,
        ReceiptHandle: expect.any(String),
        Body: 'wake up',
        MD5OfBody: md5Hex('wake up'),
        MD5OfMessageAttributes: md5OfAttributes(from),
        MessageAttributes: from,
      },
    ]);
  });

  test('FIFO: groups keep their order; a deduplication id repeated within five minutes is one message, after them a new one', async () => {
    const sqs = client();
    const queue = `${prefix}-jobs.fifo`;
    const { QueueUrl } = await ok(sqs.call('CreateQueue', { QueueName: queue, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }));
    expect(QueueUrl).toBe(urlOf(queue));
    const first = await ok(sqs.call('SendMessage', { QueueUrl, MessageBody: 'a1', MessageGroupId: 'a', MessageDeduplicationId: 'd-a1' }));
    expect(first.SequenceNumber).toMatch(/^\d{20}$/);
    const batch = await ok(
      sqs.call('SendMessageBatch', {
        QueueUrl,
        Entries: [
          { Id: 'again', MessageBody: 'a1, sent again', MessageGroupId: 'a', MessageDeduplicationId: 'd-a1' },
          { Id: 'a2', MessageBody: 'a2', MessageGroupId: 'a', MessageDeduplicationId: 'd-a2' },
          { Id: 'b1', MessageBody: 'b1', MessageGroupId: 'b', MessageDeduplicationId: 'd-b1' },
        ],
      }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    const [again, a2, b1] = batch.Successful ?? [];
    expect(again).toMatchObject({ Id: 'again', MessageId: first.MessageId, SequenceNumber: first.SequenceNumber });
    expect(BigInt(a2.SequenceNumber ?? '0')).toBeGreaterThan(BigInt(first.SequenceNumber ?? '0'));
    expect(await stats(queue)).toMatchObject({ produced: 3 });

    const received = messagesOf(await ok(sqs.call('ReceiveMessage', { QueueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'] })));
    const inGroup = (group: string) => received.filter((m) => m.Attributes?.MessageGroupId === group).map((m) => [m.Body, m.Attributes?.SequenceNumber]);
    expect(inGroup('a')).toEqual([
      ['a1', first.SequenceNumber],
      ['a2', a2.SequenceNumber],
    ]);
    expect(inGroup('b')).toEqual([['b1', b1.SequenceNumber]]);
    expect(received.map((m) => m.Attributes?.MessageDeduplicationId).sort()).toEqual(['d-a1', 'd-a2', 'd-b1']);

    g.t.clock.advance(5 * 60 * 1000 + 1);
    const later = await ok(sqs.call('SendMessage', { QueueUrl, MessageBody: 'a1, much later', MessageGroupId: 'a', MessageDeduplicationId: 'd-a1' }));
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(await stats(queue)).toMatchObject({ produced: 4 });
  });

  test('a RedrivePolicy with maxReceiveCount 1: received, made visible, received again, the message is in the dead-letter queue; then the queue is deleted', async () => {
    const sqs = client();
    const dlq = `${prefix}-payments-dlq`;
    const queue = `${prefix}-payments`;
    await g.t.queues.put(dlq, {});
    const policy = { deadLetterTargetArn: arnOf(dlq), maxReceiveCount: 1 };
    await ok(sqs.call('CreateQueue', { QueueName: queue, Attributes: { RedrivePolicy: JSON.stringify(policy) } }));
    const attribute = { reason: { DataType: 'String', StringValue: 'poison' } };
    const sent = await ok(sqs.call('SendMessage', { QueueUrl: urlOf(queue), MessageBody: 'poison pill', MessageAttributes: attribute }));

    const [once] = messagesOf(await ok(sqs.call('ReceiveMessage', { QueueUrl: urlOf(queue) })));
    expect(once).toMatchObject({ MessageId: sent.MessageId, Body: 'poison pill' });
    await ok(sqs.call('ChangeMessageVisibility', { QueueUrl: urlOf(queue), ReceiptHandle: once.ReceiptHandle, VisibilityTimeout: 0 }));
    expect(messagesOf(await ok(sqs.call('ReceiveMessage', { QueueUrl: urlOf(queue) })))).toEqual([]);
    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, deadLettered: 1 });

    const dead = messagesOf(await ok(sqs.call('ReceiveMessage', { QueueUrl: urlOf(dlq), AttributeNames: ['All'], MessageAttributeNames: ['All'] })));
    // Moved, the message keeps its MessageId, as in SQS.
    expect(dead).toEqual([
      {
        MessageId: sent.MessageId,
        ReceiptHandle: expect.any(String),
        Body: 'poison pill',
        MD5OfBody: md5Hex('poison pill'),
        Attributes: expect.objectContaining({ ApproximateReceiveCount: '1' }),
        MD5OfMessageAttributes: md5OfAttributes(attribute),
        MessageAttributes: attribute,
      },
    ]);

    await ok(sqs.call('DeleteQueue', { QueueUrl: urlOf(queue) }));
    await expect(g.t.queues.get(queue)).rejects.toMatchObject({ code: 'queue_not_found' });
    expect(await stats(dlq)).toMatchObject({ inFlight: 1 });
  });

  test('errors as the client raises them: a missing queue, a forged receipt handle, a wrong secret, a key whose scopes leave the queue out', async () => {
    const sqs = client();
    const queue = `${prefix}-guarded`;
    await g.t.queues.put(queue, {});
    const { own, narrow } = KEYS[name];
    const wrongSecret: Credentials = { ...own.credentials, secretAccessKey: `${own.credentials.secretAccessKey}x` };
    // At once: the CLI's four processes start side by side.
    const [missing, forged, badSignature, outOfScope] = await Promise.all([
      sqs.call('GetQueueUrl', { QueueName: `${prefix}-missing` }),
      // Led by a dash, as a real handle may be: the CLI must take it as a value, not as an option.
      sqs.call('DeleteMessage', { QueueUrl: urlOf(queue), ReceiptHandle: '-bm90LWEtcmVjZWlwdA' }),
      sqs.call('ListQueues', { QueueNamePrefix: prefix }, wrongSecret),
      sqs.call('SendMessage', { QueueUrl: urlOf(queue), MessageBody: 'not mine to send' }, narrow.credentials),
    ]);
    expect(missing).toEqual(refused(QUEUE_DOES_NOT_EXIST));
    expect(forged).toEqual(refused(RECEIPT_HANDLE_IS_INVALID));
    expect(badSignature).toEqual(refused(SIGNATURE_DOES_NOT_MATCH));
    expect(outOfScope).toEqual(refused(ACCESS_DENIED));
    expect(await stats(queue)).toMatchObject({ produced: 0 });
  });
});

test('boto3: a presigned ListQueues URL, POSTed with no body, lists the queues; a parameter changed after signing is SignatureDoesNotMatch', async () => {
  await g.t.queues.put('boto3-presigned-a', {});
  await g.t.queues.put('boto3-presigned-b', {});
  const url = await python.presign('ListQueues', { QueueNamePrefix: 'boto3-presigned' }, 60);
  const query = new URL(url).searchParams;
  expect({ action: query.get('Action'), expires: query.get('X-Amz-Expires'), credential: query.get('X-Amz-Credential') }).toEqual({
    action: 'ListQueues',
    expires: '60',
    credential: expect.stringMatching(new RegExp(`^${KEYS.boto3.own.credentials.accessKeyId}/\\d{8}/us-east-1/sqs/aws4_request$`)),
  });

  const listed = await python.post(url);
  expect(listed).toMatchObject({ status: 200, contentType: 'text/xml; charset=utf-8' });
  expect([...listed.body.matchAll(/<QueueUrl>([^<]*)<\/QueueUrl>/g)].map((m) => m[1])).toEqual([urlOf('boto3-presigned-a'), urlOf('boto3-presigned-b')]);
  expect(listed.body).toMatch(/^<\?xml version="1.0"\?><ListQueuesResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><ListQueuesResult>/);

  const tampered = url.replace('QueueNamePrefix=boto3-presigned', 'QueueNamePrefix=boto3');
  expect(tampered).not.toBe(url);
  const refusedAnswer = await python.post(tampered);
  expect(refusedAnswer).toMatchObject({ status: 403, contentType: 'text/xml; charset=utf-8' });
  expect(refusedAnswer.body).toMatch(/<ErrorResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><Error><Type>Sender<\/Type><Code>SignatureDoesNotMatch<\/Code>/);
});

// Last: it reads what every test before it sent.
test('on the wire: the legacy clients sent only forms and got only XML; v3 sent and got only AWS JSON 1.0', () => {
  const owner = new Map(CLIENTS.flatMap(({ name }) => [KEYS[name].own, KEYS[name].narrow].map((key): [string, ClientName] => [key.credentials.accessKeyId, name])));
  const seen = new Map<string, { exchanges: number; sent: Set<string | null>; received: Set<string | null> }>();
  for (const exchange of g.exchanges) {
    const who = (exchange.accessKeyId === null ? undefined : owner.get(exchange.accessKeyId)) ?? `unknown key ${exchange.accessKeyId}`;
    const entry = seen.get(who) ?? { exchanges: 0, sent: new Set(), received: new Set() };
    entry.exchanges += 1;
    entry.sent.add(exchange.sent);
    entry.received.add(exchange.received);
    seen.set(who, entry);
  }
  const summary = Object.fromEntries([...seen].map(([who, { sent, received }]) => [who, { sent: [...sent].sort(), received: [...received].sort() }]));
  const query = { sent: ['application/x-www-form-urlencoded'], received: ['text/xml'] };
  expect(summary).toEqual({
    'aws-cli': query,
    boto3: query,
    'aws-sdk-v2': query,
    'aws-sdk-v3': { sent: ['application/x-amz-json-1.0'], received: ['application/x-amz-json-1.0'] },
  });
  // Each made every round trip above: some twenty calls.
  for (const { name } of CLIENTS) expect({ name, many: (seen.get(name)?.exchanges ?? 0) >= 20 }).toEqual({ name, many: true });
  expect(g.t.internalErrors).toEqual([]);
  expect(g.t.backgroundErrors).toEqual([]);
});
