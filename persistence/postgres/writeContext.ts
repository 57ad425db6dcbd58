import { StoreError } from '../errors';

/**
 * What a write operation tells the store beside its result, announced to the
 * process's listeners once its transaction commits (never before: a woken
 * reader must find what woke it).
 */
export interface WriteContext {
  /** Messages of `queue` (a queue's or a topic's name) became ready, or may be due sooner than a waiter last looked (a delayed produce or nack). */
  notify(queue: string): void;
  /** The reply to the request `correlationId` was stored. */
  replied(correlationId: string): void;
}

/** What became of one of the writes a transaction carried: its result, or why it was refused. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** What `make` gives, or the refusal (a StoreError) it threw; anything else it throws is a fault, and goes on up. */
export function settled<T>(make: () => T): Settled<T> {
  try {
    return { ok: true, value: make() };
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return { ok: false, error };
  }
}

/** The value of a write that was taken; the refusal thrown for one that was not. */
export function taken<T>(outcome: Settled<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
