import type { JsonClient } from './httpClient';
import { MESSAGE_BYTES, produceBody } from './payload';

/** Prefills in the largest batches the default limits allow, so a prefill is over quickly. */
export const PREFILL_BATCH = 1000;
/** Produce requests in flight during a prefill: enough to keep the gateway's group commit busy. */
export const PREFILL_CONNECTIONS = 4;

/**
 * Produces `count` messages of MESSAGE_BYTES (rounded up to whole batches of
 * PREFILL_BATCH) with POST `messagesPath`, a queue's or a topic's messages,
 * over PREFILL_CONNECTIONS of `client`'s connections.
 */
export async function prefill(client: JsonClient, messagesPath: string, count: number): Promise<void> {
  const body = produceBody(PREFILL_BATCH, MESSAGE_BYTES);
  let remaining = Math.ceil(count / PREFILL_BATCH);
  const producer = async (): Promise<void> => {
    while (remaining > 0) {
      remaining -= 1;
      await client.send('POST', messagesPath, body);
    }
  };
  await Promise.all(Array.from({ length: PREFILL_CONNECTIONS }, producer));
}
