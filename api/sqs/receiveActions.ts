import { DEAD_LETTER_SOURCE_HEADER, type SubscriptionRef } from '../../persistence/store';
import { RawJson } from '../../queue/messages';
import type { LeasedMessage, QueueSettingsView, ReceiptResult } from '../../queue/queueService';
import { actOnChecked, batchEntries, batchResult, type EntryOutcome, outcomeOf } from './batches';
import { queueOf, type SqsAction, type SqsCall, type SqsDeps } from './context';
import { invalidParameter, missingParameter, SqsError } from './errors';
import { md5OfAttributes, md5OfBody } from './md5';
import { DEDUPLICATION_ID_HEADER, fromHeaders, selectAttributes, SENDER_HEADER, TRACE_HEADER } from './messageAttributes';
import { ACCOUNT_ID, queueArn } from './queueNames';
import { asLongPoll } from '../auth';
import type { Input } from './protocol';
import { fifoId, sequenceNumber } from './sendActions';

const MAX_VISIBILITY_SECONDS = 43_200;

/** The body SQS shows: text as it is, JSON as its text, other bytes in base64 (SQS bodies are text). */
function bodyOf(message: LeasedMessage): string {
  return message.value instanceof RawJson ? message.value.bytes.toString('utf8') : String(message.value);
}

/** The system attributes a message has, by SQS name; values are strings. */
function systemAttributes(message: LeasedMessage, queue: QueueSettingsView): Record<string, string> {
  const { headers } = message;
  const attributes: Record<string, string> = {
    ApproximateReceiveCount: String(message.deliveryCount),
    SentTimestamp: String(message.timestamp),
    ApproximateFirstReceiveTimestamp: String(message.firstDeliveredAt),
  };
  if (message.group !== null) attributes.MessageGroupId = message.group;
  if (headers[DEDUPLICATION_ID_HEADER] !== undefined) attributes.MessageDeduplicationId = headers[DEDUPLICATION_ID_HEADER];
  if (queue.ordering === 'fifo') attributes.SequenceNumber = sequenceNumber(message.offset);
  if (headers[TRACE_HEADER] !== undefined) attributes.AWSTraceHeader = headers[TRACE_HEADER];
  // The sending key; the one account's id for a message sent without one (an open gateway, or /v1).
  attributes.SenderId = headers[SENDER_HEADER] ?? ACCOUNT_ID;
  // A queue's dead letter names its source queue; a topic subscription's (`topic/subscription`) has no SQS ARN.
  const source = headers[DEAD_LETTER_SOURCE_HEADER];
  if (source !== undefined && !source.includes('/')) attributes.DeadLetterQueueSourceArn = queueArn(source);
  return attributes;
}

function pick(all: Record<string, string>, names: string[]): Record<string, string> {
  if (names.includes('All')) return all;
  return Object.fromEntries(Object.entries(all).filter(([name]) => names.includes(name)));
}

/** A leased message as ReceiveMessage returns it, with the attributes asked for (most receives ask for none) and their MD5. */
function received(message: LeasedMessage, queue: QueueSettingsView, systemNames: string[], attributeNames: string[]): object {
  const body = bodyOf(message);
  const system = systemNames.length === 0 ? {} : pick(systemAttributes(message, queue), systemNames);
  const attributes = attributeNames.length === 0 ? {} : selectAttributes(fromHeaders(message.headers), attributeNames);
  const hasAttributes = Object.keys(attributes).length > 0;
  return {
    MessageId: message.id,
    ReceiptHandle: message.receipt,
    MD5OfBody: md5OfBody(body),
    Body: body,
    ...(Object.keys(system).length === 0 ? {} : { Attributes: system }),
    ...(hasAttributes ? { MD5OfMessageAttributes: md5OfAttributes(attributes), MessageAttributes: attributes } : {}),
  };
}

const visibilityUnavailable = (handle: string): SqsError =>
  invalidParameter('ReceiptHandle', handle, 'Message does not exist or is not available for visibility timeout change.');

/** A handle and the visibility timeout to give its message. */
interface VisibilityChange {
  handle: string;
  seconds: number;
}

/** Whether a handle is a receipt the store signed (QueueService.receiptCheck). */
type ReceiptCheck = (handle: string) => boolean;

/**
 * The receipt handle of an entry: refused if it is not one of ours at all,
 * forged or altered (a stale one of ours is another matter).
 */
function handleOf(input: Input, isReceipt: ReceiptCheck): string {
  const handle = input.string('ReceiptHandle');
  if (!isReceipt(handle)) {
    throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
  }
  return handle;
}

function visibilityChange(input: Input, isReceipt: ReceiptCheck): VisibilityChange {
  const handle = handleOf(input, isReceipt);
  const seconds = input.integer('VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS);
  if (seconds === undefined) throw missingParameter('VisibilityTimeout');
  return { handle, seconds };
}

/** ReceiveMessage, DeleteMessage(Batch), ChangeMessageVisibility(Batch): leases, acks and extends of the queue. */
export function receiveActions(deps: SqsDeps): Record<string, SqsAction> {
  const { queues, limits } = deps;

  /**
   * Deletes (acks) messages by handle. A stale handle of a standard queue
   * deletes nothing and succeeds, as in SQS; a FIFO queue says it expired.
   */
  const remove = async (name: string, handles: string[]): Promise<Array<SqsError | null>> => {
    const results = await queues.ack({ queue: name }, handles);
    const stale = results.some((result) => result.status !== 'acked');
    const fifo = stale && (await queues.settings(name)).ordering === 'fifo';
    return results.map((result) =>
      result.status === 'acked' || !fifo
        ? null
        : invalidParameter('ReceiptHandle', result.receipt, 'The receipt handle has expired.'),
    );
  };

  /** Sets visibility timeouts: 0 makes a message visible at once (a nack), others extend its lease from now. */
  const changeVisibility = async (name: string, changes: VisibilityChange[]): Promise<Array<SqsError | null>> => {
    const at: SubscriptionRef = { queue: name };
    const results = new Map<string, ReceiptResult>();
    for (const seconds of new Set(changes.map((change) => change.seconds))) {
      const handles = changes.filter((change) => change.seconds === seconds).map((change) => change.handle);
      const settled = seconds === 0 ? await queues.nack(at, handles, 0) : await queues.extend(at, handles, seconds * 1000);
      for (const result of settled) results.set(result.receipt, result);
    }
    return changes.map(({ handle }) => {
      const status = results.get(handle)?.status;
      return status === 'extended' || status === 'nacked' ? null : visibilityUnavailable(handle);
    });
  };

  /** The batch form of `settle`: entries checked alone, settled together, each answered on its own. */
  const settleBatch = async <T>(
    call: SqsCall,
    entryType: string,
    read: (input: Input, isReceipt: ReceiptCheck) => T,
    settle: (name: string, items: T[]) => Promise<Array<SqsError | null>>,
  ): Promise<object> => {
    const name = queueOf(call, 'consume');
    const entries = batchEntries(call.input, entryType);
    const isReceipt = await queues.receiptCheck();
    const checked = entries.map((entry) => outcomeOf(() => read(entry.input, isReceipt)));
    const outcomes = await actOnChecked(checked, async (items) =>
      (await settle(name, items)).map((error): EntryOutcome => (error === null ? { ok: {} } : { failed: error })),
    );
    return batchResult(entries, outcomes);
  };

  return {
    async ReceiveMessage(call) {
      const name = queueOf(call, 'consume');
      const { input } = call;
      const max = input.integer('MaxNumberOfMessages', 1, 10) ?? 1;
      const visibilitySeconds = input.integer('VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS);
      const waitSeconds = input.integer('WaitTimeSeconds', 0, 20);
      // Old SDKs name system attributes in AttributeNames, new ones in MessageSystemAttributeNames; some send both.
      const systemNames = [...(input.stringList('AttributeNames') ?? []), ...(input.stringList('MessageSystemAttributeNames') ?? [])];
      const attributeNames = input.stringList('MessageAttributeNames') ?? [];
      const attemptId = fifoId(input, 'ReceiveRequestAttemptId');
      const queue = await queues.settings(name);
      // The server's long-poll cap may be below SQS's 20 s: a receive may always return early.
      const waitMs = Math.min(waitSeconds === undefined ? queue.receiveWaitMs : waitSeconds * 1000, limits.maxWaitMs);
      const request = {
        max,
        waitMs,
        ...(visibilitySeconds === undefined ? {} : { visibilityTimeoutMs: visibilitySeconds * 1000 }),
        // Of FIFO queues only, as in SQS: a standard queue's receive ignores it.
        ...(attemptId === undefined || queue.ordering !== 'fifo' ? {} : { attemptId }),
      };
      // A receive that waits holds one of the caller's long-poll slots, as a /v1 fetch does.
      const messages = await asLongPoll(deps.auth.rates, call.principal, waitMs, () => queues.fetch({ queue: name }, request, call.signal));
      if (messages.length === 0) return {};
      return { Messages: messages.map((message) => received(message, queue, systemNames, attributeNames)) };
    },

    async DeleteMessage(call) {
      const name = queueOf(call, 'consume');
      const [error] = await remove(name, [handleOf(call.input, await queues.receiptCheck())]);
      if (error !== null) throw error;
      return {};
    },

    DeleteMessageBatch: (call) => settleBatch(call, 'DeleteMessageBatchRequestEntry', handleOf, remove),

    async ChangeMessageVisibility(call) {
      const name = queueOf(call, 'consume');
      const [error] = await changeVisibility(name, [visibilityChange(call.input, await queues.receiptCheck())]);
      if (error !== null) throw error;
      return {};
    },

    ChangeMessageVisibilityBatch: (call) =>
      settleBatch(call, 'ChangeMessageVisibilityBatchRequestEntry', visibilityChange, changeVisibility),
  };
}
