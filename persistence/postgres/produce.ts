import { queueAppend, queueProduceTarget } from '../rows/producedMessages';
import type { AppendResult, NewMessage, ProduceOptions, StoreRules } from '../store';
import { appendEach } from './append';
import type { Queryable } from './connection';
import { loadQueueRow } from './queueRow';
import { type Settled, settled, type WriteContext } from './writeContext';

/** One client's produce: its messages, and the options it came with. */
export interface ProduceRequest<M> {
  messages: M[];
  options: ProduceOptions;
}

/**
 * operation: produce — clients' messages into a queue, each client's taken or
 * refused as a whole: its messages checked against the queue's
 * maxMessageBytes, their delays defaulting to the queue's, their idempotency
 * keys to their contents' when the queue deduplicates by content; then
 * appended within the queue's quota, keys remembered for the window of the
 * queue's ordering. Dead letters and redrives append directly: they are never
 * refused.
 */
export async function produce(
  tx: Queryable,
  context: WriteContext,
  rules: StoreRules,
  queue: string,
  requests: ProduceRequest<NewMessage>[],
): Promise<Settled<AppendResult[]>[]> {
  const row = await loadQueueRow(tx, queue);
  const prepared = requests.map(({ messages, options }) => settled(() => queueAppend(rules, row, queue, messages, options)));
  return appendEach(tx, context, queueProduceTarget(rules, row), prepared);
}
