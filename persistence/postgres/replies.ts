import { type ReplyRow, replyRefusal, toReply } from '../rows/replyRow';
import type { AppendResult, NewMessage, PendingReply, ProduceOptions, Reply, ReplyOutcome, StoreRules } from '../store';
import type { Queryable } from './connection';
import { produce } from './produce';
import { loadQueueRow } from './queueRow';
import { taken, type WriteContext } from './writeContext';

const FIND = 'SELECT queue_id, deadline, status, content_type, headers, body FROM replies WHERE correlation_id = $1';

const STATEMENTS = {
  // The queue produce just found, by name in the insert itself rather than loaded again: the
  // append's lock on its partition keeps a deleteQueue (whose cascade needs that row) waiting.
  expect: {
    name: 'replies-expect',
    text: `INSERT INTO replies (correlation_id, queue_id, deadline) SELECT $1, id, $3 FROM topics WHERE name = $2 AND kind = 'queue'`,
  },
  find: { name: 'replies-find', text: FIND },
  // Locked: of two replies to one request at once, the second waits and finds the first stored.
  lock: { name: 'replies-lock', text: `${FIND} FOR UPDATE` },
  fill: { name: 'replies-fill', text: 'UPDATE replies SET status = $1, content_type = $2, headers = $3, body = $4 WHERE correlation_id = $5' },
  remove: { name: 'replies-remove', text: 'DELETE FROM replies WHERE correlation_id = $1' },
  abandon: { name: 'replies-abandon', text: 'UPDATE replies SET deadline = LEAST(deadline, $1) WHERE correlation_id = $2 AND status IS NULL' },
};

/**
 * operation: request — the request's message, produced as any message is,
 * and the reply it waits for, in one transaction: a consumer can never see a
 * request whose reply would be refused as unknown.
 */
export async function produceRequest(
  tx: Queryable,
  context: WriteContext,
  rules: StoreRules,
  queue: string,
  message: NewMessage,
  pending: PendingReply,
  options: ProduceOptions,
): Promise<AppendResult> {
  const [outcome] = await produce(tx, context, rules, queue, [{ messages: [message], options }]);
  const [result] = taken(outcome);
  await tx.query({ ...STATEMENTS.expect, values: [pending.correlationId, queue, pending.deadline] });
  return result;
}

/** operation: putReply — the consumer's answer to a request of `queue`, stored for the waiting caller. */
export async function putReply(tx: Queryable, context: WriteContext, queue: string, correlationId: string, reply: Reply, now: number): Promise<ReplyOutcome> {
  const { rows } = await tx.query<ReplyRow>({ ...STATEMENTS.lock, values: [correlationId] });
  const row = rows[0];
  if (row === undefined) return 'unknown';
  const refusal = replyRefusal(row, (await loadQueueRow(tx, queue)).topicId, now);
  if (refusal !== null) return refusal;
  await tx.query({ ...STATEMENTS.fill, values: [reply.status, reply.contentType, JSON.stringify(reply.headers), reply.body, correlationId] });
  context.replied(correlationId);
  return 'stored';
}

/** operation: findReply — the reply to `correlationId`, once given; null while it is awaited (or unknown). */
export async function findReply(db: Queryable, correlationId: string): Promise<Reply | null> {
  const { rows } = await db.query<ReplyRow>({ ...STATEMENTS.find, values: [correlationId] });
  return toReply(rows[0]);
}

/** operation: forgetReply — the caller has its reply: a second one is then `unknown`. */
export async function forgetReply(tx: Queryable, correlationId: string): Promise<void> {
  await tx.query({ ...STATEMENTS.remove, values: [correlationId] });
}

/** operation: abandonReply — the caller went away: a reply from now on is `expired`. */
export async function abandonReply(tx: Queryable, correlationId: string, now: number): Promise<void> {
  await tx.query({ ...STATEMENTS.abandon, values: [now, correlationId] });
}
