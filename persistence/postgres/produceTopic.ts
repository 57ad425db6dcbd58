import { quotaOf, topicAppend } from '../rows/producedMessages';
import type { AppendResult, StoreRules, TopicMessage } from '../store';
import { appendEach } from './append';
import type { Queryable } from './connection';
import type { ProduceRequest } from './produce';
import { loadTopicRow, topicTarget } from './topicRow';
import { type Settled, settled, type WriteContext } from './writeContext';

/** operation: produceTopic — clients' messages into their chosen partitions, each client's taken or refused as a whole; no delays on a log. */
export async function produceTopic(
  tx: Queryable,
  context: WriteContext,
  rules: StoreRules,
  topic: string,
  requests: ProduceRequest<TopicMessage>[],
): Promise<Settled<AppendResult[]>[]> {
  const row = await loadTopicRow(tx, topic);
  const prepared = requests.map(({ messages, options }) => settled(() => ({ messages: topicAppend(row, topic, messages), options })));
  return appendEach(tx, context, await topicTarget(tx, row, quotaOf(rules, row)), prepared);
}
