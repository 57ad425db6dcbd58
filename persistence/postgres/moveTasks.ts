import { MOVE_TASKS_KEPT, type RawMoveTask, toMoveTask } from '../rows/moveTaskRow';
import type { MoveTask } from '../store';
import type { Queryable } from './connection';
import { loadQueueRow } from './queueRow';

const STATEMENTS = {
  insert: {
    name: 'moveTasks-insert',
    text: `INSERT INTO move_tasks (topic_id, handle, destination, max_per_second, moved, to_move, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  },
  // The oldest beyond the newest MOVE_TASKS_KEPT go, so the table stays small whatever the number of redrives.
  trim: {
    name: 'moveTasks-trim',
    text: 'DELETE FROM move_tasks WHERE topic_id = $1 AND id <= (SELECT id FROM move_tasks WHERE topic_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)',
  },
  newest: {
    name: 'moveTasks-newest',
    text: 'SELECT handle, destination, max_per_second, moved, to_move, started_at FROM move_tasks WHERE topic_id = $1 ORDER BY id DESC LIMIT $2',
  },
};

/** operation: recordMoveTask — a finished move of the dead letters of `queue`. */
export async function recordMoveTask(tx: Queryable, queue: string, task: MoveTask): Promise<void> {
  const { topicId } = await loadQueueRow(tx, queue);
  await tx.query({
    ...STATEMENTS.insert,
    values: [topicId, task.handle, task.destination, task.maxPerSecond, task.moved, task.toMove, task.startedAt],
  });
  await tx.query({ ...STATEMENTS.trim, values: [topicId, MOVE_TASKS_KEPT] });
}

/** operation: moveTasks — the newest first. */
export async function moveTasks(db: Queryable, queue: string, max: number): Promise<MoveTask[]> {
  const { topicId } = await loadQueueRow(db, queue);
  const { rows } = await db.query<RawMoveTask>({ ...STATEMENTS.newest, values: [topicId, Math.min(max, MOVE_TASKS_KEPT)] });
  return rows.map(toMoveTask);
}
