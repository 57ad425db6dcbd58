import { StoreError } from '../errors';
import type { Queryable } from './connection';

const STATEMENTS = {
  // Locked before the dependents are counted: a put that names it as its dead-letter queue (FOR KEY SHARE) commits first and is counted, or waits and finds it gone.
  lock: { name: 'deleteQueue-lock', text: "SELECT id FROM topics WHERE name = $1 AND kind = 'queue' FOR UPDATE" },
  // Subscriptions (other than the queue's own) and push subscriptions that dead-letter into it.
  dependents: {
    name: 'deleteQueue-dependents',
    text: `SELECT (SELECT count(*) FROM subscriptions WHERE dead_letter_topic_id = $1 AND topic_id <> $1)
                + (SELECT count(*) FROM push_subscriptions WHERE dead_letter_topic_id = $1) AS dependents`,
  },
  delete: { name: 'deleteQueue-delete', text: 'DELETE FROM topics WHERE id = $1' },
};

/**
 * operation: deleteQueue — the queue and all its messages. Refused while
 * another queue or a push subscription dead-letters into it, so no dead letter is ever dropped.
 */
export async function deleteQueue(tx: Queryable, queue: string): Promise<void> {
  const { rows } = await tx.query<{ id: number }>({ ...STATEMENTS.lock, values: [queue] });
  if (rows.length === 0) throw new StoreError({ code: 'queue_not_found', queue });
  const topicId = rows[0].id;
  const { rows: counted } = await tx.query<{ dependents: number }>({ ...STATEMENTS.dependents, values: [topicId] });
  const { dependents } = counted[0];
  // Not by name: the caller may have no access to them.
  if (dependents > 0) throw new StoreError({ code: 'queue_in_use', queue, dependents });
  await tx.query({ ...STATEMENTS.delete, values: [topicId] });
}
