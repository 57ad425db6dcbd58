import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
  UntagQueueCommand,
} from '@aws-sdk/client-sqs';
import { arnOf, createQueue, type SqsGateway, sqsClientPerTest } from './support/sqsGateway';

/** The queue actions through the official AWS SDK against a running gateway; the same queues as /v1 sees them. */

let g: SqsGateway;
let sqs: SQSClient;
sqsClientPerTest((gateway, client) => ([g, sqs] = [gateway, client]));

const create = (name: string, Attributes?: Record<string, string>, tags?: Record<string, string>): Promise<string> => createQueue(sqs, name, Attributes, tags);

const attributes = async (QueueUrl: string, names: string[] = ['All']): Promise<Record<string, string>> =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: names as never }))).Attributes ?? {};

describe('CreateQueue', () => {
  test('creates a /v1 queue with the attributes as settings; the URL names account and queue', async () => {
    const dlq = await create('orders-dlq');
    const url = await create('orders', {
      VisibilityTimeout: '45',
      DelaySeconds: '3',
      MessageRetentionPeriod: '3600',
      MaximumMessageSize: '2048',
      ReceiveMessageWaitTimeSeconds: '7',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:orders-dlq', maxReceiveCount: '4' }),
    });
    expect(url).toBe(`${g.url}/000000000000/orders`);
    expect(dlq).toBe(`${g.url}/000000000000/orders-dlq`);
    const queue = (await g.t.http.get('/v1/queues/orders')).body as Record<string, unknown>;
    expect(queue).toMatchObject({
      visibilityTimeoutMs: 45_000,
      delayMs: 3000,
      retentionMs: 3_600_000,
      maxMessageBytes: 2048,
      receiveWaitMs: 7000,
      deadLetterQueue: 'orders-dlq',
      maxDeliveries: 4,
      ordering: 'standard',
    });
  });

  test('is idempotent with the same attributes, QueueNameExists with different ones', async () => {
    const url = await create('orders', { VisibilityTimeout: '10' });
    expect(await create('orders', { VisibilityTimeout: '10' })).toBe(url);
    expect(await create('orders')).toBe(url);
    await expect(create('orders', { VisibilityTimeout: '11' })).rejects.toMatchObject({
      name: 'QueueNameExists',
      message: 'A queue already exists with the same name and a different value for attribute VisibilityTimeout',
    });
  });

  test('refuses what SQS refuses, by the names the SDK raises', async () => {
    await expect(create('bad name')).rejects.toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
    await expect(create('orders.fifo')).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(create('orders', { FifoQueue: 'true' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(create('orders', { Colour: 'blue' })).rejects.toMatchObject({ name: 'InvalidAttributeName', message: 'Unknown Attribute Colour.' });
    await expect(create('orders', { VisibilityTimeout: '43201' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(create('orders', { ContentBasedDeduplication: 'true' })).rejects.toMatchObject({ name: 'InvalidAttributeName' });
    await expect(create('orders', { RedrivePolicy: '{"deadLetterTargetArn":"dummy","maxReceiveCount":3}' })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(sqs.send(new CreateQueueCommand({ QueueName: undefined as unknown as string }))).rejects.toMatchObject({
      name: 'MissingParameter',
      message: 'The request must contain the parameter QueueName.',
    });
    expect((await g.t.http.get('/v1/queues')).body).toEqual({ queues: [], nextCursor: null });
  });

  test('a FIFO queue: the .fifo name, FifoQueue and ContentBasedDeduplication', async () => {
    const url = await create('jobs.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    expect(await attributes(url, ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope'])).toEqual({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      DeduplicationScope: 'queue',
    });
    expect((await g.t.http.get('/v1/queues/jobs.fifo')).body).toMatchObject({ ordering: 'fifo', contentBasedDeduplication: true });
  });
});

describe('finding and listing queues', () => {
  test('GetQueueUrl finds a queue, also one created through /v1; QueueDoesNotExist for others', async () => {
    await g.t.http.put('/v1/queues/made-by-v1').send({});
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'made-by-v1' }))).QueueUrl).toBe(`${g.url}/000000000000/made-by-v1`);
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'nowhere' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
      message: 'The specified queue does not exist.',
      $metadata: { httpStatusCode: 400 },
    });
  });

  test('ListQueues filters by prefix and pages with MaxResults and NextToken', async () => {
    for (const name of ['b-2', 'a-1', 'b-1', 'b-3', 'c-1']) await create(name);
    const all = await sqs.send(new ListQueuesCommand({}));
    expect(all.QueueUrls?.map((u) => u.split('/').pop())).toEqual(['a-1', 'b-1', 'b-2', 'b-3', 'c-1']);
    expect(all.NextToken).toBeUndefined();
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'b-', MaxResults: 2 }));
    expect(first.QueueUrls?.map((u) => u.split('/').pop())).toEqual(['b-1', 'b-2']);
    const second = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'b-', MaxResults: 2, NextToken: first.NextToken }));
    expect(second.QueueUrls?.map((u) => u.split('/').pop())).toEqual(['b-3']);
    expect(second.NextToken).toBeUndefined();
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'z' }))).QueueUrls).toBeUndefined();
    await expect(sqs.send(new ListQueuesCommand({ MaxResults: 1001 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new ListQueuesCommand({ NextToken: 'not a token' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('attributes', () => {
  test('GetQueueAttributes shows settings, counts from the queue stats, ARN and timestamps in seconds', async () => {
    const url = await create('orders', { DelaySeconds: '0' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'ready' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 60 }));
    await g.t.http.post('/v1/queues/orders/messages').send({ messages: [{ value: 'leased soon' }] });
    await g.t.http.post('/v1/queues/orders/fetch').send({ max: 1 });
    const all = await attributes(url);
    expect(all).toMatchObject({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:orders',
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '1',
      VisibilityTimeout: '30',
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      CreatedTimestamp: String(Math.floor(g.t.clock.now() / 1000)),
    });
    expect(all.RedrivePolicy).toBeUndefined();
    expect(await attributes(url, ['VisibilityTimeout'])).toEqual({ VisibilityTimeout: '30' });
    await expect(attributes(url, ['Colour'])).rejects.toMatchObject({ name: 'InvalidAttributeName' });
    expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url }))).Attributes).toBeUndefined();
  });

  test('SetQueueAttributes changes the named settings and keeps the others; read-only ones are refused', async () => {
    const url = await create('orders', { VisibilityTimeout: '12' });
    await create('dead');
    const policy = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dead', maxReceiveCount: 3 });
    g.t.clock.advance(5000);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: '2', RedrivePolicy: policy } }));
    const after = await attributes(url);
    expect(after).toMatchObject({ VisibilityTimeout: '12', DelaySeconds: '2', RedrivePolicy: policy });
    expect(Number(after.LastModifiedTimestamp)).toBe(Number(after.CreatedTimestamp) + 5);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy: '' } }));
    expect((await attributes(url)).RedrivePolicy).toBeUndefined();
    await expect(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { QueueArn: 'x' } }))).rejects.toMatchObject({
      name: 'InvalidAttributeName',
    });
    await expect(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoQueue: 'true' } }))).rejects.toMatchObject({
      name: 'InvalidAttributeName',
    });
    await expect(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: undefined as never }))).rejects.toMatchObject({
      name: 'MissingParameter',
    });
    await expect(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: {} }))).rejects.toMatchObject({ name: 'MissingParameter' });
  });

  test('a redrive policy holds a target and a count and nothing else; its target is of the source\'s type, as in SQS', async () => {
    const url = await create('orders');
    await create('dead');
    await create('dead.fifo', { FifoQueue: 'true' });
    const policy = (fields: Record<string, unknown>) => ({ RedrivePolicy: JSON.stringify({ maxReceiveCount: 3, ...fields }) });
    const set = (Attributes: Record<string, string>) => sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes }));
    await expect(set(policy({ deadLetterTargetArn: arnOf('dead'), retries: 2 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Unknown attribute retries'),
    });
    await expect(set({ RedrivePolicy: '[]' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(set(policy({ deadLetterTargetArn: arnOf('dead.fifo') }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('same type of queue as the source'),
    });
    await expect(create('jobs.fifo', { FifoQueue: 'true', ...policy({ deadLetterTargetArn: arnOf('dead') }) })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('same type of queue as the source'),
    });
    await set(policy({ deadLetterTargetArn: arnOf('dead') }));
    await create('jobs.fifo', { FifoQueue: 'true', ...policy({ deadLetterTargetArn: arnOf('dead.fifo') }) });
  });
});

describe('purge, delete, tags', () => {
  test('PurgeQueue empties the queue; DeleteQueue removes it', async () => {
    const url = await create('orders');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect((await attributes(url, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages).toBe('0');
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    expect((await g.t.http.get('/v1/queues/orders')).status).toBe(404);
    await expect(sqs.send(new DeleteQueueCommand({ QueueUrl: url }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    await expect(sqs.send(new PurgeQueueCommand({ QueueUrl: url }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });

  test('PurgeQueue once a minute per queue, as in SQS: a second is PurgeQueueInProgress; another queue is purged', async () => {
    const [orders, invoices] = [await create('orders'), await create('invoices')];
    await sqs.send(new PurgeQueueCommand({ QueueUrl: orders }));
    await sqs.send(new SendMessageCommand({ QueueUrl: orders, MessageBody: 'kept' }));
    await expect(sqs.send(new PurgeQueueCommand({ QueueUrl: orders }))).rejects.toMatchObject({
      name: 'PurgeQueueInProgress',
      $metadata: { httpStatusCode: 403 },
    });
    expect((await attributes(orders, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages).toBe('1');
    await sqs.send(new PurgeQueueCommand({ QueueUrl: invoices }));
  });

  test('tags from CreateQueue, TagQueue adds, UntagQueue removes, ListQueueTags shows them', async () => {
    const url = await create('orders', undefined, { team: 'shop' });
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { env: 'test', team: 'billing' } }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ env: 'test', team: 'billing' });
    await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ['team', 'absent'] }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ env: 'test' });
    expect((await g.t.http.get('/v1/queues/orders')).body).toMatchObject({ tags: { env: 'test' } });
    await expect(sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { ['k'.repeat(129)]: 'v' } }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
  });
});
