import type { Request, Response } from 'express';
import type { AppendResult, GroupSettings, Listed, PageRequest, PushSource, QueueSettings, SchemaOwner, SubscriptionRef, TopicSettings } from '../persistence/store';
import type { CommitInput, GroupFetchRequest, GroupService, SeekInput } from '../queue/groupService';
import type { ProduceInput } from '../queue/messages';
import type { PushInput, PushService } from '../queue/push/pushService';
import type { RawMessage } from '../queue/produceRequest';
import type { FetchRequest, QueueService } from '../queue/queueService';
import type { SubscriptionInput, SubscriptionService } from '../queue/subscriptionService';
import type { Position, TopicProduceInput, TopicService } from '../queue/topicService';
import { GatewayError, invalidField } from '../queue/errors';
import type { ListRequest } from '../queue/pages';
import { afterCursor, cursorOf } from './cursor';
import type { Limits } from '../queue/limits';
import { asLongPoll, type AuthOptions, holdLongPoll, principalOf } from './auth';
import type { Action, ResourceKind } from './scopes';
import { sendJson, sendMessages } from './messagesJson';
import { requestSignal } from './requestSignal';
import { sendStream, type StreamEvent, streamFormat } from './streams';
import { fillPath } from './streamTokens';
import type { Clock } from '../queue/clock';
import type { Spec } from './spec';
import type { Activity } from './activity';
import type { Handler } from './handler';
import type { Metrics } from './metrics';
import { type Page, serveAsset, servePage } from './pages';
import type { SqsDeps } from './sqs/context';
import { sqsEndpoint } from './sqs/endpoint';
import { headerText, MESSAGE_HEADER_PREFIX, utf8Of, type ValidatedParameters } from './validation';
import { type ProducedAt, sendAccepted, soap12Action, soapAnswerOf } from './soap';
import type { Replies } from '../queue/replies';
import { isSendable } from '../queue/push/delivery';
import type { SchemaCheckInput, SchemaInput, SchemaService } from '../queue/schemas';

/** What the handlers need: the queue semantics behind an interface, and the contract text. */
export interface HandlerDeps {
  /** Everything the SQS face uses, and the /v1 operations it does not. */
  queues: SqsDeps['queues'] & Pick<QueueService, 'list' | 'top' | 'produceRaw' | 'browse' | 'redrive' | 'stream'>;
  moveTasks: SqsDeps['moveTasks'];
  topics: Pick<
    TopicService,
    'put' | 'get' | 'settings' | 'list' | 'delete' | 'produce' | 'produceRaw' | 'read' | 'offsetForTimestamp' | 'streamStart' | 'stream'
  >;
  replies: Pick<Replies, 'request' | 'reply'>;
  groups: Pick<GroupService, 'put' | 'describe' | 'list' | 'delete' | 'join' | 'leave' | 'fetch' | 'stream' | 'commit' | 'seek'>;
  subscriptions: Pick<SubscriptionService, 'put' | 'get' | 'list' | 'delete'>;
  push: Pick<PushService, 'put' | 'get' | 'list' | 'delete' | 'pause' | 'resume'>;
  schemas: Pick<SchemaService, 'put' | 'get' | 'version' | 'validate'>;
  spec: Spec;
  /** The clock streams time their heartbeats by. */
  clock: Clock;
  /** Aborted when the server shuts down: long-polls return what they have, streams end, /readyz says not ready. */
  shutdown: AbortSignal;
  /** Resolves when the store takes writes and its schema is current. */
  ready: () => Promise<void>;
  auth: AuthOptions;
  limits: Limits;
  /** Where internal errors are reported (the log); clients are told only that one happened. */
  onInternalError: (error: GatewayError) => void;
  metrics: Pick<Metrics, 'render' | 'streamOpened'>;
  activity: Pick<Activity, 'history'>;
  /** The web pages: interactive API docs and the dashboard. */
  pages: { docs: Page; dashboard: Page };
}

interface ReceiptsBody {
  receipts: string[];
}

/** Request headers that a raw produce keeps as message headers. */
function rawHeaders(req: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  // SOAP 1.2's action is its content type's parameter, whatever a SOAPAction header says.
  const soapAction = soap12Action(req) ?? headerText(req, 'SOAPAction');
  if (soapAction !== undefined) headers.SOAPAction = soapAction;
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(MESSAGE_HEADER_PREFIX) && typeof value === 'string' && name.length > MESSAGE_HEADER_PREFIX.length) {
      headers[name.slice(MESSAGE_HEADER_PREFIX.length)] = utf8Of(value);
    }
  }
  return headers;
}

/** The request's raw body as one message: its bytes, content type and chosen headers. */
function rawBody(req: Request, key: string | null): RawMessage {
  return {
    body: req.body as Buffer,
    contentType: req.get('Content-Type') ?? 'application/octet-stream',
    headers: rawHeaders(req),
    key,
    group: headerText(req, 'Mqgate-Group') ?? null,
  };
}

/** A raw produce's answer: 201 and JSON, or to a SOAP caller 202 (or 200 and an envelope with `soapAnswer=envelope`). */
function sendProduced(req: Request, res: Response, at: ProducedAt, result: AppendResult): void {
  const soap = soapAnswerOf(req);
  if (soap === null) sendJson(res.status(201), JSON.stringify({ messages: [result] }));
  else sendAccepted(res, soap, (validated(res).query as { soapAnswer: 'accepted' | 'envelope' }).soapAnswer, at, result);
}

/** Whether the request's JSON body had no backslash (api/app.ts checkJsonBytes): its strings need no escaping to be written again. */
function escapeFree(res: Response): boolean {
  return res.locals.escapeFree === true;
}

/** Path and query parameters as the validator coerced them (numbers are numbers). */
function validated(res: Response): ValidatedParameters {
  return res.locals.validated as ValidatedParameters;
}

/**
 * Beyond the operation's own scope (api/auth.ts): naming a dead-letter queue
 * needs produce on it, and a push subscription needs consume on its source.
 */
function requireReferences(res: Response, body: { deadLetterQueue?: string | null; source?: PushSource }): void {
  const principal = principalOf(res);
  if (typeof body.deadLetterQueue === 'string') principal.require('produce', 'queues', body.deadLetterQueue);
  const { source } = body;
  if (source === undefined) return;
  if ('queue' in source) principal.require('consume', 'queues', source.queue);
  else principal.require('consume', 'topics', source.topic);
}

/** The page a list request asks for: `limit`, `cursor` and `prefix`, validated against the spec. */
function pageRequest(res: Response): PageRequest {
  const { limit, cursor, prefix } = validated(res).query as { limit: number; cursor?: string; prefix: string };
  if (cursor === undefined) return { after: null, prefix, limit };
  const after = afterCursor(cursor);
  if (after === null) throw invalidField('/query/cursor', 'is not a cursor this gateway gave');
  return { after, prefix, limit };
}

/** A list request for the names of `kind` the caller may see: those whose GET it may make (`action` null: any scope will do). */
function visibleRequest(res: Response, action: Action | null, kind: ResourceKind): ListRequest {
  return { ...pageRequest(res), visible: principalOf(res).visibility(action, kind) };
}

/** A page as list operations answer: its items under `key`, and the cursor of the next page. */
function sendPage<T>(res: Response, key: string, { items, next }: Listed<T>): void {
  res.json({ [key]: items, nextCursor: cursorOf(next) });
}

/**
 * The offset after a partition stream's `Last-Event-ID` (`partition:offset`,
 * an event id of this stream); null without one.
 */
function resumeOffset(req: Request, partition: number): number | null {
  const last = headerText(req, 'Last-Event-ID');
  if (last === undefined) return null;
  const match = /^(\d{1,16}):(\d{1,16})$/.exec(last);
  if (match === null || Number(match[1]) !== partition || !Number.isSafeInteger(Number(match[2]) + 1)) {
    throw invalidField('/header/Last-Event-ID', `is not an event id of partition ${partition}'s stream (${partition}:offset)`);
  }
  return Number(match[2]) + 1;
}

/** One handler per operationId of openapi.yaml; bodies arrive validated against it. */
export function createHandlers(deps: HandlerDeps): Record<string, Handler> {
  const { queues, replies, topics, groups, subscriptions, push } = deps;
  const waiting = <T>(res: Response, waitMs: number, fetch: () => Promise<T>): Promise<T> =>
    asLongPoll(deps.auth.rates, principalOf(res), waitMs, fetch);
  // SigV4 signatures are dated by the client's wall clock, whatever clock the gateway's semantics run on.
  const sqs = sqsEndpoint({ ...deps, wallClock: Date.now });
  const name = (req: Request): string => req.params.queue as string;
  /** The schema routes of a queue or a topic (put<Kind>Schema, get<Kind>Schema, get<Kind>SchemaVersion, check<Kind>Schema), about the resource `owner` names. */
  const schemaRoutes = (kind: 'Queue' | 'Topic', owner: (req: Request) => SchemaOwner): Record<string, Handler> => ({
    [`put${kind}Schema`]: async (req, res) => {
      const { schema, created } = await deps.schemas.put(owner(req), req.body as SchemaInput);
      res.status(created ? 201 : 200).json(schema);
    },
    [`get${kind}Schema`]: async (req, res) => {
      res.json(await deps.schemas.get(owner(req)));
    },
    [`get${kind}SchemaVersion`]: async (req, res) => {
      res.json(await deps.schemas.version(owner(req), validated(res).params.version as number));
    },
    [`check${kind}Schema`]: async (req, res) => {
      const { values, version } = req.body as SchemaCheckInput;
      res.json(await deps.schemas.validate({ owner: owner(req), values, pinned: version ?? null, pointer: (index) => `/body/values/${index}` }));
    },
  });
  const topic = (req: Request): string => req.params.topic as string;
  const partition = (res: Response): number => validated(res).params.partition as number;
  const group = (req: Request): string => req.params.group as string;
  const subscription = (req: Request) => ({ topic: topic(req), subscription: req.params.subscription as string });
  const pushName = (req: Request): string => req.params.push as string;
  const idempotencyKey = (req: Request): string | null => headerText(req, 'Idempotency-Key') ?? null;
  // Validated against the spec's pattern: digits, from 1.
  const schemaVersion = (req: Request): number | null => {
    const header = headerText(req, 'Mqgate-Schema-Version');
    return header === undefined ? null : Number(header);
  };
  const queue = (req: Request): SubscriptionRef => ({ queue: name(req) });
  // fetch, ack, nack and extend work alike on a queue and on a topic's queue subscription.
  const fetchFrom =
    (ref: (req: Request) => SubscriptionRef): Handler =>
    async (req, res) => {
      const request = req.body as FetchRequest;
      const messages = await waiting(res, request.waitMs, () => queues.fetch(ref(req), request, requestSignal(res, deps.shutdown)));
      sendMessages(res, { messages });
    };
  /**
   * A stream holds one of the key's long-poll slots while it is open, and
   * ends as a long-poll's wait does. `open` runs once the slot is held and
   * before the head is sent, so that what it refuses (a 404) is the answer;
   * the events it returns are the stream's.
   */
  const streaming = async (req: Request, res: Response, open: () => Promise<(signal: AbortSignal) => AsyncIterable<StreamEvent>>): Promise<void> => {
    const release = holdLongPoll(deps.auth.rates, principalOf(res));
    try {
      const events = await open();
      const closed = deps.metrics.streamOpened(res.locals.operationId as string);
      try {
        const signal = requestSignal(res, deps.shutdown);
        const options = { clock: deps.clock, heartbeatMs: deps.limits.streamHeartbeatMs, signal, onInternalError: deps.onInternalError };
        await sendStream(res, streamFormat(req), events(signal), options);
      } finally {
        closed();
      }
    } finally {
      release();
    }
  };
  /** A handler that mints a token for the stream `streamOperation` at the request's parameters, once `exists` found its resource. */
  const streamTokenFor = (streamOperation: string, exists: (req: Request, res: Response) => Promise<unknown>): Handler => {
    const stream = deps.spec.operations.find((op) => op.operation.operationId === streamOperation);
    if (stream === undefined) throw new Error(`openapi.yaml has no operation ${streamOperation}`);
    return async (req, res) => {
      await exists(req, res);
      const path = fillPath(stream.path, req.params as Record<string, string>);
      res.status(201).json(await deps.auth.streamTokens.mint(principalOf(res).key, path));
    };
  };
  const subscriptionExists = (req: Request): Promise<unknown> => subscriptions.get(topic(req), req.params.subscription as string);
  // streamQueue and streamSubscription: a queue subscription's messages, each leased and identified by its receipt.
  const streamFrom =
    (ref: (req: Request) => SubscriptionRef, exists: (req: Request) => Promise<unknown>): Handler =>
    async (req, res) => {
      const { maxInFlight } = validated(res).query as { maxInFlight: number };
      await streaming(req, res, async () => {
        // A queue or subscription that does not exist is a 404, not an empty stream.
        await exists(req);
        return async function* (signal) {
          for await (const message of queues.stream(ref(req), maxInFlight, signal)) yield { id: message.receipt, message };
        };
      });
    };
  const browseAt =
    (ref: (req: Request) => SubscriptionRef): Handler =>
    async (req, res) => {
      const { after, max } = validated(res).query as { after?: string; max: number };
      sendMessages(res, { messages: await queues.browse(ref(req), after ?? null, max) });
    };
  const ackAt =
    (ref: (req: Request) => SubscriptionRef): Handler =>
    async (req, res) => {
      sendJson(res, JSON.stringify({ results: await queues.ack(ref(req), (req.body as ReceiptsBody).receipts) }));
    };
  const nackAt =
    (ref: (req: Request) => SubscriptionRef): Handler =>
    async (req, res) => {
      const { receipts, delayMs } = req.body as ReceiptsBody & { delayMs: number };
      res.json({ results: await queues.nack(ref(req), receipts, delayMs) });
    };
  const extendAt =
    (ref: (req: Request) => SubscriptionRef): Handler =>
    async (req, res) => {
      const { receipts, visibilityTimeoutMs } = req.body as ReceiptsBody & { visibilityTimeoutMs: number };
      res.json({ results: await queues.extend(ref(req), receipts, visibilityTimeoutMs) });
    };
  return {
    getHealth: (_req, res) => {
      res.json({ status: 'ok' });
    },

    getReady: async (_req, res) => {
      if (deps.shutdown.aborted) throw new GatewayError('not_ready', 'The gateway is shutting down.');
      await deps.ready();
      res.json({ status: 'ready' });
    },

    getOpenApi: (_req, res) => {
      res.type('application/yaml').send(deps.spec.text);
    },

    getMetrics: async (_req, res) => {
      const { contentType, text } = await deps.metrics.render(deps);
      res.type(contentType).send(text);
    },

    getActivity: (_req, res) => {
      res.json(deps.activity.history());
    },

    sqsRequest: sqs,
    sqsQueueRequest: sqs,

    getDocs: servePage(deps.pages.docs),
    getDocsAsset: serveAsset(deps.pages.docs),
    getDashboard: servePage(deps.pages.dashboard),
    getDashboardAsset: serveAsset(deps.pages.dashboard),

    listQueues: async (_req, res) => {
      const request = visibleRequest(res, null, 'queues');
      if ((validated(res).query as { sort: 'name' | 'backlog' }).sort === 'name') sendPage(res, 'queues', await queues.list(request));
      else if (request.after !== null) throw invalidField('/query/cursor', 'has no use with sort=backlog, which answers one page');
      else sendPage(res, 'queues', { items: await queues.top(request), next: null });
    },

    putQueue: async (req, res) => {
      requireReferences(res, req.body as Partial<QueueSettings>);
      const { queue, created } = await queues.put(name(req), req.body as Partial<QueueSettings>);
      res.status(created ? 201 : 200).json(queue);
    },

    getQueue: async (req, res) => {
      res.json(await queues.get(name(req)));
    },

    deleteQueue: async (req, res) => {
      await queues.delete(name(req));
      res.status(204).end();
    },

    purgeQueue: async (req, res) => {
      res.json({ purged: await queues.purge(name(req)) });
    },

    produceMessages: async (req, res) => {
      const key = idempotencyKey(req);
      if (Buffer.isBuffer(req.body)) {
        sendProduced(req, res, { queue: name(req) }, await queues.produceRaw(name(req), rawBody(req, null), key, schemaVersion(req)));
        return;
      }
      const { messages } = req.body as { messages: ProduceInput[] };
      sendJson(res.status(201), JSON.stringify({ messages: await queues.produce(name(req), messages, key, 'client', schemaVersion(req), escapeFree(res)) }));
    },

    ...schemaRoutes('Queue', (req) => ({ queue: name(req) })),

    sendRequest: async (req, res) => {
      const { timeoutMs } = validated(res).query as { timeoutMs: number };
      const request = () => replies.request(name(req), rawBody(req, null), timeoutMs, requestSignal(res, deps.shutdown));
      const { message, correlationId, reply } = await waiting(res, timeoutMs, request);
      res.status(reply.status);
      // Byte for byte: header values as the replier's bytes (node takes latin1 strings), the content type unaltered.
      for (const [header, value] of Object.entries(reply.headers)) {
        const bytes = Buffer.from(value).toString('latin1');
        if (isSendable(header, bytes)) res.setHeader(header, bytes);
      }
      res.setHeader('Mqgate-Correlation-Id', correlationId);
      res.setHeader('Mqgate-Message-Id', message.id);
      res.setHeader('Content-Type', reply.contentType);
      res.end(reply.body);
    },

    sendReply: async (req, res) => {
      // Validated: a whole number from 200 to 599 when given.
      const status = Number(req.get('Mqgate-Status') ?? 200);
      await replies.reply(name(req), req.params.correlationId as string, {
        status,
        contentType: req.get('Content-Type') ?? 'application/octet-stream',
        headers: rawHeaders(req),
        body: req.body as Buffer,
      });
      res.status(204).end();
    },

    fetchMessages: fetchFrom(queue),
    browseQueue: browseAt(queue),
    ackMessages: ackAt(queue),
    nackMessages: nackAt(queue),
    extendLeases: extendAt(queue),

    streamQueue: streamFrom(queue, (req) => queues.settings(name(req))),

    createQueueStreamToken: streamTokenFor('streamQueue', (req) => queues.settings(name(req))),

    redriveMessages: async (req, res) => {
      const { max, to } = req.body as { max: number; to?: string };
      // Moving dead letters into a queue is producing to it.
      if (to !== undefined) principalOf(res).require('produce', 'queues', to);
      res.json(await queues.redrive(name(req), max, to ?? null));
    },

    listTopics: async (_req, res) => {
      sendPage(res, 'topics', await topics.list(visibleRequest(res, null, 'topics')));
    },

    putTopic: async (req, res) => {
      const { topic: record, created } = await topics.put(topic(req), req.body as Partial<TopicSettings>);
      res.status(created ? 201 : 200).json(record);
    },

    getTopic: async (req, res) => {
      res.json(await topics.get(topic(req)));
    },

    deleteTopic: async (req, res) => {
      await topics.delete(topic(req));
      res.status(204).end();
    },

    produceToTopic: async (req, res) => {
      const key = idempotencyKey(req);
      if (Buffer.isBuffer(req.body)) {
        const { key: messageKey, partition: target } = validated(res).query as { key?: string; partition?: number };
        const result = await topics.produceRaw(topic(req), rawBody(req, messageKey ?? null), key, target, schemaVersion(req));
        sendProduced(req, res, { topic: topic(req) }, result);
        return;
      }
      const { messages } = req.body as { messages: TopicProduceInput[] };
      res.status(201).json({ messages: await topics.produce(topic(req), messages, key, schemaVersion(req), escapeFree(res)) });
    },

    ...schemaRoutes('Topic', (req) => ({ topic: topic(req) })),

    readPartition: async (req, res) => {
      const query = validated(res).query as { offset: string | number; max: number; maxBytes: number; waitMs: number };
      // ajv does not coerce inside anyOf: a numeric offset arrives as its digits.
      const offset: Position = /^\d+$/.test(String(query.offset)) ? Number(query.offset) : (query.offset as Position);
      const read = () => topics.read(topic(req), partition(res), { ...query, offset }, requestSignal(res, deps.shutdown));
      sendMessages(res, await waiting(res, query.waitMs, read));
    },

    streamPartition: async (req, res) => {
      const query = validated(res).query as { offset: string | number };
      const at = partition(res);
      const resumed = resumeOffset(req, at);
      // ajv does not coerce inside anyOf: a numeric offset arrives as its digits.
      const position: Position = resumed ?? (/^\d+$/.test(String(query.offset)) ? Number(query.offset) : (query.offset as Position));
      await streaming(req, res, async () => {
        const offset = await topics.streamStart(topic(req), at, position);
        return async function* (signal) {
          for await (const message of topics.stream(topic(req), at, offset, signal)) yield { id: `${at}:${message.offset}`, message };
        };
      });
    },

    // streamStart checks what the stream checks before its head: the topic, and the partition.
    createPartitionStreamToken: streamTokenFor('streamPartition', (req, res) => topics.streamStart(topic(req), partition(res), 'latest')),

    offsetForTimestamp: async (req, res) => {
      const { timestamp } = validated(res).query as { timestamp: number };
      const at = partition(res);
      res.json({ partition: at, offset: await topics.offsetForTimestamp(topic(req), at, timestamp) });
    },

    listGroups: async (req, res) => {
      sendPage(res, 'groups', await groups.list(topic(req), pageRequest(res)));
    },

    putGroup: async (req, res) => {
      const { group: described, created } = await groups.put(topic(req), group(req), req.body as Partial<GroupSettings>);
      res.status(created ? 201 : 200).json(described);
    },

    describeGroup: async (req, res) => {
      res.json(await groups.describe(topic(req), group(req)));
    },

    deleteGroup: async (req, res) => {
      await groups.delete(topic(req), group(req));
      res.status(204).end();
    },

    joinGroup: async (req, res) => {
      res.status(201).json(await groups.join(topic(req), group(req)));
    },

    leaveGroup: async (req, res) => {
      await groups.leave(topic(req), group(req), req.params.memberId as string);
      res.status(204).end();
    },

    fetchGroup: async (req, res) => {
      const request = req.body as GroupFetchRequest;
      const fetch = () => groups.fetch(topic(req), group(req), request, requestSignal(res, deps.shutdown));
      sendMessages(res, await waiting(res, request.waitMs, fetch));
    },

    streamGroup: async (req, res) => {
      const { autoCommit } = validated(res).query as { autoCommit: boolean };
      await streaming(req, res, async () => {
        // The stream is a new member from before its head: a topic that does not exist is a 404.
        const joined = await groups.join(topic(req), group(req));
        return async function* (signal) {
          for await (const event of groups.stream(topic(req), group(req), joined, autoCommit, signal)) {
            yield 'message' in event ? { id: `${event.message.partition}:${event.message.offset}`, message: event.message } : event;
          }
        };
      });
    },

    // The stream creates its group as a join does: only the topic must exist.
    createGroupStreamToken: streamTokenFor('streamGroup', (req) => topics.settings(topic(req))),

    commitGroup: async (req, res) => {
      res.json(await groups.commit(topic(req), group(req), req.body as CommitInput));
    },

    seekGroup: async (req, res) => {
      res.json(await groups.seek(topic(req), group(req), req.body as SeekInput));
    },

    listSubscriptions: async (req, res) => {
      sendPage(res, 'subscriptions', await subscriptions.list(topic(req), pageRequest(res)));
    },

    putSubscription: async (req, res) => {
      const { topic: t, subscription: s } = subscription(req);
      requireReferences(res, req.body as SubscriptionInput);
      const { subscription: view, created } = await subscriptions.put(t, s, req.body as SubscriptionInput);
      res.status(created ? 201 : 200).json(view);
    },

    getSubscription: async (req, res) => {
      const { topic: t, subscription: s } = subscription(req);
      res.json(await subscriptions.get(t, s));
    },

    deleteSubscription: async (req, res) => {
      const { topic: t, subscription: s } = subscription(req);
      await subscriptions.delete(t, s);
      res.status(204).end();
    },

    fetchSubscription: fetchFrom(subscription),
    streamSubscription: streamFrom(subscription, subscriptionExists),

    createSubscriptionStreamToken: streamTokenFor('streamSubscription', subscriptionExists),
    browseSubscription: browseAt(subscription),
    ackSubscription: ackAt(subscription),
    nackSubscription: nackAt(subscription),
    extendSubscription: extendAt(subscription),

    listPushSubscriptions: async (_req, res) => {
      sendPage(res, 'pushSubscriptions', await push.list(visibleRequest(res, 'admin', 'push-subscriptions')));
    },

    putPushSubscription: async (req, res) => {
      requireReferences(res, req.body as PushInput);
      const { push: view, created } = await push.put(pushName(req), req.body as PushInput);
      res.status(created ? 201 : 200).json(view);
    },

    getPushSubscription: async (req, res) => {
      res.json(await push.get(pushName(req)));
    },

    deletePushSubscription: async (req, res) => {
      await push.delete(pushName(req));
      res.status(204).end();
    },

    pausePushSubscription: async (req, res) => {
      res.json(await push.pause(pushName(req)));
    },

    resumePushSubscription: async (req, res) => {
      res.json(await push.resume(pushName(req)));
    },
  };
}
