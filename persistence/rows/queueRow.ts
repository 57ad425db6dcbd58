import { StoreError } from '../errors';
import type { ClaimOptions, QueueRecord, RedriveAllowPolicy, SubscriptionRecord, SubscriptionRef } from '../store';
import type { AppendTarget } from './appendTarget';

/** The name of the one queue subscription of a queue; user names cannot start with `$`. */
export const QUEUE_SUBSCRIPTION = '$queue';

/**
 * A queue subscription as the other operations of a backend need it: a
 * queue's own (kind 'queue': acked messages are deleted) or one of a topic's
 * (kind 'topic': messages stay for the topic's other readers).
 */
export interface QueueRow extends Omit<QueueRecord, 'tags' | 'subscriptionId' | 'sqsAttributes'> {
  /** The subscription id, as the backends keep it: a row id. */
  subscriptionId: number;
  kind: 'queue' | 'topic';
  /** The subscription's name within a topic; null for a queue's own. */
  subscription: string | null;
  topicId: number;
  deadLetterTopicId: number | null;
  acked: number;
  deadLettered: number;
  /** Delivery rows of the subscription, in every state, and their value bytes (kept by the schema's triggers on deliveries). */
  waiting: number;
  waitingBytes: number;
  /** The SQS attributes kept as set, as stored: parsed only for the record (produce, fetch and ack never need them). */
  sqsAttributesJson: string;
}

/** The columns of a queue subscription's SELECT: its topic, itself, and the name of its dead-letter queue. */
export interface RawQueueRow {
  topic_id: number;
  name: string;
  kind: 'queue' | 'topic';
  subscription_name: string;
  retention_ms: number;
  max_message_bytes: number;
  max_stored_messages: number | null;
  max_stored_bytes: number | null;
  created_at: number;
  updated_at: number;
  subscription_id: number;
  visibility_timeout_ms: number;
  max_deliveries: number | null;
  dead_letter_topic_id: number | null;
  dead_letter_queue: string | null;
  delay_ms: number;
  acked: number;
  dead_lettered: number;
  waiting: number;
  waiting_bytes: number;
  ordering: 'standard' | 'fifo';
  /** A boolean column: 0 or 1 where the engine has no booleans. */
  content_based_deduplication: boolean | number;
  receive_wait_ms: number;
  deduplication_scope: 'queue' | 'messageGroup';
  /** JSON of a RedriveAllowPolicy; null for none. */
  redrive_allow_policy: string | null;
  /** JSON of the SQS attributes kept as set (a string map). */
  sqs_attributes: string;
}

export function toQueueRow(raw: RawQueueRow): QueueRow {
  return {
    name: raw.name,
    kind: raw.kind,
    subscription: raw.kind === 'topic' ? raw.subscription_name : null,
    topicId: raw.topic_id,
    subscriptionId: raw.subscription_id,
    visibilityTimeoutMs: raw.visibility_timeout_ms,
    maxDeliveries: raw.max_deliveries,
    deadLetterQueue: raw.dead_letter_queue,
    deadLetterTopicId: raw.dead_letter_topic_id,
    delayMs: raw.delay_ms,
    retentionMs: raw.retention_ms,
    maxMessageBytes: raw.max_message_bytes,
    maxStoredMessages: raw.max_stored_messages,
    maxStoredBytes: raw.max_stored_bytes,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    acked: raw.acked,
    deadLettered: raw.dead_lettered,
    waiting: raw.waiting,
    waitingBytes: raw.waiting_bytes,
    ordering: raw.ordering,
    contentBasedDeduplication: Boolean(raw.content_based_deduplication),
    deduplicationScope: raw.deduplication_scope,
    redriveAllowPolicy: raw.redrive_allow_policy === null ? null : (JSON.parse(raw.redrive_allow_policy) as RedriveAllowPolicy),
    receiveWaitMs: raw.receive_wait_ms,
    sqsAttributesJson: raw.sqs_attributes,
  };
}

/** The public face of a queue's row: internal ids and counters stripped, and its tags (rows of queue_tags, read apart: produce, fetch and ack never need them). */
export function toQueueRecord(row: QueueRow, tags: Array<{ key: string; value: string }>): QueueRecord {
  return {
    name: row.name,
    subscriptionId: String(row.subscriptionId),
    visibilityTimeoutMs: row.visibilityTimeoutMs,
    maxDeliveries: row.maxDeliveries,
    deadLetterQueue: row.deadLetterQueue,
    delayMs: row.delayMs,
    retentionMs: row.retentionMs,
    maxMessageBytes: row.maxMessageBytes,
    maxStoredMessages: row.maxStoredMessages,
    maxStoredBytes: row.maxStoredBytes,
    ordering: row.ordering,
    contentBasedDeduplication: row.contentBasedDeduplication,
    deduplicationScope: row.deduplicationScope,
    redriveAllowPolicy: row.redriveAllowPolicy,
    receiveWaitMs: row.receiveWaitMs,
    tags: Object.fromEntries(tags.map(({ key, value }) => [key, value])),
    sqsAttributes: JSON.parse(row.sqsAttributesJson) as Record<string, string>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toSubscriptionRecord(row: QueueRow): SubscriptionRecord {
  return {
    topic: row.name,
    name: row.subscription ?? QUEUE_SUBSCRIPTION,
    visibilityTimeoutMs: row.visibilityTimeoutMs,
    maxDeliveries: row.maxDeliveries,
    deadLetterQueue: row.deadLetterQueue,
  };
}

/** The refusal of a ref that names no queue subscription: `queue_not_found` / `subscription_not_found`. */
export function subscriptionNotFound(ref: SubscriptionRef): StoreError {
  return 'queue' in ref
    ? new StoreError({ code: 'queue_not_found', queue: ref.queue })
    : new StoreError({ code: 'subscription_not_found', topic: ref.topic, subscription: ref.subscription });
}

/** A queue as a place to append to: its topic and its one subscription; no quota unless the caller adds it. */
export function queueTarget(row: QueueRow): AppendTarget {
  return { name: row.name, topicId: row.topicId, subscriptionIds: [row.subscriptionId], fifo: row.ordering === 'fifo', kind: 'queue', quota: null };
}

/** When a claim's leases end: its lease length (the queue's when it names none) from now, and its grace for the gateways' clocks. */
export function leaseEnd(row: QueueRow, options: ClaimOptions): number {
  return options.now + (options.visibilityTimeoutMs ?? row.visibilityTimeoutMs) + (options.leaseGraceMs ?? 0);
}
