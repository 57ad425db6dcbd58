import { Worker } from 'node:worker_threads';
import { packagePath } from '../packagePath';

/** The slots of the state the store and the checkpointer's thread share: commits made, and whether to stop. */
export const COMMITS = 0;
export const STOP = 1;

/** What the checkpointer's thread is started with. */
export interface CheckpointWorkerData {
  /** The database file. */
  file: string;
  /** Int32Array over a SharedArrayBuffer: [COMMITS, STOP]. */
  state: Int32Array;
  /** How long it waits after each checkpoint before the next. */
  pauseMs: number;
}

/** The compiled worker; tests run from source, after the build that global setup runs. */
const WORKER = packagePath('dist', 'persistence', 'sqlite', 'checkpointWorker.js');

/**
 * The pause after each checkpoint: under a produce load of 1 KB messages, a
 * little less than SQLite's own automatic checkpoint takes to come round
 * (1,000 pages of the log); 5 or 100 ms made no difference to (a).
 */
const CHECKPOINT_PAUSE_MS = 20;

/**
 * Copies the store's write-ahead log into its database from a thread of its
 * own (checkpointWorker.ts), so that the event loop no longer does it inside
 * the COMMIT of every thousandth page: writing the pages and the two fsyncs
 * of a checkpoint took a tenth of a loaded gateway's time there. The store's
 * connection keeps SQLite's automatic checkpoint as it was; it finds the
 * log already copied, and takes over if this thread fails. SQLite rewinds
 * the log at a write once a checkpoint has copied all of it.
 */
export class Checkpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    const data: CheckpointWorkerData = { file, state: this.state, pauseMs: CHECKPOINT_PAUSE_MS };
    this.worker = new Worker(WORKER, { workerData: data });
    // It never holds the process up: a store not closed leaves it to the process's exit.
    this.worker.unref();
    this.exited = new Promise((resolve) => {
      // A thread that failed (its connection would not open) leaves the log to the automatic checkpoint.
      this.worker.once('error', () => undefined);
      this.worker.once('exit', () => resolve());
    });
  }

  /** A commit was made: its pages are in the log. */
  committed(): void {
    Atomics.add(this.state, COMMITS, 1);
    Atomics.notify(this.state, COMMITS);
  }

  /**
   * Stops the thread, after the checkpoint it may be running, and closes its
   * connection. The thread holds the process up until then: left unref'd, a
   * process with nothing else to do (a bench, a command that closes its store
   * last) ended during the wait, the store's close never finished and
   * nothing after it ran.
   */
  close(): Promise<void> {
    this.worker.ref();
    Atomics.store(this.state, STOP, 1);
    Atomics.notify(this.state, STOP);
    this.committed();
    return this.exited;
  }
}
