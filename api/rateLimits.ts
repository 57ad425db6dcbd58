import type { Clock } from '../queue/clock';
import { GatewayError } from '../queue/errors';
import type { ApiKey, KeyChanges, KeyLimits } from './keys';

/**
 * A token bucket that may go into debt: a request is let in while the bucket
 * is not empty and then pays its full cost, so one large body is never refused
 * forever; the debt delays the next ones. Holds one second's worth at most.
 */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.at = now;
  }

  /** Milliseconds until the bucket holds `needed` tokens; 0 if it does now. */
  waitMs(now: number, needed: number): number {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    return this.tokens >= needed ? 0 : Math.ceil(((needed - this.tokens) * 1000) / this.perSecond);
  }

  take(now: number, amount: number): void {
    this.waitMs(now, 0);
    this.tokens -= amount;
  }
}

interface KeyState {
  requests: Bucket | null;
  bytes: Bucket | null;
  maxLongPolls: number | null;
  /** Each long-poll holding one of the key's slots, by what it does when a reload changes or removes the key. */
  longPolls: Set<(key: ApiKey | null) => void>;
}

function rateLimited(detail: string, waitMs: number): never {
  throw new GatewayError('rate_limited', detail, { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
}

/** Request rate, byte rate and concurrent long-polls, per key (`''`: everyone, when the server has no keys). */
/**
 * A key's limits as one of `gateways` gateways that share them enforces them:
 * its part of each, rounded up (a rate never drops below one a second).
 */
export function shareOf(limits: KeyLimits, gateways: number): KeyLimits {
  const part = (limit: number | null): number | null => (limit === null ? null : Math.ceil(limit / gateways));
  return { requestsPerSecond: part(limits.requestsPerSecond), bytesPerSecond: part(limits.bytesPerSecond), longPolls: part(limits.longPolls) };
}

export class RateLimiter {
  private readonly states = new Map<string, KeyState>();

  constructor(
    private readonly clock: Clock,
    private readonly defaults: KeyLimits,
    /** How many gateways share every key's limits (the `gateways` setting): each enforces its part of them (shareOf). */
    private readonly gateways = 1,
  ) {}

  /** A key's state as its limits (`own`, over the defaults, this gateway's part of them) make it; its long-polls carried over from `holding`. */
  private fresh(own: Partial<KeyLimits>, holding: KeyState['longPolls']): KeyState {
    const limits = shareOf({ ...this.defaults, ...own }, this.gateways);
    const now = this.clock.now();
    return {
      requests: limits.requestsPerSecond === null ? null : new Bucket(limits.requestsPerSecond, now),
      bytes: limits.bytesPerSecond === null ? null : new Bucket(limits.bytesPerSecond, now),
      maxLongPolls: limits.longPolls,
      longPolls: holding,
    };
  }

  private state(keyId: string, own: Partial<KeyLimits>): KeyState {
    let state = this.states.get(keyId);
    if (state === undefined) {
      state = this.fresh(own, new Set());
      this.states.set(keyId, state);
    }
    return state;
  }

  /**
   * Lets a request in or throws `rate_limited` with the wait. Returns how to
   * pay for the body bytes the request read and wrote, once they are known;
   * null when the key has no byte rate.
   */
  admit(keyId: string, own: Partial<KeyLimits>): ((bytes: number) => void) | null {
    const { requests, bytes } = this.state(keyId, own);
    const now = this.clock.now();
    const byteWait = bytes?.waitMs(now, 0) ?? 0;
    if (byteWait > 0) rateLimited('This key is over its byte rate.', byteWait);
    const requestWait = requests?.waitMs(now, 1) ?? 0;
    if (requestWait > 0) rateLimited('This key is over its request rate.', requestWait);
    requests?.take(now, 1);
    return bytes === null ? null : (amount) => bytes.take(this.clock.now(), amount);
  }

  /**
   * Holds one of the key's long-poll slots until the returned release is
   * called; meanwhile `onKeyChange` hears of each reload that changes the
   * key (with its new entry) or removes it (null).
   */
  holdLongPoll(keyId: string, own: Partial<KeyLimits>, onKeyChange: (key: ApiKey | null) => void): () => void {
    const state = this.state(keyId, own);
    const waiting = state.longPolls.size;
    if (state.maxLongPolls !== null && waiting >= state.maxLongPolls) {
      throw new GatewayError(
        'too_many_long_polls',
        `This key already has ${waiting} fetches waiting or streams open, its most; fetch with waitMs 0 or wait for one to end.`,
        { retryAfterSeconds: 1 },
      );
    }
    // A hold of its own, even if two long-polls pass the same callback.
    const hold = (key: ApiKey | null): void => onKeyChange(key);
    state.longPolls.add(hold);
    return () => state.longPolls.delete(hold);
  }

  /**
   * After a reload: a changed key's limits apply from its next request
   * (its buckets start again, full, at the new rates; long-polls already
   * waiting keep their slots), a removed key's state goes, and each
   * long-poll of either hears of it.
   */
  keysChanged({ removed, changed }: Pick<KeyChanges, 'removed' | 'changed'>): void {
    for (const key of removed) {
      const state = this.states.get(key.id);
      this.states.delete(key.id);
      for (const hold of state?.longPolls ?? []) hold(null);
    }
    for (const key of changed) {
      const state = this.states.get(key.id);
      if (state === undefined) continue;
      this.states.set(key.id, this.fresh(key.limits, state.longPolls));
      for (const hold of state.longPolls) hold(key);
    }
  }
}
