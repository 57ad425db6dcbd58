import type { MoveStep, MoveTask, MoveTaskFailure, MoveTaskStatus, StoreRules } from '../store';

/** Tasks kept per queue: ListMessageMoveTasks shows at most 10. */
export const MOVE_TASKS_KEPT = 10;

/** The columns of a move task's SELECT, in this order. */
export const MOVE_TASK_COLUMNS = 'handle, destination, max_per_second, moved, to_move, started_at, status, failure';

/** The statuses of a task some gateway process must run: the condition of the partial index move_tasks_active. */
export const ACTIVE_MOVE_TASK = "status IN ('running', 'cancelling')";

/** The columns of a move task's SELECT. */
export interface RawMoveTask {
  handle: string;
  destination: string | null;
  max_per_second: number | null;
  moved: number;
  to_move: number;
  started_at: number;
  status: MoveTaskStatus;
  failure: MoveTaskFailure | null;
}

export function toMoveTask(row: RawMoveTask): MoveTask {
  return {
    handle: row.handle,
    destination: row.destination,
    maxPerSecond: row.max_per_second,
    moved: row.moved,
    toMove: row.to_move,
    startedAt: row.started_at,
    status: row.status,
    failure: row.failure,
  };
}

/** What a step of a running task asks for: up to `max`, and no more than it has left to move. */
export function stepSize(task: MoveTask, max: number): number {
  return Math.max(0, Math.min(max, task.toMove - task.moved));
}

/** A running task after a step: what `step` moved counted, and the status the rules give. */
export function afterStep(rules: StoreRules, task: MoveTask, step: MoveStep): MoveTask {
  const moved = task.moved + step.moved;
  return { ...task, moved, ...rules.moveTaskAfter({ moved, toMove: task.toMove }, step) };
}
