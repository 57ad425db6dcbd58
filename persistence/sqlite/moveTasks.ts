import type { Database } from 'better-sqlite3';
import { MOVE_TASKS_KEPT, type RawMoveTask, toMoveTask } from '../rows/moveTaskRow';
import type { MoveTask } from '../store';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';

const statements = prepared((db) => ({
  insert: db.prepare<[number, string, string | null, number | null, number, number, number]>(
    `INSERT INTO move_tasks (topic_id, handle, destination, max_per_second, moved, to_move, started_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ),
  // The oldest beyond the newest MOVE_TASKS_KEPT go, so the table stays small whatever the number of redrives.
  trim: db.prepare<[number, number, number]>(
    'DELETE FROM move_tasks WHERE topic_id = ? AND id <= (SELECT id FROM move_tasks WHERE topic_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
  ),
  newest: db.prepare<[number, number], RawMoveTask>(
    'SELECT handle, destination, max_per_second, moved, to_move, started_at FROM move_tasks WHERE topic_id = ? ORDER BY id DESC LIMIT ?',
  ),
}));

/** operation: recordMoveTask — a finished move of the dead letters of `queue`. */
export function recordMoveTask(db: Database, queue: string, task: MoveTask): void {
  const { topicId } = loadQueueRow(db, queue);
  const s = statements(db);
  s.insert.run(topicId, task.handle, task.destination, task.maxPerSecond, task.moved, task.toMove, task.startedAt);
  s.trim.run(topicId, topicId, MOVE_TASKS_KEPT);
}

/** operation: moveTasks — the newest first. */
export function moveTasks(db: Database, queue: string, max: number): MoveTask[] {
  const { topicId } = loadQueueRow(db, queue);
  return statements(db).newest.all(topicId, Math.min(max, MOVE_TASKS_KEPT)).map(toMoveTask);
}
