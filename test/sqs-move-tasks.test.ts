import {
  CancelMessageMoveTaskCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { until } from './support/specResponses';
import { arnOf, createQueue, type SqsGateway, sqsGatewayPerTest } from './support/sqsGateway';
import { type TestGateway, testGateway } from './support/testGateway';

/**
 * SQS message move tasks run in the background, through the official AWS
 * SDK against a running gateway: a task is recorded RUNNING and its handle
 * answered at once; it moves at its rate by the gateway's (manual) clock,
 * and ListMessageMoveTasks shows its counts until it ends; a gateway that
 * stops goes on with it when started again. And a dead letter keeps its
 * MessageId all the way.
 */

let g: SqsGateway;
let sqs: SQSClient;
let source: string;
let dlq: string;

const DLQ_ARN = arnOf('orders-dlq');

const create = (QueueName: string, Attributes?: Record<string, string>): Promise<string> => createQueue(sqs, QueueName, Attributes);

/** A gateway per test with a dead-letter queue and `orders`, whose messages die after one receive. */
async function withQueues(gateway: SqsGateway): Promise<void> {
  g = gateway;
  sqs = g.client();
  dlq = await create('orders-dlq');
  source = await create('orders', { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 1 }) });
}

const receive = async (QueueUrl: string, max = 10): Promise<Message[]> =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: max, VisibilityTimeout: 0 }))).Messages ?? [];

/** Sends `bodies` to orders and lets each use up its one receive: they are then dead letters. Their MessageIds. */
async function deadLetters(...bodies: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const MessageBody of bodies) ids.push((await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody }))).MessageId as string);
  const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: source, MaxNumberOfMessages: 10 }))).Messages ?? [];
  expect(received).toHaveLength(bodies.length);
  g.t.clock.advance(1000);
  // The receive that finds them used up moves them to the dead-letter queue.
  expect(await receive(source)).toEqual([]);
  return ids;
}

/** Until every task this gateway runs has taken the steps that are due, and waits for the clock (or has ended). */
const settled = (t: TestGateway = g.t): Promise<void> => until(() => !t.moveTasks.busy);

const start = async (input: { DestinationArn?: string; MaxNumberOfMessagesPerSecond?: number } = {}): Promise<string> =>
  (await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: DLQ_ARN, ...input }))).TaskHandle as string;

const newestTask = async (): Promise<ListMessageMoveTasksResultEntry> => {
  const [task] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: DLQ_ARN }))).Results ?? [];
  return task;
};

/** How many are ready in the dead-letter queue and back in orders, by /v1. */
async function counts(t: TestGateway = g.t): Promise<{ dlq: number; orders: number }> {
  const ready = async (queue: string): Promise<number> => ((await t.http.get(`/v1/queues/${queue}`)).body as { stats: { ready: number } }).stats.ready;
  return { dlq: await ready('orders-dlq'), orders: await ready('orders') };
}

describe('move tasks', () => {
  sqsGatewayPerTest(withQueues);

  test('a dead letter keeps the MessageId SendMessage gave it: in the dead-letter queue, and back after a move task, to its source or elsewhere', async () => {
    const retry = await create('orders-retry');
    const [id] = await deadLetters('poison');
    expect((await receive(dlq)).map((m) => [m.Body, m.MessageId])).toEqual([['poison', id]]);
    await start();
    await settled();
    expect((await receive(source)).map((m) => [m.Body, m.MessageId])).toEqual([['poison', id]]);

    g.t.clock.advance(1000);
    expect(await receive(source)).toEqual([]);
    await start({ DestinationArn: arnOf('orders-retry') });
    await settled();
    expect((await receive(retry)).map((m) => [m.Body, m.MessageId])).toEqual([['poison', id]]);
  });

  test('StartMessageMoveTask answers at once with a RUNNING task that moves at most MaxNumberOfMessagesPerSecond each second of the clock, its counts listed as they grow, until COMPLETED', async () => {
    await deadLetters('m1', 'm2', 'm3', 'm4', 'm5');
    const startedAt = g.t.clock.now();
    const handle = await start({ MaxNumberOfMessagesPerSecond: 2 });
    await settled();
    const running = {
      TaskHandle: handle,
      Status: 'RUNNING',
      SourceArn: DLQ_ARN,
      MaxNumberOfMessagesPerSecond: 2,
      ApproximateNumberOfMessagesMoved: 2,
      ApproximateNumberOfMessagesToMove: 5,
      StartedTimestamp: startedAt,
    };
    expect(await newestTask()).toEqual(running);
    expect(await counts()).toEqual({ dlq: 3, orders: 2 });

    // Within the second nothing more moves, however long it runs; the next second's two move at its start.
    g.t.clock.advance(999);
    await settled();
    expect(await newestTask()).toEqual(running);
    g.t.clock.advance(1);
    await settled();
    expect(await newestTask()).toEqual({ ...running, ApproximateNumberOfMessagesMoved: 4 });
    expect(await counts()).toEqual({ dlq: 1, orders: 4 });

    // A message that comes meanwhile is not the task's: it moves the five it started with.
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: 'm6' }));
    g.t.clock.advance(1000);
    await settled();
    const { TaskHandle: _handle, ...completed } = running;
    expect(await newestTask()).toEqual({ ...completed, Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 5 });
    expect(await counts()).toEqual({ dlq: 1, orders: 5 });
    g.t.clock.advance(5000);
    await settled();
    expect(await counts()).toEqual({ dlq: 1, orders: 5 });
  });

  test('CancelMessageMoveTask stops a running task at once, answering what it had moved; what it moved stays moved, and only a running task can be cancelled', async () => {
    await deadLetters('m1', 'm2', 'm3');
    const TaskHandle = await start({ MaxNumberOfMessagesPerSecond: 1 });
    await settled();
    expect(await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))).toMatchObject({ ApproximateNumberOfMessagesMoved: 1 });
    await settled();
    expect(await newestTask()).toMatchObject({ Status: 'CANCELLED', ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 3 });
    expect(await newestTask()).not.toHaveProperty('TaskHandle');
    g.t.clock.advance(5000);
    await settled();
    expect(await counts()).toEqual({ dlq: 2, orders: 1 });
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: 'Task does not exist.' });
  });

  test('back to their sources, a task fails with CouldNotDetermineMessageSource at a message sent straight to the dead-letter queue, which stays; to a DestinationArn it goes', async () => {
    const retry = await create('orders-retry');
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: 'sent here' }));
    await start();
    await settled();
    expect(await newestTask()).toMatchObject({ Status: 'FAILED', FailureReason: 'CouldNotDetermineMessageSource', ApproximateNumberOfMessagesMoved: 0 });
    expect(await counts()).toEqual({ dlq: 1, orders: 0 });
    await start({ DestinationArn: arnOf('orders-retry') });
    await settled();
    expect(await newestTask()).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1 });
    expect(await newestTask()).not.toHaveProperty('FailureReason');
    expect((await receive(retry)).map((m) => m.Body)).toEqual(['sent here']);
  });

  test('a second task of a queue is refused while one runs, as in SQS; once it has ended another may start', async () => {
    await deadLetters('m1', 'm2');
    const TaskHandle = await start({ MaxNumberOfMessagesPerSecond: 1 });
    await settled();
    await expect(start()).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      $metadata: { httpStatusCode: 400 },
    });
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: DLQ_ARN, MaxResults: 10 }))).Results?.map((task) => task.TaskHandle)).toEqual([TaskHandle]);
    g.t.clock.advance(1000);
    await settled();
    expect(await newestTask()).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 2 });
    await start();
    await settled();
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: DLQ_ARN, MaxResults: 10 }))).Results?.map((task) => task.Status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

});

describe('without a rate (batches of 2)', () => {
  sqsGatewayPerTest(withQueues, { limits: { maxBatchMessages: 2 } });

  test('a task moves everything it started with, a batch after the other, without waiting for the clock', async () => {
    // A receive takes two at most as well.
    for (const bodies of [['m1', 'm2'], ['m3', 'm4'], ['m5']]) await deadLetters(...bodies);
    await start();
    await settled();
    expect(await newestTask()).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 5, ApproximateNumberOfMessagesToMove: 5 });
    expect(await counts()).toEqual({ dlq: 0, orders: 5 });
  });
});

describe('a task outlives the gateway that ran it', () => {
  /** A second gateway over the first one's store; closed before the first (afterEach hooks run in order), which removes the store. */
  let other: TestGateway | null = null;
  afterEach(async () => {
    await other?.close();
    other = null;
  });
  sqsGatewayPerTest(withQueues);

  test('a gateway that stopped without giving its task up (a crash), started again over the same store, goes on with it where it stood, at its rate', async () => {
    await deadLetters('m1', 'm2', 'm3');
    await start({ MaxNumberOfMessagesPerSecond: 1 });
    await settled();
    expect(await counts()).toEqual({ dlq: 2, orders: 1 });
    // The first gateway is never woken again (its clock stays put), its lease never given up: the same gateway
    // (its id kept in its data directory) starts again over the store.
    other = testGateway({ dataDir: g.t.dataDir, instance: g.t.instance });
    other.clock.advance(g.t.clock.now() - other.clock.now());
    await other.moveTasks.start();
    await settled(other);
    expect(await counts(other)).toEqual({ dlq: 1, orders: 2 });
    expect(g.t.moveTasks.busy).toBe(false);
    other.clock.advance(999);
    await settled(other);
    expect(await counts(other)).toEqual({ dlq: 1, orders: 2 });
    other.clock.advance(1);
    await settled(other);
    expect(await counts(other)).toEqual({ dlq: 0, orders: 3 });
    expect(await other.moveTasks.tasks('orders-dlq', 1)).toMatchObject([{ status: 'completed', moved: 3, toMove: 3 }]);
  });

  test('a gateway that stops gives its task up: another gateway over the store takes it over', async () => {
    await deadLetters('m1', 'm2', 'm3');
    await start({ MaxNumberOfMessagesPerSecond: 1 });
    await settled();
    await g.t.moveTasks.stop();
    other = testGateway({ dataDir: g.t.dataDir });
    other.clock.advance(g.t.clock.now() - other.clock.now());
    await other.moveTasks.start();
    await settled(other);
    expect(await other.moveTasks.tasks('orders-dlq', 1)).toMatchObject([{ status: 'running', moved: 2 }]);
    other.clock.advance(1000);
    await settled(other);
    expect(await other.moveTasks.tasks('orders-dlq', 1)).toMatchObject([{ status: 'completed', moved: 3 }]);
    expect(await counts(other)).toEqual({ dlq: 0, orders: 3 });
  });
});
