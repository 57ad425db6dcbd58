import type { GatewayError } from '../../queue/errors';
import type { Limits } from '../../queue/limits';
import type { MoveTasks } from '../../queue/moveTasks';
import type { QueueService } from '../../queue/queueService';
import type { AuthOptions, Principal } from '../auth';
import type { Action } from '../scopes';
import type { Input } from './protocol';
import { nameFromUrl } from './queueNames';

/** What the SQS face needs: the same queue semantics as /v1, and the gateway's keys and limits. */
export interface SqsDeps {
  queues: Pick<
    QueueService,
    | 'put'
    | 'get'
    | 'settings'
    | 'names'
    | 'isDeadLetterQueue'
    | 'deadLetterSources'
    | 'delete'
    | 'purge'
    | 'purgeOncePer'
    | 'produce'
    | 'fetch'
    | 'ack'
    | 'nack'
    | 'extend'
    | 'receiptCheck'
    | 'update'
  >;
  /** Message move tasks (StartMessageMoveTask and the others), run in the background. */
  moveTasks: Pick<MoveTasks, 'startTask' | 'tasks' | 'cancelTask'>;
  auth: Pick<AuthOptions, 'keys' | 'rates'>;
  /** Aborted when the server shuts down: long-polls return what they have. */
  shutdown: AbortSignal;
  limits: Limits;
  /** Where an internal error is reported; the client is told only that one happened. */
  onInternalError: (error: GatewayError) => void;
  /** Wall-clock milliseconds: SigV4 signatures are dated by the client's wall clock, not the gateway's injected one. */
  wallClock: () => number;
}

/** One SQS request, authenticated. */
export interface SqsCall {
  input: Input;
  principal: Principal;
  /** `http://<host the client called>`: QueueUrls are built on it. */
  origin: string;
  /** Aborted when the client goes away or the server shuts down. */
  signal: AbortSignal;
}

/** One SQS action: its result object, or a thrown SqsError / GatewayError. */
export type SqsAction = (call: SqsCall) => Promise<object>;

/**
 * The queue the request's QueueUrl names, once the caller may do `action` on
 * it (null: anything). Scopes are checked before the queue is looked up, so a
 * refusal says nothing about whether it exists.
 */
export function queueOf(call: SqsCall, action: Action | null): string {
  const name = nameFromUrl(call.input.string('QueueUrl'));
  call.principal.require(action, 'queues', name);
  return name;
}
