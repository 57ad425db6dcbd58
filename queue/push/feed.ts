import type { StoredMessage } from '../../persistence/store';

/** One message a push runner is delivering. */
export interface FeedItem {
  readonly message: StoredMessage;
  /** The number of the next attempt (1 for the first); survives a restart where the source can keep it. */
  readonly attempt: number;
}

/**
 * Where a push runner's messages come from and where their outcomes go: the
 * leases of a queue subscription, or the offsets of a consumer group. Every
 * method may throw a GatewayError from the store.
 */
export interface PushFeed<I extends FeedItem> {
  /** Up to `max` messages; waits until there are some, or `signal` aborts (then maybe []). */
  next(max: number, signal: AbortSignal): Promise<I[]>;
  /** The target took it (2xx). */
  delivered(item: I): Promise<void>;
  /** Moves it to `queue` with `headers` saying why; false when it was no longer this runner's to move. */
  deadLetter(item: I, queue: string, headers: Record<string, string>): Promise<boolean>;
  /** Makes it the next attempt, kept this runner's until `until`; false when it is no longer this runner's. */
  retry(item: I, until: number): Promise<boolean>;
  /** Keeps messages this runner's until `until` (waiting for a retry, for a slot, behind their key); returns those it lost. */
  hold(items: I[], until: number): Promise<I[]>;
  /** Gives messages back undelivered, for a later delivery. */
  release(items: I[]): Promise<void>;
  /** The runner has stopped and settled every message. */
  close(): Promise<void>;
}
