import http from 'node:http';
import fc from 'fast-check';
import { type AttributeValue, md5OfAttributes } from '../api/sqs/md5';
import { type Answer, codeOf, sendSqs, sendViolationOf, violationOf } from './support/sqsFuzzOracle';
import {
  ACCOUNT,
  ACTIONS,
  arnOf,
  type FuzzPlan,
  type FuzzState,
  fuzzPlan,
  QUEUES,
  SEEDED_LABEL,
  type SqsActionName,
  type WireRequest,
  wireRequest,
} from './support/sqsFuzzRequests';
import { type SqsGateway, sqsGateway } from './support/sqsGateway';

/**
 * Property-based fuzzing of the SQS face (POST /, AWS JSON 1.0) over real
 * HTTP, bytes the SDK would never send included. Every action's valid
 * example request is mutated (members dropped or of another JSON type,
 * unknown members, bad attribute maps, bad batches, foreign and forged
 * receipt handles, odd QueueUrls, non-JSON bodies, other headers), against
 * live queues and receipts that are re-seeded as the fuzz deletes and purges
 * them. For every answer: a status of 200/400/403/404/413/415; an error in
 * SQS's shape ({__type, message}, `x-amzn-query-error: <code>;Sender`, the
 * three agreeing with api/sqs/errors.ts), or problem+json for a body the
 * generic layer refused to read; no hang; no internal error reported.
 *
 * SQS_FUZZ_SEED replays a run; SQS_FUZZ_RUNS changes the number of requests;
 * SQS_FUZZ_VERBOSE prints the codes each action answered.
 */

function integerFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${process.env[name]}`);
  return value;
}

const seed = integerFromEnv('SQS_FUZZ_SEED', 20_250_301);
const runs = integerFromEnv('SQS_FUZZ_RUNS', 1500);
/** Queues and receipts are put back this often: the fuzz deletes, purges and re-configures them. */
const RESEED_EVERY = 50;
const DEADLINE_MS = 10_000;

// 1,500 requests take a few seconds; the margin is for a machine busy with other suites.
jest.setTimeout(Math.max(60_000, runs * 40));

let gateway: SqsGateway;
let agent: http.Agent;
let state: FuzzState;
let hugeBody: Buffer;

const send = async (request: WireRequest): Promise<Answer> => {
  const answer = await sendSqs(request, { port: Number(new URL(gateway.url).port), agent, clock: gateway.t.clock, deadlineMs: DEADLINE_MS });
  if ('failure' in answer) throw new Error(answer.failure);
  return answer;
};

const sqsRequest = (action: string, body: object | string): WireRequest => ({
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` },
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});

/** A setup call that must succeed; its parsed answer. */
async function call(action: string, body: object): Promise<Record<string, unknown>> {
  const answer = await send(sqsRequest(action, body));
  if (answer.status !== 200) throw new Error(`seeding: ${action} answered ${answer.status} ${answer.body.toString()}`);
  return JSON.parse(answer.body.toString()) as Record<string, unknown>;
}

const url = (name: string): string => `${gateway.url}/${ACCOUNT}/${name}`;

function receiptsOf(result: Record<string, unknown>): string[] {
  const messages = Array.isArray(result.Messages) ? (result.Messages as Array<{ ReceiptHandle?: unknown }>) : [];
  return messages.flatMap((message) => (typeof message.ReceiptHandle === 'string' ? [message.ReceiptHandle] : []));
}

/**
 * The queues (a standard and a FIFO queue, each with its dead-letter queue)
 * with their settings put back, messages in each and in the dead-letter
 * queues, and fresh receipts of leased ones.
 */
async function seedState(): Promise<void> {
  const plain = {
    DelaySeconds: '0',
    ReceiveMessageWaitTimeSeconds: '0',
    VisibilityTimeout: '30',
    MaximumMessageSize: '262144',
    MessageRetentionPeriod: '345600',
    RedriveAllowPolicy: '',
    Policy: '',
  };
  for (const [name, fifo] of [
    [QUEUES.deadLetter, false],
    [QUEUES.fifoDeadLetter, true],
    [QUEUES.standard, false],
    [QUEUES.fifo, true],
  ] as const) {
    await call('CreateQueue', { QueueName: name, ...(fifo ? { Attributes: { FifoQueue: 'true' } } : {}) });
    await call('SetQueueAttributes', { QueueUrl: url(name), Attributes: { ...plain, RedrivePolicy: '' } });
  }
  for (const name of [QUEUES.standard, QUEUES.fifo]) {
    await call('AddPermission', { QueueUrl: url(name), Label: SEEDED_LABEL, AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] });
  }
  const redrive = (dlq: string): string => JSON.stringify({ deadLetterTargetArn: arnOf(dlq), maxReceiveCount: 5 });
  await call('SetQueueAttributes', { QueueUrl: url(QUEUES.standard), Attributes: { RedrivePolicy: redrive(QUEUES.deadLetter) } });
  await call('SetQueueAttributes', { QueueUrl: url(QUEUES.fifo), Attributes: { ContentBasedDeduplication: 'false', RedrivePolicy: redrive(QUEUES.fifoDeadLetter) } });
  const batch = (fifo: boolean) =>
    Array.from({ length: 10 }, (_, i) => {
      state.sends += 1;
      return { Id: `m${i}`, MessageBody: `seed ${state.sends}`, ...(fifo ? { MessageGroupId: `seed-${state.sends}`, MessageDeduplicationId: `seed-${state.sends}` } : {}) };
    });
  for (const [name, fifo] of [
    [QUEUES.standard, false],
    [QUEUES.fifo, true],
  ] as const) {
    await call('SendMessageBatch', { QueueUrl: url(name), Entries: batch(fifo) });
    const received = await call('ReceiveMessage', { QueueUrl: url(name), MaxNumberOfMessages: 10, VisibilityTimeout: 3600 });
    state.receipts[fifo ? 'fifo' : 'standard'] = receiptsOf(received);
  }
  await call('SendMessageBatch', { QueueUrl: url(QUEUES.deadLetter), Entries: batch(false).slice(0, 2) });
  await call('SendMessageBatch', { QueueUrl: url(QUEUES.fifoDeadLetter), Entries: batch(true).slice(0, 2) });
}

interface ActionStats {
  sent: number;
  ok: number;
  codes: Map<string, number>;
}

interface Violation {
  signature: string;
  count: number;
  example: string;
}

function describe(plan: FuzzPlan, request: WireRequest, answer: Answer | null): string {
  const body = request.body.toString('utf8');
  const shownBody = body.length > 400 ? `${body.slice(0, 400)}… (${request.body.length} bytes)` : body;
  const lines = [
    `  plan: ${JSON.stringify({ ...plan, mutations: plan.mutations.map((m) => ({ ...m, ...('value' in m ? { value: JSON.stringify(m.value)?.slice(0, 80) } : {}) })) })}`,
    `  headers: ${JSON.stringify(request.headers)}`,
    `  body: ${shownBody}`,
  ];
  if (answer !== null) lines.push(`  answer: ${answer.status} ${JSON.stringify(answer.headers['content-type'])} ${answer.body.toString('utf8').slice(0, 400)}`);
  return lines.join('\n');
}

beforeAll(async () => {
  gateway = await sqsGateway();
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  state = { origin: gateway.url, receipts: { standard: [], fifo: [] }, taskHandles: [], sends: 0 };
  // One byte over the body limit of the SQS operation (api/app.ts: maxBatchBytes).
  hugeBody = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
  await seedState();
});

afterAll(async () => {
  agent.destroy();
  await gateway.close();
});

// Found by the fuzz; kept as plain cases.

test('a message attribute named __proto__ is kept like any other, not dropped from the message and its MD5', async () => {
  await call('CreateQueue', { QueueName: 'reg-proto' });
  const attributes = JSON.parse('{"__proto__":{"DataType":"String","StringValue":"v"}}') as Record<string, AttributeValue>;
  const sent = await call('SendMessage', { QueueUrl: url('reg-proto'), MessageBody: 'x', MessageAttributes: attributes });
  expect(sent.MD5OfMessageAttributes).toBe(md5OfAttributes(attributes));
  const received = await call('ReceiveMessage', { QueueUrl: url('reg-proto'), MessageAttributeNames: ['All'] });
  expect(JSON.stringify((received.Messages as Array<{ MessageAttributes?: unknown }>)[0].MessageAttributes)).toBe(JSON.stringify(attributes));
  expect(gateway.t.internalErrors).toEqual([]);
});

test('a tag with a lone surrogate is refused, not stored as other text', async () => {
  await call('CreateQueue', { QueueName: 'reg-tags' });
  for (const request of [
    sqsRequest('TagQueue', `{"QueueUrl":"${url('reg-tags')}","Tags":{"env":"\\ud800"}}`),
    sqsRequest('TagQueue', `{"QueueUrl":"${url('reg-tags')}","Tags":{"\\udc00":"v"}}`),
    sqsRequest('CreateQueue', '{"QueueName":"reg-tags-2","tags":{"env":"a\\ud800"}}'),
  ]) {
    const answer = await send(request);
    expect({ status: answer.status, queryError: answer.headers['x-amzn-query-error'] }).toEqual({ status: 400, queryError: 'InvalidParameterValue;Sender' });
  }
  expect(await call('ListQueueTags', { QueueUrl: url('reg-tags') })).toEqual({ Tags: {} });
  expect((await send(sqsRequest('GetQueueUrl', { QueueName: 'reg-tags-2' }))).status).toBe(400);
});

test(`fuzzing every SQS action with mutated valid requests (seed ${seed})`, async () => {
  const stats = new Map<SqsActionName, ActionStats>(ACTIONS.map((action) => [action, { sent: 0, ok: 0, codes: new Map() }]));
  const statuses = new Map<number, number>();
  const violations = new Map<string, Violation>();
  const record = (signature: string, example: string): void => {
    const known = violations.get(signature);
    if (known === undefined) violations.set(signature, { signature, count: 1, example });
    else {
      known.count += 1;
      if (example.length < known.example.length) known.example = example;
    }
  };
  const started = Date.now();
  let requests = 0;

  await fc.assert(
    fc.asyncProperty(fuzzPlan, async (plan) => {
      if (requests > 0 && requests % RESEED_EVERY === 0) await seedState();
      requests += 1;
      const request = wireRequest(plan, state, hugeBody);
      const internalBefore = gateway.t.internalErrors.length;
      const answer = await sendSqs(request, { port: Number(new URL(gateway.url).port), agent, clock: gateway.t.clock, deadlineMs: DEADLINE_MS });
      if ('failure' in answer) {
        record(`${plan.action}: ${answer.failure}`, describe(plan, request, null));
        return;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const actionStats = stats.get(plan.action);
      if (actionStats !== undefined) {
        actionStats.sent += 1;
        if (answer.status === 200) actionStats.ok += 1;
        const code = codeOf(answer);
        actionStats.codes.set(code, (actionStats.codes.get(code) ?? 0) + 1);
      }
      const violation = violationOf(answer) ?? sendViolationOf(plan.action, request.body, answer);
      if (violation !== null) record(`${plan.action}: ${violation}`, describe(plan, request, answer));
      for (const error of gateway.t.internalErrors.slice(internalBefore)) {
        record(`${plan.action}: internal error ${error.message} (${String(error.cause)})`, describe(plan, request, answer));
      }
      // What valid requests got back feeds later ones: receipts to settle, task handles to cancel.
      if (answer.status === 200 && plan.mutations.length === 0 && plan.raw === null && plan.header === null) {
        const result = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
        if (plan.action === 'ReceiveMessage') state.receipts[plan.variant % 2 === 1 ? 'fifo' : 'standard'].push(...receiptsOf(result));
        if (plan.action === 'StartMessageMoveTask' && typeof result.TaskHandle === 'string') state.taskHandles.push(result.TaskHandle);
      }
    }),
    { seed, numRuns: runs },
  );

  const seconds = (Date.now() - started) / 1000;
  const serverErrors = [...statuses.entries()].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);
  const lines = [
    `sqs fuzz: ${requests} requests over ${ACTIONS.length} actions, ${serverErrors} 5xx, seed ${seed}`,
    `  ${seconds.toFixed(1)} s, ${violations.size} kinds of violation, ${gateway.t.internalErrors.length} internal errors`,
    `  statuses: ${[...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`,
  ];
  if (process.env.SQS_FUZZ_VERBOSE !== undefined) {
    for (const [action, s] of stats) {
      const codes = [...s.codes.entries()].sort(([, a], [, b]) => b - a).map(([code, n]) => `${code}×${n}`).join(' ');
      lines.push(`  ${action.padEnd(29)} ${String(s.sent).padStart(4)} sent, ${String(s.ok).padStart(3)} 200: ${codes}`);
    }
  }
  console.log(lines.join('\n'));
  if (violations.size > 0) {
    console.log(`sqs fuzz violations, each with its smallest example:\n\n${[...violations.values()].map((v) => `● ${v.signature} — ${v.count}×\n${v.example}`).join('\n\n')}`);
  }

  expect(requests).toBe(runs);
  expect([...violations.values()].map((v) => `${v.signature} — ${v.count}×`)).toEqual([]);
  expect(gateway.t.internalErrors).toEqual([]);
  // The fuzz got past the door: every action answered 200 at least once (a move task is finished before its
  // handle is known, so CancelMessageMoveTask never can), and every action was refused in more than one way.
  const neverOk = ACTIONS.filter((action) => action !== 'CancelMessageMoveTask' && (stats.get(action)?.ok ?? 0) === 0);
  expect(neverOk).toEqual([]);
  const fewCodes = ACTIONS.filter((action) => (stats.get(action)?.codes.size ?? 0) < 3);
  expect(fewCodes).toEqual([]);
  // And it still works: the seeded queues come back and answer.
  await seedState();
  expect(await call('GetQueueUrl', { QueueName: QUEUES.fifo })).toEqual({ QueueUrl: url(QUEUES.fifo) });
});
