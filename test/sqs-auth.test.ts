import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { packagePath } from '../persistence/packagePath';
import { killChildGateways, startChildGateway } from './support/childGateway';
import { type SqsGateway, sqsGateway, sqsKey } from './support/sqsGateway';
import { tempDir } from './support/testGateway';

/** SigV4 credentials on a gateway with keys: the key id signs with its SQS secret, and the key's scopes and rates apply. */

const admin = sqsKey('admin', ['*:*']);
const producer = sqsKey('producer', ['produce:queues/a-*', 'consume:queues/a-public']);
const limited = sqsKey('limited', ['*:*']);
limited.record.limits = { requestsPerSecond: 2 };
const bearerOnly = (() => {
  const { id, hash } = generateKey();
  return checkKeys({ keys: [{ id, name: 'bearer-only', hash, scopes: ['*:*'] }] }, 'bearer-only')[0];
})();

let g: SqsGateway;

beforeEach(async () => {
  g = await sqsGateway({ keys: [admin.record, producer.record, limited.record, bearerOnly] });
  const sqs = g.client(admin.credentials);
  for (const name of ['a-orders', 'a-public', 'b-secret']) await sqs.send(new CreateQueueCommand({ QueueName: name }));
});

afterEach(() => g.close());

const urlOf = (name: string): string => `${g.url}/000000000000/${name}`;

test('the right secret works; a wrong one, an unknown key id or a key without SQS credentials are refused by name', async () => {
  await g.client(admin.credentials).send(new SendMessageCommand({ QueueUrl: urlOf('a-orders'), MessageBody: 'signed' }));
  const wrong = g.client({ ...admin.credentials, secretAccessKey: `${admin.credentials.secretAccessKey}x` });
  await expect(wrong.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
  const unknown = g.client({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'whatever' });
  await expect(unknown.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } });
  const noSqs = g.client({ accessKeyId: bearerOnly.id, secretAccessKey: 'whatever' });
  await expect(noSqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  const signedElsewhere = g.client({ ...admin.credentials });
  signedElsewhere.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body: Uint8Array | string };
      request.body = Buffer.from(request.body).toString('utf8').replace('signed', 'forged');
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'tamperAfterSigning' },
  );
  await expect(signedElsewhere.send(new SendMessageCommand({ QueueUrl: urlOf('a-orders'), MessageBody: 'signed' }))).rejects.toMatchObject({
    name: 'SignatureDoesNotMatch',
  });
  expect((await g.t.http.get('/v1/queues/a-orders').set('Authorization', 'Bearer none')).status).toBe(401);
  const queue = (await g.t.queues.get('a-orders')).stats;
  expect(queue.ready).toBe(1);
});

test("a request without a signature is refused with MissingAuthenticationToken, as SQS's JSON error", async () => {
  const res = await fetch(g.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.ListQueues' },
    body: '{}',
  });
  expect(res.status).toBe(403);
  expect(res.headers.get('x-amzn-query-error')).toBe('MissingAuthenticationToken;Sender');
  expect(res.headers.get('content-type')).toMatch(/^application\/x-amz-json-1\.0/);
  expect(await res.json()).toEqual({
    __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
    message: 'Request is missing Authentication Token',
  });
});

test("the key's scopes apply to each action; ListQueues shows only what the key may see", async () => {
  const sqs = g.client(producer.credentials);
  await sqs.send(new SendMessageCommand({ QueueUrl: urlOf('a-orders'), MessageBody: 'allowed' }));
  const denied = { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } };
  await expect(sqs.send(new SendMessageCommand({ QueueUrl: urlOf('b-secret'), MessageBody: 'x' }))).rejects.toMatchObject(denied);
  // The same answer whether or not the queue exists.
  await expect(sqs.send(new SendMessageCommand({ QueueUrl: urlOf('b-nothing'), MessageBody: 'x' }))).rejects.toMatchObject(denied);
  await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: urlOf('a-orders') }))).rejects.toMatchObject(denied);
  expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: urlOf('a-public') }))).Messages).toBeUndefined();
  await expect(sqs.send(new CreateQueueCommand({ QueueName: 'a-new' }))).rejects.toMatchObject(denied);
  await expect(sqs.send(new DeleteQueueCommand({ QueueUrl: urlOf('a-orders') }))).rejects.toMatchObject(denied);
  expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: urlOf('a-orders'), AttributeNames: ['QueueArn'] }))).Attributes).toEqual({
    QueueArn: 'arn:aws:sqs:us-east-1:000000000000:a-orders',
  });
  const listed = await sqs.send(new ListQueuesCommand({}));
  expect(listed.QueueUrls).toEqual([urlOf('a-orders'), urlOf('a-public')]);
});

test("the key's request rate applies: past it, RequestThrottled (which the SDK retries)", async () => {
  const sqs = g.client(limited.credentials);
  await sqs.send(new ListQueuesCommand({}));
  await sqs.send(new ListQueuesCommand({}));
  await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'RequestThrottled', $metadata: { httpStatusCode: 403 } });
  g.t.clock.advance(1000);
  await sqs.send(new ListQueuesCommand({}));
});

describe('mqgate keys create --sqs', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    killChildGateways();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('prints SQS credentials once; a gateway started with that keys file accepts them', async () => {
    const keysFile = path.join(dir, 'keys.yaml');
    const printed = execFileSync(
      process.execPath,
      [packagePath('dist', 'api', 'main.js'), 'keys', 'create', '--name', 'sqs-app', '--scope', '*:queues/app-*', '--keys-file', keysFile, '--sqs'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const accessKeyId = /aws_access_key_id=(\S+)/.exec(printed)?.[1] as string;
    const secretAccessKey = /aws_secret_access_key=(\S+)/.exec(printed)?.[1] as string;
    expect(accessKeyId).toMatch(/^[0-9a-f]{12}$/);
    expect(fs.readFileSync(keysFile, 'utf8')).toContain(`sqsSecret: ${secretAccessKey}`);
    const gateway = await startChildGateway(path.join(dir, 'data'), ['--keys-file', keysFile]);
    const sqs = new SQSClient({ endpoint: gateway.url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'app-orders' }));
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'through a child gateway' }));
      expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.map((m) => m.Body)).toEqual(['through a child gateway']);
      await expect(sqs.send(new CreateQueueCommand({ QueueName: 'other' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      sqs.destroy();
    }
  });
});
