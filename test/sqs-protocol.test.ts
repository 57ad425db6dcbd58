import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

/** The AWS JSON 1.0 protocol on the wire, for what the SDK never sends: every refusal is SQS's JSON, never a 5xx. */

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});

afterEach(() => disposeTestGateway(t));

const post = (target: string | null, body: string | Buffer, contentType = 'application/x-amz-json-1.0') => {
  const request = t.http.post('/').set('Content-Type', contentType);
  return (target === null ? request : request.set('X-Amz-Target', target)).send(body);
};

const sqsError = (res: { status: number; headers: Record<string, string>; text: string }) => ({
  status: res.status,
  queryError: res.headers['x-amzn-query-error'],
  contentType: res.headers['content-type'],
  body: JSON.parse(res.text) as { __type: string; message: string },
});

test('an action mqgate does not have is UnsupportedOperation; no target at all is InvalidAction', async () => {
  expect(sqsError(await post('AmazonSQS.CreateTopic', '{}'))).toMatchObject({
    status: 400,
    queryError: 'AWS.SimpleQueueService.UnsupportedOperation;Sender',
    contentType: expect.stringMatching(/^application\/x-amz-json-1\.0/),
    body: { __type: 'com.amazonaws.sqs#UnsupportedOperation' },
  });
  expect(sqsError(await post('AmazonSQS.constructor', '{}'))).toMatchObject({ status: 400, body: { __type: 'com.amazonaws.sqs#UnsupportedOperation' } });
  expect(sqsError(await post(null, '{}'))).toMatchObject({ status: 400, queryError: 'InvalidAction;Sender' });
});

test('a body that is not a JSON object, or members of the wrong type, are refused as SQS refuses them', async () => {
  await t.http.put('/v1/queues/q').send({});
  expect(sqsError(await post('AmazonSQS.ListQueues', '{"QueueNamePrefix":'))).toMatchObject({
    status: 400,
    queryError: 'SerializationException;Sender',
  });
  expect(sqsError(await post('AmazonSQS.ListQueues', '[1]'))).toMatchObject({ status: 400, queryError: 'SerializationException;Sender' });
  expect(sqsError(await post('AmazonSQS.ListQueues', '{"MaxResults":"ten"}'))).toMatchObject({ status: 400, queryError: 'InvalidParameterValue;Sender' });
  expect(sqsError(await post('AmazonSQS.SendMessage', '{"QueueUrl":"/000000000000/q","MessageBody":"x","MessageAttributes":{"a":7}}'))).toMatchObject({
    status: 400,
    queryError: 'InvalidParameterValue;Sender',
  });
  expect(sqsError(await post('AmazonSQS.GetQueueUrl', ''))).toMatchObject({ status: 400, queryError: 'MissingParameter;Sender' });
  expect(t.internalErrors).toEqual([]);
});

test('a body that is not UTF-8 is a SerializationException, and no message is stored with its bytes replaced', async () => {
  await t.http.put('/v1/queues/q').send({});
  const body = Buffer.concat([Buffer.from('{"QueueUrl":"/000000000000/q","MessageBody":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  expect(sqsError(await post('AmazonSQS.SendMessage', body))).toMatchObject({ status: 400, queryError: 'SerializationException;Sender' });
  expect((await t.http.get('/v1/queues/q')).body).toMatchObject({ stats: { produced: 0 } });
});

test('another content type is refused before any action runs: the body is signed as bytes, so it is never parsed as JSON', async () => {
  const res = await post('AmazonSQS.ListQueues', '{}', 'application/json');
  expect(res.status).toBe(415);
  expect((await post('AmazonSQS.ListQueues', '{}')).body).toEqual({});
});

test('a QueueUrl is found by its last segment, from any host, and answers with the URL of the host the client called', async () => {
  // A name the gateway is called by must be allowed while it has no keys (api/origins.ts).
  await disposeTestGateway(t);
  t = testGateway({ allowedHosts: ['mq.example'] });
  await t.http.put('/v1/queues/orders').send({});
  const res = await post('AmazonSQS.GetQueueUrl', '{"QueueName":"orders"}').set('Host', 'mq.example:9000');
  expect(JSON.parse(res.text)).toEqual({ QueueUrl: 'http://mq.example:9000/000000000000/orders' });
  const attributes = await post('AmazonSQS.GetQueueAttributes', '{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123/orders","AttributeNames":["DelaySeconds"]}');
  expect(JSON.parse(attributes.text)).toEqual({ Attributes: { DelaySeconds: '0' } });
});
