import type { Database } from 'better-sqlite3';
import { queueAppend, queueProduceTarget } from '../rows/producedMessages';
import type { AppendResult, NewMessage, ProduceOptions, StoreRules } from '../store';
import { append } from './append';
import type { AppendTally } from './appendTally';
import type { WriteContext } from './groupCommit';
import type { QueueRow } from '../rows/queueRow';

/**
 * operation: produce — a client's messages into queue `row`: each checked against
 * the queue's maxMessageBytes, its delay defaulting to the queue's, its
 * idempotency key to its content's when the queue deduplicates by content;
 * then appended within the queue's quota, keys remembered for a FIFO queue's
 * window. Dead letters and redrives append directly: they are never refused.
 */
export function produce(
  db: Database,
  context: WriteContext,
  rules: StoreRules,
  row: QueueRow,
  messages: NewMessage[],
  options: ProduceOptions,
  tally: AppendTally,
): AppendResult[] {
  const batch = queueAppend(rules, row, row.name, messages, options);
  return append(db, context, queueProduceTarget(rules, row), batch.messages, batch.options, tally);
}
