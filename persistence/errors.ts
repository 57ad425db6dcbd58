import type { PushSource } from './store';

/**
 * Why a store refused or failed a call, as facts: a code and the names and
 * numbers involved. The store never writes English for clients; queue/
 * turns a failure into a GatewayError with its words (queue/storeErrors.ts),
 * the same words whichever backend failed.
 */
export type StoreFailure =
  | { code: 'queue_not_found'; queue: string }
  | { code: 'topic_not_found'; topic: string }
  | { code: 'subscription_not_found'; topic: string; subscription: string }
  | { code: 'group_not_found'; topic: string; group: string }
  | { code: 'push_subscription_not_found'; push: string }
  | { code: 'dead_letter_queue_not_found'; queue: string }
  | { code: 'partition_not_found'; topic: string; partition: number }
  /** A read outside [start, end], or a commit past `end` (`start` null). */
  | { code: 'offset_out_of_range'; topic: string; partition: number; offset: number; start: number | null; end: number }
  /** A browse position the store did not hand out. */
  | { code: 'position_invalid'; position: string }
  | { code: 'name_in_use'; name: string; usedBy: 'queue' | 'topic' }
  | { code: 'partitions_cannot_shrink'; topic: string; partitions: number }
  | { code: 'source_cannot_change'; push: string; source: PushSource }
  /** `heartbeat`: a member's own fetch, commit or join found it gone (it left, missed its session timeout, or never joined); `leave`: it was not there to leave. */
  | { code: 'unknown_member'; group: string; memberId: string; during: 'heartbeat' | 'leave' }
  | { code: 'stale_generation'; group: string; generation: number | null; current: number }
  | { code: 'partition_not_assigned'; memberId: string | null; partition: number; generation: number }
  | { code: 'group_has_members'; group: string; during: 'fetch' | 'commit' }
  | { code: 'queue_in_use'; queue: string; dependents: number }
  | { code: 'message_too_large'; name: string; index: number; bytes: number; max: number }
  | { code: 'quota_exceeded'; name: string; unit: 'messages' | 'bytes'; stored: number; max: number; adding: number }
  | { code: 'storage_full' }
  /** A text (a name, key or header) holds a character the store cannot keep: PostgreSQL's text holds no NUL (U+0000). */
  | { code: 'text_unstorable' }
  /**
   * `refused`: nothing was written (the store is unreachable, busy or read-only);
   * `halted`: an earlier write failed to reach the disk and the store takes no more until restarted;
   * `unconfirmed`: the write may or may not have been kept.
   */
  | { code: 'storage_unavailable'; state: 'refused' | 'halted' | 'unconfirmed' }
  | { code: 'not_ready'; pendingMigrations: number };

export type StoreErrorCode = StoreFailure['code'];

/** The one error a store throws for what it means to throw; anything else is a fault (internal_error). */
export class StoreError extends Error {
  readonly failure: StoreFailure;

  constructor(failure: StoreFailure, options: { cause?: unknown } = {}) {
    // The facts as the message: for logs only, never for clients.
    super(`${failure.code} ${JSON.stringify(failure)}`, options);
    this.name = 'StoreError';
    this.failure = failure;
  }

  get code(): StoreErrorCode {
    return this.failure.code;
  }
}
