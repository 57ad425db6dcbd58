import type { Database } from 'better-sqlite3';
import { GatewayError } from '../../queue/errors';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';

const statements = prepared((db) => ({
  dependents: db
    .prepare<[number, number]>(
      `SELECT t.name FROM subscriptions s JOIN topics t ON t.id = s.topic_id
        WHERE s.dead_letter_topic_id = ? AND s.topic_id <> ? ORDER BY t.name LIMIT 5`,
    )
    .pluck(),
  pushDependents: db
    .prepare<[number]>(`SELECT 'push subscription ''' || name || '''' FROM push_subscriptions WHERE dead_letter_topic_id = ? ORDER BY name LIMIT 5`)
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
  const dependents = [
    ...(s.dependents.all(row.topicId, row.topicId) as string[]).map((n) => `'${n}'`),
    ...(s.pushDependents.all(row.topicId) as string[]),
  ];
  if (dependents.length > 0) {
    throw new GatewayError(
      'queue_in_use',
      `Queue '${queue}' is the dead-letter queue of ${dependents.join(', ')}; change those first.`,
    );
  }
  s.delete.run(row.topicId);
}
