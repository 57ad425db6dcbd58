import { randomUUID } from 'node:crypto';
import type { MaintenanceStore, Store } from '../persistence/store';
import type { Clock } from './clock';
import type { MessageEvents } from './events';
import { GroupService } from './groupService';
import type { Limits } from './limits';
import { MoveTasks } from './moveTasks';
import { OWNERSHIP_MS, PushDispatcher } from './push/dispatcher';
import { PushService } from './push/pushService';
import type { TargetPolicy } from './push/targets';
import { QueueService } from './queueService';
import { SchemaService } from './schemas';
import { Replies } from './replies';
import { speakingStore } from './storeErrors';
import { SubscriptionService } from './subscriptionService';
import { TopicService } from './topicService';
import { Wakeups } from './wakeups';

export interface ServiceOptions {
  clock: Clock;
  limits: Limits;
  targets: TargetPolicy;
  /** In [0, 1): jitter of push retries. */
  random: () => number;
  /** Failures no request is waiting for (push deliveries, their bookkeeping): for the log. */
  onError: (error: unknown) => void;
  /** Told of messages produced, delivered and acked, and of those a schema refused (metrics). */
  events: MessageEvents;
  /** This gateway process among those over the store (the holder of its leases); default: a random id. */
  instance?: string;
  /** How long this process owns a push subscription or a move task without renewing (PushDispatcher, MoveTasks); default OWNERSHIP_MS. */
  ownershipMs?: number;
}

export interface Services {
  /** This gateway process among those over the store: the holder of its leases (the sweep, push subscriptions). */
  instance: string;
  /** Retention, readiness and closing, with refusals as GatewayErrors. */
  maintenance: MaintenanceStore;
  /** One registry of long-poll waiters for every kind of read. */
  wakeups: Wakeups;
  queues: QueueService;
  /** Request–reply over queues. */
  replies: Replies;
  topics: TopicService;
  groups: GroupService;
  subscriptions: SubscriptionService;
  push: PushService;
  dispatcher: PushDispatcher;
  /** Message move tasks of dead-letter queues, run in the background. */
  moveTasks: MoveTasks;
  /** JSON Schemas of queues and topics, and the check of produced messages against them. */
  schemas: SchemaService;
}

/**
 * The semantics over one store, wired together. Push deliveries start with
 * `dispatcher.start()`, and move tasks that no process runs (left by one
 * stopped) with `moveTasks.start()`.
 */
export function createServices(backend: Store, options: ServiceOptions): Services {
  const { clock, limits, events } = options;
  const store = speakingStore(backend);
  const instance = options.instance ?? randomUUID();
  const wakeups = new Wakeups(store, clock);
  const schemas = new SchemaService(store, clock, events);
  const queues = new QueueService(store, clock, limits, wakeups, events, schemas);
  const dispatcher = new PushDispatcher({
    store,
    clock,
    queues,
    wakeups,
    random: options.random,
    targets: options.targets,
    onError: options.onError,
    instance,
    ownershipMs: options.ownershipMs ?? OWNERSHIP_MS,
    clockSkewMs: limits.clockSkewMs,
  });
  return {
    instance,
    maintenance: store,
    wakeups,
    queues,
    replies: new Replies(store, clock, limits, queues, options.onError),
    topics: new TopicService(store, clock, limits, wakeups, events, schemas),
    groups: new GroupService(store, clock, wakeups, events),
    subscriptions: new SubscriptionService(store, clock),
    push: new PushService(store, clock, dispatcher, options.targets),
    dispatcher,
    schemas,
    moveTasks: new MoveTasks({
      store,
      clock,
      instance,
      ownershipMs: options.ownershipMs ?? OWNERSHIP_MS,
      batch: limits.maxBatchMessages,
      onError: options.onError,
    }),
  };
}
