import type { LeaseStore, MoveTask, MoveTaskStore } from '../persistence/store';
import type { Clock } from './clock';

export interface MoveTaskDeps {
  store: MoveTaskStore & LeaseStore;
  clock: Clock;
  /** This gateway process among those over the store (Services.instance): the holder of the tasks it runs. */
  instance: string;
  /**
   * How long it owns a task without renewing, a third of it apart: when it
   * stops without giving one up (a crash, a lost connection to the store),
   * another process takes it over at most 4/3 of this later.
   */
  ownershipMs: number;
  /** Most dead letters one step moves (the batch limit): all a task without a rate moves in one transaction. */
  batch: number;
  /** Failures no request waits for (a step, a renewal): for the log. */
  onError: (error: unknown) => void;
}

/** What a task's start gives: the rest (its start time, status and counts) the start records. */
export interface MoveTaskRequest {
  queue: string;
  handle: string;
  destination: string | null;
  maxPerSecond: number | null;
  toMove: number;
}

/** The lease a process holds while it runs task `handle`. */
const leaseOf = (handle: string): string => `move-task:${handle}`;

/** A step of a task with a rate, and a step tried again after a failure, come this long after the one before began. */
const SECOND_MS = 1000;

/**
 * One task run here: a step after the other until the task ends (or its
 * queue goes), or the run is stopped. Without a rate, each step moves a
 * batch and the next follows at once; with one, each step moves at most
 * `maxPerSecond` and the next comes a second after it began, by the clock.
 */
class TaskRun {
  /** A step is under way, or due at once: false only while the run waits for the clock (or has ended). */
  stepping = true;
  /** Resolves with true when the task ended, false when the run was stopped first. */
  readonly done: Promise<boolean>;
  private stopped = false;
  /** Ends the wait for the clock, while the run waits. */
  private wakeUp: (() => void) | null = null;
  /** Woken during a step: the next wait ends at once. */
  private woken = false;

  constructor(
    private readonly task: MoveTask,
    private readonly deps: MoveTaskDeps,
  ) {
    this.done = this.loop();
  }

  /** Takes the next step now instead of waiting for its time (a cancel to act on). */
  wake(): void {
    if (this.wakeUp === null) this.woken = true;
    else this.wakeUp();
  }

  stop(): Promise<boolean> {
    this.stopped = true;
    this.wake();
    return this.done;
  }

  private async loop(): Promise<boolean> {
    const { store, clock, batch, onError } = this.deps;
    const { handle, maxPerSecond } = this.task;
    const max = Math.min(maxPerSecond ?? batch, batch);
    while (!this.stopped) {
      const began = clock.now();
      let failed = false;
      try {
        const task = await store.stepMoveTask({ handle, max, now: began });
        if (task === null || (task.status !== 'running' && task.status !== 'cancelling')) {
          this.stepping = false;
          return true;
        }
      } catch (error) {
        onError(error);
        failed = true;
      }
      if (!this.stopped && (maxPerSecond !== null || failed)) await this.until(began + SECOND_MS);
    }
    this.stepping = false;
    return false;
  }

  /** Waits until the clock reads `at`, or the run is woken. */
  private until(at: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    this.stepping = false;
    return new Promise((resolve) => {
      const go = (): void => {
        cancel();
        this.wakeUp = null;
        this.stepping = true;
        resolve();
      };
      const cancel = this.deps.clock.schedule(at, go);
      this.wakeUp = go;
    });
  }
}

/**
 * Message move tasks of dead-letter queues (SQS's StartMessageMoveTask),
 * run in the background. A task is recorded in the store as it starts, so
 * every gateway process lists it and its counts as they grow; it is run by
 * one process at a time, the holder of its lease (LeaseStore): the one that
 * started it, at once, and if that one stops without finishing it (a crash,
 * a restart, a lost connection to the store) whichever process takes the
 * lease over, from where the store says it was. Every third of
 * `ownershipMs` each process renews the leases of the tasks it runs and
 * takes those of tasks nobody runs (`start`).
 */
export class MoveTasks {
  private readonly runs = new Map<string, TaskRun>();
  private stopped = false;
  private cancelRenewal: () => void = () => undefined;
  /** When this process last renewed its leases (by its clock): past `ownershipMs` they may be another's. */
  private renewedAt = -Infinity;

  constructor(private readonly deps: MoveTaskDeps) {}

  /** Runs the active tasks no other process runs, and from now on renews what it runs and takes over what has no owner. */
  async start(): Promise<void> {
    await this.renew();
  }

  /**
   * operation (SQS's StartMessageMoveTask): records a running task and runs
   * it here; false, and nothing recorded, while a task of its queue is
   * running or cancelling (SQS allows one at a time).
   */
  async startTask({ queue, ...task }: MoveTaskRequest): Promise<boolean> {
    const startedAt = this.deps.clock.now();
    const started = await this.deps.store.startMoveTask({ queue, task: { ...task, startedAt } });
    // Recorded, it is started: if it cannot be taken up here now, a renewal (this process's or another's) takes it up.
    if (started) await this.take([{ ...task, startedAt, moved: 0, status: 'running', failure: null }]).catch(this.deps.onError);
    return started;
  }

  /** The newest tasks of `queue` first (at most `max`, and 10), running ones with their counts so far. */
  tasks(queue: string, max: number): Promise<MoveTask[]> {
    return this.deps.store.moveTasks({ queue, max });
  }

  /**
   * operation (SQS's CancelMessageMoveTask): the running task stops at its
   * next step (at once when it runs here); null when `queue` has no running
   * task `handle`. What it moved stays moved.
   */
  async cancelTask(queue: string, handle: string): Promise<MoveTask | null> {
    const task = await this.deps.store.cancelMoveTask({ queue, handle });
    if (task !== null) this.runs.get(handle)?.wake();
    return task;
  }

  /** Whether a task run here has a step under way or due at once (false while every one waits for the clock). */
  get busy(): boolean {
    return [...this.runs.values()].some((run) => run.stepping);
  }

  /** Stops every run here (a step under way finishes) and gives up their leases, for another process to go on with. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelRenewal();
    const handles = [...this.runs.keys()];
    await Promise.all([...this.runs.values()].map((run) => run.stop()));
    if (handles.length > 0) await this.deps.store.releaseLeases({ names: handles.map(leaseOf), holder: this.deps.instance }).catch(this.deps.onError);
  }

  private async renew(): Promise<void> {
    const { store, clock, ownershipMs, onError } = this.deps;
    try {
      const now = clock.now();
      const active = await store.activeMoveTasks();
      const held = await this.take(active);
      this.renewedAt = now;
      // Another process holds what this one no longer does: it runs them now.
      for (const task of active) if (!held.has(task.handle)) void this.runs.get(task.handle)?.stop();
    } catch (error) {
      onError(error);
      // Not renewed for as long as a lease lasts: another process may run these tasks now.
      if (clock.now() - this.renewedAt >= ownershipMs) for (const run of this.runs.values()) void run.stop();
    }
    if (!this.stopped) this.cancelRenewal = clock.schedule(clock.now() + ownershipMs / 3, () => void this.renew());
  }

  /** Takes or renews the leases of `tasks` and runs here those it holds and does not run yet; the handles it holds. */
  private async take(tasks: MoveTask[]): Promise<Set<string>> {
    const { store, clock, instance: holder, ownershipMs } = this.deps;
    if (tasks.length === 0 || this.stopped) return new Set();
    const leases = new Set(await store.holdLeases({ names: tasks.map((task) => leaseOf(task.handle)), holder, ttlMs: ownershipMs, now: clock.now() }));
    const held = tasks.filter((task) => leases.has(leaseOf(task.handle)));
    for (const task of held) if (!this.stopped && !this.runs.has(task.handle)) this.run(task);
    return new Set(held.map((task) => task.handle));
  }

  private run(task: MoveTask): void {
    const run = new TaskRun(task, this.deps);
    this.runs.set(task.handle, run);
    void run.done.then(async (ended) => {
      if (this.runs.get(task.handle) === run) this.runs.delete(task.handle);
      // An ended task needs no owner; a stopped run's lease is given up by stop(), or is another's already.
      if (ended) await this.deps.store.releaseLeases({ names: [leaseOf(task.handle)], holder: this.deps.instance }).catch(this.deps.onError);
    });
  }
}
