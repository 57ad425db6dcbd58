import { StoreError } from '../errors';
import type { Announced, Transact } from './announcements';
import type { Queryable } from './connection';
import { interpretError, isRetryable } from './interpretError';
import type { Settled, WriteContext } from './writeContext';

/** One write waiting for a transaction, and what became of it. */
interface Unit<R, T> {
  request: R;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export interface SharedCommitHooks {
  /** After each commit: its duration in seconds, how many writes it carried, and what they announced. */
  committed(seconds: number, operations: number, announced: Announced): void;
  /** The database refused a transaction of several writes, which runs again one write at a time. */
  rerun(): void;
}

/**
 * The writes to one target (`key`) that share a transaction, done together:
 * each settled on its own, taken or refused (quota, size) as if it ran alone
 * after the ones before it. What it throws fails the transaction.
 */
export type WriteAll<R, T> = (tx: Queryable, context: WriteContext, key: string, requests: R[]) => Promise<Settled<T>[]>;

/**
 * Group commit by key: writes to one queue (or topic) that arrive while a
 * transaction of that key is in flight wait for it, then all go into the
 * next one, done by one `WriteAll` (one round of statements for all of them),
 * and share its COMMIT. Appends to one partition hold its row lock until
 * COMMIT, WAL flush included, so one transaction per produce would let one
 * produce per flush through; shared, a flush covers every produce that queued
 * behind it.
 *
 * When the database refuses the transaction (text it cannot store in one
 * write's message, say), it runs again with each write under a savepoint of
 * its own, so that the refusal is that write's alone. A failure of the
 * server itself (the connection lost) fails every write it carried.
 */
export class SharedCommits<R, T> {
  private readonly pending = new Map<string, Unit<R, T>[]>();
  private readonly running = new Set<string>();

  constructor(
    private readonly transact: Transact,
    private readonly hooks: SharedCommitHooks,
    private readonly writeAll: WriteAll<R, T>,
  ) {}

  run(key: string, request: R): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const units = this.pending.get(key) ?? [];
      units.push({ request, resolve, reject });
      this.pending.set(key, units);
      if (!this.running.has(key)) void this.flush(key);
    });
  }

  private async flush(key: string): Promise<void> {
    this.running.add(key);
    for (let units = this.take(key); units.length > 0; units = this.take(key)) await this.commit(key, units);
    this.running.delete(key);
  }

  private take(key: string): Unit<R, T>[] {
    const units = this.pending.get(key) ?? [];
    this.pending.delete(key);
    return units;
  }

  private async commit(key: string, units: Unit<R, T>[]): Promise<void> {
    const started = performance.now();
    const requests = units.map((unit) => unit.request);
    let committed: { result: Settled<T>[]; announced: Announced };
    try {
      committed = await this.transact((tx, context) => this.writeAll(tx, context, key, requests)).catch((error: unknown) => {
        if (units.length === 1 || (error instanceof StoreError && error.code === 'storage_unavailable')) throw error;
        this.hooks.rerun();
        return this.transact((tx, context) => this.oneByOne(tx, context, key, requests));
      });
    } catch (error) {
      for (const unit of units) unit.reject(error);
      return;
    }
    this.hooks.committed((performance.now() - started) / 1000, units.length, committed.announced);
    units.forEach((unit, i) => {
      const outcome = committed.result[i];
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }

  /**
   * Each write under its savepoint; what it announces counts only if it is
   * kept. A deadlock or serialization failure ends the transaction, to be run
   * again whole.
   */
  private async oneByOne(tx: Queryable, context: WriteContext, key: string, requests: R[]): Promise<Settled<T>[]> {
    const outcomes: Settled<T>[] = [];
    for (const request of requests) {
      const queues: string[] = [];
      const replies: string[] = [];
      await tx.query('SAVEPOINT unit');
      try {
        const [outcome] = await this.writeAll(tx, { notify: (queue) => queues.push(queue), replied: (id) => replies.push(id) }, key, [request]);
        await tx.query('RELEASE SAVEPOINT unit');
        for (const queue of queues) context.notify(queue);
        for (const id of replies) context.replied(id);
        outcomes.push(outcome);
      } catch (error) {
        if (isRetryable(error)) throw error;
        await tx.query('ROLLBACK TO SAVEPOINT unit');
        await tx.query('RELEASE SAVEPOINT unit');
        outcomes.push({ ok: false, error: interpretError(error, { commitSent: false }) });
      }
    }
    return outcomes;
  }
}
