import type { Pool } from 'pg';
import { type Queryable, transaction } from './connection';
import { interpretError, isRetryable } from './interpretError';
import type { WriteContext } from './writeContext';

/** One write waiting for a transaction, and what became of it. */
interface Unit {
  work: (tx: Queryable, context: WriteContext) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a committed transaction made ready, for the store's listeners. */
export interface Announced {
  queues: Set<string>;
  replies: Set<string>;
}

export interface SharedCommitHooks {
  /** After each commit: its duration in seconds, how many writes it carried, and what they announced. */
  committed(seconds: number, operations: number, announced: Announced): void;
}

/**
 * Group commit by key: writes to one queue (or topic) that arrive while a
 * transaction of that key is in flight wait for it, then all run in the next
 * one, each under a savepoint of its own, and share its COMMIT. Appends to one
 * partition hold its row lock until COMMIT, WAL flush included, so one
 * transaction per produce would let one produce per flush through; shared,
 * a flush covers every produce that queued behind it. A write that is refused
 * (quota, size) rolls back to its savepoint alone; a failure of the
 * transaction itself (the connection lost) fails every write it carried.
 */
export class SharedCommits {
  private readonly pending = new Map<string, Unit[]>();
  private readonly running = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly hooks: SharedCommitHooks,
  ) {}

  run<T>(key: string, work: (tx: Queryable, context: WriteContext) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const units = this.pending.get(key) ?? [];
      units.push({ work, resolve: (value) => resolve(value as T), reject });
      this.pending.set(key, units);
      if (!this.running.has(key)) void this.flush(key);
    });
  }

  private async flush(key: string): Promise<void> {
    this.running.add(key);
    for (let units = this.take(key); units.length > 0; units = this.take(key)) await this.commit(units);
    this.running.delete(key);
  }

  private take(key: string): Unit[] {
    const units = this.pending.get(key) ?? [];
    this.pending.delete(key);
    return units;
  }

  private async commit(units: Unit[]): Promise<void> {
    const started = performance.now();
    let announced: Announced = { queues: new Set(), replies: new Set() };
    let outcomes: Outcome[];
    try {
      outcomes = await transaction(this.pool, async (tx) => {
        // A retried transaction announces only what its last run did.
        announced = { queues: new Set(), replies: new Set() };
        const results: Outcome[] = [];
        for (const unit of units) results.push(await this.runUnit(tx, unit, announced));
        return results;
      });
    } catch (error) {
      for (const unit of units) unit.reject(error);
      return;
    }
    this.hooks.committed((performance.now() - started) / 1000, units.length, announced);
    units.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }

  /**
   * One write under its savepoint; what it announces counts only if it is
   * kept. A deadlock or serialization failure ends the transaction, to be run
   * again whole.
   */
  private async runUnit(tx: Queryable, unit: Unit, announced: Announced): Promise<Outcome> {
    const queues: string[] = [];
    const replies: string[] = [];
    await tx.query('SAVEPOINT unit');
    try {
      const value = await unit.work(tx, { notify: (queue) => queues.push(queue), replied: (id) => replies.push(id) });
      await tx.query('RELEASE SAVEPOINT unit');
      for (const queue of queues) announced.queues.add(queue);
      for (const id of replies) announced.replies.add(id);
      return { ok: true, value };
    } catch (error) {
      if (isRetryable(error)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT unit');
      await tx.query('RELEASE SAVEPOINT unit');
      return { ok: false, error: interpretError(error, { commitSent: false }) };
    }
  }
}
