import crypto from 'node:crypto';
import type { MoveTask, MoveTaskFailure, MoveTaskStatus } from '../../persistence/store';
import { GatewayError } from '../../queue/errors';
import type { SqsAction, SqsCall, SqsDeps } from './context';
import { invalidParameter, missingParameter, SqsError } from './errors';
import { nameFromArn, queueArn } from './queueNames';

/**
 * Message move tasks (dead-letter redrive): a task moves the dead letters of
 * a queue back to their source queues, or to a destination, in the
 * background (queue/moveTasks.ts), at MaxNumberOfMessagesPerSecond if given.
 * Tasks are kept in the store (the newest 10 per queue), where
 * ListMessageMoveTasks finds them, running ones with their counts so far,
 * from any gateway process; one of them runs each running task.
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

const STATUS: Record<MoveTaskStatus, string> = {
  running: 'RUNNING',
  cancelling: 'CANCELLING',
  completed: 'COMPLETED',
  cancelled: 'CANCELLED',
  failed: 'FAILED',
};

/** SQS's words for why a task failed. */
const FAILURE_REASON: Record<MoveTaskFailure, string> = {
  message_source_unknown: 'CouldNotDetermineMessageSource',
  queue_not_found: 'AWS.SimpleQueueService.NonExistentQueue',
};

/** A task as ListMessageMoveTasks shows it: the handle of a running one only, the reason of a failed one only, as SQS does. */
function resultEntry(task: MoveTask, sourceArn: string): object {
  return {
    ...(task.status === 'running' ? { TaskHandle: task.handle } : {}),
    Status: STATUS[task.status],
    SourceArn: sourceArn,
    ...(task.destination === null ? {} : { DestinationArn: queueArn(task.destination) }),
    ...(task.maxPerSecond === null ? {} : { MaxNumberOfMessagesPerSecond: task.maxPerSecond }),
    ApproximateNumberOfMessagesMoved: task.moved,
    ApproximateNumberOfMessagesToMove: task.toMove,
    ...(task.failure === null ? {} : { FailureReason: FAILURE_REASON[task.failure] }),
    StartedTimestamp: task.startedAt,
  };
}

export function moveTaskActions(deps: SqsDeps): Record<string, SqsAction> {
  const { queues, moveTasks } = deps;
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
      const handle = taskHandle(source);
      if (!(await moveTasks.startTask({ queue: source, handle, destination, maxPerSecond: maxPerSecond ?? null, toMove }))) {
        throw new SqsError('InvalidParameterValue', 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
      }
      return { TaskHandle: handle };
    },

    async ListMessageMoveTasks(call) {
      const source = queueOfArn(call, 'SourceArn', null);
      const max = call.input.integer('MaxResults', 1, 10) ?? 1;
      const tasks = await found('SourceArn', () => moveTasks.tasks(source, max));
      return { Results: tasks.map((task) => resultEntry(task, call.input.string('SourceArn'))) };
    },

    /** Only a running task can be cancelled: it stops at its next step; what it moved stays moved. */
    async CancelMessageMoveTask(call) {
      const handle = call.input.optionalString('TaskHandle');
      if (handle === undefined) throw missingParameter('TaskHandle');
      const source = sourceOfHandle(handle);
      call.principal.require('admin', 'queues', source);
      const task = await found('SourceArn', () => moveTasks.cancelTask(source, handle));
      if (task === null) throw new SqsError('ResourceNotFoundException', 'Task does not exist.');
      return { ApproximateNumberOfMessagesMoved: task.moved };
    },
  };
}
