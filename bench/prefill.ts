import type { JsonClient } from './httpClient';
import { forEachIndex } from './loops';
import { MESSAGE_BYTES, produceBody } from './payload';

/** Prefills in the largest batches the default limits allow, so a prefill is over quickly. */
export const PREFILL_BATCH = 1000;
/** Produce requests in flight during a prefill: enough to keep the gateway's group commit busy. */
export const PREFILL_CONNECTIONS = 4;

/**
 * Produces `count` messages of `bytes` (rounded up to whole batches of
 * PREFILL_BATCH) with POST `messagesPath`, a queue's or a topic's messages,
 * over PREFILL_CONNECTIONS of `client`'s connections.
 */
export async function prefill(client: JsonClient, messagesPath: string, count: number, bytes = MESSAGE_BYTES): Promise<void> {
  const body = produceBody(PREFILL_BATCH, bytes);
  await forEachIndex(Math.ceil(count / PREFILL_BATCH), PREFILL_CONNECTIONS, () => client.send('POST', messagesPath, body));
}

/**
 * Produces into queue `queue` until at least `wanted` messages are ready, in
 * whole batches of PREFILL_BATCH; returns how many it produced. Between
 * measured runs of a side that drains the queue, this puts back what the
 * last run took, so the next one cannot run dry.
 */
export async function topUp(client: JsonClient, queue: string, wanted: number): Promise<number> {
  const { stats } = await client.send<{ stats: { ready: number } }>('GET', `/v1/queues/${queue}`);
  const count = Math.ceil(Math.max(0, wanted - stats.ready) / PREFILL_BATCH) * PREFILL_BATCH;
  await prefill(client, `/v1/queues/${queue}/messages`, count);
  return count;
}
