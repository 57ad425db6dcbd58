import { StoreError } from '../errors';
import type { NewMessage, StoreRules } from '../store';

/** A message as append stores it: its partition and delay already decided. */
export type AppendMessage = Omit<NewMessage, 'delayMs' | 'bytes' | 'partition'> & {
  delayMs: number;
  partition: number;
  /** A message moved from another queue (a dead letter, a redrive): the id it was produced with, which it keeps. */
  originalId?: number;
};

/** Where appended messages go: a topic, and a delivery row per queue subscription of it. */
export interface AppendTarget {
  name: string;
  topicId: number;
  subscriptionIds: number[];
  /** Whether the deliveries are a FIFO queue's (a topic's queue subscriptions never are): only those carry a group (deliveryGroup). */
  fifo: boolean;
  /** A topic's readers may read a message at once; a queue's only once its delay has passed. */
  kind: 'queue' | 'topic';
  /** The caps a client's produce must stay within, and the rule that applies them; null for dead letters and redrives, which are never refused. */
  quota: { caps: Quota; breach: StoreRules['quotaBreach'] } | null;
}

type Quota = Parameters<StoreRules['quotaBreach']>[0];

/**
 * A FIFO delivery's group_id for a message without a group: no group id is
 * empty (the API asks for 1 to 128 characters), and '' comes before every
 * other, so the claim meets the group-less run as one more group, first.
 */
export const NO_GROUP = '';

/**
 * The group_id of a delivery row. A FIFO queue's carry their message's group
 * (NO_GROUP for none), so each of them is in the group indexes the FIFO claim
 * walks; every other delivery carries NULL, which those indexes leave out:
 * standard queues do not pay for them (SQLite migration 014, PostgreSQL 008).
 */
export function deliveryGroup(fifo: boolean, group: string | null): string | null {
  return fifo ? (group ?? NO_GROUP) : null;
}

/** What an append stores, and what the target already holds: in messages, and in value bytes. */
export interface Amount {
  messages: number;
  bytes: number;
}

/**
 * Refuses the whole append (the backend's transaction rolls back) when adding
 * what it puts in each partition to what the target stores would take the
 * target past a cap.
 */
export function checkQuota(name: string, quota: NonNullable<AppendTarget['quota']>, stored: Amount, partitions: Iterable<Amount>): void {
  const adding = { messages: 0, bytes: 0 };
  for (const partition of partitions) {
    adding.messages += partition.messages;
    adding.bytes += partition.bytes;
  }
  const unit = quota.breach(quota.caps, stored, adding);
  if (unit === null) return;
  const max = (unit === 'messages' ? quota.caps.maxStoredMessages : quota.caps.maxStoredBytes) as number;
  throw new StoreError({ code: 'quota_exceeded', name, unit, stored: stored[unit], max, adding: adding[unit] });
}
