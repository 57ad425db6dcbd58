import type { QueueSettings, RedriveAllowPolicy } from '../../persistence/store';
import { MAX_DEAD_LETTER_SOURCES, type QueueSettingsView, type QueueView } from '../../queue/queueService';
import { SqsError } from './errors';
import { isSqsText } from './messageAttributes';
import { nameFromArn, queueArn } from './queueNames';

/**
 * SQS queue attributes over mqgate queue settings: each attribute's name,
 * how its text becomes settings (SetQueueAttributes, CreateQueue) and how
 * settings and stats are shown (GetQueueAttributes). All values are strings
 * both ways; times are seconds where settings keep milliseconds.
 */
interface AttributeMapping {
  /** The settings the text stands for; absent: the attribute cannot be set. */
  parse?: (value: string) => Partial<QueueSettings>;
  /** What GetQueueAttributes shows; null: nothing (not set, or not this kind of queue). */
  show: (queue: QueueView) => string | null;
  /** FifoQueue: fixed when the queue is created. */
  createOnly?: boolean;
  /** An attribute only a FIFO queue has: on a standard queue, InvalidAttributeName whatever its value. */
  fifoOnly?: boolean;
}

const invalidValue = (name: string): SqsError => new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);

function integer(name: string, text: string, min: number, max: number): number {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw invalidValue(name);
  return value;
}

/** Seconds in [min, max] as the milliseconds of `field`; shown back in whole seconds. */
function seconds(name: string, field: 'visibilityTimeoutMs' | 'delayMs' | 'retentionMs' | 'receiveWaitMs', min: number, max: number): AttributeMapping {
  return {
    parse: (text) => ({ [field]: integer(name, text, min, max) * 1000 }),
    show: (queue) => String(Math.floor(queue[field] / 1000)),
  };
}

function flag(name: string, text: string): boolean {
  if (text !== 'true' && text !== 'false') throw invalidValue(name);
  return text === 'true';
}

const fifoOnly = (queue: QueueView, value: string): string | null => (queue.ordering === 'fifo' ? value : null);

/** What a redrive policy may hold, and nothing else. */
const REDRIVE_POLICY_KEYS = ['deadLetterTargetArn', 'maxReceiveCount'];

/** `{"deadLetterTargetArn": "arn:…:dlq", "maxReceiveCount": 5}`; the count may be a number or a string; '' removes the policy. */
function parseRedrivePolicy(text: string): Partial<QueueSettings> {
  if (text === '') return { deadLetterQueue: null, maxDeliveries: null };
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw invalidValue('RedrivePolicy');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw invalidValue('RedrivePolicy');
  const unknown = Object.keys(policy).find((key) => !REDRIVE_POLICY_KEYS.includes(key));
  if (unknown !== undefined) {
    throw new SqsError('InvalidParameterValue', `Value ${text} for parameter RedrivePolicy is invalid. Reason: Unknown attribute ${unknown} in the redrive policy.`);
  }
  const { deadLetterTargetArn, maxReceiveCount } = policy as Record<string, unknown>;
  const target = typeof deadLetterTargetArn === 'string' ? nameFromArn(deadLetterTargetArn) : null;
  if (target === null) {
    throw new SqsError('InvalidParameterValue', `Value ${text} for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.`);
  }
  const count = typeof maxReceiveCount === 'number' ? String(maxReceiveCount) : maxReceiveCount;
  if (typeof count !== 'string') {
    throw new SqsError('InvalidParameterValue', `Value ${text} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: maxReceiveCount.`);
  }
  return { deadLetterQueue: target, maxDeliveries: integer('RedrivePolicy', count, 1, 1000) };
}

function showRedrivePolicy(queue: QueueView): string | null {
  if (queue.deadLetterQueue === null || queue.maxDeliveries === null) return null;
  return JSON.stringify({ deadLetterTargetArn: queueArn(queue.deadLetterQueue), maxReceiveCount: queue.maxDeliveries });
}

/** A JSON object, or InvalidAttributeValue for `name`. */
function jsonObject(name: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidValue(name);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidValue(name);
  return value as Record<string, unknown>;
}

const DEDUPLICATION_SCOPES: ReadonlyArray<QueueSettings['deduplicationScope']> = ['queue', 'messageGroup'];
const REDRIVE_PERMISSIONS: ReadonlyArray<RedriveAllowPolicy['permission']> = ['allowAll', 'denyAll', 'byQueue'];
/** What a redrive allow policy may hold, and nothing else. */
const REDRIVE_ALLOW_POLICY_KEYS = ['redrivePermission', 'sourceQueueArns'];

/**
 * `{"redrivePermission": "byQueue", "sourceQueueArns": ["arn:…:orders"]}`:
 * byQueue with 1 to 10 queue ARNs (queues that need not exist yet), allowAll
 * and denyAll with none; '' removes the policy (allowAll).
 */
function parseRedriveAllowPolicy(text: string): Partial<QueueSettings> {
  if (text === '') return { redriveAllowPolicy: null };
  const policy = jsonObject('RedriveAllowPolicy', text);
  const invalid = (reason: string): SqsError =>
    new SqsError('InvalidParameterValue', `Value ${text} for parameter RedriveAllowPolicy is invalid. Reason: ${reason}`);
  const unknown = Object.keys(policy).find((key) => !REDRIVE_ALLOW_POLICY_KEYS.includes(key));
  if (unknown !== undefined) throw invalid(`Unknown attribute ${unknown} in the redrive allow policy.`);
  const permission = REDRIVE_PERMISSIONS.find((known) => known === policy.redrivePermission);
  if (permission === undefined) throw invalid('redrivePermission must be allowAll, denyAll or byQueue.');
  const arns = policy.sourceQueueArns ?? [];
  if (!Array.isArray(arns)) throw invalid('sourceQueueArns must be a list of queue ARNs.');
  const sourceQueues = arns.map((arn: unknown) => (typeof arn === 'string' ? nameFromArn(arn) : null));
  if (sourceQueues.some((queue) => queue === null)) throw invalid('sourceQueueArns must be a list of queue ARNs.');
  if (permission === 'byQueue' && (arns.length < 1 || arns.length > MAX_DEAD_LETTER_SOURCES)) {
    throw invalid(`byQueue needs 1 to ${MAX_DEAD_LETTER_SOURCES} sourceQueueArns.`);
  }
  if (permission !== 'byQueue' && arns.length > 0) throw invalid('sourceQueueArns can only be given with byQueue.');
  return { redriveAllowPolicy: { permission, sourceQueues: sourceQueues as string[] } };
}

function showRedriveAllowPolicy(queue: QueueView): string | null {
  const policy = queue.redriveAllowPolicy;
  if (policy === null) return null;
  const arns = policy.permission === 'byQueue' ? { sourceQueueArns: policy.sourceQueues.map(queueArn) } : {};
  return JSON.stringify({ redrivePermission: policy.permission, ...arns });
}

/** One of `values`, or InvalidAttributeValue for `name`. */
function oneOf<T extends string>(name: string, text: string, values: readonly T[]): T {
  const value = values.find((known) => known === text);
  if (value === undefined) throw invalidValue(name);
  return value;
}

/**
 * Attributes kept for SQS clients (QueueSettings.sqsAttributes): the text as
 * `value` reads it (or refuses it); '' removes the attribute. Unset, they
 * show their SQS default, if they have one (DEFAULT_KEPT).
 */
function kept(name: string, value: (text: string) => string): AttributeMapping {
  return {
    parse: (text) => ({ sqsAttributes: { [name]: text === '' ? '' : value(text) } }),
    show: (queue) => keptValue(queue, name),
  };
}

/** What an attribute kept for SQS clients shows when it was never set: SQS's default. */
const DEFAULT_KEPT: Record<string, string> = { SqsManagedSseEnabled: 'false', FifoThroughputLimit: 'perQueue' };

function keptValue(queue: Pick<QueueSettings, 'sqsAttributes'>, name: string): string | null {
  return queue.sqsAttributes[name] ?? DEFAULT_KEPT[name] ?? null;
}

/** A KMS key id or alias, as SQS takes it: text of up to 2048 characters (no key is looked up here). */
function kmsKeyId(text: string): string {
  if (text.length > 2048 || !isSqsText(text)) throw invalidValue('KmsMasterKeyId');
  return text;
}

const readOnly = (show: (queue: QueueView) => string | null): AttributeMapping => ({ show });

const ATTRIBUTES: Record<string, AttributeMapping> = {
  VisibilityTimeout: seconds('VisibilityTimeout', 'visibilityTimeoutMs', 0, 43_200),
  DelaySeconds: seconds('DelaySeconds', 'delayMs', 0, 900),
  MessageRetentionPeriod: seconds('MessageRetentionPeriod', 'retentionMs', 60, 1_209_600),
  ReceiveMessageWaitTimeSeconds: seconds('ReceiveMessageWaitTimeSeconds', 'receiveWaitMs', 0, 20),
  MaximumMessageSize: {
    parse: (text) => ({ maxMessageBytes: integer('MaximumMessageSize', text, 1024, 1_048_576) }),
    show: (queue) => String(queue.maxMessageBytes),
  },
  RedrivePolicy: { parse: parseRedrivePolicy, show: showRedrivePolicy },
  FifoQueue: {
    parse: (text) => ({ ordering: flag('FifoQueue', text) ? 'fifo' : 'standard' }),
    show: (queue) => fifoOnly(queue, 'true'),
    createOnly: true,
  },
  ContentBasedDeduplication: {
    parse: (text) => ({ contentBasedDeduplication: flag('ContentBasedDeduplication', text) }),
    show: (queue) => fifoOnly(queue, String(queue.contentBasedDeduplication)),
  },
  DeduplicationScope: {
    parse: (text) => ({ deduplicationScope: oneOf('DeduplicationScope', text, DEDUPLICATION_SCOPES) }),
    show: (queue) => fifoOnly(queue, queue.deduplicationScope),
    fifoOnly: true,
  },
  // Kept, and changes nothing: the gateway has no throughput quota to apply it to. Only with per-group
  // deduplication may it be perMessageGroupId (checkThroughputLimit); without, the limit is the queue's.
  FifoThroughputLimit: {
    ...kept('FifoThroughputLimit', (text) => oneOf('FifoThroughputLimit', text, ['perQueue', 'perMessageGroupId'])),
    show: (queue) => fifoOnly(queue, queue.deduplicationScope === 'messageGroup' ? (keptValue(queue, 'FifoThroughputLimit') as string) : 'perQueue'),
    fifoOnly: true,
  },
  // Kept for SQS clients' setup to read back, and nothing more: messages are stored as they are sent, in the
  // SQLite file or the PostgreSQL database, unencrypted by the gateway (README, "Coming from SQS").
  SqsManagedSseEnabled: kept('SqsManagedSseEnabled', (text) => String(flag('SqsManagedSseEnabled', text))),
  KmsMasterKeyId: kept('KmsMasterKeyId', kmsKeyId),
  KmsDataKeyReusePeriodSeconds: kept('KmsDataKeyReusePeriodSeconds', (text) => String(integer('KmsDataKeyReusePeriodSeconds', text, 60, 86_400))),
  // Kept for SQS clients, not enforced: access is what the gateway's keys and scopes allow (README).
  Policy: kept('Policy', (text) => {
    jsonObject('Policy', text);
    return text;
  }),
  RedriveAllowPolicy: { parse: parseRedriveAllowPolicy, show: showRedriveAllowPolicy },
  QueueArn: readOnly((queue) => queueArn(queue.name)),
  ApproximateNumberOfMessages: readOnly((queue) => String(queue.stats.ready)),
  ApproximateNumberOfMessagesNotVisible: readOnly((queue) => String(queue.stats.inFlight)),
  ApproximateNumberOfMessagesDelayed: readOnly((queue) => String(queue.stats.delayed)),
  CreatedTimestamp: readOnly((queue) => String(Math.floor(queue.createdAt / 1000))),
  LastModifiedTimestamp: readOnly((queue) => String(Math.floor(queue.updatedAt / 1000))),
};

const unknownAttribute = (name: string): SqsError => new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);

/** One attribute's settings; InvalidAttributeName for one that does not exist or cannot be set here. */
function parseOne(name: string, value: string, creating: boolean): Partial<QueueSettings> {
  const mapping = Object.hasOwn(ATTRIBUTES, name) ? ATTRIBUTES[name] : undefined;
  if (mapping?.parse === undefined || (mapping.createOnly === true && !creating)) throw unknownAttribute(name);
  return mapping.parse(value);
}

/** Settings `part` added to `all`, the attributes kept for SQS clients added to theirs. */
function merged(all: Partial<QueueSettings>, part: Partial<QueueSettings>): Partial<QueueSettings> {
  if (part.sqsAttributes === undefined) return { ...all, ...part };
  return { ...all, ...part, sqsAttributes: { ...all.sqsAttributes, ...part.sqsAttributes } };
}

/**
 * The settings a map of attributes stands for (CreateQueue with `creating`,
 * SetQueueAttributes without). Attributes kept for SQS clients are only
 * those given, '' for one removed: keptOver makes them the queue's.
 */
export function settingsFrom(attributes: Record<string, string>, creating: boolean): Partial<QueueSettings> {
  return Object.entries(attributes).reduce<Partial<QueueSettings>>((all, [name, value]) => merged(all, parseOne(name, value, creating)), {});
}

/** `changes` with the attributes kept for SQS clients set over `current` ones ('' removes one). */
export function keptOver(current: Record<string, string>, changes: Partial<QueueSettings>): Partial<QueueSettings> {
  if (changes.sqsAttributes === undefined) return changes;
  const all = Object.entries({ ...current, ...changes.sqsAttributes }).filter(([, value]) => value !== '');
  return { ...changes, sqsAttributes: Object.fromEntries(all) };
}

/** InvalidAttributeName for an attribute of FIFO queues given for a queue that is not one, as SQS words it. */
export function checkFifoAttributes(attributes: Record<string, string>, ordering: QueueSettings['ordering']): void {
  if (ordering === 'fifo') return;
  const fifoAttribute = Object.keys(attributes).find((name) => Object.hasOwn(ATTRIBUTES, name) && ATTRIBUTES[name].fifoOnly === true);
  if (fifoAttribute !== undefined) {
    throw new SqsError('InvalidAttributeName', `You can specify the ${fifoAttribute} only when FifoQueue is set to true.`);
  }
}

/** SQS's rule: a FIFO throughput limit per message group needs deduplication per message group. */
export function checkThroughputLimit(settings: Pick<QueueSettings, 'deduplicationScope' | 'sqsAttributes'>): void {
  if (settings.sqsAttributes.FifoThroughputLimit === 'perMessageGroupId' && settings.deduplicationScope !== 'messageGroup') {
    throw new SqsError(
      'InvalidAttributeValue',
      'Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is allowed only when DeduplicationScope is messageGroup.',
    );
  }
}

/** Whether the queue holds `setting` in `field`; an attribute kept for SQS clients unset holds its SQS default. */
function holds(queue: QueueSettingsView, field: keyof QueueSettings, setting: unknown): boolean {
  if (field === 'sqsAttributes') {
    return Object.entries(setting as Record<string, string>).every(([name, value]) => (keptValue(queue, name) ?? '') === value);
  }
  // Values and plain objects alike (a redrive allow policy): both are built in one key order.
  return JSON.stringify(queue[field]) === JSON.stringify(setting);
}

/** The first attribute whose value differs from the queue's (CreateQueue of an existing queue), or null. */
export function differingAttribute(queue: QueueSettingsView, attributes: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = Object.entries(parseOne(name, value, true)) as Array<[keyof QueueSettings, unknown]>;
    if (wanted.some(([field, setting]) => !holds(queue, field, setting))) return name;
  }
  return null;
}

/** GetQueueAttributes: the asked-for attributes (`All`: every one) that have a value. */
export function attributesOf(queue: QueueView, names: string[]): Record<string, string> {
  const wanted = names.includes('All') ? Object.keys(ATTRIBUTES) : names;
  const shown: Record<string, string> = {};
  for (const name of wanted) {
    if (!Object.hasOwn(ATTRIBUTES, name)) throw unknownAttribute(name);
    const value = ATTRIBUTES[name].show(queue);
    if (value !== null) shown[name] = value;
  }
  return shown;
}
