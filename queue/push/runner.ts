import type { DeliveryStore, GroupStore, PushOutcome, PushRecord, PushStore, QueueStore } from '../../persistence/store';
import type { Clock } from '../clock';
import { GatewayError } from '../errors';
import { backoffDelay } from './backoff';
import { type Agents, attempt, type AttemptResult, createAgents, deliveryHeaders } from './delivery';
import type { FeedItem, PushFeed } from './feed';
import { checkTarget, type TargetPolicy } from './targets';
import { TurnBatch } from './turnBatch';

/** Beyond an attempt's timeout, how long a lease lasts: time to record the outcome. */
export const LEASE_GRACE_MS = 5000;
/** Pause after the store failed (full disk, busy) before asking again or giving a message back. */
const STORE_RETRY_MS = 1000;

/** Headers a push dead letter gains. */
const PUSH_SUBSCRIPTION_HEADER = 'mqgate-push-subscription';
const PUSH_STATUS_HEADER = 'mqgate-push-status';
const PUSH_ERROR_HEADER = 'mqgate-push-error';

export interface RunnerDeps {
  store: PushStore & DeliveryStore & GroupStore & Pick<QueueStore, 'produce'>;
  clock: Clock;
  /** In [0, 1): the jitter of backoffs. */
  random: () => number;
  targets: TargetPolicy;
  onError: (error: unknown) => void;
}

/** The source, or the push subscription with it, is gone: nothing left to deliver. */
function isGone(error: unknown): boolean {
  return (
    error instanceof GatewayError &&
    ['queue_not_found', 'topic_not_found', 'subscription_not_found', 'group_not_found', 'push_subscription_not_found'].includes(error.code)
  );
}

function sumOutcomes(outcomes: Array<Omit<PushOutcome, 'at'>>): Omit<PushOutcome, 'at'> {
  let lastError: PushOutcome['lastError'] = null;
  const sum = { delivered: 0, failures: 0, deadLettered: 0 };
  for (const outcome of outcomes) {
    sum.delivered += outcome.delivered;
    sum.failures += outcome.failures;
    sum.deadLettered += outcome.deadLettered;
    lastError = outcome.lastError ?? lastError;
  }
  return { ...sum, lastError };
}

/**
 * Delivers one push subscription's messages: up to `concurrency` at a time
 * (an attempt in progress or a wait before a retry each take one), per key
 * one at a time in order when `ordering` is `key`, with retries after
 * exponential backoff (or the receiver's Retry-After) and dead letters.
 * Claims up to `concurrency` more ahead of the free slots, and waits on the
 * feed's wake-ups when there is nothing: an idle runner costs no work.
 */
export class PushRunner<I extends FeedItem> {
  private active = 0;
  private slotFreed: (() => void) | null = null;
  private readonly stopping = new AbortController();
  private readonly chains = new Map<string, I[]>();
  /** Claimed and not yet started: waiting for a slot. */
  private readonly claimed: I[] = [];
  /** Messages found to be no longer this runner's (their lease ran out): not sent again. */
  private readonly lost = new WeakSet<I>();
  private cancelKeepAlive: (() => void) | null = null;
  private readonly sleepers = new Set<() => void>();
  /** Acks on their way to the store; the runner ends only after them. */
  private readonly background = new Set<Promise<void>>();
  private readonly agents: Agents;
  private readonly target: URL | null;
  /** Outcomes of one turn, added to the counters in one write. */
  private readonly outcomes: TurnBatch<Omit<PushOutcome, 'at'>>;
  /** Resolves when the runner has stopped and settled every message it had. */
  readonly done: Promise<void>;

  constructor(
    private readonly push: PushRecord,
    private readonly feed: PushFeed<I>,
    private readonly deps: RunnerDeps,
  ) {
    this.agents = createAgents(push.concurrency);
    this.outcomes = new TurnBatch((outcomes) => deps.store.recordPush({ name: push.name, outcome: { ...sumOutcomes(outcomes), at: deps.clock.now() } }));
    this.target = this.allowedTarget();
    this.done = this.loop();
  }

  /** Messages taken and not yet settled: attempts in progress, waits before a retry, messages behind their key or claimed ahead. */
  get inFlight(): number {
    return this.active + this.claimed.length;
  }

  /** Takes no more messages, lets attempts in progress finish, gives back the rest. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.cancelKeepAlive?.();
    this.slotFreed?.();
    for (const wake of [...this.sleepers]) wake();
    await this.done;
  }

  private allowedTarget(): URL | null {
    try {
      return checkTarget(this.push.url, this.deps.targets);
    } catch {
      // The allow-list changed since the subscription was made: deliveries fail (and are retried) until it allows the host.
      return null;
    }
  }

  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    const { concurrency } = this.push;
    while (!signal.aborted) {
      // Up to `concurrency` more are claimed ahead, so that the next claim's commit overlaps the attempts in progress.
      const room = 2 * concurrency - this.active - this.claimed.length;
      if (room <= 0) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        this.slotFreed = null;
        continue;
      }
      // Under load, let every delivery that finishes in this turn free its slot first: one claim for all of them.
      if (this.active > 0) await new Promise((resolve) => setImmediate(resolve));
      let items: I[];
      try {
        items = await this.feed.next(2 * concurrency - this.active - this.claimed.length, signal);
      } catch (error) {
        if (isGone(error)) break;
        this.deps.onError(error);
        await this.sleep(this.deps.clock.now() + STORE_RETRY_MS);
        continue;
      }
      if (signal.aborted) {
        await this.settle(() => this.feed.release(items));
        break;
      }
      this.claimed.push(...items);
      this.startClaimed();
      this.keepWaitingAlive();
    }
    await this.settle(() => this.feed.release(this.claimed.splice(0)));
    while (this.active > 0) {
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
      });
    }
    await Promise.all(this.background);
    await this.settle(() => this.feed.close());
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** Starts claimed messages while slots are free. */
  private startClaimed(): void {
    while (this.active < this.push.concurrency && !this.stopping.signal.aborted) {
      const item = this.claimed.shift();
      if (item === undefined) return;
      this.start(item);
    }
  }

  private start(item: I): void {
    this.active += 1;
    const key = this.push.ordering === 'key' ? item.message.key : null;
    if (key === null) {
      void this.deliver(item).finally(() => this.finish());
      return;
    }
    const chain = this.chains.get(key);
    if (chain !== undefined) {
      chain.push(item);
      this.keepWaitingAlive();
      return;
    }
    const fresh = [item];
    this.chains.set(key, fresh);
    void this.drain(key, fresh);
  }

  /** A key's messages, one at a time in the order they came; later ones wait behind the first. */
  private async drain(key: string, chain: I[]): Promise<void> {
    while (chain.length > 0) {
      await this.deliver(chain[0]);
      chain.shift();
      this.finish();
    }
    this.chains.delete(key);
  }

  /** Messages this runner holds without working on them: claimed ahead, or behind their key's first. */
  private waiting(): I[] {
    const behind = [...this.chains.values()].flatMap((chain) => chain.slice(1));
    return [...this.claimed, ...behind];
  }

  /**
   * While messages wait, their leases are renewed every half grace period,
   * so that each still has a whole attempt's worth when its turn comes
   * (however long a retry before it waits). Armed only while some wait.
   */
  private keepWaitingAlive(): void {
    if (this.cancelKeepAlive !== null || this.stopping.signal.aborted || this.waiting().length === 0) return;
    const { clock } = this.deps;
    this.cancelKeepAlive = clock.schedule(clock.now() + LEASE_GRACE_MS / 2, () => {
      this.cancelKeepAlive = null;
      const until = clock.now() + this.push.timeoutMs + LEASE_GRACE_MS;
      void this.settle(() => this.hold(this.waiting(), until)).then(() => this.keepWaitingAlive());
    });
  }

  /** Extends the leases of `items`; those it could not extend are lost to this runner. */
  private async hold(items: I[], until: number): Promise<void> {
    for (const item of await this.feed.hold(items, until)) this.lost.add(item);
  }

  private finish(): void {
    this.active -= 1;
    this.startClaimed();
    this.slotFreed?.();
  }

  /** Attempts until delivered, dead-lettered, no longer this runner's, or the runner stops. */
  private async deliver(item: I): Promise<void> {
    const { push, feed, deps } = this;
    const attemptMs = push.timeoutMs + LEASE_GRACE_MS;
    try {
      for (;;) {
        // Its lease ran out while it waited: someone else may have it now.
        if (this.lost.has(item)) return;
        if (this.stopping.signal.aborted) {
          await feed.release([item]);
          return;
        }
        const result = await this.send(item);
        if (result.ok) {
          // The slot is free once the target has the message: waiting for the ack's commit would add a
          // commit to every delivery's turn. An ack lost to a crash only means one more delivery.
          this.inBackground(this.settle(() => feed.delivered(item)));
          this.record({ delivered: 1, failures: 0, deadLettered: 0, lastError: null });
          return;
        }
        this.record({ delivered: 0, failures: 1, deadLettered: 0, lastError: { status: result.status, error: result.error } });
        const deadLetterQueue = push.deadLetterQueue;
        if (deadLetterQueue !== null && ((result.permanent && !push.retryClientErrors) || item.attempt >= push.maxAttempts)) {
          const moved = await feed.deadLetter(item, deadLetterQueue, {
            [PUSH_SUBSCRIPTION_HEADER]: push.name,
            [PUSH_STATUS_HEADER]: result.status === null ? '' : String(result.status),
            [PUSH_ERROR_HEADER]: result.error,
          });
          if (moved) this.record({ delivered: 0, failures: 0, deadLettered: 1, lastError: null });
          return;
        }
        if (this.stopping.signal.aborted) continue;
        const retryAt = deps.clock.now() + (result.retryAfterMs ?? backoffDelay(push.backoff, item.attempt, deps.random));
        await this.hold([item], retryAt + attemptMs);
        await this.sleep(retryAt);
        if (this.stopping.signal.aborted) continue;
        if (!(await feed.retry(item, deps.clock.now() + attemptMs))) return;
      }
    } catch (error) {
      if (isGone(error)) return;
      this.deps.onError(error);
      // Not at once: a failure that repeats (a dead-letter queue that refuses the message) must not spin.
      await this.sleep(deps.clock.now() + STORE_RETRY_MS);
      await this.settle(() => feed.release([item]));
    }
  }

  private send(item: I): Promise<AttemptResult> {
    const { push, deps } = this;
    if (this.target === null) {
      return Promise.resolve({ ok: false, status: null, error: 'target not allowed', permanent: false, retryAfterMs: null });
    }
    return attempt({
      url: this.target,
      method: push.method,
      headers: deliveryHeaders(push, item.message, item.attempt, deps.clock.now()),
      body: item.message.value,
      timeoutMs: push.timeoutMs,
      agents: this.agents,
      clock: deps.clock,
    });
  }

  private record(outcome: Omit<PushOutcome, 'at'>): void {
    this.outcomes.add(outcome).catch(this.deps.onError);
  }

  /**
   * Store work that may fail (the store full or closing) without losing a
   * message: it stays where the store has it, and a lease runs out and the
   * message comes back, an uncommitted offset is read again.
   */
  private async settle(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!isGone(error)) this.deps.onError(error);
    }
  }

  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    void work.then(() => this.background.delete(work));
  }

  /** Waits until the clock reads `until`, or the runner stops (at once if it already has: stop() woke only those asleep then). */
  private sleep(until: number): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        cancel();
        this.sleepers.delete(wake);
        resolve();
      };
      const cancel = this.deps.clock.schedule(until, wake);
      this.sleepers.add(wake);
    });
  }
}
