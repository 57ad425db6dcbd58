import type { Response } from 'express';
import { type DeliveredMessage, RawJson } from '../queue/messages';

const VALUE = Buffer.from(',"value":');
const CLOSE = Buffer.from('}');
const COMMA = Buffer.from(',');

/** One message as JSON, in parts: its fields serialized, its value spliced in as stored when it is JSON. */
function messageParts(message: DeliveredMessage): Buffer[] {
  const { value, ...meta } = message;
  const head = JSON.stringify(meta);
  const valueBytes = value instanceof RawJson ? value.bytes : Buffer.from(JSON.stringify(value));
  return [Buffer.from(head.slice(0, -1)), VALUE, valueBytes, CLOSE];
}

/**
 * Sends a response that carries messages. Their JSON values go out as the
 * bytes that were stored, never decoded, parsed or serialized again, which is
 * most of the cost of a large read; the other fields are serialized as usual.
 */
export function sendMessages(res: Response, body: { messages: DeliveredMessage[] }): void {
  const { messages, ...rest } = body;
  const restJson = JSON.stringify(rest);
  const parts: Buffer[] = [Buffer.from('{"messages":[')];
  messages.forEach((message, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(...messageParts(message));
  });
  parts.push(Buffer.from(restJson === '{}' ? ']}' : `],${restJson.slice(1)}`));
  res.type('application/json').send(Buffer.concat(parts));
}
