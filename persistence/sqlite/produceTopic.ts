import type { Database } from 'better-sqlite3';
import type { AppendResult, ProduceOptions, StoreRules, TopicMessage } from '../store';
import { append } from './append';
import type { WriteContext } from './groupCommit';
import { checkSizes } from './produce';
import { loadTopicRow, topicTarget } from './topicRow';

/** operation: produceTopic — messages into their chosen partitions; no delays on a log. */
export function produceTopic(
  db: Database,
  context: WriteContext,
  rules: StoreRules,
  topic: string,
  messages: TopicMessage[],
  options: ProduceOptions,
): AppendResult[] {
  const row = loadTopicRow(db, topic);
  checkSizes(messages, row.maxMessageBytes, topic);
  const appended = messages.map(({ bytes: _bytes, ...message }) => ({ ...message, delayMs: 0 }));
  return append(db, context, topicTarget(db, row, { caps: row, breach: rules.quotaBreach }), appended, options);
}
