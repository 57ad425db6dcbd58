import type { TopicRecord } from '../store';

/** A topic as the other operations of a backend need it: the record plus its id. */
export interface TopicRow extends TopicRecord {
  topicId: number;
}

/** The columns of a topic's SELECT. */
export interface RawTopicRow {
  id: number;
  name: string;
  partitions: number;
  retention_ms: number | null;
  retention_bytes: number | null;
  max_message_bytes: number;
  max_stored_messages: number | null;
  max_stored_bytes: number | null;
  created_at: number;
  updated_at: number;
}

export function toTopicRow(raw: RawTopicRow): TopicRow {
  return {
    topicId: raw.id,
    name: raw.name,
    partitions: raw.partitions,
    retentionMs: raw.retention_ms,
    retentionBytes: raw.retention_bytes,
    maxMessageBytes: raw.max_message_bytes,
    maxStoredMessages: raw.max_stored_messages,
    maxStoredBytes: raw.max_stored_bytes,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
  };
}

export function toTopicRecord({ topicId: _id, ...record }: TopicRow): TopicRecord {
  return record;
}
