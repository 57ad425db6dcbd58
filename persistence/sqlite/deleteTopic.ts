import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';
import { loadTopicRow } from './topicRow';

const statements = prepared((db) => ({
  delete: db.prepare<[number]>('DELETE FROM topics WHERE id = ?'),
}));

/** operation: deleteTopic — the topic, its partitions and all its messages. */
export function deleteTopic(db: Database, topic: string): void {
  statements(db).delete.run(loadTopicRow(db, topic).topicId);
}
