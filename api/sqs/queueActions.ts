import type { QueueSettings } from '../../persistence/store';
import { GatewayError } from '../../queue/errors';
import type { QueueSettingsView } from '../../queue/queueService';
import { queueOf, type SqsAction, type SqsCall, type SqsDeps } from './context';
import { invalidParameter, missingParameter, SqsError } from './errors';
import { isSqsText } from './messageAttributes';
import { attributesOf, checkFifoAttributes, checkThroughputLimit, differingAttribute, keptOver, settingsFrom } from './queueAttributes';
import { checkNewQueueName, queueUrl } from './queueNames';
import { afterCursor, cursorOf } from '../cursor';

/** FIFO-only settings on a standard queue are attributes such a queue does not have. */
function checkFifoSettings(settings: Partial<QueueSettings>): void {
  if (settings.ordering !== 'fifo' && settings.contentBasedDeduplication === true) {
    throw new SqsError('InvalidAttributeName', 'Unknown Attribute ContentBasedDeduplication.');
  }
}

/** Naming a dead-letter queue sends messages to it: that takes produce on it, as on /v1. */
function requireDeadLetterAccess(call: SqsCall, settings: Partial<QueueSettings>): void {
  if (typeof settings.deadLetterQueue === 'string') call.principal.require('produce', 'queues', settings.deadLetterQueue);
}

const MAX_TAGS = 50;
/** SQS allows one PurgeQueue per queue in this long. */
const PURGE_WINDOW_MS = 60_000;

/**
 * SQS's tag limits: at most 50, keys of 1–128 characters, values of at most
 * 256. Both are text SQS accepts: a lone surrogate would not survive being
 * stored as UTF-8, and the tag would read back other than it was set.
 */
function checkTags(tags: Record<string, string>, parameter: string): void {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw invalidParameter(parameter, `${entries.length} tags`, `A queue has at most ${MAX_TAGS} tags.`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) throw invalidParameter(parameter, key, 'A tag key has 1 to 128 characters.');
    if (value.length > 256) throw invalidParameter(parameter, key, 'A tag value has at most 256 characters.');
    if (!isSqsText(key) || !isSqsText(value)) throw invalidParameter(parameter, key, 'A tag key or value contains invalid characters.');
  }
}

/** ListQueues pages by name, with the cursors of /v1's lists as tokens. */
function afterToken(token: string): string {
  const name = afterCursor(token);
  if (name === null) throw invalidParameter('NextToken', token, 'Invalid NextToken value.');
  return name;
}

const MAX_LISTED = 1000;

/** The queue actions: create, find, list, attributes, purge, delete, tags. */
export function queueActions(deps: SqsDeps): Record<string, SqsAction> {
  const { queues } = deps;
  const existing = async (name: string): Promise<QueueSettingsView | null> => {
    try {
      return await queues.settings(name);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'queue_not_found') return null;
      throw error;
    }
  };
  /** As in SQS, a dead-letter queue is of its source's type: standard for standard, FIFO for FIFO. */
  const checkDeadLetterType = async (attributes: Record<string, string>, settings: Partial<QueueSettings>): Promise<void> => {
    if (typeof settings.deadLetterQueue !== 'string') return;
    const target = await existing(settings.deadLetterQueue);
    if (target !== null && target.ordering !== (settings.ordering ?? 'standard')) {
      throw new SqsError(
        'InvalidParameterValue',
        `Value ${attributes.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: Dead-letter target queue must be the same type of queue as the source.`,
      );
    }
  };
  return {
    /** Idempotent: the same name and attributes give the existing queue; other attribute values are QueueNameExists. */
    async CreateQueue(call) {
      const name = call.input.string('QueueName');
      call.principal.require('admin', 'queues', name);
      const attributes = call.input.stringMap('Attributes') ?? {};
      const tags = call.input.stringMap('tags') ?? {};
      const settings = settingsFrom(attributes, true);
      checkNewQueueName(name, settings.ordering === 'fifo');
      checkFifoSettings(settings);
      checkFifoAttributes(attributes, settings.ordering ?? 'standard');
      checkThroughputLimit({ deduplicationScope: settings.deduplicationScope ?? 'queue', sqsAttributes: settings.sqsAttributes ?? {} });
      checkTags(tags, 'tags');
      requireDeadLetterAccess(call, settings);
      await checkDeadLetterType(attributes, settings);
      const queue = await existing(name);
      if (queue !== null) {
        const differing = differingAttribute(queue, attributes);
        if (differing !== null) {
          throw new SqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${differing}`);
        }
        return { QueueUrl: queueUrl(call.origin, name) };
      }
      await queues.put(name, { ...keptOver({}, settings), tags });
      return { QueueUrl: queueUrl(call.origin, name) };
    },

    async GetQueueUrl(call) {
      const name = call.input.string('QueueName');
      call.principal.require(null, 'queues', name);
      await queues.settings(name);
      return { QueueUrl: queueUrl(call.origin, name) };
    },

    /** Queues the caller may see, by name; with MaxResults, a page and the token of the next. */
    async ListQueues(call) {
      const prefix = call.input.optionalString('QueueNamePrefix') ?? '';
      const maxResults = call.input.integer('MaxResults', 1, MAX_LISTED);
      const token = call.input.optionalString('NextToken');
      const after = token === undefined ? null : afterToken(token);
      const visible = call.principal.visibility(null, 'queues');
      const page = await queues.names({ after, prefix, limit: maxResults ?? MAX_LISTED, visible });
      // Without MaxResults, SQS answers one list and no token.
      const nextToken = maxResults === undefined ? null : cursorOf(page.next);
      return {
        ...(page.items.length === 0 ? {} : { QueueUrls: page.items.map((name) => queueUrl(call.origin, name)) }),
        ...(nextToken === null ? {} : { NextToken: nextToken }),
      };
    },

    async DeleteQueue(call) {
      await queues.delete(queueOf(call, 'admin'));
      return {};
    },

    async GetQueueAttributes(call) {
      const queue = await queues.get(queueOf(call, null));
      const names = call.input.stringList('AttributeNames') ?? [];
      return names.length === 0 ? {} : { Attributes: attributesOf(queue, names) };
    },

    async SetQueueAttributes(call) {
      const name = queueOf(call, 'admin');
      const attributes = call.input.stringMap('Attributes');
      if (attributes === undefined || Object.keys(attributes).length === 0) throw missingParameter('Attributes');
      const changes = settingsFrom(attributes, false);
      requireDeadLetterAccess(call, changes);
      // The queue's type is read only when a dead-letter queue is named, the one check that needs it.
      if (typeof changes.deadLetterQueue === 'string') await checkDeadLetterType(attributes, { ...(await queues.settings(name)), ...changes });
      await queues.update(name, (now) => {
        checkFifoSettings({ ...now, ...changes });
        checkFifoAttributes(attributes, now.ordering);
        const next = keptOver(now.sqsAttributes, changes);
        checkThroughputLimit({ ...now, ...next });
        return next;
      });
      return {};
    },

    /** The queues whose redrive policy names this one, by name; with MaxResults, a page and the token of the next, as ListQueues. */
    async ListDeadLetterSourceQueues(call) {
      const name = queueOf(call, null);
      const maxResults = call.input.integer('MaxResults', 1, MAX_LISTED);
      const token = call.input.optionalString('NextToken');
      const after = token === undefined ? null : afterToken(token);
      await queues.settings(name);
      const visible = call.principal.visibility(null, 'queues');
      const page = await queues.deadLetterSources(name, { after, limit: maxResults ?? MAX_LISTED, visible });
      const nextToken = maxResults === undefined ? null : cursorOf(page.next);
      return {
        queueUrls: page.items.map((source) => queueUrl(call.origin, source)),
        ...(nextToken === null ? {} : { NextToken: nextToken }),
      };
    },

    /** At most once a minute per queue, as in SQS. */
    async PurgeQueue(call) {
      const name = queueOf(call, 'admin');
      if ((await queues.purgeOncePer(name, PURGE_WINDOW_MS)) === null) {
        throw new SqsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`);
      }
      return {};
    },

    async TagQueue(call) {
      const name = queueOf(call, 'admin');
      const tags = call.input.stringMap('Tags');
      if (tags === undefined) throw missingParameter('Tags');
      checkTags(tags, 'Tags');
      await queues.update(name, (current) => ({ tags: { ...current.tags, ...tags } }));
      return {};
    },

    async UntagQueue(call) {
      const name = queueOf(call, 'admin');
      const keys = call.input.stringList('TagKeys');
      if (keys === undefined) throw missingParameter('TagKeys');
      await queues.update(name, (current) => ({ tags: Object.fromEntries(Object.entries(current.tags).filter(([key]) => !keys.includes(key))) }));
      return {};
    },

    async ListQueueTags(call) {
      const queue = await queues.settings(queueOf(call, null));
      return { Tags: queue.tags };
    },
  };
}
