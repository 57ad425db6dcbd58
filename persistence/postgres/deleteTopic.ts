import { StoreError } from '../errors';
import type { Queryable } from './connection';

/**
 * operation: deleteTopic — the topic, its partitions and all its messages, in
 * one statement (the row lock it takes waits for appends still open, whose
 * messages then go too).
 */
export async function deleteTopic(tx: Queryable, topic: string): Promise<void> {
  const { rowCount } = await tx.query({ name: 'deleteTopic-delete', text: "DELETE FROM topics WHERE name = $1 AND kind = 'topic'", values: [topic] });
  if (rowCount === 0) throw new StoreError({ code: 'topic_not_found', topic });
}
