import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  add: db.prepare<[number, number, number]>('UPDATE subscriptions SET waiting = waiting + ?, waiting_bytes = waiting_bytes + ? WHERE id = ?'),
}));

/**
 * Adds `rows` delivery rows of `bytes` value bytes in all to the counts of
 * subscription `subscriptionId` (migration 008's waiting and waiting_bytes).
 * Every insert of delivery rows calls it for what it inserted (migration 015):
 * no trigger counts them.
 */
export function addWaiting(db: Database, subscriptionId: number, rows: number, bytes: number): void {
  statements(db).add.run(rows, bytes, subscriptionId);
}
