import type { Response } from 'express';
import { type DeliveredMessage, RawJson } from '../queue/messages';

function messageJson(message: DeliveredMessage): string {
  const { value, ...meta } = message;
  const head = JSON.stringify(meta);
  const valueJson = value instanceof RawJson ? value.text : JSON.stringify(value);
  return `${head.slice(0, -1)},"value":${valueJson}}`;
}

/**
 * Sends a response that carries messages: their JSON values are spliced in as
 * stored instead of being parsed and serialized again, which is most of the
 * cost of a large read. The other fields are serialized as usual.
 */
export function sendMessages(res: Response, body: { messages: DeliveredMessage[] }): void {
  const { messages, ...rest } = body;
  const restJson = JSON.stringify(rest);
  const tail = restJson === '{}' ? '' : `,${restJson.slice(1, -1)}`;
  res.type('application/json').send(`{"messages":[${messages.map(messageJson).join(',')}]${tail}}`);
}
