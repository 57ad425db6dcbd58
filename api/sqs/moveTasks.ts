import crypto from 'node:crypto';
import { GatewayError } from '../../queue/errors';
import type { SqsAction, SqsCall, SqsDeps } from './context';
import { invalidParameter, missingParameter, SqsError } from './errors';
import { nameFromArn, queueArn } from './queueNames';

/**
 * Message move tasks (dead-letter redrive), over /v1's redrive: a task moves
 * the dead letters back to their source queues. It runs to completion inside
 * StartMessageMoveTask, so no task is ever left running in one process's
 * memory; the finished ones are kept in the store (the newest 10 per queue),
 * where ListMessageMoveTasks finds them from any gateway process.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const notFound = (parameter: string): SqsError =>
  new SqsError('ResourceNotFoundException', `The resource that you specified for the ${parameter} parameter doesn't exist.`);

/** The queue an ARN parameter names, once the caller may do `action` on it. */
function queueOfArn(call: SqsCall, parameter: 'SourceArn' | 'DestinationArn', action: 'admin' | 'produce' | null): string {
  const arn = call.input.string(parameter);
  const name = nameFromArn(arn);
  if (name === null) throw invalidParameter(parameter, arn, 'Must be the ARN of a queue.');
  call.principal.require(action, 'queues', name);
  return name;
}

/** A task handle names its source queue, so that its scope can be checked. */
function taskHandle(source: string): string {
  return Buffer.from(JSON.stringify([source, crypto.randomUUID()])).toString('base64url');
}

function sourceOfHandle(handle: string): string {
  try {
    const [source, id] = JSON.parse(Buffer.from(handle, 'base64url').toString('utf8')) as unknown[];
    if (typeof source === 'string' && typeof id === 'string' && UUID.test(id)) return source;
  } catch {
    // Not one of ours: answered below.
  }
  throw new SqsError('InvalidParameterValue', 'Value for parameter TaskHandle is invalid.');
}

export function moveTaskActions(deps: SqsDeps): Record<string, SqsAction> {
  const { queues } = deps;
  /** `lookup` of the queue `parameter` names; ResourceNotFoundException when there is no such queue. */
  const found = async <T>(parameter: string, lookup: () => Promise<T>): Promise<T> => {
    try {
      return await lookup();
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'queue_not_found') throw notFound(parameter);
      throw error;
    }
  };

  return {
    async StartMessageMoveTask(call) {
      const source = queueOfArn(call, 'SourceArn', 'admin');
      // Without one, back to the sources; with one, the caller must be able to produce to it.
      const destination = call.input.has('DestinationArn') ? queueOfArn(call, 'DestinationArn', 'produce') : null;
      const target = destination === null ? null : await found('DestinationArn', () => queues.settings(destination));
      const maxPerSecond = call.input.integer('MaxNumberOfMessagesPerSecond', 1, 500);
      const sourceQueue = await found('SourceArn', () => queues.get(source));
      const toMove = sourceQueue.stats.ready;
      if (target !== null && target.ordering !== sourceQueue.ordering) {
        throw invalidParameter('DestinationArn', call.input.string('DestinationArn'), 'Destination queue must be the same type of queue as the source.');
      }
      if (!(await queues.isDeadLetterQueue(source))) {
        throw invalidParameter('SourceArn', call.input.string('SourceArn'), 'Source queue must be configured as a Dead Letter Queue.');
      }
      const startedAt = deps.wallClock();
      let moved = 0;
      // Batch after batch until none is left that can go back: leased ones and those whose source is gone stay.
      for (;;) {
        const { redriven } = await queues.redrive(source, deps.limits.maxBatchMessages, destination);
        moved += redriven;
        if (redriven === 0) break;
      }
      const handle = taskHandle(source);
      await queues.recordMoveTask(source, { handle, destination, maxPerSecond: maxPerSecond ?? null, moved, toMove, startedAt });
      return { TaskHandle: handle };
    },

    async ListMessageMoveTasks(call) {
      const source = queueOfArn(call, 'SourceArn', null);
      const max = call.input.integer('MaxResults', 1, 10) ?? 1;
      await found('SourceArn', () => queues.settings(source));
      const tasks = await queues.moveTasks(source, max);
      return {
        Results: tasks.map((task) => ({
          Status: 'COMPLETED',
          SourceArn: call.input.string('SourceArn'),
          ...(task.destination === null ? {} : { DestinationArn: queueArn(task.destination) }),
          ...(task.maxPerSecond === null ? {} : { MaxNumberOfMessagesPerSecond: task.maxPerSecond }),
          ApproximateNumberOfMessagesMoved: task.moved,
          ApproximateNumberOfMessagesToMove: task.toMove,
          StartedTimestamp: task.startedAt,
        })),
      };
    },

    /** Every task has finished by the time its handle is known: none is left to cancel. */
    async CancelMessageMoveTask(call) {
      const handle = call.input.optionalString('TaskHandle');
      if (handle === undefined) throw missingParameter('TaskHandle');
      call.principal.require('admin', 'queues', sourceOfHandle(handle));
      throw new SqsError('ResourceNotFoundException', 'Task does not exist.');
    },
  };
}
