import { StoreError } from '../errors';
import type { BrowsedMessage } from '../store';
import { messageIdOf, type RawMessage, toStoredMessage } from './messageRow';

/** A message with its delivery row in the browsed queue subscription. */
export interface RawBrowsedMessage extends RawMessage {
  delivery_count: number;
  /** A boolean column: 0 or 1 where the engine has no booleans. */
  leased: boolean | number;
  available_at: number;
}

/** The message where it stands: a lease that has run out is ready again, as queueStats counts it. */
export function toBrowsedMessage(row: RawBrowsedMessage, now: number): BrowsedMessage {
  return {
    ...toStoredMessage(row),
    deliveryCount: row.delivery_count,
    state: row.available_at <= now ? 'ready' : row.leased ? 'leased' : 'delayed',
  };
}

/** The message id a browse goes on after; `0` is taken for "from the oldest", as no message has it. */
export function browseAfter(after: string | null): number {
  if (after === null) return 0;
  const id = messageIdOf(after);
  if (id === null) throw new StoreError({ code: 'position_invalid', position: after });
  return id;
}
