import fc from 'fast-check';

/**
 * What the SQS fuzz sends: for every action, a valid example request built
 * from the live state (real queues, real receipts), and mutations of it, so
 * that a request gets past the door to the deep checks before one member of
 * it is wrong. The mutations are data (what to change, which member by
 * index), drawn by fast-check, and applied only when the request is sent:
 * a run repeats from its seed.
 */

export const ACTIONS = [
  'CreateQueue',
  'GetQueueUrl',
  'ListQueues',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'PurgeQueue',
  'DeleteQueue',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'TagQueue',
  'UntagQueue',
  'ListQueueTags',
  'StartMessageMoveTask',
  'ListMessageMoveTasks',
  'CancelMessageMoveTask',
  'ListDeadLetterSourceQueues',
  'AddPermission',
  'RemovePermission',
] as const;
export type SqsActionName = (typeof ACTIONS)[number];

export const ACCOUNT = '000000000000';

/** The queues the fuzz keeps alive (see seedState), by role. */
export const QUEUES = {
  standard: 'fz-standard',
  deadLetter: 'fz-dlq',
  fifo: 'fz-orders.fifo',
  fifoDeadLetter: 'fz-orders-dlq.fifo',
  /** Created, purged and deleted by the fuzz itself. */
  scratch: 'fz-scratch',
} as const;

export const arnOf = (name: string): string => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;

/** The permission label the test's seeding adds to the standard and FIFO queues, for RemovePermission to remove. */
export const SEEDED_LABEL = 'fz-seeded';

/** The live state examples are built from: refreshed by the test as it goes. */
export interface FuzzState {
  origin: string;
  receipts: { standard: string[]; fifo: string[] };
  taskHandles: string[];
  /** Grows with every send, so that FIFO deduplication ids are new. */
  sends: number;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const urlOf = (state: FuzzState, name: string): string => `${state.origin}/${ACCOUNT}/${name}`;

/** A base64url receipt of our own format naming a delivery that does not exist. */
export const FORGED_RECEIPT = Buffer.from('999999999999999.999999999999999.999999999').toString('base64url');

function takeReceipt(state: FuzzState, fifo: boolean): string {
  return (fifo ? state.receipts.fifo : state.receipts.standard).pop() ?? FORGED_RECEIPT;
}

const attributes: JsonObject = {
  color: { DataType: 'String', StringValue: 'blue' },
  count: { DataType: 'Number', StringValue: '7.5e3' },
  blob: { DataType: 'Binary', BinaryValue: 'AQID' },
  custom: { DataType: 'String.custom_type', StringValue: 'x' },
};

/**
 * A valid request of each action; `variant` picks between the standard and
 * the FIFO queue where both matter. Each should answer 200 on a fresh state.
 */
export function validExample(action: SqsActionName, state: FuzzState, variant: number): JsonObject {
  const fifo = variant % 2 === 1;
  const queue = fifo ? QUEUES.fifo : QUEUES.standard;
  const send = (): JsonObject => {
    state.sends += 1;
    return fifo
      ? { MessageBody: `fifo ${state.sends}`, MessageGroupId: `g${state.sends % 3}`, MessageDeduplicationId: `d-${state.sends}` }
      : {
          MessageBody: `hello ${state.sends} ✓`,
          DelaySeconds: 0,
          MessageAttributes: attributes,
          MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' } },
        };
  };
  switch (action) {
    case 'CreateQueue':
      return { QueueName: QUEUES.scratch, Attributes: { VisibilityTimeout: '30', DelaySeconds: '0' }, tags: { team: 'fuzz' } };
    case 'GetQueueUrl':
      return { QueueName: queue };
    case 'ListQueues':
      return { QueueNamePrefix: 'fz-', MaxResults: 2, NextToken: Buffer.from('fz-a').toString('base64url') };
    case 'GetQueueAttributes':
      return { QueueUrl: urlOf(state, queue), AttributeNames: fifo ? ['All'] : ['VisibilityTimeout', 'QueueArn', 'RedrivePolicy'] };
    case 'SetQueueAttributes':
      return fifo
        ? {
            QueueUrl: urlOf(state, queue),
            Attributes: {
              ContentBasedDeduplication: 'false',
              DeduplicationScope: 'messageGroup',
              FifoThroughputLimit: 'perMessageGroupId',
              RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arnOf(QUEUES.fifoDeadLetter), maxReceiveCount: '5' }),
            },
          }
        : {
            QueueUrl: urlOf(state, queue),
            Attributes: {
              VisibilityTimeout: '30',
              MaximumMessageSize: '262144',
              RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arnOf(QUEUES.deadLetter), maxReceiveCount: 5 }),
              RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'allowAll' }),
              Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
              SqsManagedSseEnabled: 'false',
              KmsDataKeyReusePeriodSeconds: '300',
            },
          };
    case 'PurgeQueue':
    case 'DeleteQueue':
      return { QueueUrl: urlOf(state, QUEUES.scratch) };
    case 'SendMessage':
      return { QueueUrl: urlOf(state, queue), ...send() };
    case 'SendMessageBatch':
      return { QueueUrl: urlOf(state, queue), Entries: [{ Id: 'first', ...send() }, { Id: 'second-2', ...send() }] };
    case 'ReceiveMessage':
      return {
        QueueUrl: urlOf(state, queue),
        MaxNumberOfMessages: 2,
        VisibilityTimeout: 600,
        WaitTimeSeconds: 0,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
        MessageAttributeNames: ['color', 'c.*'],
        // A new attempt each time (a FIFO queue's; a standard queue ignores it).
        ReceiveRequestAttemptId: `fz-attempt-${(state.sends += 1)}`,
      };
    case 'DeleteMessage':
      return { QueueUrl: urlOf(state, queue), ReceiptHandle: takeReceipt(state, fifo) };
    case 'DeleteMessageBatch':
      return { QueueUrl: urlOf(state, queue), Entries: [{ Id: 'a', ReceiptHandle: takeReceipt(state, fifo) }, { Id: 'b', ReceiptHandle: takeReceipt(state, fifo) }] };
    case 'ChangeMessageVisibility':
      return { QueueUrl: urlOf(state, queue), ReceiptHandle: takeReceipt(state, fifo), VisibilityTimeout: 300 };
    case 'ChangeMessageVisibilityBatch':
      return {
        QueueUrl: urlOf(state, queue),
        Entries: [
          { Id: 'a', ReceiptHandle: takeReceipt(state, fifo), VisibilityTimeout: 300 },
          { Id: 'b', ReceiptHandle: takeReceipt(state, fifo), VisibilityTimeout: 0 },
        ],
      };
    case 'TagQueue':
      return { QueueUrl: urlOf(state, queue), Tags: { env: 'fuzz', owner: 'team-a' } };
    case 'UntagQueue':
      return { QueueUrl: urlOf(state, queue), TagKeys: ['owner'] };
    case 'ListQueueTags':
      return { QueueUrl: urlOf(state, queue) };
    case 'StartMessageMoveTask':
      return { SourceArn: arnOf(fifo ? QUEUES.fifoDeadLetter : QUEUES.deadLetter), MaxNumberOfMessagesPerSecond: 10 };
    case 'ListMessageMoveTasks':
      return { SourceArn: arnOf(fifo ? QUEUES.fifoDeadLetter : QUEUES.deadLetter), MaxResults: 10 };
    case 'ListDeadLetterSourceQueues':
      return { QueueUrl: urlOf(state, fifo ? QUEUES.fifoDeadLetter : QUEUES.deadLetter), MaxResults: 10 };
    case 'AddPermission':
      return { QueueUrl: urlOf(state, queue), Label: `fz-${(state.sends += 1)}`, AWSAccountIds: ['111122223333'], Actions: ['SendMessage', 'ReceiveMessage'] };
    case 'RemovePermission':
      return { QueueUrl: urlOf(state, queue), Label: SEEDED_LABEL };
    case 'CancelMessageMoveTask':
      return { TaskHandle: state.taskHandles[state.taskHandles.length - 1] ?? Buffer.from(JSON.stringify([QUEUES.deadLetter, '00000000-0000-4000-8000-000000000000'])).toString('base64url') };
  }
}

// ---- junk values ----------------------------------------------------------

export const LONG_STRING = 'x'.repeat(300_000);

function nested(depth: number): Json {
  let value: Json = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { deeper: value } : [value];
  return value;
}

const JUNK_CONSTANTS: Json[] = [
  null,
  0,
  1,
  -1,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  0.5,
  -0.000001,
  true,
  false,
  '',
  ' ',
  'x',
  '1',
  '10',
  '-1',
  '1e3',
  'true',
  'All',
  LONG_STRING,
  '\ud800',
  'a\udc00b',
  '\u0000',
  '😀🚀',
  'ünïcödé 中文',
  '%ZZ',
  '../..',
  '__proto__',
  [],
  [1, 'a', null],
  ['All'],
  {},
  { a: { b: { c: [] } } },
  JSON.parse('{"__proto__":{"QueueName":"fz-standard"}}') as Json,
  nested(200),
];

/** Any JSON value, favouring the ones validators trip over. */
export const junk: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...JUNK_CONSTANTS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, 43_201, 901, 11)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
);

// ---- mutations ------------------------------------------------------------

const QUEUE_URL_VARIANTS = [
  'no path',
  'trailing slash',
  'other account',
  'bare path',
  'bare name',
  'bad chars',
  '81 chars',
  'percent-encoded',
  'bad percent',
  'dead-letter',
  'other queue type',
  'query and fragment',
  'unknown queue',
  'arn instead',
] as const;

const RECEIPT_VARIANTS = ['random', 'base64 junk', 'forged', 'other queue', 'empty', 'huge', 'lone surrogate', 'reused'] as const;

const ENTRIES_VARIANTS = ['none', 'eleven', 'duplicate ids', 'not objects', 'bad id', 'long id', 'missing id', 'entries map', 'one good one bad'] as const;

const MAP_VARIANTS = ['non-string values', 'hundred entries', 'proto key', 'empty key', 'bad names', 'array', 'unknown attribute', 'bad values'] as const;

const RAW_BODIES = [
  '',
  ' ',
  'null',
  '[]',
  '"text"',
  '42',
  '{',
  '{"QueueUrl":',
  '{"a":1}garbage',
  '{"QueueName":"fz-standard",}',
  "{'QueueName':'x'}",
  '\ufeff{}',
  '{"__proto__":{"QueueName":"fz-standard"}}',
  '{"QueueName":"x","QueueName":"fz-standard"}',
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  '{"QueueName":"\\ud800"}',
  '{"MaxResults":1e999}',
] as const;

const HEADER_VARIANTS = [
  'no target',
  'unknown action',
  'lower-case action',
  'prototype action',
  'target without service',
  'charset parameter',
  'json content type',
  'text content type',
  'no content type',
  'huge body',
] as const;

export type Mutation =
  | { kind: 'drop'; pick: number }
  | { kind: 'replace'; pick: number; value: Json }
  | { kind: 'add'; pick: number; key: string; value: Json }
  | { kind: 'queueUrl'; variant: (typeof QUEUE_URL_VARIANTS)[number] }
  | { kind: 'receipt'; variant: (typeof RECEIPT_VARIANTS)[number]; bytes: number[] }
  | { kind: 'entries'; variant: (typeof ENTRIES_VARIANTS)[number] }
  | { kind: 'map'; pick: number; variant: (typeof MAP_VARIANTS)[number] };

/** One request to send: an action's example, changed by mutations, or replaced by raw bytes / other headers. */
export interface FuzzPlan {
  action: SqsActionName;
  variant: number;
  mutations: Mutation[];
  raw: (typeof RAW_BODIES)[number] | null;
  header: (typeof HEADER_VARIANTS)[number] | null;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: junk }) },
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), key: fc.constantFrom('Unknown', 'queueurl', 'QueueUrl ', '', '__proto__', 'constructor', 'DestinationArn'), value: junk }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('queueUrl' as const), variant: fc.constantFrom(...QUEUE_URL_VARIANTS) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('receipt' as const), variant: fc.constantFrom(...RECEIPT_VARIANTS), bytes: fc.array(fc.nat(255), { maxLength: 40 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('entries' as const), variant: fc.constantFrom(...ENTRIES_VARIANTS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('map' as const), pick: fc.nat(), variant: fc.constantFrom(...MAP_VARIANTS) }) },
);

/** One request in 15 has a raw body, one in 15 other headers: the rest reach the actions. */
function rarely<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 14, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
}

export const fuzzPlan: fc.Arbitrary<FuzzPlan> = fc.record({
  action: fc.constantFrom(...ACTIONS),
  variant: fc.nat(1),
  // A quarter of the requests are valid, so that the valid paths run (and leave receipts) too.
  mutations: fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) }),
  raw: rarely(fc.constantFrom(...RAW_BODIES)),
  header: rarely(fc.constantFrom(...HEADER_VARIANTS)),
});

type Path = Array<string | number>;

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every member path of a value, depth first (the root excluded). */
function paths(value: Json, at: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => [[...at, i], ...paths(item, [...at, i])]);
  if (isObject(value)) return Object.entries(value).flatMap(([key, item]) => [[...at, key], ...paths(item, [...at, key])]);
  return [];
}

function parentOf(root: JsonObject, path: Path): { parent: Json; key: string | number } {
  let parent: Json = root;
  for (const step of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[step];
  return { parent, key: path[path.length - 1] };
}

/** Puts a copy of `given` at `path` (undefined: removes the member); the drawn values are shared between runs and must stay as drawn. */
function setAt(root: JsonObject, path: Path, given: Json | undefined): void {
  const value = given === undefined ? undefined : structuredClone(given);
  const { parent, key } = parentOf(root, path);
  if (Array.isArray(parent) && typeof key === 'number') {
    if (value === undefined) parent.splice(key, 1);
    else parent[key] = value;
  } else if (isObject(parent)) {
    if (value === undefined) delete parent[key];
    // defineProperty: a `__proto__` member is an own member, as JSON.parse makes it on the other side.
    else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

function randomText(bytes: number[]): string {
  return Buffer.from(bytes).toString('latin1');
}

function receiptVariant(mutationOf: Extract<Mutation, { kind: 'receipt' }>, state: FuzzState, fifo: boolean): Json {
  switch (mutationOf.variant) {
    case 'random':
      return randomText(mutationOf.bytes);
    case 'base64 junk':
      return Buffer.from(mutationOf.bytes).toString('base64');
    case 'forged':
      return FORGED_RECEIPT;
    case 'other queue':
      return takeReceipt(state, !fifo);
    case 'empty':
      return '';
    case 'huge':
      return Buffer.from(LONG_STRING).toString('base64url');
    case 'lone surrogate':
      return `${FORGED_RECEIPT}\ud800`;
    case 'reused':
      return (fifo ? state.receipts.fifo : state.receipts.standard)[0] ?? FORGED_RECEIPT;
  }
}

function queueUrlVariant(variant: (typeof QUEUE_URL_VARIANTS)[number], state: FuzzState, name: string, fifo: boolean): string {
  switch (variant) {
    case 'no path':
      return state.origin;
    case 'trailing slash':
      return `${state.origin}/${ACCOUNT}/${name}/`;
    case 'other account':
      return `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
    case 'bare path':
      return `/${ACCOUNT}/${name}`;
    case 'bare name':
      return name;
    case 'bad chars':
      return `${state.origin}/${ACCOUNT}/bad name!*?\u0000`;
    case '81 chars':
      return `${state.origin}/${ACCOUNT}/${'q'.repeat(81)}`;
    case 'percent-encoded':
      return `${state.origin}/${ACCOUNT}/${encodeURIComponent(name).replace(/-/g, '%2D')}`;
    case 'bad percent':
      return `${state.origin}/${ACCOUNT}/%E0%A4%A`;
    case 'dead-letter':
      return `${state.origin}/${ACCOUNT}/${fifo ? QUEUES.fifoDeadLetter : QUEUES.deadLetter}`;
    case 'other queue type':
      return `${state.origin}/${ACCOUNT}/${fifo ? QUEUES.standard : QUEUES.fifo}`;
    case 'query and fragment':
      return `${state.origin}/${ACCOUNT}/${name}?Action=x#frag`;
    case 'unknown queue':
      return `${state.origin}/${ACCOUNT}/fz-never-created`;
    case 'arn instead':
      return arnOf(name);
  }
}

function entriesVariant(variant: (typeof ENTRIES_VARIANTS)[number], entries: Json[]): Json {
  const first = entries[0] ?? {};
  const copy = (id: string): Json => (isObject(first) ? { ...first, Id: id } : { Id: id });
  switch (variant) {
    case 'none':
      return [];
    case 'eleven':
      return Array.from({ length: 11 }, (_, i) => copy(`e${i}`));
    case 'duplicate ids':
      return [copy('same'), copy('same')];
    case 'not objects':
      return [first, 'entry', 7, null, ['Id']];
    case 'bad id':
      return [copy('bad id!')];
    case 'long id':
      return [copy('i'.repeat(81))];
    case 'missing id':
      return [isObject(first) ? Object.fromEntries(Object.entries(first).filter(([key]) => key !== 'Id')) : {}];
    case 'entries map':
      return { a: first };
    case 'one good one bad':
      return [first, { Id: 'bad', MessageBody: '\u0001', ReceiptHandle: 'nope', VisibilityTimeout: -1 }];
  }
}

const MAP_MEMBERS = new Set(['Attributes', 'Tags', 'tags', 'MessageAttributes', 'MessageSystemAttributes']);

function mapVariant(variant: (typeof MAP_VARIANTS)[number], member: string, current: Json): Json {
  const messageAttribute = member === 'MessageAttributes' || member === 'MessageSystemAttributes';
  const good: Json = messageAttribute ? { DataType: 'String', StringValue: 'v' } : 'v';
  const own = (key: string, value: Json): JsonObject => {
    const map: JsonObject = {};
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
    return map;
  };
  switch (variant) {
    case 'non-string values':
      return { a: 1, b: null, c: [], d: { DataType: 7 }, e: true };
    case 'hundred entries':
      return Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, good]));
    case 'proto key':
      return own('__proto__', good);
    case 'empty key':
      return { '': good };
    case 'bad names':
      return { 'aws.reserved': good, 'mqgate-x': good, 'a..b': good, '.a': good, ['k'.repeat(300)]: good, 'ü': good };
    case 'array':
      return [good];
    case 'unknown attribute':
      return { ...(isObject(current) ? current : {}), NoSuchAttribute: 'x', FifoQueue: 'true', QueueArn: 'arn', Policy: '{}' };
    case 'bad values':
      return messageAttribute
        ? {
            n: { DataType: 'Number', StringValue: 'NaN' },
            b: { DataType: 'Binary', BinaryValue: '@@' },
            l: { DataType: 'String', StringListValues: ['a'] },
            t: { DataType: 'Strange', StringValue: 'x' },
            e: { DataType: 'String', StringValue: '' },
            s: { DataType: 'String', StringValue: '\ud800' },
          }
        : {
            VisibilityTimeout: '99999999999',
            DelaySeconds: '-1',
            MessageRetentionPeriod: '1e3',
            MaximumMessageSize: '1048577',
            RedrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:fz-standard","maxReceiveCount":"0x10"}',
            ReceiveMessageWaitTimeSeconds: '21',
            ContentBasedDeduplication: 'yes',
            [`t${'k'.repeat(200)}`]: 'v'.repeat(300),
          };
  }
}

/** The body an example and its mutations make. */
export function applyMutations(example: JsonObject, mutations: Mutation[], state: FuzzState, variant: number): JsonObject {
  const fifo = variant % 2 === 1;
  const name = fifo ? QUEUES.fifo : QUEUES.standard;
  const root = example;
  for (const m of mutations) {
    const all = paths(root);
    switch (m.kind) {
      case 'drop':
        if (all.length > 0) setAt(root, all[m.pick % all.length], undefined);
        break;
      case 'replace':
        if (all.length > 0) setAt(root, all[m.pick % all.length], m.value);
        break;
      case 'add': {
        const objects = [[] as Path, ...all.filter((path) => isObject(parentOf(root, [...path, 'x']).parent))];
        const at = objects[m.pick % objects.length];
        setAt(root, [...at, m.key], m.value);
        break;
      }
      case 'queueUrl':
        if ('SourceArn' in root) root.SourceArn = m.variant === 'arn instead' ? `${arnOf(name)}:extra` : queueUrlVariant(m.variant, state, name, fifo);
        else if ('QueueName' in root) root.QueueName = queueUrlVariant(m.variant, state, name, fifo).split('/').pop() ?? '';
        else root.QueueUrl = queueUrlVariant(m.variant, state, name, fifo);
        break;
      case 'receipt':
        for (const path of all.filter((p) => p[p.length - 1] === 'ReceiptHandle' || p[p.length - 1] === 'TaskHandle')) {
          setAt(root, path, receiptVariant(m, state, fifo));
        }
        if (all.length > 0 && !all.some((p) => p[p.length - 1] === 'ReceiptHandle')) root.ReceiptHandle = receiptVariant(m, state, fifo);
        break;
      case 'entries':
        root.Entries = entriesVariant(m.variant, Array.isArray(root.Entries) ? root.Entries : []);
        break;
      case 'map': {
        const maps = all.filter((p) => MAP_MEMBERS.has(String(p[p.length - 1])));
        const at = maps.length === 0 ? ['Attributes'] : maps[m.pick % maps.length];
        const { parent, key } = parentOf(root, at);
        const current = isObject(parent) || Array.isArray(parent) ? (parent as Record<string | number, Json>)[key] : null;
        setAt(root, at, mapVariant(m.variant, String(key), current));
        break;
      }
    }
  }
  return root;
}

/** The wire form of a plan: headers and body bytes. */
export interface WireRequest {
  headers: Record<string, string>;
  body: Buffer;
}

export function wireRequest(plan: FuzzPlan, state: FuzzState, hugeBody: Buffer): WireRequest {
  const body =
    plan.raw !== null
      ? Buffer.from(plan.raw, 'utf8')
      : Buffer.from(JSON.stringify(applyMutations(structuredClone(validExample(plan.action, state, plan.variant)), plan.mutations, state, plan.variant)), 'utf8');
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${plan.action}` };
  switch (plan.header) {
    case null:
      break;
    case 'no target':
      delete headers['x-amz-target'];
      break;
    case 'unknown action':
      headers['x-amz-target'] = 'AmazonSQS.AddPermission';
      break;
    case 'lower-case action':
      headers['x-amz-target'] = `AmazonSQS.${plan.action.toLowerCase()}`;
      break;
    case 'prototype action':
      headers['x-amz-target'] = 'AmazonSQS.hasOwnProperty';
      break;
    case 'target without service':
      headers['x-amz-target'] = plan.action;
      break;
    case 'charset parameter':
      headers['content-type'] = 'application/x-amz-json-1.0; charset=utf-8';
      break;
    case 'json content type':
      headers['content-type'] = 'application/json';
      break;
    case 'text content type':
      headers['content-type'] = 'text/plain';
      break;
    case 'no content type':
      delete headers['content-type'];
      break;
    case 'huge body':
      return { headers, body: hugeBody };
  }
  return { headers, body };
}
