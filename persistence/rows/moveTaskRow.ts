import type { MoveTask } from '../store';

/** Tasks kept per queue: ListMessageMoveTasks shows at most 10. */
export const MOVE_TASKS_KEPT = 10;

/** The columns of a move task's SELECT. */
export interface RawMoveTask {
  handle: string;
  destination: string | null;
  max_per_second: number | null;
  moved: number;
  to_move: number;
  started_at: number;
}

export function toMoveTask(row: RawMoveTask): MoveTask {
  return {
    handle: row.handle,
    destination: row.destination,
    maxPerSecond: row.max_per_second,
    moved: row.moved,
    toMove: row.to_move,
    startedAt: row.started_at,
  };
}
