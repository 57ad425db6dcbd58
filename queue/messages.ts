import { isUtf8 } from 'node:buffer';
import type { StoredMessage } from '../persistence/store';

export type ValueEncoding = 'json' | 'text' | 'base64';

/** One message of a JSON produce request, as the API accepts it. */
export interface ProduceInput {
  value: unknown;
  valueEncoding?: ValueEncoding;
  contentType?: string;
  key?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  idempotencyKey?: string;
  /** The message group a FIFO queue delivers in order. */
  group?: string;
}

/** A message as every fetch returns it. */
export interface DeliveredMessage {
  id: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  contentType: string;
  value: unknown;
  valueEncoding: ValueEncoding;
  group: string | null;
}

const DEFAULT_CONTENT_TYPE: Record<ValueEncoding, string> = {
  json: 'application/json',
  text: 'text/plain; charset=utf-8',
  base64: 'application/octet-stream',
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Deepest nesting a JSON value may have: deep enough for any document, shallow enough to serialize safely. */
export const MAX_JSON_DEPTH = 100;

/** Whether a parsed JSON value nests deeper than `max`; iterative, so any depth is safe to ask about. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

export type Encoded = { ok: true; value: Buffer; contentType: string } | { ok: false; detail: string };

/**
 * A JSON value's text. `escapeFree`: the value was parsed from UTF-8 JSON
 * with no backslash in it, so none of its strings holds a character that
 * JSON escapes (a quote, a backslash, a control character or a lone
 * surrogate can only be written with one), and a string's text is itself
 * between quotes, as JSON.stringify would write it. JSON.stringify reads a
 * string character by character: 1.1 µs of a 1 KB value.
 */
function jsonText(value: unknown, escapeFree: boolean): string {
  return escapeFree && typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/** The bytes a produced value stands for, or why the value does not fit its encoding. `escapeFree`: see jsonText. */
export function encodeValue(input: ProduceInput, escapeFree = false): Encoded {
  const encoding = input.valueEncoding ?? 'json';
  const contentType = input.contentType ?? DEFAULT_CONTENT_TYPE[encoding];
  switch (encoding) {
    case 'json':
      return nestsDeeperThan(input.value, MAX_JSON_DEPTH)
        ? { ok: false, detail: `The value nests deeper than ${MAX_JSON_DEPTH} levels.` }
        : { ok: true, value: Buffer.from(jsonText(input.value, escapeFree)), contentType };
    case 'text':
      return typeof input.value === 'string'
        ? { ok: true, value: Buffer.from(input.value), contentType }
        : { ok: false, detail: "With valueEncoding 'text' the value must be a string." };
    case 'base64':
      return typeof input.value === 'string' && BASE64.test(input.value)
        ? { ok: true, value: Buffer.from(input.value, 'base64'), contentType }
        : { ok: false, detail: "With valueEncoding 'base64' the value must be a base64 string." };
  }
}

/** The size a message counts against maxMessageBytes: value, key and headers. */
export function messageBytes(value: Buffer, key: string | null, headers: Record<string, string>): number {
  let bytes = value.length + (key === null ? 0 : Buffer.byteLength(key));
  for (const [name, headerValue] of Object.entries(headers)) bytes += Buffer.byteLength(name) + Buffer.byteLength(headerValue);
  return bytes;
}

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

/** `application/json` or any `+json` type: such values are JSON, checked when produced. */
export function isJsonContentType(contentType: string): boolean {
  const mediaType = mediaTypeOf(contentType);
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Whether bytes are one UTF-8 JSON document. */
export function isJsonDocument(bytes: Buffer): boolean {
  if (!isUtf8(bytes)) return false;
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * A JSON value kept as its stored UTF-8 bytes: values of a JSON content type
 * were checked when produced, so a response can carry them without decoding,
 * parsing and serializing them again (api/messagesJson.ts splices them in).
 */
export class RawJson {
  constructor(readonly bytes: Buffer) {}

  /** For any serializer that does not splice: the value itself. */
  toJSON(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}

function isTextType(mediaType: string): boolean {
  return (
    mediaType.startsWith('text/') ||
    mediaType === 'application/xml' ||
    mediaType.endsWith('+xml') ||
    mediaType === 'application/x-www-form-urlencoded' ||
    mediaType === 'application/javascript'
  );
}

/** How values of a content type travel. Content types repeat, so each is classified once. */
const encodings = new Map<string, 'json' | 'text' | 'bytes'>();

function encodingOf(contentType: string): 'json' | 'text' | 'bytes' {
  let encoding = encodings.get(contentType);
  if (encoding === undefined) {
    encoding = isJsonContentType(contentType) ? 'json' : isTextType(mediaTypeOf(contentType)) ? 'text' : 'bytes';
    // Bounded: a stream of ever new content types cannot grow it without limit.
    if (encodings.size < 1000) encodings.set(contentType, encoding);
  }
  return encoding;
}

/**
 * How a stored value travels in a JSON response: JSON content types as JSON
 * (kept as bytes, see RawJson), textual ones as text when they are UTF-8, the
 * rest as base64. The bytes and the content type are always those that were
 * produced.
 */
export function toDelivered(message: StoredMessage): DeliveredMessage {
  const { publicId: id, partition, offset, timestamp, key, headers, contentType, value: bytes, group } = message;
  const fields = { id, partition, offset, timestamp, key, headers, contentType, group };
  const encoding = encodingOf(contentType);
  if (encoding === 'json') return { ...fields, valueEncoding: 'json', value: new RawJson(bytes) };
  if (encoding === 'text' && isUtf8(bytes)) return { ...fields, valueEncoding: 'text', value: bytes.toString('utf8') };
  return { ...fields, valueEncoding: 'base64', value: bytes.toString('base64') };
}
