import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type ApiKey, generateKey, generateSqsSecret } from '../../api/keys';
import { checkKeys } from '../../api/keysFile';
import { disposeTestGateway, type TestGateway, type TestGatewayOptions, testGateway } from './testGateway';

/**
 * The real app (manual clock, real SQLite in a temp dir) on a real socket, so
 * that the official AWS SDK can talk to it: the SDK needs a URL, not supertest.
 */
export interface SqsGateway {
  t: TestGateway;
  url: string;
  /** An SDK client pointed at the gateway, as the README's three lines configure it. */
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): SQSClient;
  close(): Promise<void>;
}

export async function sqsGateway(options: TestGatewayOptions = {}): Promise<SqsGateway> {
  const t = testGateway(options);
  const server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: SQSClient[] = [];
  return {
    t,
    url,
    client(credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'any-secret-will-do' }) {
      // No retries: a test sees the first answer, and a refusal is not hidden behind a retry.
      const client = new SQSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await disposeTestGateway(t);
    },
  };
}

/**
 * A fresh gateway around each test of the file (or of the describe block it
 * is called in), made with `options`: `started` gets it (and whatever the
 * file sets up on it) before the test, and it is closed after.
 */
export function sqsGatewayPerTest(started: (gateway: SqsGateway) => Promise<void> | void, options: TestGatewayOptions = {}): void {
  let gateway: SqsGateway | undefined;
  beforeEach(async () => {
    gateway = await sqsGateway(options);
    await started(gateway);
  });
  afterEach(() => gateway?.close());
}

/** A gateway per test (sqsGatewayPerTest) and an SDK client of it, handed to `started` before each test. */
export function sqsClientPerTest(started: (gateway: SqsGateway, sqs: SQSClient) => void): void {
  sqsGatewayPerTest((gateway) => started(gateway, gateway.client()));
}

/** A queue's ARN as the gateway writes it: one account, one region. */
export function arnOf(name: string): string {
  return `arn:aws:sqs:us-east-1:000000000000:${name}`;
}

/** CreateQueue through `sqs`: the queue's URL. */
export async function createQueue(sqs: SQSClient, QueueName: string, Attributes?: Record<string, string>, tags?: Record<string, string>): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName, Attributes, tags }))).QueueUrl as string;
}

/** The queue most SQS tests work on: `orders` (30 s visibility), made through the SDK, and the client that made it. */
export interface OrdersQueue {
  g: SqsGateway;
  sqs: SQSClient;
  url: string;
}

/** A gateway per test (sqsGatewayPerTest) with its `orders` queue. */
export function ordersQueuePerTest(started: (queue: OrdersQueue) => void): void {
  sqsGatewayPerTest(async (g) => {
    const sqs = g.client();
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'orders', Attributes: { VisibilityTimeout: '30' } }))).QueueUrl as string;
    started({ g, sqs, url });
  });
}

/** A key with SQS credentials: its id is the access key id, its SQS secret the secret access key. */
export function sqsKey(name: string, scopes: string[]): { record: ApiKey; credentials: { accessKeyId: string; secretAccessKey: string } } {
  const { id, hash } = generateKey();
  const sqsSecret = generateSqsSecret();
  const [record] = checkKeys({ keys: [{ id, name, hash, scopes, sqsSecret }] }, name);
  return { record, credentials: { accessKeyId: id, secretAccessKey: sqsSecret } };
}
