import { Worker } from 'node:worker_threads';
import { packagePath } from '../packagePath';
import type {
  AppendResult,
  ClaimOptions,
  ClaimResult,
  DeliveryRef,
  NewMessage,
  ProduceOptions,
  QueueRecord,
  QueueSettings,
  QueueStats,
  RedriveResult,
  Settlement,
  SettleStatus,
  Store,
  SweepOptions,
  SweepResult,
} from '../store';
import type { CommitStats } from './groupCommit';
import type { SqliteStoreOptions } from './sqliteStore';
import { type ReplyMessage, type StoreCall, deserializeError, reviveBuffers } from './workerProtocol';

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The SQLite store run on a worker thread (persistence/sqlite/storeWorker.ts,
 * compiled to dist/). Same contract as SqliteStore; the difference is that a
 * commit's fsync no longer stalls the thread that serves HTTP.
 */
export class WorkerStore implements Store {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly listeners = new Set<(queue: string) => void>();
  private nextId = 0;
  /** Set once the worker is gone: every call after that fails at once instead of hanging. */
  private failure: Error | null = null;

  constructor(options: SqliteStoreOptions) {
    this.worker = new Worker(packagePath('dist', 'persistence', 'sqlite', 'storeWorker.js'), { workerData: options });
    this.worker.on('message', (message: ReplyMessage) => this.receive(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`store worker exited with code ${code}`)));
  }

  /** Resolves once the worker opened the database (and ran migrations), or rejects with why it could not. */
  ready(): Promise<void> {
    return this.call('listQueues').then(() => undefined);
  }

  commitStats(): Promise<CommitStats> {
    return this.call('commitStats');
  }

  putQueue(name: string, settings: QueueSettings, now: number): Promise<{ queue: QueueRecord; created: boolean }> {
    return this.call('putQueue', name, settings, now);
  }

  getQueue(name: string): Promise<QueueRecord | null> {
    return this.call('getQueue', name);
  }

  listQueues(): Promise<QueueRecord[]> {
    return this.call('listQueues');
  }

  deleteQueue(name: string): Promise<void> {
    return this.call('deleteQueue', name);
  }

  purgeQueue(name: string): Promise<number> {
    return this.call('purgeQueue', name);
  }

  queueStats(name: string, now: number): Promise<QueueStats> {
    return this.call('queueStats', name, now);
  }

  produce(queue: string, messages: NewMessage[], options: ProduceOptions): Promise<AppendResult[]> {
    return this.call('produce', queue, messages, options);
  }

  claim(queue: string, options: ClaimOptions): Promise<ClaimResult> {
    return this.call('claim', queue, options);
  }

  settle(queue: string, refs: DeliveryRef[], settlement: Settlement, now: number): Promise<SettleStatus[]> {
    return this.call('settle', queue, refs, settlement, now);
  }

  redrive(deadLetterQueue: string, max: number, now: number): Promise<RedriveResult> {
    return this.call('redrive', deadLetterQueue, max, now);
  }

  nextAvailableAt(queue: string, now: number): Promise<number | null> {
    return this.call('nextAvailableAt', queue, now);
  }

  sweep(options: SweepOptions): Promise<SweepResult> {
    return this.call('sweep', options);
  }

  onAvailable(listener: (queue: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.call('close');
    await this.worker.terminate();
  }

  private call<T>(method: StoreCall, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.failure !== null) {
        reject(this.failure);
        return;
      }
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  private receive(message: ReplyMessage): void {
    if (message.kind === 'available') {
      for (const listener of this.listeners) listener(message.queue);
      return;
    }
    const waiting = this.waiting.get(message.id);
    if (waiting === undefined) return;
    this.waiting.delete(message.id);
    if (message.kind === 'result') waiting.resolve(reviveBuffers(message.value));
    else waiting.reject(deserializeError(message.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }
}
