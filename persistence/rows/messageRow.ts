import type { StoredMessage } from '../store';

/** A row of `messages` as a SELECT of its columns gives it. */
export interface RawMessage {
  id: number;
  /** The id the message was produced with, when it was moved here from another queue; null: `id`. */
  original_id: number | null;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  headers: string;
  content_type: string;
  value: Buffer;
  group_id: string | null;
}

export function toStoredMessage(raw: RawMessage): StoredMessage {
  return {
    id: String(raw.id),
    publicId: String(raw.original_id ?? raw.id),
    partition: raw.partition,
    offset: raw.offset,
    timestamp: raw.timestamp,
    key: raw.key,
    headers: parseHeaders(raw.headers),
    contentType: raw.content_type,
    value: raw.value,
    group: raw.group_id,
  };
}

/** Stored headers (a JSON object); most messages have none, and skip the parse. */
export function parseHeaders(json: string): Record<string, string> {
  return json === '{}' ? {} : (JSON.parse(json) as Record<string, string>);
}

/**
 * A message id as a client hands it back (in a receipt, a browse position):
 * the decimal row id, or null for text that cannot be one.
 */
export function messageIdOf(text: string): number | null {
  return /^\d{1,15}$/.test(text) ? Number(text) : null;
}
