import type { LoadSpec } from './load';

/** Size of one message in every scenario that does not say otherwise. */
export const MESSAGE_BYTES = 1024;

/**
 * A JSON value whose stored form has exactly `bytes` bytes: the gateway keeps
 * a JSON message as the JSON text of its value, so a string of `bytes - 2`
 * ASCII characters plus its two quotes.
 */
export function jsonValueOfSize(bytes: number): string {
  return 'x'.repeat(bytes - 2);
}

/**
 * Like `jsonValueOfSize`, but starting with `number` and a space: a message
 * that says which one it is wherever it arrives (see `numberOf`).
 */
export function numberedJsonValue(number: number, bytes: number): string {
  return `${number} `.padEnd(bytes - 2, 'x');
}

/** The number of a message produced with `numberedJsonValue`, from its stored bytes (a JSON string: quote, number, space, …). */
export function numberOf(stored: Buffer): number {
  return Number.parseInt(stored.toString('latin1', 1, 24), 10);
}

/** The bytes the gateway stores for a message produced with `jsonValueOfSize(bytes)`. */
export function storedValueOfSize(bytes: number): Buffer {
  return Buffer.from(JSON.stringify(jsonValueOfSize(bytes)));
}

/** A produce request body of `count` messages of `bytes` each, serialized once and sent many times. */
export function produceBody(count: number, bytes: number): string {
  const value = jsonValueOfSize(bytes);
  return JSON.stringify({ messages: Array.from({ length: count }, () => ({ value })) });
}

/**
 * autocannon load: POST /v1/queues/{queue}/messages with `body`, by default
 * `count` messages of MESSAGE_BYTES per request.
 */
export function produceLoad(queue: string, count: number, connections: number, body = produceBody(count, MESSAGE_BYTES)): (url: string) => LoadSpec {
  return (url) => ({ url: `${url}/v1/queues/${queue}/messages`, method: 'POST', body, connections });
}
