import { topicAppend } from '../rows/producedMessages';
import type { AppendResult, ProduceOptions, StoreRules, TopicMessage } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { loadTopicRow, topicTarget } from './topicRow';
import type { WriteContext } from './writeContext';

/** operation: produceTopic — messages into their chosen partitions; no delays on a log. */
export async function produceTopic(
  tx: Queryable,
  context: WriteContext,
  rules: StoreRules,
  topic: string,
  messages: TopicMessage[],
  options: ProduceOptions,
): Promise<AppendResult[]> {
  const row = await loadTopicRow(tx, topic);
  const batch = topicAppend(rules, row, topic, messages);
  return append(tx, context, await topicTarget(tx, row, batch.quota), batch.messages, options);
}
