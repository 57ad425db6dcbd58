import type { Database, Statement } from 'better-sqlite3';
import { interpretError } from './interpretError';

/** What a unit of work may do besides writing: announce queues whose messages became ready. */
export interface WriteContext {
  notify(queue: string): void;
}

interface Pending {
  work: (context: WriteContext) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface CommitStats {
  commits: number;
  operations: number;
}

/** Told of each commit: how long BEGIN to COMMIT took (the fsync included) and how many writes it carried. */
export type CommitObserver = (seconds: number, operations: number) => void;

/**
 * Group commit: every write requested during one turn of the event loop runs
 * in one transaction with one fsync. Each unit runs in its own savepoint, so
 * one that fails is rolled back alone and the others still commit. A unit's
 * promise settles only after the commit, so a resolved write is durable.
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  readonly stats: CommitStats = { commits: 0, operations: 0 };
  // Prepared once: every write runs these, and exec() would parse them each time.
  private readonly control: Record<'begin' | 'commit' | 'savepoint' | 'release' | 'rollbackTo', Statement>;

  constructor(
    private readonly db: Database,
    private readonly onReady: (queues: Set<string>) => void,
    private readonly onCommit: CommitObserver,
  ) {
    this.control = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      savepoint: db.prepare('SAVEPOINT unit'),
      release: db.prepare('RELEASE unit'),
      rollbackTo: db.prepare('ROLLBACK TO unit'),
    };
  }

  run<T>(work: (context: WriteContext) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    const ready = new Set<string>();
    let outcomes: Outcome[];
    const started = performance.now();
    try {
      this.control.begin.run();
      outcomes = batch.map((unit) => this.runUnit(unit, ready));
      this.control.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      const failure = interpretError(error);
      for (const unit of batch) unit.reject(failure);
      return;
    }
    this.stats.commits += 1;
    this.stats.operations += batch.length;
    this.onCommit((performance.now() - started) / 1000, batch.length);
    batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
    if (ready.size > 0) this.onReady(ready);
  }

  private runUnit(unit: Pending, ready: Set<string>): Outcome {
    const notified: string[] = [];
    this.control.savepoint.run();
    try {
      const value = unit.work({ notify: (queue) => notified.push(queue) });
      this.control.release.run();
      for (const queue of notified) ready.add(queue);
      return { ok: true, value };
    } catch (error) {
      // On some errors (a full disk among them) SQLite ends the whole
      // transaction: then every unit of the batch fails with it.
      if (!this.db.inTransaction) throw error;
      this.control.rollbackTo.run();
      this.control.release.run();
      return { ok: false, error: interpretError(error) };
    }
  }
}
