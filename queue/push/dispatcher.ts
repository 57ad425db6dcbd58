import type { LeaseStore, PushRecord } from '../../persistence/store';
import { everyItem } from '../pages';
import type { QueueService } from '../queueService';
import type { Wakeups } from '../wakeups';
import type { FeedItem, PushFeed } from './feed';
import { GroupFeed } from './groupFeed';
import { LeaseFeed } from './leaseFeed';
import { LEASE_GRACE_MS, PushRunner, type RunnerDeps } from './runner';

export interface DispatcherDeps extends RunnerDeps {
  store: RunnerDeps['store'] & LeaseStore;
  queues: Pick<QueueService, 'claimWhenReady'>;
  wakeups: Wakeups;
  /** This gateway process among those over the store (Services.instance): the holder of the push subscriptions it runs. */
  instance: string;
  /**
   * How long it owns a push subscription without renewing, a third of it
   * apart: when it stops without giving one up (a crash, a lost connection
   * to the store), another process takes it over at most 4/3 of this later.
   */
  ownershipMs: number;
  /** The gateways' clocks' allowed skew (Limits.clockSkewMs), added to every lease push takes. */
  clockSkewMs: number;
}

type Running = Pick<PushRunner<FeedItem>, 'stop' | 'inFlight' | 'done'>;

/** The default of DispatcherDeps.ownershipMs (the `ownershipMs` setting). */
export const OWNERSHIP_MS = 15_000;

/** The lease a process holds while it runs push subscription `name`. */
const leaseOf = (name: string): string => `push:${name}`;

/** A record's settings, which a running runner was started with: its counters change without them. */
const settingsOf = (push: PushRecord): string => JSON.stringify({ ...push, counters: null });

/**
 * Runs a PushRunner for every push subscription that is not paused and that
 * this process owns: of all the gateway processes over one store, the one
 * holding its lease (LeaseStore), so that `concurrency` and key order hold
 * across them. Every third of `ownershipMs` it renews what it holds, takes what has
 * no owner (a process stopped), restarts a runner whose settings another
 * process changed, and stops one deleted, paused or no longer its own.
 * Changes made through this process's API call `sync`, which acts at once;
 * a runner whose source was deleted ends on its own.
 */
export class PushDispatcher {
  private readonly runners = new Map<string, { runner: Running; settings: string }>();
  /** Per name, the last change: changes of one subscription run one after another. */
  private readonly syncs = new Map<string, Promise<void>>();
  private stopped = false;
  private cancelRenewal: () => void = () => undefined;
  /** When this process last renewed its leases (by its clock): past `ownershipMs` they may be another's. */
  private renewedAt = -Infinity;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Runs what this process owns, and from now on renews it and takes over what has no owner. */
  async start(): Promise<void> {
    await this.renew();
  }

  /** Brings the runner of `name` in line with the store: (re)started with the current settings if this process owns it, or stopped. */
  async sync(name: string): Promise<void> {
    const push = await this.deps.store.getPush(name);
    const active = push !== null && !push.paused;
    const { instance: holder, clock, ownershipMs } = this.deps;
    const held = active && (await this.deps.store.holdLeases({ names: [leaseOf(name)], holder, ttlMs: ownershipMs, now: clock.now() })).length > 0;
    await this.apply(name, held ? push : null);
    if (!active) await this.deps.store.releaseLeases({ names: [leaseOf(name)], holder });
  }

  /** Messages the runner of `name` holds now (0 when it does not run here). */
  inFlight(name: string): number {
    return this.runners.get(name)?.runner.inFlight ?? 0;
  }

  /** Stops every runner (attempts in progress finish, everything else is given back) and gives up their leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelRenewal();
    await Promise.all([...this.syncs.values()]);
    const names = [...this.runners.keys()];
    await Promise.all([...this.runners.values()].map(({ runner }) => runner.stop()));
    if (names.length > 0) await this.deps.store.releaseLeases({ names: names.map(leaseOf), holder: this.deps.instance }).catch(this.deps.onError);
  }

  private async renew(): Promise<void> {
    const { store, clock, instance: holder, ownershipMs } = this.deps;
    try {
      const active: PushRecord[] = [];
      for await (const push of everyItem((page) => store.listPush(page))) if (!push.paused) active.push(push);
      const now = clock.now();
      const held = new Set(await store.holdLeases({ names: active.map((push) => leaseOf(push.name)), holder, ttlMs: ownershipMs, now }));
      this.renewedAt = now;
      const owned = new Map(active.filter((push) => held.has(leaseOf(push.name))).map((push) => [push.name, push]));
      const names = new Set([...owned.keys(), ...this.runners.keys()]);
      await Promise.all([...names].map((name) => this.apply(name, owned.get(name) ?? null)));
    } catch (error) {
      this.deps.onError(error);
      // Not renewed for as long as a lease lasts: another process may own them now.
      if (clock.now() - this.renewedAt >= ownershipMs) await Promise.all([...this.runners.keys()].map((name) => this.apply(name, null)));
    }
    if (!this.stopped) this.cancelRenewal = clock.schedule(clock.now() + ownershipMs / 3, () => void this.renew());
  }

  /** Runs `push` (restarted if its settings changed), or with null stops what runs under `name`. */
  private apply(name: string, push: PushRecord | null): Promise<void> {
    const previous = this.syncs.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      const running = this.runners.get(name);
      const wanted = push !== null && !this.stopped ? push : null;
      if (running !== undefined && wanted !== null && running.settings === settingsOf(wanted)) return;
      await running?.runner.stop();
      if (wanted !== null) this.run(wanted);
    });
    const settled = next.catch(this.deps.onError);
    this.syncs.set(name, settled);
    void settled.then(() => {
      if (this.syncs.get(name) === settled) this.syncs.delete(name);
    });
    return next;
  }

  private run(push: PushRecord): void {
    const runner = new PushRunner(push, this.feed(push), this.deps);
    const entry = { runner, settings: settingsOf(push) };
    this.runners.set(push.name, entry);
    void runner.done.then(() => {
      if (this.runners.get(push.name) === entry) this.runners.delete(push.name);
    });
  }

  private feed(push: PushRecord): PushFeed<FeedItem> {
    const { store, queues, clock, wakeups } = this.deps;
    const { source } = push;
    if ('group' in source) return new GroupFeed(store, clock, wakeups, source.topic, source.group, push.name);
    return new LeaseFeed(store, queues, clock, source, push.timeoutMs + LEASE_GRACE_MS, this.deps.clockSkewMs);
  }
}
