import type { AppendResult, ProduceOptions, StoreRules, TopicMessage } from '../store';
import { append } from './append';
import type { Queryable } from './connection';
import { checkSizes } from './produce';
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
  checkSizes(messages, row.maxMessageBytes, topic);
  const appended = messages.map(({ bytes: _bytes, ...message }) => ({ ...message, delayMs: 0 }));
  return append(tx, context, await topicTarget(tx, row, { caps: row, breach: rules.quotaBreach }), appended, options);
}
