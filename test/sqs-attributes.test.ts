import {
  AddPermissionCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  RemovePermissionCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { arnOf, createQueue, type SqsGateway, sqsClientPerTest, sqsGateway, sqsKey } from './support/sqsGateway';

/**
 * SQS queue attributes beyond the basic ones, through the official AWS SDK
 * against a running gateway: high-throughput FIFO (deduplication per message
 * group), RedriveAllowPolicy and ListDeadLetterSourceQueues, Policy and
 * AddPermission / RemovePermission, the encryption attributes, and
 * ReceiveRequestAttemptId.
 */

let g: SqsGateway;
let sqs: SQSClient;
sqsClientPerTest((gateway, client) => ([g, sqs] = [gateway, client]));


const create = (QueueName: string, Attributes?: Record<string, string>): Promise<string> => createQueue(sqs, QueueName, Attributes);

const set = (QueueUrl: string, Attributes: Record<string, string>) => sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes }));

const attributes = async (QueueUrl: string, names: string[] = ['All']): Promise<Record<string, string>> =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: names as never }))).Attributes ?? {};

const receive = async (QueueUrl: string, input: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, ...input }))).Messages ?? [];

const sendTo = async (QueueUrl: string, MessageBody: string, MessageGroupId: string, MessageDeduplicationId?: string): Promise<string> =>
  (await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody, MessageGroupId, MessageDeduplicationId }))).MessageId as string;

const v1Queue = async (name: string): Promise<Record<string, unknown>> => (await g.t.http.get(`/v1/queues/${name}`)).body as Record<string, unknown>;

const redrivePolicy = (target: string) => ({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arnOf(target), maxReceiveCount: 3 }) });

describe('high-throughput FIFO', () => {
  const highThroughput = { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' };

  test('DeduplicationScope and FifoThroughputLimit are settings of FIFO queues, shown as set and checked as SQS checks them', async () => {
    const url = await create('fast.fifo', highThroughput);
    expect(await attributes(url, ['DeduplicationScope', 'FifoThroughputLimit'])).toEqual({
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
    expect(await v1Queue('fast.fifo')).toMatchObject({ deduplicationScope: 'messageGroup', sqsAttributes: { FifoThroughputLimit: 'perMessageGroupId' } });
    // perMessageGroupId is allowed only with deduplication per message group: neither alone nor by leaving it behind.
    await expect(set(url, { DeduplicationScope: 'queue' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(create('other.fifo', { FifoQueue: 'true', FifoThroughputLimit: 'perMessageGroupId' })).rejects.toMatchObject({
      name: 'InvalidAttributeValue',
    });
    await set(url, { DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' });
    expect(await attributes(url, ['DeduplicationScope', 'FifoThroughputLimit'])).toEqual({ DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' });
    expect(await v1Queue('fast.fifo')).toMatchObject({ deduplicationScope: 'queue' });
    await expect(set(url, { DeduplicationScope: 'group' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(set(url, { FifoThroughputLimit: 'perGroup' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    // A standard queue has neither, whatever the value.
    for (const attribute of ['DeduplicationScope', 'FifoThroughputLimit']) {
      const refusal = { name: 'InvalidAttributeName', message: `You can specify the ${attribute} only when FifoQueue is set to true.` };
      await expect(create('plain', { [attribute]: attribute === 'DeduplicationScope' ? 'queue' : 'perQueue' })).rejects.toMatchObject(refusal);
    }
    const plain = await create('plain');
    await expect(set(plain, { DeduplicationScope: 'queue' })).rejects.toMatchObject({ name: 'InvalidAttributeName' });
    expect(await attributes(plain)).not.toHaveProperty('DeduplicationScope');
  });

  test('deduplication per message group: one deduplication id is a message in each group, one in the same group, for 5 minutes', async () => {
    const url = await create('fast.fifo', highThroughput);
    const first = await sendTo(url, 'a', 'g1', 'd1');
    const otherGroup = await sendTo(url, 'b', 'g2', 'd1');
    expect(otherGroup).not.toBe(first);
    expect(await sendTo(url, 'again', 'g1', 'd1')).toBe(first);
    // In one batch, as in two sends.
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'one', MessageBody: 'c', MessageGroupId: 'g3', MessageDeduplicationId: 'd2' },
          { Id: 'two', MessageBody: 'd', MessageGroupId: 'g4', MessageDeduplicationId: 'd2' },
          { Id: 'three', MessageBody: 'e', MessageGroupId: 'g3', MessageDeduplicationId: 'd2' },
        ],
      }),
    );
    const ids = Object.fromEntries((batch.Successful ?? []).map((entry) => [entry.Id, entry.MessageId]));
    expect(ids.two).not.toBe(ids.one);
    expect(ids.three).toBe(ids.one);
    // Sends at once, which PostgreSQL stores in one shared commit.
    const together = await Promise.all(['g5', 'g6', 'g5', 'g6'].map((group) => sendTo(url, group, group, 'd3')));
    expect(together[2]).toBe(together[0]);
    expect(together[3]).toBe(together[1]);
    expect(together[1]).not.toBe(together[0]);
    expect((await receive(url)).map((message) => message.Body).sort()).toEqual(['a', 'b', 'c', 'd', 'g5', 'g6']);
    g.t.clock.advance(5 * 60 * 1000 + 1);
    expect(await sendTo(url, 'later', 'g1', 'd1')).not.toBe(first);
  });

  test('content-based deduplication per message group; per queue, one id is one message whatever the group', async () => {
    const byContent = await create('content.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup' });
    const [one, two] = [await sendTo(byContent, 'same body', 'g1'), await sendTo(byContent, 'same body', 'g2')];
    expect(two).not.toBe(one);
    expect(await sendTo(byContent, 'same body', 'g1')).toBe(one);
    const perQueue = await create('jobs.fifo', { FifoQueue: 'true' });
    const first = await sendTo(perQueue, 'a', 'g1', 'd1');
    expect(await sendTo(perQueue, 'b', 'g2', 'd1')).toBe(first);
    expect((await receive(perQueue)).map((message) => message.Body)).toEqual(['a']);
  });

  test('/v1 sets the deduplication scope of a FIFO queue too, and refuses it on a standard queue', async () => {
    expect((await g.t.http.put('/v1/queues/jobs').send({ ordering: 'fifo', deduplicationScope: 'messageGroup' })).status).toBe(201);
    const produce = (group: string) => g.t.http.post('/v1/queues/jobs/messages').send({ messages: [{ value: group, group, idempotencyKey: 'k' }] });
    const [a, b] = [(await produce('g1')).body.messages[0], (await produce('g2')).body.messages[0]];
    expect([a.duplicate, b.duplicate]).toEqual([false, false]);
    expect((await produce('g1')).body.messages[0]).toMatchObject({ id: a.id, duplicate: true });
    const refused = await g.t.http.put('/v1/queues/plain').send({ deduplicationScope: 'messageGroup' });
    expect(refused.status).toBe(422);
  });
});

describe('RedriveAllowPolicy and ListDeadLetterSourceQueues', () => {
  test('RedriveAllowPolicy is kept and shown as SQS writes it, and checked as SQS checks it', async () => {
    const dlq = await create('dlq');
    const byQueue = JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arnOf('orders'), arnOf('invoices')] });
    await set(dlq, { RedriveAllowPolicy: byQueue });
    expect((await attributes(dlq)).RedriveAllowPolicy).toBe(byQueue);
    expect(await v1Queue('dlq')).toMatchObject({ redriveAllowPolicy: { permission: 'byQueue', sourceQueues: ['orders', 'invoices'] } });
    await set(dlq, { RedriveAllowPolicy: '{"redrivePermission":"denyAll"}' });
    expect((await attributes(dlq, ['RedriveAllowPolicy'])).RedriveAllowPolicy).toBe('{"redrivePermission":"denyAll"}');
    const policy = (fields: object) => set(dlq, { RedriveAllowPolicy: JSON.stringify(fields) });
    const invalid = { name: 'InvalidParameterValue' };
    await expect(set(dlq, { RedriveAllowPolicy: 'not json' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(policy({ redrivePermission: 'some' })).rejects.toMatchObject(invalid);
    const count = { ...invalid, message: expect.stringContaining('for parameter RedriveAllowPolicy is invalid. Reason: byQueue needs 1 to 10 sourceQueueArns.') };
    await expect(policy({ redrivePermission: 'byQueue' })).rejects.toMatchObject(count);
    await expect(policy({ redrivePermission: 'byQueue', sourceQueueArns: Array.from({ length: 11 }, (_, i) => arnOf(`q${i}`)) })).rejects.toMatchObject(count);
    await expect(policy({ redrivePermission: 'byQueue', sourceQueueArns: ['not an arn'] })).rejects.toMatchObject(invalid);
    await expect(policy({ redrivePermission: 'denyAll', sourceQueueArns: [arnOf('orders')] })).rejects.toMatchObject(invalid);
    await expect(policy({ redrivePermission: 'allowAll', colour: 'blue' })).rejects.toMatchObject(invalid);
    expect((await attributes(dlq, ['RedriveAllowPolicy'])).RedriveAllowPolicy).toBe('{"redrivePermission":"denyAll"}');
    await set(dlq, { RedriveAllowPolicy: '' });
    expect(await attributes(dlq)).not.toHaveProperty('RedriveAllowPolicy');
    // The same rules on /v1.
    const put = (redriveAllowPolicy: object) => g.t.http.put('/v1/queues/dlq').send({ redriveAllowPolicy });
    expect((await put({ permission: 'byQueue', sourceQueues: [] })).status).toBe(422);
    expect((await put({ permission: 'denyAll', sourceQueues: ['orders'] })).status).toBe(422);
    expect((await put({ permission: 'denyAll' })).body).toMatchObject({ redriveAllowPolicy: { permission: 'denyAll', sourceQueues: [] } });
    expect((await attributes(dlq, ['RedriveAllowPolicy'])).RedriveAllowPolicy).toBe('{"redrivePermission":"denyAll"}');
  });

  test('a queue names a dead-letter queue only as its RedriveAllowPolicy allows; one that already names it keeps it', async () => {
    const dlq = await create('dlq', { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arnOf('orders')] }) });
    const refused = { name: 'InvalidParameterValue', message: expect.stringContaining("does not allow 'invoices'") };
    await expect(create('invoices', redrivePolicy('dlq'))).rejects.toMatchObject(refused);
    const orders = await create('orders', redrivePolicy('dlq'));
    const invoices = await create('invoices');
    await expect(set(invoices, redrivePolicy('dlq'))).rejects.toMatchObject(refused);
    expect((await g.t.http.put('/v1/queues/invoices').send({ deadLetterQueue: 'dlq', maxDeliveries: 3 })).status).toBe(422);
    await set(dlq, { RedriveAllowPolicy: '{"redrivePermission":"denyAll"}' });
    await set(orders, { VisibilityTimeout: '40' });
    expect(await attributes(orders, ['RedrivePolicy', 'VisibilityTimeout'])).toEqual({ ...redrivePolicy('dlq'), VisibilityTimeout: '40' });
    await set(dlq, { RedriveAllowPolicy: '{"redrivePermission":"allowAll"}' });
    await set(invoices, redrivePolicy('dlq'));
    expect((await v1Queue('invoices')).deadLetterQueue).toBe('dlq');
  });

  test('ListDeadLetterSourceQueues lists the queues whose redrive policy names the queue, a page at a time with MaxResults', async () => {
    const dlq = await create('dlq');
    await create('elsewhere-dlq');
    for (const name of ['c-source', 'a-source', 'b-source']) await create(name, redrivePolicy('dlq'));
    await create('d-other', redrivePolicy('elsewhere-dlq'));
    await create('e-none');
    const list = (input: { MaxResults?: number; NextToken?: string } = {}) => sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, ...input }));
    const names = (urls: string[] | undefined) => (urls ?? []).map((url) => url.split('/').pop());
    const all = await list();
    expect(names(all.queueUrls)).toEqual(['a-source', 'b-source', 'c-source']);
    expect(all.queueUrls?.[0]).toBe(`${g.url}/000000000000/a-source`);
    expect(all.NextToken).toBeUndefined();
    const first = await list({ MaxResults: 2 });
    expect(names(first.queueUrls)).toEqual(['a-source', 'b-source']);
    const second = await list({ MaxResults: 2, NextToken: first.NextToken });
    expect(names(second.queueUrls)).toEqual(['c-source']);
    expect(second.NextToken).toBeUndefined();
    expect((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: await create('lonely') }))).queueUrls).toEqual([]);
    await expect(list({ MaxResults: 1001 })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(list({ NextToken: 'not a token' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: `${g.url}/000000000000/nowhere` }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});

describe('system attributes of where a message came from', () => {
  test('a dead letter names its source queue as DeadLetterQueueSourceArn; a message sent to the queue itself names none', async () => {
    const dlq = await create('dlq');
    const orders = await create('orders', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arnOf('dlq'), maxReceiveCount: 1 }) });
    await sqs.send(new SendMessageCommand({ QueueUrl: orders, MessageBody: 'fails' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: 'direct' }));
    const [first] = await receive(orders);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: orders, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 }));
    expect(await receive(orders)).toEqual([]);
    const letters = await receive(dlq, { MessageSystemAttributeNames: ['All'] });
    const byBody = Object.fromEntries(letters.map((m) => [m.Body, m.Attributes ?? {}]));
    expect(byBody.fails.DeadLetterQueueSourceArn).toBe(arnOf('orders'));
    expect(byBody.direct.DeadLetterQueueSourceArn).toBeUndefined();
    expect(byBody.fails.SenderId).toBe('000000000000');
  });

  test('SenderId is the key that sent the message; without keys, the one account', async () => {
    const alice = sqsKey('alice', ['*:*']);
    const bob = sqsKey('bob', ['*:*']);
    const keyed = await sqsGateway({ keys: [alice.record, bob.record] });
    try {
      const asAlice = keyed.client(alice.credentials);
      const QueueUrl = await createQueue(asAlice, 'orders');
      await asAlice.send(new SendMessageCommand({ QueueUrl, MessageBody: 'from alice' }));
      await keyed.client(bob.credentials).send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'b', MessageBody: 'from bob' }] }));
      const { Messages = [] } = await asAlice.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['SenderId'] }));
      expect(Object.fromEntries(Messages.map((m) => [m.Body, m.Attributes]))).toEqual({
        'from alice': { SenderId: alice.credentials.accessKeyId },
        'from bob': { SenderId: bob.credentials.accessKeyId },
      });
    } finally {
      await keyed.close();
    }
    const open = await create('open');
    await sqs.send(new SendMessageCommand({ QueueUrl: open, MessageBody: 'anyone' }));
    expect((await receive(open, { MessageSystemAttributeNames: ['SenderId'] }))[0].Attributes).toEqual({ SenderId: '000000000000' });
  });
});

describe('Policy, AddPermission, RemovePermission', () => {
  test('Policy is kept and shown as set; it must be a JSON object; empty removes it', async () => {
    const url = await create('orders');
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: arnOf('orders') }] });
    await set(url, { Policy: policy });
    expect((await attributes(url)).Policy).toBe(policy);
    await expect(set(url, { Policy: 'not json' })).rejects.toMatchObject({ name: 'InvalidAttributeValue', message: 'Invalid value for the parameter Policy.' });
    await expect(set(url, { Policy: '[1]' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    expect((await attributes(url, ['Policy'])).Policy).toBe(policy);
    // Kept when /v1 puts the queue's settings: it has no field there.
    await g.t.http.put('/v1/queues/orders').send({ visibilityTimeoutMs: 5000 });
    expect((await attributes(url, ['Policy', 'VisibilityTimeout'])).Policy).toBe(policy);
    await set(url, { Policy: '' });
    expect(await attributes(url)).not.toHaveProperty('Policy');
  });

  test('AddPermission adds a statement as SQS writes it, RemovePermission removes it by label; a label twice or unknown is refused', async () => {
    const url = await create('orders');
    const add = (Label: string, AWSAccountIds: string[], Actions: string[]) => sqs.send(new AddPermissionCommand({ QueueUrl: url, Label, AWSAccountIds, Actions }));
    const remove = (Label: string) => sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label }));
    const policy = async () => JSON.parse((await attributes(url, ['Policy'])).Policy ?? 'null') as { Id: string; Version: string; Statement: object[] } | null;
    await add('send', ['111122223333'], ['SendMessage']);
    await add('consume', ['111122223333', '444455556666'], ['ReceiveMessage', 'DeleteMessage']);
    expect(await policy()).toEqual({
      Version: '2008-10-17',
      Id: `${arnOf('orders')}/SQSDefaultPolicy`,
      Statement: [
        { Sid: 'send', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'SQS:SendMessage', Resource: arnOf('orders') },
        {
          Sid: 'consume',
          Effect: 'Allow',
          Principal: { AWS: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:root'] },
          Action: ['SQS:ReceiveMessage', 'SQS:DeleteMessage'],
          Resource: arnOf('orders'),
        },
      ],
    });
    await expect(add('send', ['111122223333'], ['*'])).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Value send for parameter Label is invalid. Reason: Already exists.',
    });
    await expect(add('bad', ['12345'], ['SendMessage'])).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(add('bad', ['111122223333'], ['Fly'])).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(add('bad label', ['111122223333'], ['SendMessage'])).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(add('bad', ['111122223333'], [])).rejects.toMatchObject({ name: 'MissingParameter' });
    await remove('send');
    expect((await policy())?.Statement.map((statement) => (statement as { Sid: string }).Sid)).toEqual(['consume']);
    await expect(remove('send')).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: "Value send for parameter Label is invalid. Reason: can't find label.",
    });
    await remove('consume');
    expect(await policy()).toBeNull();
    // Onto a policy set whole: its statements stay.
    await set(url, { Policy: JSON.stringify({ Version: '2012-10-17', Statement: { Sid: 'mine', Effect: 'Deny', Principal: '*', Action: 'sqs:*' } }) });
    await add('send', ['111122223333'], ['SendMessage']);
    expect((await policy())?.Statement.map((statement) => (statement as { Sid: string }).Sid)).toEqual(['mine', 'send']);
    await expect(sqs.send(new RemovePermissionCommand({ QueueUrl: `${g.url}/000000000000/nowhere`, Label: 'send' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});

describe('encryption attributes', () => {
  test('kept and shown as set, checked as SQS checks them; unset, SqsManagedSseEnabled is false', async () => {
    const plain = await create('plain');
    expect(await attributes(plain)).toMatchObject({ SqsManagedSseEnabled: 'false' });
    expect(await attributes(plain)).not.toHaveProperty('KmsMasterKeyId');
    const sse = await create('sse', { SqsManagedSseEnabled: 'true' });
    expect(await attributes(sse, ['SqsManagedSseEnabled'])).toEqual({ SqsManagedSseEnabled: 'true' });
    const kms = await create('kms', { KmsMasterKeyId: 'alias/aws/sqs', KmsDataKeyReusePeriodSeconds: '300' });
    expect(await attributes(kms, ['KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled'])).toEqual({
      KmsMasterKeyId: 'alias/aws/sqs',
      KmsDataKeyReusePeriodSeconds: '300',
      SqsManagedSseEnabled: 'false',
    });
    expect(await v1Queue('kms')).toMatchObject({ sqsAttributes: { KmsMasterKeyId: 'alias/aws/sqs', KmsDataKeyReusePeriodSeconds: '300' } });
    for (const value of ['59', '86401', 'soon']) {
      await expect(set(kms, { KmsDataKeyReusePeriodSeconds: value })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    }
    await expect(set(sse, { SqsManagedSseEnabled: 'yes' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    // CreateQueue of the same queue: the same values (an unset one as its default) are the queue; another is QueueNameExists.
    expect(await create('kms', { KmsMasterKeyId: 'alias/aws/sqs', SqsManagedSseEnabled: 'false' })).toBe(kms);
    await expect(create('kms', { KmsDataKeyReusePeriodSeconds: '600' })).rejects.toMatchObject({ name: 'QueueNameExists' });
    await set(kms, { KmsMasterKeyId: '', KmsDataKeyReusePeriodSeconds: '' });
    expect(await attributes(kms)).not.toHaveProperty('KmsMasterKeyId');
    expect((await v1Queue('kms')).sqsAttributes).toEqual({});
  });
});

describe('ReceiveRequestAttemptId', () => {
  let url: string;

  beforeEach(async () => {
    url = await create('jobs.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '30' });
    for (const [body, group] of [
      ['a1', 'a'],
      ['b1', 'b'],
      ['a2', 'a'],
    ]) {
      await sendTo(url, body, group);
    }
  });

  const handles = (messages: Message[]) => messages.map((message) => [message.MessageId, message.ReceiptHandle, message.Body]);

  test('a retry with the same attempt id gets the same messages and receipt handles, and renews their visibility timeout', async () => {
    const first = await receive(url, { ReceiveRequestAttemptId: 'attempt-1' });
    expect(first.map((message) => message.Body)).toEqual(['a1', 'b1', 'a2']);
    g.t.clock.advance(10_000);
    expect(handles(await receive(url, { ReceiveRequestAttemptId: 'attempt-1' }))).toEqual(handles(first));
    // Another attempt is another receive: the groups are in flight.
    expect(await receive(url, { ReceiveRequestAttemptId: 'attempt-2' })).toEqual([]);
    // Renewed for 30 s from the retry: still in flight 35 s after the first receive, ready 30 s after the retry.
    g.t.clock.advance(25_000);
    expect(await receive(url)).toEqual([]);
    g.t.clock.advance(5000);
    expect((await receive(url)).map((message) => message.Body)).toEqual(['a1', 'b1', 'a2']);
    await expect(receive(url, { ReceiveRequestAttemptId: 'not valid!\u00e9' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  test('works across gateways over one store: a retry through another gets what the first gave', async () => {
    const other = await sqsGateway({ dataDir: g.t.dataDir });
    try {
      const first = await receive(url, { ReceiveRequestAttemptId: 'attempt-1', MaxNumberOfMessages: 1 });
      expect(first.map((message) => message.Body)).toEqual(['a1']);
      const retried = await other.client().send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, ReceiveRequestAttemptId: 'attempt-1' }));
      expect(handles(retried.Messages ?? [])).toEqual(handles(first));
    } finally {
      await other.close();
    }
  });

  test('once a message it received is deleted, changed or visible again, an attempt cannot be repeated; after 5 minutes its id is new', async () => {
    const spent = { name: 'InvalidParameterValue', message: expect.stringContaining("Receive attempt 'attempt-1' cannot be repeated") };
    // One of the three deleted spends the attempt: the others are not given again alone.
    const [a1] = await receive(url, { ReceiveRequestAttemptId: 'attempt-1' });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: a1.ReceiptHandle }));
    await expect(receive(url, { ReceiveRequestAttemptId: 'attempt-1' })).rejects.toMatchObject(spent);

    for (const group of ['c', 'd', 'e']) await sendTo(url, `${group}1`, group);
    const [, d1] = await receive(url, { ReceiveRequestAttemptId: 'attempt-2', MaxNumberOfMessages: 2 });
    expect(d1.Body).toBe('d1');
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: d1.ReceiptHandle, VisibilityTimeout: 60 }));
    await expect(receive(url, { ReceiveRequestAttemptId: 'attempt-2' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });

    expect((await receive(url, { ReceiveRequestAttemptId: 'attempt-3', VisibilityTimeout: 5 })).map((message) => message.Body)).toEqual(['e1']);
    g.t.clock.advance(5000);
    await expect(receive(url, { ReceiveRequestAttemptId: 'attempt-3' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });

    // Forgotten after 5 minutes: the id leases afresh.
    g.t.clock.advance(5 * 60 * 1000);
    expect((await receive(url, { ReceiveRequestAttemptId: 'attempt-1' })).map((message) => message.Body).sort()).toEqual(['a2', 'b1', 'c1', 'd1', 'e1']);
  });

  test('a standard queue ignores it, as SQS does', async () => {
    const plain = await create('plain');
    for (const body of ['x', 'y']) await sqs.send(new SendMessageCommand({ QueueUrl: plain, MessageBody: body }));
    const [one] = await receive(plain, { ReceiveRequestAttemptId: 'attempt-1', MaxNumberOfMessages: 1 });
    const [two] = await receive(plain, { ReceiveRequestAttemptId: 'attempt-1', MaxNumberOfMessages: 1 });
    expect([one.Body, two.Body]).toEqual(['x', 'y']);
  });
});
