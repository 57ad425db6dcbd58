import type { Reply, ReplyOutcome } from '../store';

/** The columns of an awaited reply's SELECT: the request's queue and deadline, and the reply once stored. */
export interface ReplyRow {
  queue_id: number;
  deadline: number;
  status: number | null;
  content_type: string | null;
  headers: string | null;
  body: Buffer | null;
}

/** Why a reply to `row`, a request of the queue with topic id `queueId`, is refused at `now`; null: it is stored. */
export function replyRefusal(row: ReplyRow, queueId: number, now: number): Exclude<ReplyOutcome, 'stored'> | null {
  if (row.queue_id !== queueId) return 'unknown';
  if (row.status !== null) return 'replied';
  if (row.deadline <= now) return 'expired';
  return null;
}

/** The reply `row` holds; null while it is awaited (or the request is unknown: no row). */
export function toReply(row: ReplyRow | undefined): Reply | null {
  if (row === undefined || row.status === null) return null;
  return {
    status: row.status,
    contentType: row.content_type ?? 'application/octet-stream',
    headers: JSON.parse(row.headers ?? '{}') as Record<string, string>,
    body: row.body ?? Buffer.alloc(0),
  };
}
