import type { Database } from 'better-sqlite3';
import { quotaOf, topicAppend } from '../rows/producedMessages';
import type { AppendResult, ProduceOptions, StoreRules, TopicMessage } from '../store';
import { append } from './append';
import type { AppendTally } from './appendTally';
import type { WriteContext } from './groupCommit';
import { loadTopicRow, topicTarget } from './topicRow';

/** operation: produceTopic — messages into their chosen partitions; no delays on a log. */
export function produceTopic(
  db: Database,
  context: WriteContext,
  rules: StoreRules,
  topic: string,
  messages: TopicMessage[],
  options: ProduceOptions,
  tally: AppendTally,
): AppendResult[] {
  const row = loadTopicRow(db, topic);
  return append(db, context, topicTarget(db, row, quotaOf(rules, row)), topicAppend(row, topic, messages), options, tally);
}
