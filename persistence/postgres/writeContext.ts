/**
 * What a write operation tells the store beside its result, announced to the
 * process's listeners once its transaction commits (never before: a woken
 * reader must find what woke it).
 */
export interface WriteContext {
  /** Messages of `queue` (a queue's or a topic's name) became ready. */
  notify(queue: string): void;
  /** The reply to the request `correlationId` was stored. */
  replied(correlationId: string): void;
}
