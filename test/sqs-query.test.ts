import crypto from 'node:crypto';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import request from 'supertest';
import { type SqsGateway, sqsGateway, sqsKey } from './support/sqsGateway';

/**
 * The query protocol on the wire, as the legacy SDKs send it (their own runs
 * are test/sqs-legacy-clients.test.ts): form members in SQS's flattened
 * shapes, XML answers and ErrorResponse errors, both protocols on one route,
 * and presigned requests.
 */

const FORM = 'application/x-www-form-urlencoded';
const JSON_10 = 'application/x-amz-json-1.0';

let g: SqsGateway;

afterEach(() => g.close());

const form = (members: Record<string, string>): string => new URLSearchParams(members).toString();

/** A form call to `path` (default `/`); the gateway is open, so no signature is needed. */
function call(members: Record<string, string>, path = '/') {
  return request(g.url).post(path).set('Content-Type', FORM).send(form(members));
}

/** The text of each `<name>` element, in document order. */
function texts(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);
}

const md5 = (text: string): string => crypto.createHash('md5').update(text, 'utf8').digest('hex');

describe('on an open gateway', () => {
  beforeEach(async () => {
    g = await sqsGateway();
  });

  test('one route serves JSON 1.0 and the query protocol together, by content type; a queue URL names its queue', async () => {
    const created = await request(g.url)
      .post('/')
      .set('Content-Type', JSON_10)
      .set('X-Amz-Target', 'AmazonSQS.CreateQueue')
      .send(JSON.stringify({ QueueName: 'orders' }));
    expect(created.status).toBe(200);
    expect(created.headers['content-type']).toMatch(/^application\/x-amz-json-1\.0/);

    const sent = await call({ Action: 'SendMessage', QueueUrl: `${g.url}/000000000000/orders`, MessageBody: 'by form' });
    expect(sent.status).toBe(200);
    expect(sent.headers['content-type']).toMatch(/^text\/xml/);
    expect(sent.text).toMatch(/^<\?xml version="1.0"\?><SendMessageResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><SendMessageResult>/);
    expect(texts(sent.text, 'MD5OfMessageBody')).toEqual([md5('by form')]);
    // The RequestId in the body is the one in the header.
    expect(texts(sent.text, 'RequestId')).toEqual([sent.headers['x-amzn-requestid']]);

    // Sent to the queue's URL, with no QueueUrl member, as the Java 1.x SDK sends it.
    expect((await call({ Action: 'SendMessage', MessageBody: 'by path' }, '/000000000000/orders')).status).toBe(200);

    const received = await request(g.url)
      .post('/')
      .set('Content-Type', JSON_10)
      .set('X-Amz-Target', 'AmazonSQS.ReceiveMessage')
      .send(JSON.stringify({ QueueUrl: `${g.url}/000000000000/orders`, MaxNumberOfMessages: 10 }));
    expect((JSON.parse(received.text) as { Messages: Array<{ Body: string }> }).Messages.map((m) => m.Body).sort()).toEqual(['by form', 'by path']);
  });

  test('flattened lists and maps are read in index order, and results are written in SQS flattened elements', async () => {
    await call({ Action: 'CreateQueue', QueueName: 'orders', 'Attribute.1.Name': 'VisibilityTimeout', 'Attribute.1.Value': '45', 'Tag.1.Key': 'team', 'Tag.1.Value': 'a' });
    const queueUrl = `${g.url}/000000000000/orders`;
    const batch = await call({
      Action: 'SendMessageBatch',
      QueueUrl: queueUrl,
      // Numbered out of order: the entries are the list in index order.
      'SendMessageBatchRequestEntry.2.Id': 'second',
      'SendMessageBatchRequestEntry.2.MessageBody': 'two',
      'SendMessageBatchRequestEntry.1.Id': 'first',
      'SendMessageBatchRequestEntry.1.MessageBody': 'one',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Name': 'n',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType': 'Number',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue': '5',
      'SendMessageBatchRequestEntry.1.DelaySeconds': '0',
    });
    expect(batch.status).toBe(200);
    expect(texts(batch.text, 'Id')).toEqual(['first', 'second']);
    expect(batch.text).toContain('<SendMessageBatchResultEntry><Id>first</Id>');

    const received = await call({ Action: 'ReceiveMessage', QueueUrl: queueUrl, MaxNumberOfMessages: '10', 'AttributeName.1': 'All', 'MessageAttributeName.1': 'All' });
    expect(received.status).toBe(200);
    expect(texts(received.text, 'Body').sort()).toEqual(['one', 'two']);
    expect(received.text).toContain('<MessageAttribute><Name>n</Name><Value><DataType>Number</DataType><StringValue>5</StringValue></Value></MessageAttribute>');
    expect(received.text).toContain('<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>');

    const attributes = await call({ Action: 'GetQueueAttributes', QueueUrl: queueUrl, 'AttributeName.1': 'VisibilityTimeout' });
    expect(attributes.text).toContain('<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>45</Value></Attribute></GetQueueAttributesResult>');
    expect((await call({ Action: 'ListQueueTags', QueueUrl: queueUrl })).text).toContain('<Tag><Key>team</Key><Value>a</Value></Tag>');
    // An action without output has no result element, as in SQS.
    const deleted = await call({ Action: 'PurgeQueue', QueueUrl: queueUrl });
    expect(deleted.text).toMatch(/<PurgeQueueResponse [^>]*><ResponseMetadata><RequestId>[^<]+<\/RequestId><\/ResponseMetadata><\/PurgeQueueResponse>$/);
    // An empty list is still its result element, which the SDKs look for.
    expect((await call({ Action: 'ListQueues', QueueNamePrefix: 'none' })).text).toContain('<ListQueuesResult></ListQueuesResult>');
  });

  test('a body is XML-escaped so that a parser reads it back as sent, carriage returns included', async () => {
    await call({ Action: 'CreateQueue', QueueName: 'orders' });
    const body = 'a<b>&c\r\nd "quoted"';
    await call({ Action: 'SendMessage', QueueUrl: '/000000000000/orders', MessageBody: body });
    const received = await call({ Action: 'ReceiveMessage', QueueUrl: '/000000000000/orders' });
    expect(texts(received.text, 'Body')).toEqual(['a&lt;b&gt;&amp;c&#xD;\nd "quoted"']);
    expect(texts(received.text, 'MD5OfBody')).toEqual([md5(body)]);
  });

  test.each([
    ['no Action', {}, 400, 'InvalidAction'],
    ['an action that is no name', { Action: 'Send Message' }, 400, 'InvalidAction'],
    ['an action SQS does not have', { Action: 'Frobnicate' }, 400, 'AWS.SimpleQueueService.UnsupportedOperation'],
    ['no QueueUrl', { Action: 'SendMessage', MessageBody: 'x' }, 400, 'MissingParameter'],
    ['an unknown queue', { Action: 'SendMessage', QueueUrl: '/000000000000/nope', MessageBody: 'x' }, 400, 'AWS.SimpleQueueService.NonExistentQueue'],
    ['a number that is not one', { Action: 'ReceiveMessage', QueueUrl: '/000000000000/orders', MaxNumberOfMessages: 'ten' }, 400, 'InvalidParameterValue'],
    ['a list member not numbered', { Action: 'GetQueueAttributes', QueueUrl: '/000000000000/orders', 'AttributeName.first': 'All' }, 400, 'InvalidParameterValue'],
    ['a map entry without its key', { Action: 'SetQueueAttributes', QueueUrl: '/000000000000/orders', 'Attribute.1.Value': '5' }, 400, 'MissingParameter'],
    ['a member both a value and a structure', { Action: 'CreateQueue', QueueName: 'x', Attribute: 'y', 'Attribute.1.Name': 'DelaySeconds' }, 400, 'InvalidParameterValue'],
  ])('%s is an XML error with the code the SDKs raise by', async (_what, members, status, code) => {
    await call({ Action: 'CreateQueue', QueueName: 'orders' });
    const answer = await call(members);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^text\/xml/);
    expect(answer.text).toMatch(/^<\?xml version="1.0"\?><ErrorResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><Error><Type>Sender<\/Type>/);
    expect(texts(answer.text, 'Code')).toEqual([code]);
    expect(texts(answer.text, 'RequestId')).toEqual([answer.headers['x-amzn-requestid']]);
  });

  test('a member given twice or text that is not UTF-8 is refused, never guessed at', async () => {
    await call({ Action: 'CreateQueue', QueueName: 'orders' });
    const twice = await request(g.url).post('/').set('Content-Type', FORM).send('Action=SendMessage&QueueUrl=/000000000000/orders&MessageBody=a&MessageBody=b');
    expect(texts(twice.text, 'Code')).toEqual(['InvalidParameterValue']);
    const badUtf8 = await request(g.url).post('/').set('Content-Type', FORM).send('Action=SendMessage&QueueUrl=/000000000000/orders&MessageBody=%FF');
    expect(badUtf8.status).toBe(400);
    expect(texts(badUtf8.text, 'Code')).toEqual(['SerializationException']);
    const received = await call({ Action: 'ReceiveMessage', QueueUrl: '/000000000000/orders' });
    expect(texts(received.text, 'Body')).toEqual([]);
  });

  test('a form from another site is refused before it is read: the query protocol opens no way around the browser guard', async () => {
    const answer = await request(g.url).post('/').set('Content-Type', FORM).set('Origin', 'http://evil.example').send(form({ Action: 'CreateQueue', QueueName: 'x' }));
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ code: 'origin_not_allowed' });
    expect(texts((await call({ Action: 'ListQueues' })).text, 'QueueUrl')).toEqual([]);
  });
});

type Bytes = string | ArrayBuffer | ArrayBufferView;

function bytesOf(data: Bytes): string | Buffer {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

describe('any form at all', () => {
  beforeEach(async () => {
    g = await sqsGateway();
    await call({ Action: 'CreateQueue', QueueName: 'orders' });
  });

  const ACTIONS = ['SendMessage', 'SendMessageBatch', 'ReceiveMessage', 'DeleteMessageBatch', 'CreateQueue', 'SetQueueAttributes', 'TagQueue', 'GetQueueAttributes'];
  /** Segments of member names: real ones, indices good and bad, and names that are dangerous as object keys. */
  const SEGMENTS = ['QueueUrl', 'MessageBody', 'QueueName', 'Attribute', 'Tag', 'Key', 'MessageAttribute', 'SendMessageBatchRequestEntry', 'DeleteMessageBatchRequestEntry'];
  const segment = fc.oneof(
    fc.constantFrom(...SEGMENTS, 'Id', 'Name', 'Value', 'DataType', 'StringValue', 'BinaryValue', 'AttributeName', '1', '2', '0', '01', '1000000', '', '__proto__', 'constructor', 'x'),
    fc.string({ maxLength: 6 }),
  );
  const member = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')), fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('/000000000000/orders', 'String', 'Number', 'Binary', 'All', '5', '-1', 'true')));
  const encoded = (text: string): string => encodeURIComponent(text);
  const formBody = fc.tuple(fc.constantFrom(...ACTIONS), fc.array(member, { maxLength: 12 }), fc.constantFrom('', '%', '%FF', '&&', '=', '+')).map(
    ([action, members, raw]) => [`Action=${action}`, ...members.map(([name, value]) => `${encoded(name)}=${encoded(value)}`), raw].join('&'),
  );

  test('is answered as SQS answers: a result or an XML error, never a server error', async () => {
    await fc.assert(
      fc.asyncProperty(formBody, async (body) => {
        const answer = await request(g.url).post('/').set('Content-Type', FORM).send(body);
        expect(answer.status).toBeLessThan(500);
        expect(answer.headers['content-type']).toMatch(/^text\/xml/);
        expect(answer.text).toMatch(answer.status === 200 ? /^<\?xml version="1.0"\?><[A-Za-z]+Response / : /^<\?xml version="1.0"\?><ErrorResponse /);
      }),
      { seed: 20_261_206, numRuns: 150 },
    );
    expect(g.t.internalErrors).toEqual([]);
  });
});

/** node's crypto as the signer's hash: SHA-256, or its HMAC with a secret. */
class NodeSha256 {
  private readonly hash: crypto.Hash | crypto.Hmac;
  constructor(secret?: Bytes) {
    this.hash = secret === undefined ? crypto.createHash('sha256') : crypto.createHmac('sha256', bytesOf(secret));
  }
  update(data: Bytes): void {
    this.hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

describe('presigned requests, with keys', () => {
  const admin = sqsKey('admin', ['*:*']);

  beforeEach(async () => {
    g = await sqsGateway({ keys: [admin.record] });
    await g.client(admin.credentials).send(new CreateQueueCommand({ QueueName: 'orders' }));
  });

  /** A POST with its members and signature in the query string, signed at `signedAt` for `expiresIn` seconds. */
  async function presigned(members: Record<string, string>, signedAt: Date, expiresIn: number, secret = admin.credentials.secretAccessKey): Promise<string> {
    const signer = new SignatureV4({
      service: 'sqs',
      region: 'us-east-1',
      credentials: { ...admin.credentials, secretAccessKey: secret },
      sha256: NodeSha256,
    });
    const { host } = new URL(g.url);
    const signed = await signer.presign({ method: 'POST', protocol: 'http:', hostname: host.split(':')[0], port: Number(host.split(':')[1]), path: '/', headers: { host }, query: members }, { signingDate: signedAt, expiresIn });
    return `/?${new URLSearchParams(signed.query as Record<string, string>).toString()}`;
  }

  const listQueues = { Action: 'ListQueues', Version: '2012-11-05' };

  test('a presigned URL is good for its X-Amz-Expires, past the 15 minutes a header signature has', async () => {
    const fresh = await request(g.url).post(await presigned(listQueues, new Date(), 60));
    expect(fresh.status).toBe(200);
    expect(texts(fresh.text, 'QueueUrl')).toEqual([expect.stringMatching(/\/000000000000\/orders$/)]);
    const halfAnHourAgo = new Date(Date.now() - 30 * 60_000);
    expect((await request(g.url).post(await presigned(listQueues, halfAnHourAgo, 3600))).status).toBe(200);
  });

  test('an expired, altered or wrongly signed presigned URL is refused as SQS refuses it', async () => {
    const expired = await request(g.url).post(await presigned(listQueues, new Date(Date.now() - 120_000), 60));
    expect(expired.status).toBe(403);
    expect(texts(expired.text, 'Code')).toEqual(['SignatureDoesNotMatch']);
    const altered = (await presigned(listQueues, new Date(), 60)).replace('Action=ListQueues', 'Action=ListQueues&QueueNamePrefix=x');
    expect(texts((await request(g.url).post(altered)).text, 'Code')).toEqual(['SignatureDoesNotMatch']);
    const wrongSecret = await request(g.url).post(await presigned(listQueues, new Date(), 60, 'not-the-secret'));
    expect(texts(wrongSecret.text, 'Code')).toEqual(['SignatureDoesNotMatch']);
    const tooLong = (await presigned(listQueues, new Date(), 60)).replace('X-Amz-Expires=60', 'X-Amz-Expires=604801');
    expect(texts((await request(g.url).post(tooLong)).text, 'Code')).toEqual(['MissingAuthenticationToken']);
    const unsigned = await call(listQueues);
    expect(unsigned.status).toBe(403);
    expect(texts(unsigned.text, 'Code')).toEqual(['MissingAuthenticationToken']);
  });
});
