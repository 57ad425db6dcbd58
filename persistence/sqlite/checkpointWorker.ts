import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type CheckpointWorkerData, COMMITS, STOP } from './checkpointer';

/**
 * The checkpointer's thread (checkpointer.ts): a connection of its own to
 * the store's database that, after each commit it is told of, copies the log
 * into the database (a PASSIVE checkpoint: it waits for no one, and the
 * store's commits go on meanwhile), then lets the log grow for `pauseMs`
 * before the next. A checkpoint that fails is tried again after the next
 * commit, as SQLite's own automatic checkpoint would be.
 */
function run({ file, state, pauseMs }: CheckpointWorkerData): void {
  const db = new Database(file);
  // As the store's connection: the log is synced before it is copied, the database after.
  db.pragma('synchronous = NORMAL');
  let seen = 0;
  while (Atomics.load(state, STOP) === 0) {
    Atomics.wait(state, COMMITS, seen);
    seen = Atomics.load(state, COMMITS);
    if (Atomics.load(state, STOP) !== 0) break;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Left to the next commit's turn (and meanwhile to the store's own automatic checkpoint).
    }
    Atomics.wait(state, STOP, 0, pauseMs);
  }
  db.close();
}

run(workerData as CheckpointWorkerData);
