import type { QueueSettings } from '../../persistence/store';
import type { QueueSettingsView, QueueView } from '../../queue/queueService';
import { SqsError } from './errors';
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

/** Attributes whose only value is mqgate's behaviour: accepted with that value and no other. */
function fixed(name: string, value: string, show: (queue: QueueView) => string | null): AttributeMapping {
  return {
    parse: (text) => {
      if (text !== value) throw invalidValue(name);
      return {};
    },
    show,
  };
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
  DeduplicationScope: fixed('DeduplicationScope', 'queue', (queue) => fifoOnly(queue, 'queue')),
  FifoThroughputLimit: fixed('FifoThroughputLimit', 'perQueue', (queue) => fifoOnly(queue, 'perQueue')),
  // Messages are stored as they are sent: accepting 'true' would claim an encryption at rest that does not happen.
  SqsManagedSseEnabled: fixed('SqsManagedSseEnabled', 'false', () => 'false'),
  QueueArn: readOnly((queue) => queueArn(queue.name)),
  ApproximateNumberOfMessages: readOnly((queue) => String(queue.stats.ready)),
  ApproximateNumberOfMessagesNotVisible: readOnly((queue) => String(queue.stats.inFlight)),
  ApproximateNumberOfMessagesDelayed: readOnly((queue) => String(queue.stats.delayed)),
  CreatedTimestamp: readOnly((queue) => String(Math.floor(queue.createdAt / 1000))),
  LastModifiedTimestamp: readOnly((queue) => String(Math.floor(queue.updatedAt / 1000))),
  // Known to SQS, not kept by mqgate: asked for, they show nothing, as unset ones do in SQS.
  Policy: readOnly(() => null),
  RedriveAllowPolicy: readOnly(() => null),
  KmsMasterKeyId: readOnly(() => null),
  KmsDataKeyReusePeriodSeconds: readOnly(() => null),
};

const unknownAttribute = (name: string): SqsError => new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);

/** One attribute's settings; InvalidAttributeName for one that does not exist or cannot be set here. */
function parseOne(name: string, value: string, creating: boolean): Partial<QueueSettings> {
  const mapping = Object.hasOwn(ATTRIBUTES, name) ? ATTRIBUTES[name] : undefined;
  if (mapping?.parse === undefined || (mapping.createOnly === true && !creating)) throw unknownAttribute(name);
  return mapping.parse(value);
}

/** The settings a map of attributes stands for (CreateQueue with `creating`, SetQueueAttributes without). */
export function settingsFrom(attributes: Record<string, string>, creating: boolean): Partial<QueueSettings> {
  return Object.entries(attributes).reduce<Partial<QueueSettings>>((all, [name, value]) => ({ ...all, ...parseOne(name, value, creating) }), {});
}

/** The first attribute whose value differs from the queue's (CreateQueue of an existing queue), or null. */
export function differingAttribute(queue: QueueSettingsView, attributes: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = Object.entries(parseOne(name, value, true)) as Array<[keyof QueueSettings, unknown]>;
    if (wanted.some(([field, setting]) => queue[field] !== setting)) return name;
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
