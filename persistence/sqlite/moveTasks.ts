import type { Database } from 'better-sqlite3';
import { ACTIVE_MOVE_TASK, afterStep, MOVE_TASK_COLUMNS, MOVE_TASKS_KEPT, type RawMoveTask, stepSize, toMoveTask } from '../rows/moveTaskRow';
import type { MoveTask, NewMoveTask, StoreRules } from '../store';
import type { WriteContext } from './groupCommit';
import { prepared } from './prepared';
import { loadQueueRow } from './queueRow';
import { moveReady } from './redrive';

const statements = prepared((db) => ({
  // Nothing while another task of the queue is active: the unique index move_tasks_active.
  insert: db.prepare<[number, string, string | null, number | null, number, number]>(
    `INSERT INTO move_tasks (topic_id, handle, destination, max_per_second, moved, to_move, started_at, status)
     VALUES (?, ?, ?, ?, 0, ?, ?, 'running')
     ON CONFLICT (topic_id) WHERE ${ACTIVE_MOVE_TASK} DO NOTHING`,
  ),
  // The oldest beyond the newest MOVE_TASKS_KEPT go, so the table stays small whatever the number of redrives.
  trim: db.prepare<[number, number, number]>(
    'DELETE FROM move_tasks WHERE topic_id = ? AND id <= (SELECT id FROM move_tasks WHERE topic_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
  ),
  newest: db.prepare<[number, number], RawMoveTask>(`SELECT ${MOVE_TASK_COLUMNS} FROM move_tasks WHERE topic_id = ? ORDER BY id DESC LIMIT ?`),
  active: db.prepare<[], RawMoveTask>(`SELECT ${MOVE_TASK_COLUMNS} FROM move_tasks WHERE ${ACTIVE_MOVE_TASK}`),
  cancel: db.prepare<[number, string], RawMoveTask>(
    `UPDATE move_tasks SET status = 'cancelling' WHERE topic_id = ? AND handle = ? AND status = 'running' RETURNING ${MOVE_TASK_COLUMNS}`,
  ),
  byHandle: db.prepare<[string], RawMoveTask & { queue: string }>(
    `SELECT t.name AS queue, ${MOVE_TASK_COLUMNS} FROM move_tasks m JOIN topics t ON t.id = m.topic_id WHERE m.handle = ?`,
  ),
  update: db.prepare<[number, string, string | null, string]>('UPDATE move_tasks SET moved = ?, status = ?, failure = ? WHERE handle = ?'),
}));

/** operation: startMoveTask — a running task of dead-letter queue `queue`, unless one of it is active. */
export function startMoveTask(db: Database, queue: string, task: NewMoveTask): boolean {
  const { topicId } = loadQueueRow(db, queue);
  const s = statements(db);
  if (s.insert.run(topicId, task.handle, task.destination, task.maxPerSecond, task.toMove, task.startedAt).changes === 0) return false;
  s.trim.run(topicId, topicId, MOVE_TASKS_KEPT);
  return true;
}

/** operation: moveTasks — the newest first. */
export function moveTasks(db: Database, queue: string, max: number): MoveTask[] {
  const { topicId } = loadQueueRow(db, queue);
  return statements(db).newest.all(topicId, Math.min(max, MOVE_TASKS_KEPT)).map(toMoveTask);
}

/** operation: activeMoveTasks — of every queue, on move_tasks_active. */
export function activeMoveTasks(db: Database): MoveTask[] {
  return statements(db).active.all().map(toMoveTask);
}

/** operation: cancelMoveTask — a running task of `queue` is cancelling from now on. */
export function cancelMoveTask(db: Database, queue: string, handle: string): MoveTask | null {
  const row = statements(db).cancel.get(loadQueueRow(db, queue).topicId, handle);
  return row === undefined ? null : toMoveTask(row);
}

/** operation: stepMoveTask — in the transaction of its moves, so what it counts is what it moved. */
export function stepMoveTask(db: Database, context: WriteContext, rules: StoreRules, handle: string, max: number, now: number): MoveTask | null {
  const s = statements(db);
  const row = s.byHandle.get(handle);
  if (row === undefined) return null;
  const task = toMoveTask(row);
  let next: MoveTask;
  if (task.status === 'cancelling') {
    next = { ...task, status: 'cancelled' };
  } else if (task.status === 'running') {
    const asked = stepSize(task, max);
    next = afterStep(rules, task, { asked, ...moveReady(db, context, loadQueueRow(db, row.queue), asked, now, task.destination) });
  } else {
    return task;
  }
  s.update.run(next.moved, next.status, next.failure, handle);
  return next;
}
