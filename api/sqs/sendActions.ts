import type { Limits } from '../../queue/limits';
import type { ProduceInput } from '../../queue/messages';
import type { QueueSettingsView } from '../../queue/queueService';
import { actOnChecked, batchEntries, batchResult, outcomeOf } from './batches';
import { queueOf, type SqsAction, type SqsCall, type SqsDeps } from './context';
import { invalidParameter, missingParameter, SqsError } from './errors';
import { md5OfAttributes, md5OfBody } from './md5';
import { attributeBytes, DEDUPLICATION_ID_HEADER, isSqsText, readAttributes, SENDER_HEADER, toHeaders, TRACE_HEADER } from './messageAttributes';
import type { Input } from './protocol';

/** A send checked and ready to produce, and the MD5s its answer carries. */
interface Outgoing {
  message: ProduceInput;
  /** What counts toward SQS's size limits: body, attribute names, types and values. */
  bytes: number;
  md5s: { MD5OfMessageBody: string; MD5OfMessageAttributes?: string; MD5OfMessageSystemAttributes?: string };
}

/** MessageGroupId, MessageDeduplicationId (and ReceiveRequestAttemptId): 1–128 letters, digits and punctuation. */
const FIFO_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

export function fifoId(input: Input, name: string): string | undefined {
  const value = input.optionalString(name);
  if (value !== undefined && !FIFO_ID.test(value)) {
    throw invalidParameter(name, value, `${name} can contain up to 128 alphanumeric and punctuation characters.`);
  }
  return value;
}

const notForThisQueue = (name: string, value: unknown): SqsError =>
  invalidParameter(name, value, 'The request include parameter that is not valid for this queue type.');

/**
 * What a FIFO queue requires of every send: a group, a deduplication id (or
 * content-based deduplication), and no delay of its own (a message delayed
 * alone would be overtaken in its group). In a batch, an entry that breaks
 * one of these fails the whole call, as in SQS, not the entry alone.
 */
function checkFifoSend(input: Input, queue: QueueSettingsView): void {
  if (input.optionalString('MessageGroupId') === undefined) throw missingParameter('MessageGroupId');
  if (input.optionalString('MessageDeduplicationId') === undefined && !queue.contentBasedDeduplication) {
    throw new SqsError(
      'InvalidParameterValue',
      'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
    );
  }
  const delaySeconds = input.integer('DelaySeconds', 0, 900);
  if (delaySeconds !== undefined && delaySeconds !== 0) throw notForThisQueue('DelaySeconds', delaySeconds);
}

/**
 * One SendMessage, or one entry of a batch, checked as SQS checks it: a
 * non-empty body of allowed characters, attributes, the size of both against
 * the queue's MaximumMessageSize, and on a FIFO queue a group and a
 * deduplication id (or content-based deduplication) but no per-message delay.
 */
function outgoing(input: Input, queue: QueueSettingsView, limits: Limits, sender: string | null): Outgoing {
  const body = input.optionalString('MessageBody');
  if (body === undefined || body === '') throw missingParameter('MessageBody');
  if (!isSqsText(body)) {
    throw new SqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
  const attributes = readAttributes(input, 'MessageAttributes');
  const system = readAttributes(input, 'MessageSystemAttributes');
  const maxBytes = Math.min(queue.maxMessageBytes, limits.maxMessageBytes);
  const bytes = Buffer.byteLength(body) + attributeBytes(attributes);
  if (bytes > maxBytes) {
    throw new SqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`);
  }
  const delaySeconds = input.integer('DelaySeconds', 0, 900);
  const group = fifoId(input, 'MessageGroupId');
  const deduplicationId = fifoId(input, 'MessageDeduplicationId');
  if (queue.ordering === 'fifo') checkFifoSend(input, queue);
  else if (deduplicationId !== undefined) {
    throw notForThisQueue('MessageDeduplicationId', deduplicationId);
  }
  const trace = system.AWSTraceHeader?.StringValue;
  return {
    bytes,
    message: {
      value: body,
      valueEncoding: 'text',
      headers: {
        ...toHeaders(attributes),
        ...(deduplicationId === undefined ? {} : { [DEDUPLICATION_ID_HEADER]: deduplicationId }),
        ...(trace === undefined ? {} : { [TRACE_HEADER]: trace }),
        ...(sender === null ? {} : { [SENDER_HEADER]: sender }),
      },
      ...(delaySeconds === undefined ? {} : { delayMs: delaySeconds * 1000 }),
      ...(deduplicationId === undefined ? {} : { idempotencyKey: deduplicationId }),
      ...(group === undefined ? {} : { group }),
    },
    md5s: {
      MD5OfMessageBody: md5OfBody(body),
      ...(Object.keys(attributes).length === 0 ? {} : { MD5OfMessageAttributes: md5OfAttributes(attributes) }),
      ...(Object.keys(system).length === 0 ? {} : { MD5OfMessageSystemAttributes: md5OfAttributes(system) }),
    },
  };
}

/** The key that signed a send, kept as its SenderId; null on a gateway without keys. */
function senderOf(call: SqsCall): string | null {
  return call.principal.key?.id ?? null;
}

/** SQS's sequence number: a decimal string that grows within a group; the message's offset in its queue does. */
export function sequenceNumber(offset: number): string {
  return String(offset).padStart(20, '0');
}

/** SendMessage and SendMessageBatch: SQS bodies are text, stored as text/plain so /v1 fetches them as text. */
export function sendActions(deps: SqsDeps): Record<string, SqsAction> {
  const { queues, limits } = deps;
  /** Produces the checked messages in one commit; a FIFO queue's answer carries each one's sequence number. */
  const produce = async (name: string, queue: QueueSettingsView, sends: Outgoing[]): Promise<object[]> => {
    const results = await queues.produce(name, sends.map((send) => send.message), null, 'sqs');
    return results.map((result, i) => ({
      MessageId: result.id,
      ...sends[i].md5s,
      ...(queue.ordering === 'fifo' ? { SequenceNumber: sequenceNumber(result.offset) } : {}),
    }));
  };
  return {
    async SendMessage(call) {
      const name = queueOf(call, 'produce');
      const queue = await queues.settings(name);
      const [sent] = await produce(name, queue, [outgoing(call.input, queue, limits, senderOf(call))]);
      return sent;
    },

    /**
     * Each entry is checked alone: a bad one is Failed, the good ones are
     * produced together; but on a FIFO queue an entry without what every FIFO
     * send needs fails the whole call (checkFifoSend).
     */
    async SendMessageBatch(call) {
      const name = queueOf(call, 'produce');
      const entries = batchEntries(call.input, 'SendMessageBatchRequestEntry');
      const queue = await queues.settings(name);
      if (queue.ordering === 'fifo') for (const entry of entries) checkFifoSend(entry.input, queue);
      const sender = senderOf(call);
      const checked = entries.map((entry) => outcomeOf(() => outgoing(entry.input, queue, limits, sender)));
      const outcomes = await actOnChecked(checked, async (sends) => {
        // SQS caps a whole batch at the size of one message.
        const total = sends.reduce((sum, send) => sum + send.bytes, 0);
        if (total > limits.maxMessageBytes) {
          throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${limits.maxMessageBytes} bytes. You have sent ${total} bytes.`);
        }
        return (await produce(name, queue, sends)).map((sent) => ({ ok: sent }));
      });
      return batchResult(entries, outcomes);
    },
  };
}
