import type { Response } from 'express';
import { type DeliveredMessage, RawJson } from '../queue/messages';

/** A message's fields as JSON without the closing brace, and its value as JSON bytes. */
function messageParts(message: DeliveredMessage): { head: string; value: Buffer | string } {
  const { value, ...meta } = message;
  const head = JSON.stringify(meta);
  return { head: `${head.slice(0, -1)},"value":`, value: value instanceof RawJson ? value.bytes : JSON.stringify(value) };
}

/**
 * Sends a response that carries messages. Their JSON values go out as the
 * bytes that were stored, never decoded, parsed or serialized again, which is
 * most of the cost of a large read; the other fields are serialized as usual.
 * Everything is written into one buffer sized up front (UTF-8 needs at most
 * three bytes per UTF-16 unit), so a large read makes one allocation.
 */
export function sendMessages(res: Response, body: { messages: DeliveredMessage[] }): void {
  const { messages, ...rest } = body;
  const restJson = JSON.stringify(rest);
  const parts = messages.map(messageParts);
  const tail = restJson === '{}' ? ']}' : `],${restJson.slice(1)}`;
  let size = 16 + tail.length * 3;
  for (const { head, value } of parts) size += head.length * 3 + value.length * (typeof value === 'string' ? 3 : 1) + 2;
  const out = Buffer.allocUnsafe(size);
  let at = out.write('{"messages":[');
  parts.forEach(({ head, value }, i) => {
    if (i > 0) at += out.write(',', at);
    at += out.write(head, at);
    at += typeof value === 'string' ? out.write(value, at) : value.copy(out, at);
    at += out.write('}', at);
  });
  at += out.write(tail, at);
  res.type('application/json').send(out.subarray(0, at));
}
