import { StoreError } from '../errors';
import type { QueueSettings, TopicSettings } from '../store';

/** Whether `a` and `b` hold the same value (===) in each of `fields`. */
function sameFields<T>(a: T, b: T, fields: ReadonlyArray<keyof T>): boolean {
  return fields.every((field) => a[field] === b[field]);
}

const QUEUE_FIELDS: ReadonlyArray<Exclude<keyof QueueSettings, 'tags' | 'sqsAttributes' | 'redriveAllowPolicy'>> = [
  'visibilityTimeoutMs',
  'maxDeliveries',
  'deadLetterQueue',
  'delayMs',
  'retentionMs',
  'maxMessageBytes',
  'maxStoredMessages',
  'maxStoredBytes',
  'ordering',
  'contentBasedDeduplication',
  'deduplicationScope',
  'receiveWaitMs',
];

const TOPIC_FIELDS: ReadonlyArray<keyof TopicSettings> = [
  'partitions',
  'retentionMs',
  'retentionBytes',
  'maxMessageBytes',
  'maxStoredMessages',
  'maxStoredBytes',
];

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** Whether a queue's PUT changes nothing: it then writes nothing either. */
export function sameQueueSettings(a: QueueSettings, b: QueueSettings): boolean {
  return (
    sameFields(a, b, QUEUE_FIELDS) &&
    sameTags(a.tags, b.tags) &&
    // String maps, compared as tags are.
    sameTags(a.sqsAttributes, b.sqsAttributes) &&
    JSON.stringify(a.redriveAllowPolicy) === JSON.stringify(b.redriveAllowPolicy)
  );
}

/** Whether a topic's PUT changes nothing: it then writes nothing either. */
export function sameTopicSettings(a: TopicSettings, b: TopicSettings): boolean {
  return sameFields(a, b, TOPIC_FIELDS);
}

/** A topic's partitions may grow, never shrink: `partitions_cannot_shrink` for a PUT with fewer than it has. */
export function checkPartitionsGrow(name: string, existing: TopicSettings, settings: TopicSettings): void {
  if (settings.partitions < existing.partitions) {
    throw new StoreError({ code: 'partitions_cannot_shrink', topic: name, partitions: existing.partitions });
  }
}
