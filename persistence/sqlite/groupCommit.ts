import type { Database, Statement } from 'better-sqlite3';
import { StoreError } from '../errors';
import { interpretError } from './interpretError';
import type { FileSync } from './walSync';

/** What a unit of work may do besides writing: announce what its commit changed for those who wait. */
export interface WriteContext {
  /** Messages of `queue` (a queue's or a topic's name) became ready, or may be due sooner than a waiter last looked (a delayed produce or nack). */
  notify(queue: string): void;
  /** The reply to the request `correlationId` was stored. */
  replied(correlationId: string): void;
}

/** What one commit announced (WriteContext), for the store's listeners. */
export interface Announced {
  queues: Set<string>;
  replies: Set<string>;
}

/**
 * Writes that units of a transaction put off, to be made once for them all:
 * before a unit that does not put its writes off runs (it may read what they
 * change), and before COMMIT.
 */
export interface Deferred {
  write(): void;
  /** Drops them: the units that put them off were rolled back. */
  forget(): void;
}

const NOTHING_DEFERRED: Deferred = { write: () => undefined, forget: () => undefined };

interface Pending {
  work: (context: WriteContext) => unknown;
  /** Whether the unit puts its writes off to `deferred`. */
  defers: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Adds what `announced` holds to what `into` does. */
function addAnnounced(into: Announced, announced: Announced): void {
  for (const queue of announced.queues) into.queues.add(queue);
  for (const id of announced.replies) into.replies.add(id);
}

/** Someone waiting for commit `commit` to be on disk: for an fsync that started after it. */
interface Waiter {
  commit: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface CommitStats {
  commits: number;
  operations: number;
}

/** Told of each commit: how long BEGIN to durable took (the fsync included) and how many writes it carried. */
export type CommitObserver = (seconds: number, operations: number) => void;

/**
 * Group commit: every write requested during one turn of the event loop runs
 * in one transaction. One that fails is rolled back alone and the others
 * still commit: the transaction runs again with a savepoint per unit
 * (runUnits). A unit's promise settles only after the commit is durable.
 *
 * With a `file` to sync (synchronous=FULL), COMMIT only writes the log and
 * the fsync runs off the event loop, one at a time. While it runs, the next
 * requests are parsed and their writes wait, to be committed together: as
 * soon as a turn of the event loop brings no further request (the loop
 * would otherwise wait for the fsync with nothing to do; once an fsync), or
 * when the fsync ends, before its own answers are sent. Either way they are made durable by
 * the next fsync, started the moment this one ends. A failed
 * fsync is final: after it, a page it was to write may be lost whatever
 * later fsyncs say, so every read and write is refused until a restart
 * recovers the log. Without a file (NORMAL), a commit is as durable as it
 * will get when COMMIT returns.
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  readonly stats: CommitStats = { commits: 0, operations: 0 };
  /** Commits are numbered from 1; every one up to `synced` is on disk. */
  private synced = 0;
  private syncing = false;
  /** Whether a write was requested since the last turn's look at the pending ones (flush). */
  private requestedThisTurn = false;
  /** The last commit the fsync in flight (or the last one) covers. */
  private syncCovers = 0;
  private waiters: Waiter[] = [];
  /** Set by a failed fsync, for good. */
  private failure: StoreError | null = null;
  // Prepared once: every write runs these, and exec() would parse them each time.
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Statement>;

  constructor(
    private readonly db: Database,
    private readonly onReady: (announced: Announced) => void,
    private readonly onCommit: CommitObserver,
    private readonly file: FileSync | null,
    /** Told when a whole transaction was rolled back: nothing its units wrote is in the database. */
    private readonly onRollback: () => void = () => undefined,
    private readonly deferred: Deferred = NOTHING_DEFERRED,
  ) {
    this.control = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT unit'),
      release: db.prepare('RELEASE unit'),
      rollbackTo: db.prepare('ROLLBACK TO unit'),
    };
  }

  /** `defers`: the unit puts writes off to the Deferred this was built with. */
  run<T>(work: (context: WriteContext) => T, defers = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, defers, resolve: resolve as (value: unknown) => void, reject });
      this.requestedThisTurn = true;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * At the end of a turn of the event loop: commits the writes requested so
   * far. While an fsync is in flight, only once a turn brought no further
   * request (until then it looks again at the end of each turn), and only
   * once: their own fsync cannot start before this one ends anyway, and one
   * commit for all of them writes each shared page once.
   */
  private flush(): void {
    this.scheduled = false;
    const quiet = !this.requestedThisTurn;
    this.requestedThisTurn = false;
    if (this.syncing && this.pending.length > 0) {
      // One commit while an fsync runs: later writes wait for its end (startSync), and commit together then.
      if (this.stats.commits > this.syncCovers) return;
      if (!quiet) {
        this.schedule();
        return;
      }
    }
    this.commit();
  }

  /** Commits the writes requested so far in one transaction; each settles once the commit is on disk. */
  private commit(): void {
    const batch = this.pending;
    // Committed already: by an fsync's end (startSync), or by the flush of a turn before this one's.
    if (batch.length === 0) return;
    this.pending = [];
    if (this.failure !== null) {
      const refused = new StoreError({ code: 'storage_unavailable', state: 'halted' });
      for (const unit of batch) unit.reject(refused);
      return;
    }
    const ready: Announced = { queues: new Set(), replies: new Set() };
    let outcomes: Outcome[];
    const started = performance.now();
    try {
      this.control.begin.run();
      outcomes = this.runUnits(batch, ready);
      this.control.commit.run();
    } catch (error) {
      this.deferred.forget();
      if (this.db.inTransaction) this.control.rollback.run();
      this.onRollback();
      const failure = interpretError(error);
      for (const unit of batch) unit.reject(failure);
      return;
    }
    this.stats.commits += 1;
    this.stats.operations += batch.length;
    if (ready.queues.size > 0 || ready.replies.size > 0) this.onReady(ready);
    this.durable(this.stats.commits).then(
      () => {
        this.onCommit((performance.now() - started) / 1000, batch.length);
        batch.forEach((unit, i) => {
          const outcome = outcomes[i];
          if (outcome.ok) unit.resolve(outcome.value);
          else unit.reject(outcome.error);
        });
      },
      (failure: unknown) => {
        for (const unit of batch) unit.reject(failure);
      },
    );
  }

  /**
   * Resolves once every commit made so far is on disk: a read waits for it
   * before it answers, so that it never shows a write that a power loss could
   * still take back.
   */
  settled(): Promise<void> {
    return this.durable(this.stats.commits);
  }

  private durable(commit: number): Promise<void> {
    const file = this.file;
    if (this.failure !== null) return Promise.reject(this.failure);
    if (file === null || commit <= this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ commit, resolve, reject });
      this.startSync(file);
    });
  }

  private startSync(file: FileSync): void {
    if (this.syncing) return;
    this.syncing = true;
    const covers = this.stats.commits;
    this.syncCovers = covers;
    const finish = (): void => {
      this.syncing = false;
      const failure = this.failure;
      const done = failure === null ? this.waiters.filter((waiter) => waiter.commit <= covers) : this.waiters;
      this.waiters = failure === null ? this.waiters.filter((waiter) => waiter.commit > covers) : [];
      // What was committed while it ran, and the writes still held, get their fsync before this one's
      // answers are sent: the disk is not left idle while the event loop answers.
      // (A commit that fails as a whole asks for no fsync: the ones made while this one ran still need theirs.)
      if (this.pending.length > 0) this.commit();
      if (this.waiters.length > 0) this.startSync(file);
      for (const waiter of done) {
        if (failure === null) waiter.resolve();
        else waiter.reject(failure);
      }
    };
    file.sync().then(
      () => {
        this.synced = covers;
        finish();
      },
      (error: unknown) => {
        // Committed but perhaps not on disk: the client must not take it as kept, nor as lost.
        this.failure = new StoreError({ code: 'storage_unavailable', state: 'unconfirmed' }, { cause: error });
        finish();
      },
    );
  }

  /**
   * Runs the units of one transaction: first one after another with no
   * savepoint (a savepoint keeps a copy of every page its unit changes, a
   * quarter of a single produce's time in the store). When one fails, the
   * transaction is rolled back, and they all run again, each in a savepoint
   * of its own (runUnit), so that the failing one is rolled back alone and
   * the others still commit, each writing what it put off before its
   * savepoint is released. Units only write to the database and announce:
   * running one twice leaves nothing of the first run.
   */
  private runUnits(batch: Pending[], ready: Announced): Outcome[] {
    const announced: Announced = { queues: new Set(), replies: new Set() };
    const context = this.announcing(announced);
    let values: unknown[];
    try {
      values = batch.map((unit) => {
        if (!unit.defers) this.deferred.write();
        return unit.work(context);
      });
      this.deferred.write();
    } catch (error) {
      this.deferred.forget();
      // On some errors (a full disk among them) SQLite ends the whole transaction: then every unit fails with it.
      if (!this.db.inTransaction) throw error;
      this.control.rollback.run();
      this.onRollback();
      this.control.begin.run();
      return batch.map((unit) => this.runUnit(unit, ready));
    }
    addAnnounced(ready, announced);
    return values.map((value) => ({ ok: true, value }));
  }

  /** A unit's context that adds what it announces to `announced`. */
  private announcing(announced: Announced): WriteContext {
    return { notify: (queue) => announced.queues.add(queue), replied: (id) => announced.replies.add(id) };
  }

  private runUnit(unit: Pending, ready: Announced): Outcome {
    const announced: Announced = { queues: new Set(), replies: new Set() };
    this.control.savepoint.run();
    try {
      const value = unit.work(this.announcing(announced));
      this.deferred.write();
      this.control.release.run();
      addAnnounced(ready, announced);
      return { ok: true, value };
    } catch (error) {
      this.deferred.forget();
      // On some errors (a full disk among them) SQLite ends the whole
      // transaction: then every unit of the batch fails with it.
      if (!this.db.inTransaction) throw error;
      this.control.rollbackTo.run();
      this.control.release.run();
      return { ok: false, error: interpretError(error) };
    }
  }
}
