import type { Database } from 'better-sqlite3';
import type { AppendResult, NewMessage, PendingReply, ProduceOptions, Reply, ReplyOutcome, StoreRules } from '../store';
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';
import { produce } from './produce';
import { loadQueueRow } from './queueRow';

interface ReplyRow {
  queue_id: number;
  deadline: number;
  status: number | null;
  content_type: string | null;
  headers: string | null;
  body: Buffer | null;
}

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
): AppendResult {
  const [result] = produce(db, context, rules, queue, [message], options);
  statements(db).expect.run(pending.correlationId, loadQueueRow(db, queue).topicId, pending.deadline);
  return result;
}

/** operation: putReply — the consumer's answer to a request of `queue`, stored for the waiting caller. */
export function putReply(db: Database, context: WriteContext, queue: string, correlationId: string, reply: Reply, now: number): ReplyOutcome {
  const row = statements(db).find.get(correlationId);
  if (row === undefined || row.queue_id !== loadQueueRow(db, queue).topicId) return 'unknown';
  if (row.status !== null) return 'replied';
  if (row.deadline <= now) return 'expired';
  statements(db).fill.run(reply.status, reply.contentType, JSON.stringify(reply.headers), reply.body, correlationId);
  context.replied(correlationId);
  return 'stored';
}

/** operation: findReply — the reply to `correlationId`, once given; null while it is awaited (or unknown). */
export function findReply(db: Database, correlationId: string): Reply | null {
  const row = statements(db).find.get(correlationId);
  if (row === undefined || row.status === null) return null;
  return {
    status: row.status,
    contentType: row.content_type ?? 'application/octet-stream',
    headers: JSON.parse(row.headers ?? '{}') as Record<string, string>,
    body: row.body ?? Buffer.alloc(0),
  };
}

/** operation: forgetReply — the caller has its reply: a second one is then `unknown`. */
export function forgetReply(db: Database, correlationId: string): void {
  statements(db).remove.run(correlationId);
}

/** operation: abandonReply — the caller went away: a reply from now on is `expired`. */
export function abandonReply(db: Database, correlationId: string, now: number): void {
  statements(db).abandon.run(now, correlationId);
}
