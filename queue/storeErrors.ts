import { StoreError, type StoreFailure } from '../persistence/errors';
import { sourcePath } from './push/source';
import { GatewayError } from './errors';

/** The words a client reads for a store's refusal: the same whichever backend refused. */
export function gatewayErrorOf(failure: StoreFailure, cause: StoreError): GatewayError {
  const error = (code: GatewayError['code'], detail: string): GatewayError => new GatewayError(code, detail, { cause });
  switch (failure.code) {
    case 'queue_not_found':
      return error(failure.code, `Queue '${failure.queue}' does not exist.`);
    case 'topic_not_found':
      return error(failure.code, `Topic '${failure.topic}' does not exist.`);
    case 'subscription_not_found':
      return error(failure.code, `Topic '${failure.topic}' has no subscription '${failure.subscription}'.`);
    case 'group_not_found':
      return error(failure.code, `Topic '${failure.topic}' has no consumer group '${failure.group}'.`);
    case 'push_subscription_not_found':
      return error(failure.code, `Push subscription '${failure.push}' does not exist.`);
    case 'dead_letter_queue_not_found':
      return error(failure.code, `Dead-letter queue '${failure.queue}' does not exist; create it first.`);
    case 'partition_not_found':
      return error(failure.code, `Topic '${failure.topic}' has no partition ${failure.partition}.`);
    case 'offset_out_of_range':
      return failure.start === null
        ? error(failure.code, `Offset ${failure.offset} is past the end (${failure.end}) of partition ${failure.partition} of '${failure.topic}'.`)
        : error(
            failure.code,
            `Offset ${failure.offset} is outside partition ${failure.partition} of '${failure.topic}': readable offsets are ${failure.start} to ${failure.end}.`,
          );
    case 'position_invalid':
      return new GatewayError('validation_failed', 'Invalid request.', {
        cause,
        errors: [{ pointer: '/query/after', detail: `'${failure.position}' is not the id of a message of this queue.` }],
      });
    case 'name_in_use':
      return error(failure.code, `'${failure.name}' is already the name of a ${failure.usedBy}.`);
    case 'partitions_cannot_shrink':
      return error(failure.code, `Topic '${failure.topic}' has ${failure.partitions} partitions; a topic's partitions may grow, never shrink.`);
    case 'source_cannot_change':
      return error(
        failure.code,
        `Push subscription '${failure.push}' delivers ${sourcePath(failure.source)}; delete it to deliver another source.`,
      );
    case 'unknown_member':
      return failure.during === 'heartbeat'
        ? error(failure.code, `'${failure.memberId}' is not a member of group '${failure.group}' (it left or missed its session timeout); join again.`)
        : error(failure.code, `'${failure.memberId}' is not a member of group '${failure.group}'.`);
    case 'stale_generation':
      return error(
        failure.code,
        `Generation ${failure.generation} is over; group '${failure.group}' is in generation ${failure.current}. Fetch again (or join again) before committing.`,
      );
    case 'partition_not_assigned':
      return error('stale_generation', `Partition ${failure.partition} is not assigned to '${failure.memberId}' in generation ${failure.generation}.`);
    case 'group_has_members':
      return error(
        failure.code,
        failure.during === 'fetch'
          ? `Group '${failure.group}' has members; fetch as one of them (memberId) or use another group.`
          : `Group '${failure.group}' has members; commit as one of them (memberId and generation).`,
      );
    case 'queue_in_use':
      return error(
        failure.code,
        `Queue '${failure.queue}' is the dead-letter queue of ${failure.dependents} other queue(s), subscription(s) or push subscription(s); change those first.`,
      );
    case 'message_too_large':
      return error(failure.code, `Message ${failure.index} is ${failure.bytes} bytes; '${failure.name}' accepts at most ${failure.max}.`);
    case 'quota_exceeded':
      return error(
        failure.code,
        `'${failure.name}' stores ${failure.stored} of at most ${failure.max} ${failure.unit}; ${failure.adding} more do not fit.`,
      );
    case 'text_unstorable':
      return error('bad_request', 'A name, key or header holds a character the store cannot keep (NUL, U+0000).');
    case 'storage_full':
      return error(failure.code, 'The store is out of space; nothing was written.');
    case 'storage_unavailable':
      return error(failure.code, UNAVAILABLE[failure.state]);
    case 'not_ready':
      return error(failure.code, `${failure.pendingMigrations} schema migration(s) are not applied.`);
  }
}

const UNAVAILABLE = {
  refused: 'The store cannot write right now; nothing was written.',
  halted: 'The store failed to write to disk and takes no writes until restarted; nothing was written.',
  unconfirmed: 'The store could not confirm the write on disk; it may or may not have been kept.',
} as const;

/** A store refusal as the GatewayError a client sees; anything else (a fault) unchanged. */
function translated(error: unknown): unknown {
  return error instanceof StoreError ? gatewayErrorOf(error.failure, error) : error;
}

/**
 * The store as queue/ uses it: every refusal it rejects with arrives as a
 * GatewayError. Wraps each method once, so the store's roles keep their types.
 */
export function speakingStore<T extends object>(store: T): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      let method = wrapped.get(property);
      if (method === undefined) {
        method = (...args: unknown[]): unknown => {
          const result: unknown = Reflect.apply(value, target, args);
          return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(translated(error))) : result;
        };
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
