import type { SchemaOwner, SubscriptionRef } from '../persistence/store';

/** What a count of messages is about: a queue, or a topic (its groups and queue subscriptions count under it). */
export interface Target {
  kind: 'queue' | 'topic';
  name: string;
}

/**
 * Why a resource's schema refused a message, by the refusal's code: the
 * message breaks the schema (`schema_validation_failed`; the SQS face's
 * InvalidMessageContents), or it is not JSON and the schema does not allow
 * raw bodies (`unsupported_media_type`).
 */
export type SchemaRefusal = 'schema_validation_failed' | 'unsupported_media_type';

/**
 * Message counts as the semantics see them happen, for metrics and the
 * dashboard's rates. Counts of messages stored, delivered or acked are called
 * after the store has committed, never before, so an observer counts only
 * what a client was told succeeded; refusals as the refusal is decided.
 */
export interface MessageEvents {
  produced(target: Target, count: number): void;
  /** Messages handed to a consumer: leased from a queue subscription, or read by a consumer group. */
  delivered(target: Target, count: number): void;
  acked(target: Target, count: number): void;
  /** Messages of a produce that the resource's schema refused (each failing message once; nothing of the produce is stored). */
  schemaRefused(target: Target, reason: SchemaRefusal, count: number): void;
}

/** The queue or topic a queue subscription, or a schema, belongs to. */
export function targetOf(ref: SubscriptionRef | SchemaOwner): Target {
  return 'queue' in ref ? { kind: 'queue', name: ref.queue } : { kind: 'topic', name: ref.topic };
}

/** How many of `items` match: what an event counts of a batch's results. */
export function countWhere<T>(items: T[], match: (item: T) => boolean): number {
  return items.reduce((count, item) => count + (match(item) ? 1 : 0), 0);
}
