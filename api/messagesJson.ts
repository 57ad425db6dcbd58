import type { Response } from 'express';
import { type DeliveredMessage, RawJson } from '../queue/messages';

/**
 * A message's fields as JSON up to its value, and its value as JSON bytes.
 * The fields every message has are written directly (a generic serialization
 * of each message was a third of a large read); any others (a lease's receipt
 * and delivery count) are serialized as usual.
 */
function messageParts(message: DeliveredMessage): { head: string; value: Buffer | string } {
  const { id, partition, offset, timestamp, key, headers, contentType, valueEncoding, value, ...extra } = message;
  const extraJson = JSON.stringify(extra);
  const head =
    `{"id":${JSON.stringify(id)},"partition":${partition},"offset":${offset},"timestamp":${timestamp},` +
    `"key":${JSON.stringify(key)},"headers":${JSON.stringify(headers)},"contentType":${JSON.stringify(contentType)},` +
    `"valueEncoding":"${valueEncoding}"${extraJson === '{}' ? '' : `,${extraJson.slice(1, -1)}`},"value":`;
  return { head, value: value instanceof RawJson ? value.bytes : JSON.stringify(value) };
}

/** One message as JSON, exactly as a fetch or read response carries it in its `messages`. */
export function messageJson(message: DeliveredMessage): Buffer {
  const { head, value } = messageParts(message);
  return Buffer.concat([Buffer.from(head), typeof value === 'string' ? Buffer.from(value) : value, Buffer.from('}')]);
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
  sendJson(res, out.subarray(0, at));
}

/**
 * Sends JSON text as express's res.json and res.send would for it (its
 * Content-Type with charset, its Content-Length, the status set before),
 * without their generic work: no ETag and no freshness here (api/app.ts), and
 * node itself leaves the body out of an answer to HEAD.
 */
export function sendJson(res: Response, json: string | Buffer): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', typeof json === 'string' ? Buffer.byteLength(json) : json.length);
  res.end(json);
}
