import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';

const statements = prepared((db) => ({
  // Subscriptions (other than the queue's own) and push subscriptions that dead-letter into it.
  dependents: db
    .prepare<[number, number, number]>(
      `SELECT (SELECT count(*) FROM subscriptions WHERE dead_letter_topic_id = ? AND topic_id <> ?)
            + (SELECT count(*) FROM push_subscriptions WHERE dead_letter_topic_id = ?)`,
    )
    .pluck(),
  delete: db.prepare<[number]>('DELETE FROM topics WHERE id = ?'),
}));

/**
 * operation: deleteQueue — the queue and all its messages. Refused while
 * another queue or a push subscription dead-letters into it, so no dead letter is ever dropped.
 */
export function deleteQueue(db: Database, queue: string): void {
  const row = loadQueueRow(db, queue);
  const s = statements(db);
  const dependents = s.dependents.get(row.topicId, row.topicId, row.topicId) as number;
  // Not by name: the caller may have no access to them.
  if (dependents > 0) {
    throw new StoreError({ code: 'queue_in_use', queue, dependents });
  }
  s.delete.run(row.topicId);
}
