import type { Database } from 'better-sqlite3';
import { type ReplyRow, replyRefusal, toReply } from '../rows/replyRow';
import type { AppendResult, NewMessage, PendingReply, ProduceOptions, Reply, ReplyOutcome, StoreRules } from '../store';
import type { AppendTally } from './appendTally';
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';
import { produce } from './produce';
import { loadQueueRow } from './queueRow';

const statements = prepared((db) => ({
  expect: db.prepare<[string, number, number]>('INSERT INTO replies (correlation_id, queue_id, deadline) VALUES (?, ?, ?)'),
  find: db.prepare<[string], ReplyRow>('SELECT queue_id, deadline, status, content_type, headers, body FROM replies WHERE correlation_id = ?'),
  fill: db.prepare<[number, string, string, Buffer, string]>(
    'UPDATE replies SET status = ?, content_type = ?, headers = ?, body = ? WHERE correlation_id = ?',
  ),
  remove: db.prepare<[string]>('DELETE FROM replies WHERE correlation_id = ?'),
  abandon: db.prepare<[number, string]>('UPDATE replies SET deadline = min(deadline, ?) WHERE correlation_id = ? AND status IS NULL'),
}));

/**
 * operation: request — the request's message, produced as any message is,
 * and the reply it waits for, in one transaction: a consumer can never see a
 * request whose reply would be refused as unknown.
 */
export function produceRequest(
  db: Database,
  context: WriteContext,
  rules: StoreRules,
  queue: string,
  message: NewMessage,
  pending: PendingReply,
  options: ProduceOptions,
  tally: AppendTally,
): AppendResult {
  const row = loadQueueRow(db, queue);
  const [result] = produce(db, context, rules, row, [message], options, tally);
  statements(db).expect.run(pending.correlationId, row.topicId, pending.deadline);
  return result;
}

/** operation: putReply — the consumer's answer to a request of `queue`, stored for the waiting caller. */
export function putReply(db: Database, context: WriteContext, queue: string, correlationId: string, reply: Reply, now: number): ReplyOutcome {
  const row = statements(db).find.get(correlationId);
  if (row === undefined) return 'unknown';
  const refusal = replyRefusal(row, loadQueueRow(db, queue).topicId, now);
  if (refusal !== null) return refusal;
  statements(db).fill.run(reply.status, reply.contentType, JSON.stringify(reply.headers), reply.body, correlationId);
  context.replied(correlationId);
  return 'stored';
}

/** operation: findReply — the reply to `correlationId`, once given; null while it is awaited (or unknown). */
export function findReply(db: Database, correlationId: string): Reply | null {
  return toReply(statements(db).find.get(correlationId));
}

/** operation: forgetReply — the caller has its reply: a second one is then `unknown`. */
export function forgetReply(db: Database, correlationId: string): void {
  statements(db).remove.run(correlationId);
}

/** operation: abandonReply — the caller went away: a reply from now on is `expired`. */
export function abandonReply(db: Database, correlationId: string, now: number): void {
  statements(db).abandon.run(now, correlationId);
}
