import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { QueueStats } from '../persistence/store';
import { until } from './support/specResponses';
import { arnOf, createQueue, type SqsGateway, sqsClientPerTest } from './support/sqsGateway';

/** Dead letters and their redrive, and FIFO queues, through the official AWS SDK against a running gateway. */

let g: SqsGateway;
let sqs: SQSClient;
sqsClientPerTest((gateway, client) => ([g, sqs] = [gateway, client]));


const create = (QueueName: string, Attributes?: Record<string, string>): Promise<string> => createQueue(sqs, QueueName, Attributes);

const receive = async (QueueUrl: string, input: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, ...input }))).Messages ?? [];

describe('dead letters and move tasks', () => {
  let source: string;
  let dlq: string;

  beforeEach(async () => {
    dlq = await create('orders-dlq');
    source = await create('orders', {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arnOf('orders-dlq'), maxReceiveCount: 2 }),
    });
  });

  test('a message received maxReceiveCount times moves to the dead-letter queue, and a move task brings it back', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'poison', MessageAttributes: { n: { DataType: 'Number', StringValue: '1' } } }));
    for (let i = 0; i < 2; i++) {
      expect((await receive(source)).map((m) => m.Body)).toEqual(['poison']);
      g.t.clock.advance(1000);
    }
    expect(await receive(source)).toEqual([]);
    const [dead] = await receive(dlq, { VisibilityTimeout: 0, MessageAttributeNames: ['All'] });
    expect(dead.Body).toBe('poison');
    expect(dead.MessageAttributes).toEqual({ n: { DataType: 'Number', StringValue: '1' } });

    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('orders-dlq'), MaxNumberOfMessagesPerSecond: 10 }));
    // The task runs in the background (test/sqs-move-tasks.test.ts): its one step, then it has completed.
    await until(() => !g.t.moveTasks.busy);
    const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arnOf('orders-dlq'), MaxResults: 10 }));
    expect(tasks.Results).toEqual([
      {
        Status: 'COMPLETED',
        SourceArn: arnOf('orders-dlq'),
        MaxNumberOfMessagesPerSecond: 10,
        ApproximateNumberOfMessagesMoved: 1,
        ApproximateNumberOfMessagesToMove: 1,
        StartedTimestamp: g.t.clock.now(),
      },
    ]);
    const [back] = await receive(source, { MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    expect(back.Body).toBe('poison');
    expect(back.Attributes).toEqual({ ApproximateReceiveCount: '1' });
    expect(back.MessageAttributes).toEqual({ n: { DataType: 'Number', StringValue: '1' } });
    // The handle is one the gateway made (a made-up one is invalid, a missing one a MissingParameter), and its task is over.
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'nonsense' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  test('a move task needs a dead-letter queue that exists, and a destination that exists', async () => {
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('orders') }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Source queue must be configured as a Dead Letter Queue.'),
    });
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('nowhere') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('orders-dlq'), DestinationArn: arnOf('nowhere') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "The resource that you specified for the DestinationArn parameter doesn't exist.",
    });
    await create('other.fifo', { FifoQueue: 'true' });
    // As in SQS: messages move only between queues of one type.
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('orders-dlq'), DestinationArn: arnOf('other.fifo') }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('same type of queue as the source'),
    });
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arnOf('orders-dlq') }))).Results).toEqual([]);
  });

  test('a move task with a DestinationArn moves the dead letters to that queue instead of their source', async () => {
    const retry = await create('orders-retry');
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i++) {
      expect(await receive(source)).toHaveLength(1);
      g.t.clock.advance(1000);
    }
    expect(await receive(source)).toEqual([]);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf('orders-dlq'), DestinationArn: arnOf('orders-retry') }));
    await until(() => !g.t.moveTasks.busy);
    expect((await receive(retry)).map((m) => m.Body)).toEqual(['poison']);
    expect(await receive(source)).toEqual([]);
    const [task] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arnOf('orders-dlq') }))).Results ?? [];
    expect(task).toMatchObject({ Status: 'COMPLETED', DestinationArn: arnOf('orders-retry'), ApproximateNumberOfMessagesMoved: 1 });
  });
});

describe('FIFO queues', () => {
  let url: string;

  beforeEach(async () => {
    url = await create('jobs.fifo', { FifoQueue: 'true', VisibilityTimeout: '30' });
  });

  const sendTo = (MessageBody: string, MessageGroupId: string, MessageDeduplicationId: string) =>
    sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody, MessageGroupId, MessageDeduplicationId }));

  test('each group in order, one batch of a group in flight; a retried message is delivered before the rest of its group', async () => {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ['a1', 'b1', 'a2', 'b2', 'a3'].map((body) => ({ Id: body, MessageBody: body, MessageGroupId: body[0], MessageDeduplicationId: body })),
      }),
    );
    const first = await receive(url, { MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['MessageGroupId', 'SequenceNumber'] });
    expect(first.map((m) => m.Body)).toEqual(['a1']);
    expect(first[0].Attributes?.MessageGroupId).toBe('a');
    // Group a is in flight: only group b is offered, in its order.
    const others = await receive(url);
    expect(others.map((m) => m.Body)).toEqual(['b1', 'b2']);
    expect(await receive(url)).toEqual([]);
    // a1 is retried (made visible again): it comes before a2 and a3.
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0 }));
    const retried = await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    expect(retried.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([
      ['a1', '2'],
      ['a2', '1'],
      ['a3', '1'],
    ]);
    for (const message of [...retried, ...others]) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    expect(await receive(url)).toEqual([]);
  });

  test('a deduplication id repeated within 5 minutes returns the first MessageId and stores nothing; sequence numbers grow', async () => {
    const first = await sendTo('once', 'g', 'dedup-1');
    const again = await sendTo('once, again', 'g', 'dedup-1');
    const other = await sendTo('twice', 'g', 'dedup-2');
    expect(again.MessageId).toBe(first.MessageId);
    expect(BigInt(other.SequenceNumber as string)).toBeGreaterThan(BigInt(first.SequenceNumber as string));
    const messages = await receive(url, { MessageSystemAttributeNames: ['All'] });
    expect(messages.map((m) => m.Body)).toEqual(['once', 'twice']);
    expect(messages[0].Attributes).toMatchObject({ MessageGroupId: 'g', MessageDeduplicationId: 'dedup-1', SequenceNumber: first.SequenceNumber });
    g.t.clock.advance(5 * 60 * 1000 + 1);
    expect((await sendTo('later', 'g', 'dedup-1')).MessageId).not.toBe(first.MessageId);
  });

  test('content-based deduplication keys a message by its body', async () => {
    const cbd = await create('cbd.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const one = await sqs.send(new SendMessageCommand({ QueueUrl: cbd, MessageBody: 'same', MessageGroupId: 'g' }));
    const two = await sqs.send(new SendMessageCommand({ QueueUrl: cbd, MessageBody: 'same', MessageGroupId: 'g' }));
    expect(two.MessageId).toBe(one.MessageId);
    expect((await receive(cbd)).map((m) => m.Body)).toEqual(['same']);
  });

  test('a batch entry without what every FIFO send needs fails the whole call, as in SQS, and nothing of the batch is stored', async () => {
    const good = { Id: 'good', MessageBody: 'good', MessageGroupId: 'g', MessageDeduplicationId: 'good' };
    const batch = (bad: Record<string, unknown>) => sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [good, { Id: 'bad', MessageBody: 'bad', ...bad }] }));
    await expect(batch({ MessageDeduplicationId: 'bad' })).rejects.toMatchObject({
      name: 'MissingParameter',
      message: 'The request must contain the parameter MessageGroupId.',
    });
    await expect(batch({ MessageGroupId: 'g' })).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('ContentBasedDeduplication') });
    await expect(batch({ MessageGroupId: 'g', MessageDeduplicationId: 'bad', DelaySeconds: 5 })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('DelaySeconds'),
    });
    expect(await receive(url)).toEqual([]);
    // Other faults stay the entry's own: the rest of the batch is sent.
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [good, { Id: 'empty', MessageBody: '', MessageGroupId: 'g', MessageDeduplicationId: 'e' }] }));
    expect(sent.Successful?.map((entry) => entry.Id)).toEqual(['good']);
    expect(sent.Failed?.map((entry) => [entry.Id, entry.Code])).toEqual([['empty', 'MissingParameter']]);
  });

  test('what a FIFO queue requires and refuses', async () => {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' }))).rejects.toMatchObject({
      name: 'MissingParameter',
      message: 'The request must contain the parameter MessageGroupId.',
    });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd', DelaySeconds: 2 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  test('a stale handle of a FIFO queue is refused as expired, and deletes nothing', async () => {
    await sendTo('one', 'g', 'd');
    const [message] = await receive(url, { VisibilityTimeout: 1 });
    g.t.clock.advance(1000);
    const [again] = await receive(url);
    const stats = async (): Promise<QueueStats> => ((await g.t.http.get('/v1/queues/jobs.fifo')).body as { stats: QueueStats }).stats;
    // The stale handle alone: beside the live one, the live one's delete would hide what it did.
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('The receipt handle has expired.'),
    });
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 1, acked: 0 });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again.ReceiptHandle }));
    expect(await stats()).toMatchObject({ ready: 0, inFlight: 0, acked: 1 });
  });
});
