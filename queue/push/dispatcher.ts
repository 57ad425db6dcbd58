import type { PushRecord } from '../../persistence/store';
import { everyItem } from '../pages';
import type { QueueService } from '../queueService';
import type { Wakeups } from '../wakeups';
import type { FeedItem, PushFeed } from './feed';
import { GroupFeed } from './groupFeed';
import { LeaseFeed } from './leaseFeed';
import { LEASE_GRACE_MS, PushRunner, type RunnerDeps } from './runner';

export interface DispatcherDeps extends RunnerDeps {
  queues: Pick<QueueService, 'claimWhenReady'>;
  wakeups: Wakeups;
}

type Running = Pick<PushRunner<FeedItem>, 'stop' | 'inFlight' | 'done'>;

/**
 * Runs a PushRunner for every push subscription that is not paused, in this
 * gateway process. Changes made through the API call `sync`; a runner whose
 * source was deleted ends on its own.
 */
export class PushDispatcher {
  private readonly runners = new Map<string, Running>();
  /** Per name, the last sync: syncs of one subscription run one after another. */
  private readonly syncs = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: DispatcherDeps) {}

  async start(): Promise<void> {
    for await (const push of everyItem((page) => this.deps.store.listPush(page))) if (!push.paused) this.run(push);
  }

  /** Brings the runner of `name` in line with the store: (re)started with the current settings, or stopped. */
  sync(name: string): Promise<void> {
    const previous = this.syncs.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      await this.runners.get(name)?.stop();
      const push = await this.deps.store.getPush(name);
      if (push !== null && !push.paused && !this.stopped) this.run(push);
    });
    const settled = next.catch(this.deps.onError);
    this.syncs.set(name, settled);
    void settled.then(() => {
      if (this.syncs.get(name) === settled) this.syncs.delete(name);
    });
    return next;
  }

  /** Messages the runner of `name` holds now (0 when it does not run). */
  inFlight(name: string): number {
    return this.runners.get(name)?.inFlight ?? 0;
  }

  /** Stops every runner: attempts in progress finish, everything else is given back. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.syncs.values()]);
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
  }

  private run(push: PushRecord): void {
    const runner = new PushRunner(push, this.feed(push), this.deps);
    this.runners.set(push.name, runner);
    void runner.done.then(() => {
      if (this.runners.get(push.name) === runner) this.runners.delete(push.name);
    });
  }

  private feed(push: PushRecord): PushFeed<FeedItem> {
    const { store, queues, clock, wakeups } = this.deps;
    const { source } = push;
    if ('group' in source) return new GroupFeed(store, clock, wakeups, source.topic, source.group, push.name);
    return new LeaseFeed(store, queues, clock, source, push.timeoutMs + LEASE_GRACE_MS);
  }
}
