import type { SubscriptionRef } from '../persistence/store';

/** What a count of messages is about: a queue, or a topic (its groups and queue subscriptions count under it). */
export interface Target {
  kind: 'queue' | 'topic';
  name: string;
}

/**
 * Message counts as the semantics see them happen, for metrics and the
 * dashboard's rates. Called after the store has committed, never before, so
 * an observer counts only what a client was told succeeded.
 */
export interface MessageEvents {
  produced(target: Target, count: number): void;
  /** Messages handed to a consumer: leased from a queue subscription, or read by a consumer group. */
  delivered(target: Target, count: number): void;
  acked(target: Target, count: number): void;
}

/** The queue or topic a queue subscription belongs to. */
export function targetOf(ref: SubscriptionRef): Target {
  return 'queue' in ref ? { kind: 'queue', name: ref.queue } : { kind: 'topic', name: ref.topic };
}

/** How many of `items` match: what an event counts of a batch's results. */
export function countWhere<T>(items: T[], match: (item: T) => boolean): number {
  return items.reduce((count, item) => count + (match(item) ? 1 : 0), 0);
}
