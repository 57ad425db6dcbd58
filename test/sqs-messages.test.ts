import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { md5OfAttributes, md5OfBody } from '../api/sqs/md5';
import type { QueueStats } from '../persistence/store';
import { until } from './support/specResponses';
import { ordersQueuePerTest, type SqsGateway } from './support/sqsGateway';

/** The message actions through the official AWS SDK (MD5 checks on) against a running gateway, and /v1 on the same queues. */

let g: SqsGateway;
let sqs: SQSClient;
let url: string;

ordersQueuePerTest((queue) => {
  ({ g, sqs, url } = queue);
});

const receive = async (input: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, ...input }))).Messages ?? [];

const send = (MessageBody: string, extra: object = {}) => sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody, ...extra }));

/** The queue's counts, as /v1 shows them: what a call through SQS did to the store, whatever it answered. */
const stats = async (): Promise<QueueStats> => ((await g.t.http.get('/v1/queues/orders')).body as { stats: QueueStats }).stats;

describe('MD5s', () => {
  test('match the AWS-recorded vectors', () => {
    const s = (value: string) => ({ DataType: 'String', StringValue: value });
    expect(md5OfBody('msg')).toBe('6e2baaf3b97dbeef01c0043275f9a0e7');
    expect(md5OfAttributes({ Foo: s('Bar') })).toBe('ae7155c6026991b6d54b11589678bf9c');
    expect(md5OfAttributes({ General: s('Kenobi'), Hello: s('There'), 'Help.Me': s('Me') })).toBe('4c360f3fdafd970e05fae2f149d997f5');
    expect(md5OfAttributes({ Hello: s('There') })).toBe('a311262e065454b75da111d535b8dacd');
    const traceparent = Buffer.from('traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01', 'latin1');
    expect(md5OfAttributes({ attr1: { DataType: 'Binary', BinaryValue: traceparent.toString('base64') } })).toBe('8cbe4db156db8a94db8b801b7addb984');
  });

  test('SendMessage answers them, ReceiveMessage too over the attributes it returns', async () => {
    const MessageAttributes = {
      Hello: { DataType: 'String', StringValue: 'There' },
      'Help.Me': { DataType: 'String', StringValue: 'Me' },
      General: { DataType: 'String', StringValue: 'Kenobi' },
    };
    const sent = await send('ünïcode 😀 body', { MessageAttributes });
    expect(sent.MD5OfMessageBody).toBe(md5OfBody('ünïcode 😀 body'));
    expect(sent.MD5OfMessageAttributes).toBe('4c360f3fdafd970e05fae2f149d997f5');
    const [message] = await receive({ MessageAttributeNames: ['Help.*', 'Hello'] });
    expect(message.MD5OfBody).toBe(md5OfBody('ünïcode 😀 body'));
    expect(Object.keys(message.MessageAttributes ?? {}).sort()).toEqual(['Hello', 'Help.Me']);
    expect(message.MD5OfMessageAttributes).toBe('83fee93c1bcd8b9a5a923ffacdc636c7');
  });
});

describe('send and receive', () => {
  test('attributes of every type come back as sent, system attributes as asked for', async () => {
    const binary = new Uint8Array([0, 1, 2, 250]);
    await send('hello', {
      MessageAttributes: {
        text: { DataType: 'String', StringValue: 'x' },
        count: { DataType: 'Number', StringValue: '-4.5e3' },
        blob: { DataType: 'Binary', BinaryValue: binary },
        custom: { DataType: 'String.json', StringValue: '{"a":1}' },
      },
      MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' } },
    });
    g.t.clock.advance(250);
    const [message] = await receive({ MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] });
    expect(message.Body).toBe('hello');
    expect(message.MessageAttributes).toEqual({
      text: { DataType: 'String', StringValue: 'x' },
      count: { DataType: 'Number', StringValue: '-4.5e3' },
      blob: { DataType: 'Binary', BinaryValue: binary },
      custom: { DataType: 'String.json', StringValue: '{"a":1}' },
    });
    const sentAt = g.t.clock.now() - 250;
    expect(message.Attributes).toEqual({
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentAt),
      ApproximateFirstReceiveTimestamp: String(sentAt + 250),
      SenderId: '000000000000',
      AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793',
    });
  });

  test('MessageAttributeNames picks attributes by name, `prefix.*` (those whose names start with `prefix.`), `.*` or All', async () => {
    const text = (StringValue: string) => ({ DataType: 'String', StringValue });
    const names = ['Help', 'Help.Me', 'Help.Me.Now', 'Helpful', 'Other.Help'];
    await send('hello', { MessageAttributes: Object.fromEntries(names.map((name) => [name, text(name)])) });
    const picked = async (MessageAttributeNames: string[]): Promise<string[]> => {
      const [message] = await receive({ MessageAttributeNames, VisibilityTimeout: 0 });
      return Object.keys(message.MessageAttributes ?? {}).sort();
    };
    expect(await picked(['Help.*'])).toEqual(['Help.Me', 'Help.Me.Now']);
    expect(await picked(['Help.Me.*', 'Helpful'])).toEqual(['Help.Me.Now', 'Helpful']);
    expect(await picked(['Help', 'Absent', 'Absent.*'])).toEqual(['Help']);
    expect(await picked(['.*'])).toEqual(names);
    expect(await picked(['All'])).toEqual(names);
    expect(await picked([])).toEqual([]);
  });

  test('an attribute DataType of up to 256 characters is kept; a longer one is refused, as in SQS', async () => {
    const typed = (length: number) => ({ MessageAttributes: { a: { DataType: `String.${'x'.repeat(length - 'String.'.length)}`, StringValue: 'v' } } });
    await send('fits', typed(256));
    await expect(send('too long', typed(257))).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('256 characters') });
    const [message] = await receive({ MessageAttributeNames: ['All'] });
    expect(message.MessageAttributes?.a.DataType).toHaveLength(256);
  });

  test('nothing asked for, nothing returned; an empty receive has no Messages', async () => {
    await send('plain', { MessageAttributes: { a: { DataType: 'String', StringValue: 'b' } } });
    const [message] = await receive();
    expect(message.Attributes).toBeUndefined();
    expect(message.MessageAttributes).toBeUndefined();
    expect(message.MD5OfMessageAttributes).toBeUndefined();
    expect(await receive()).toEqual([]);
  });

  test('SendMessageBatch answers per entry; ReceiveMessage takes up to MaxNumberOfMessages', async () => {
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: '' },
          { Id: 'c', MessageBody: 'three', DelaySeconds: 5 },
          { Id: 'd', MessageBody: 'bad \u0001 char' },
        ],
      }),
    );
    expect(result.Successful?.map((entry) => [entry.Id, entry.MD5OfMessageBody])).toEqual([
      ['a', md5OfBody('one')],
      ['c', md5OfBody('three')],
    ]);
    expect(result.Failed).toEqual([
      { Id: 'b', SenderFault: true, Code: 'MissingParameter', Message: 'The request must contain the parameter MessageBody.' },
      expect.objectContaining({ Id: 'd', SenderFault: true, Code: 'InvalidMessageContents' }),
    ]);
    expect((await receive({ MaxNumberOfMessages: 1 })).map((m) => m.Body)).toEqual(['one']);
    g.t.clock.advance(5000);
    expect((await receive()).map((m) => m.Body)).toEqual(['three']);
  });

  test('whole-request errors of batches and receives, by their SDK names', async () => {
    const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }));
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) }))).rejects.toMatchObject({
      name: 'TooManyEntriesInBatchRequest',
      message: 'Maximum number of entries per request are 10. You have sent 11.',
    });
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] }))).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'x' }, { Id: 'a', MessageBody: 'y' }] }))).rejects.toMatchObject({
      name: 'BatchEntryIdsNotDistinct',
    });
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'no spaces', MessageBody: 'x' }] }))).rejects.toMatchObject({
      name: 'InvalidBatchEntryId',
    });
    const big = 'x'.repeat(600 * 1024);
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: big }, { Id: 'b', MessageBody: big }] }))).rejects.toMatchObject({
      name: 'BatchRequestTooLong',
    });
    await expect(receive({ MaxNumberOfMessages: 11 })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(receive({ WaitTimeSeconds: 21 })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(send('x'.repeat(1024 * 1024 + 1))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(send('fine', { DelaySeconds: 901 })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(send('fine', { MessageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } } })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(send('fine', { MessageAttributes: { 'mqgate-sqs-type-x': { DataType: 'String', StringValue: 'v' } } })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(send('fine', { MessageAttributes: { n: { DataType: 'Number', StringValue: 'twelve' } } })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(send('fine', { MessageDeduplicationId: 'd' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${g.url}/000000000000/nowhere`, MessageBody: 'x' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    expect(await receive()).toEqual([]);
  });
});

describe('leases', () => {
  test('a long-poll waiting on an empty queue is woken by a send', async () => {
    const waiting = receive({ WaitTimeSeconds: 20 });
    // The send must come once the receive waits: sent sooner, the receive's first claim would find it and no wake-up be needed.
    await until(() => g.t.wakeups.waiting === 1);
    await g.client().send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
    expect((await waiting).map((m) => m.Body)).toEqual(['wake up']);
  });

  test('a message comes back after its visibility timeout, counting receives; a stale handle changes nothing; DeleteMessage ends it', async () => {
    await send('again');
    const [first] = await receive({ VisibilityTimeout: 2 });
    expect(await receive()).toEqual([]);
    g.t.clock.advance(2000);
    const [second] = await receive({ VisibilityTimeout: 2, MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'] });
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    expect(second.Attributes).toEqual({ ApproximateReceiveCount: '2', ApproximateFirstReceiveTimestamp: String(g.t.clock.now() - 2000) });
    // The old handle is stale, and used alone (beside the live one, the live one's delete would hide what it did).
    // As in SQS, deleting with it succeeds and deletes nothing.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 1, acked: 0 });
    // Nor can it change the visibility: neither free the message (0) nor hold it longer.
    for (const VisibilityTimeout of [0, 60]) {
      await expect(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout }))).rejects.toMatchObject({
        name: 'InvalidParameterValue',
      });
    }
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 1, acked: 0 });
    // The second lease ends when its receive said, so the message comes back then.
    g.t.clock.advance(2000);
    const [third] = await receive();
    expect(third.MessageId).toBe(first.MessageId);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third.ReceiptHandle }));
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 0, acked: 1 });
    g.t.clock.advance(60_000);
    expect(await receive()).toEqual([]);
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' }))).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
      $metadata: { httpStatusCode: 404 },
    });
  });

  test('ChangeMessageVisibility extends a lease, 0 makes the message visible at once; stale handles are refused', async () => {
    await send('slow');
    const [message] = await receive({ VisibilityTimeout: 5 });
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 60 }));
    g.t.clock.advance(30_000);
    expect(await receive()).toEqual([]);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
    const [again] = await receive();
    expect(again.Body).toBe('slow');
    await expect(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 10 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const noTimeout = { QueueUrl: url, ReceiptHandle: again.ReceiptHandle, VisibilityTimeout: undefined as unknown as number };
    await expect(sqs.send(new ChangeMessageVisibilityCommand(noTimeout))).rejects.toMatchObject({
      name: 'MissingParameter',
    });
  });

  test('the batch forms answer per entry', async () => {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: ['a', 'b', 'c'].map((Id) => ({ Id, MessageBody: Id })) }));
    const [a, b, c] = await receive();
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', ReceiptHandle: a.ReceiptHandle, VisibilityTimeout: 0 },
          { Id: 'b', ReceiptHandle: b.ReceiptHandle, VisibilityTimeout: 120 },
          { Id: 'x', ReceiptHandle: 'garbage', VisibilityTimeout: 1 },
        ],
      }),
    );
    expect(changed.Successful).toEqual([{ Id: 'a' }, { Id: 'b' }]);
    expect(changed.Failed).toEqual([expect.objectContaining({ Id: 'x', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    const [a2] = await receive();
    expect(a2.Body).toBe('a');
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', ReceiptHandle: a2.ReceiptHandle },
          { Id: 'c', ReceiptHandle: c.ReceiptHandle },
          { Id: 'bad', ReceiptHandle: 'garbage' },
        ],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: 'a' }, { Id: 'c' }]);
    expect(deleted.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid' })]);
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 1 });
  });
});

describe('interop with /v1', () => {
  test('a message sent through SQS is fetched and acked through /v1, as text with its attributes as headers', async () => {
    await send('{"not":"parsed"}', {
      MessageAttributes: { source: { DataType: 'String', StringValue: 'shop' }, n: { DataType: 'Number', StringValue: '7' } },
    });
    const fetched = await g.t.http.post('/v1/queues/orders/fetch').send({ max: 10 });
    expect(fetched.body.messages).toEqual([
      expect.objectContaining({
        value: '{"not":"parsed"}',
        valueEncoding: 'text',
        contentType: 'text/plain; charset=utf-8',
        headers: { source: 'shop', n: '7', 'mqgate-sqs-type-n': 'Number' },
      }),
    ]);
    const acked = await g.t.http.post('/v1/queues/orders/ack').send({ receipts: [fetched.body.messages[0].receipt] });
    expect(acked.body.results[0].status).toBe('acked');
    expect(await receive()).toEqual([]);
  });

  test('a message produced through /v1 is received and deleted through SQS; JSON as its text, headers as String attributes', async () => {
    await g.t.http
      .post('/v1/queues/orders/messages')
      .send({ messages: [{ value: { order: 4711 }, headers: { source: 'shop', 'not valid!': 'skipped' } }] });
    const [message] = await receive({ MessageAttributeNames: ['All'] });
    expect(message.Body).toBe('{"order":4711}');
    expect(message.MessageAttributes).toEqual({ source: { DataType: 'String', StringValue: 'shop' } });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 0, acked: 1 });
  });

  test('/v1 cannot forge the headers the SQS face keeps for itself', async () => {
    const res = await g.t.http.post('/v1/queues/orders/messages').send({ messages: [{ value: 1, headers: { 'mqgate-sqs-type-x': 'Binary' } }] });
    expect(res.status).toBe(422);
  });
});
