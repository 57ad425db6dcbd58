import { ACTIVE_MOVE_TASK, afterStep, MOVE_TASK_COLUMNS, MOVE_TASKS_KEPT, type RawMoveTask, stepSize, toMoveTask } from '../rows/moveTaskRow';
import type { MoveTask, NewMoveTask, StoreRules } from '../store';
import type { Queryable } from './connection';
import { loadQueueRow } from './queueRow';
import { moveReady } from './redrive';
import type { WriteContext } from './writeContext';

const STATEMENTS = {
  // Nothing while another task of the queue is active (the unique index move_tasks_active), two starts at once included.
  insert: {
    name: 'moveTasks-insert',
    text: `INSERT INTO move_tasks (topic_id, handle, destination, max_per_second, moved, to_move, started_at, status)
           VALUES ($1, $2, $3, $4, 0, $5, $6, 'running')
           ON CONFLICT (topic_id) WHERE ${ACTIVE_MOVE_TASK} DO NOTHING`,
  },
  // The oldest beyond the newest MOVE_TASKS_KEPT go, so the table stays small whatever the number of redrives.
  trim: {
    name: 'moveTasks-trim',
    text: 'DELETE FROM move_tasks WHERE topic_id = $1 AND id <= (SELECT id FROM move_tasks WHERE topic_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)',
  },
  newest: {
    name: 'moveTasks-newest',
    text: `SELECT ${MOVE_TASK_COLUMNS} FROM move_tasks WHERE topic_id = $1 ORDER BY id DESC LIMIT $2`,
  },
  active: { name: 'moveTasks-active', text: `SELECT ${MOVE_TASK_COLUMNS} FROM move_tasks WHERE ${ACTIVE_MOVE_TASK}` },
  cancel: {
    name: 'moveTasks-cancel',
    text: `UPDATE move_tasks SET status = 'cancelling' WHERE topic_id = $1 AND handle = $2 AND status = 'running' RETURNING ${MOVE_TASK_COLUMNS}`,
  },
  // Locked first: a step waits for another step of the same task (two gateways for a moment), and a cancel for the step.
  byHandle: {
    name: 'moveTasks-byHandle',
    text: `SELECT t.name AS queue, ${MOVE_TASK_COLUMNS} FROM move_tasks m JOIN topics t ON t.id = m.topic_id WHERE m.handle = $1 FOR UPDATE OF m`,
  },
  update: { name: 'moveTasks-update', text: 'UPDATE move_tasks SET moved = $2, status = $3, failure = $4 WHERE handle = $1' },
};

/** operation: startMoveTask — a running task of dead-letter queue `queue`, unless one of it is active. */
export async function startMoveTask(tx: Queryable, queue: string, task: NewMoveTask): Promise<boolean> {
  const { topicId } = await loadQueueRow(tx, queue);
  const { rowCount } = await tx.query({
    ...STATEMENTS.insert,
    values: [topicId, task.handle, task.destination, task.maxPerSecond, task.toMove, task.startedAt],
  });
  if (rowCount === 0) return false;
  await tx.query({ ...STATEMENTS.trim, values: [topicId, MOVE_TASKS_KEPT] });
  return true;
}

/** operation: moveTasks — the newest first. */
export async function moveTasks(db: Queryable, queue: string, max: number): Promise<MoveTask[]> {
  const { topicId } = await loadQueueRow(db, queue);
  const { rows } = await db.query<RawMoveTask>({ ...STATEMENTS.newest, values: [topicId, Math.min(max, MOVE_TASKS_KEPT)] });
  return rows.map(toMoveTask);
}

/** operation: activeMoveTasks — of every queue, on move_tasks_active. */
export async function activeMoveTasks(db: Queryable): Promise<MoveTask[]> {
  const { rows } = await db.query<RawMoveTask>(STATEMENTS.active);
  return rows.map(toMoveTask);
}

/** operation: cancelMoveTask — a running task of `queue` is cancelling from now on. */
export async function cancelMoveTask(tx: Queryable, queue: string, handle: string): Promise<MoveTask | null> {
  const { topicId } = await loadQueueRow(tx, queue);
  const { rows } = await tx.query<RawMoveTask>({ ...STATEMENTS.cancel, values: [topicId, handle] });
  return rows.length === 0 ? null : toMoveTask(rows[0]);
}

/** operation: stepMoveTask — in the transaction of its moves, so what it counts is what it moved. */
export async function stepMoveTask(
  tx: Queryable,
  context: WriteContext,
  rules: StoreRules,
  handle: string,
  max: number,
  now: number,
): Promise<MoveTask | null> {
  const { rows } = await tx.query<RawMoveTask & { queue: string }>({ ...STATEMENTS.byHandle, values: [handle] });
  if (rows.length === 0) return null;
  const task = toMoveTask(rows[0]);
  let next: MoveTask;
  if (task.status === 'cancelling') {
    next = { ...task, status: 'cancelled' };
  } else if (task.status === 'running') {
    const asked = stepSize(task, max);
    next = afterStep(rules, task, { asked, ...(await moveReady(tx, context, await loadQueueRow(tx, rows[0].queue), asked, now, task.destination)) });
  } else {
    return task;
  }
  await tx.query({ ...STATEMENTS.update, values: [handle, next.moved, next.status, next.failure] });
  return next;
}
