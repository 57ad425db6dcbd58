import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MessageEvents, SchemaRefusal, Target } from '../queue/events';
import type { GroupDescription } from '../persistence/store';
import type { GroupService } from '../queue/groupService';
import type { PushService } from '../queue/push/pushService';
import type { QueueService } from '../queue/queueService';
import type { TopicService } from '../queue/topicService';

/** Where scrape-time figures come from: the store's own counts, read when /metrics is asked. */
export interface MetricsSources {
  queues: Pick<QueueService, 'list'>;
  topics: Pick<TopicService, 'list'>;
  groups: Pick<GroupService, 'list'>;
  push: Pick<PushService, 'list'>;
}

/**
 * Most distinct values of a name label (queue, topic, group, push
 * subscription) one metric reports, so a deployment with very many queues
 * cannot blow up a Prometheus server. Counted events past it are summed under
 * `_other`; the store's figures (depths, lag, push status) are read for the
 * first MAX_NAMES names only, so a scrape costs what it shows, whatever the
 * number of queues.
 */
export const MAX_NAMES = 500;
const OTHER = '_other';

/** A name label's value: `shown` while fewer than MAX_NAMES distinct keys are taken, `_other` after. */
class BoundedNames {
  private readonly keys = new Set<string>();

  label(key: string, shown = key): string {
    if (this.keys.has(key)) return shown;
    if (this.keys.size >= MAX_NAMES) return OTHER;
    this.keys.add(key);
    return shown;
  }
}

/** The groups of the first topics, MAX_NAMES of them at most in all. */
async function firstGroups(groups: MetricsSources['groups'], topics: { name: string }[]): Promise<{ topic: string; group: GroupDescription }[]> {
  const found: { topic: string; group: GroupDescription }[] = [];
  for (const { name: topic } of topics) {
    const limit = MAX_NAMES - found.length;
    if (limit === 0) break;
    const page = await groups.list(topic, { after: null, prefix: '', limit });
    found.push(...page.items.map((group) => ({ topic, group })));
  }
  return found;
}

/**
 * prom-client's default gauges that carry a counter's `_total` suffix, which
 * `promtool check metrics` refuses (prom-client has no option to rename or
 * leave them out: prometheus/client_js#283). The same counts stay, by type,
 * in `nodejs_active_handles`, `nodejs_active_requests` and
 * `nodejs_active_resources`; their `sum()` is the total.
 */
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const KEYS_RELOAD_RESULTS = ['ok', 'failed'] as const;
export type KeysReloadResult = (typeof KEYS_RELOAD_RESULTS)[number];

/** Totals since start, for the dashboard's rates (api/activity.ts). */
export interface Totals {
  produced: number;
  delivered: number;
}

/**
 * The gateway's Prometheus metrics. Request and message counts are counted as
 * they happen; depths, lag, dead letters and push outcomes are the store's
 * own figures, read at each scrape (so they survive a restart and agree with
 * the API).
 */
export class Metrics implements MessageEvents {
  readonly registry = new Registry();
  private readonly totals: Totals = { produced: 0, delivered: 0 };
  private readonly eventNames = new BoundedNames();

  private readonly requests = new Counter({
    name: 'mqgate_http_requests_total',
    help: 'HTTP requests answered, by operationId (unmatched: no route) and status.',
    labelNames: ['operation', 'status'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'mqgate_http_request_duration_seconds',
    help: 'Time from request to the end of its answer, by operationId (long-polls include their wait).',
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly producedMessages = this.messageCounter('produced', 'Messages stored by produce calls (idempotent repeats not counted).');
  private readonly deliveredMessages = this.messageCounter(
    'delivered',
    'Messages handed to consumers: leased from a queue or queue subscription, or read by a consumer group.',
  );
  private readonly ackedMessages = this.messageCounter('acked', 'Messages acknowledged through a queue or queue subscription.');
  private readonly schemaFailures = new Counter({
    name: 'mqgate_schema_validation_failures_total',
    help:
      "Messages a queue's or topic's schema refused, by kind, name and reason: schema_validation_failed (the message breaks the schema; 422, or the SQS face's InvalidMessageContents)" +
      ' or unsupported_media_type (not JSON, and the schema does not allow raw bodies; 415).',
    labelNames: ['kind', 'name', 'reason'],
    registers: [this.registry],
  });
  private readonly deadLettered = new Counter({
    name: 'mqgate_queue_messages_dead_lettered_total',
    help: 'Messages a queue moved to its dead-letter queue, since the queue was created (from the store).',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly streams = new Gauge({
    name: 'mqgate_streams_open',
    help: 'Streams (SSE or NDJSON) open right now, by operationId: each holds one of its key long-poll slots.',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  /** Streams open, whatever their operation: until the last one's work is done (its leases given back), not only its connection. */
  openStreams = 0;
  private readonly depth = new Gauge({
    name: 'mqgate_queue_messages',
    help: 'Messages of a queue by state: ready, in_flight (leased) or delayed (from the store).',
    labelNames: ['queue', 'state'],
    registers: [this.registry],
  });
  private readonly oldestReady = new Gauge({
    name: 'mqgate_queue_oldest_ready_age_seconds',
    help: 'Age of the oldest ready message of a queue; 0 when none is ready.',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly topicEnd = new Gauge({
    name: 'mqgate_topic_end_offset',
    help: 'The offset the next message of a topic partition will get (its high watermark).',
    labelNames: ['topic', 'partition'],
    registers: [this.registry],
  });
  private readonly lag = new Gauge({
    name: 'mqgate_group_lag',
    help: 'Messages of a partition a consumer group has not committed yet.',
    labelNames: ['topic', 'group', 'partition'],
    registers: [this.registry],
  });
  private readonly pushAttempts = this.pushCounter('attempts', 'Delivery attempts of a push subscription (from the store).');
  private readonly pushFailures = this.pushCounter('failures', 'Failed delivery attempts of a push subscription (from the store).');
  private readonly pushDelivered = this.pushCounter('delivered', 'Messages a push subscription delivered (from the store).');
  private readonly pushDeadLettered = this.pushCounter('dead_lettered', 'Messages a push subscription dead-lettered (from the store).');
  private readonly pushBacklog = new Gauge({
    name: 'mqgate_push_backlog',
    help: 'Messages waiting for a push subscription.',
    labelNames: ['push'],
    registers: [this.registry],
  });
  private readonly commitSeconds = new Histogram({
    name: 'mqgate_store_commit_duration_seconds',
    help: 'Time of one store commit, from BEGIN until it is durable (in FULL, the fsync of the log included).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly commitSize = new Histogram({
    name: 'mqgate_store_commit_operations',
    help: 'Write operations one store commit carried (group commit at work).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });

  private readonly keysReloads = new Counter({
    name: 'mqgate_keys_reloads_total',
    help: 'Reloads of the keys file (on SIGHUP or a change seen by its watch), by result: ok (its keys are in force) or failed (the keys in force stay).',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor() {
    // Every stream operation has a series from the start: a scrape shows 0, not nothing.
    for (const operation of ['streamQueue', 'streamSubscription', 'streamPartition', 'streamGroup']) this.streams.set({ operation }, 0);
    collectDefaultMetrics({ register: this.registry });
    for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    // Both results from the start: a failure is then an increase, which an alert can watch for.
    for (const result of KEYS_RELOAD_RESULTS) this.keysReloads.inc({ result }, 0);
  }

  /** Counts each request once its answer is sent or its connection gone. */
  requestMetrics(): RequestHandler {
    return (_req, res, next) => {
      const end = this.latency.startTimer();
      res.once('close', () => {
        const operation = (res.locals.operationId as string | undefined) ?? 'unmatched';
        end({ operation });
        this.requests.inc({ operation, status: String(res.statusCode) });
      });
      next();
    };
  }

  /** A stream of `operation` opened; the returned function closes it, once its work is done. */
  streamOpened(operation: string): () => void {
    this.openStreams += 1;
    this.streams.inc({ operation });
    return () => {
      this.openStreams -= 1;
      this.streams.dec({ operation });
    };
  }

  keysReloaded(result: KeysReloadResult): void {
    this.keysReloads.inc({ result });
  }

  observeCommit(seconds: number, operations: number): void {
    this.commitSeconds.observe(seconds);
    this.commitSize.observe(operations);
  }

  produced(target: Target, count: number): void {
    this.count(this.producedMessages, target, count);
    this.totals.produced += count;
  }

  delivered(target: Target, count: number): void {
    this.count(this.deliveredMessages, target, count);
    this.totals.delivered += count;
  }

  acked(target: Target, count: number): void {
    this.count(this.ackedMessages, target, count);
  }

  schemaRefused(target: Target, reason: SchemaRefusal, count: number): void {
    this.schemaFailures.inc({ ...this.labelsOf(target), reason }, count);
  }

  /** Messages produced and delivered since start. */
  counted(): Totals {
    return { ...this.totals };
  }

  /** The exposition text, with the store's figures read now. */
  async render(sources: MetricsSources): Promise<{ contentType: string; text: string }> {
    const first = { after: null, prefix: '', limit: MAX_NAMES, visible: null };
    const [queues, topics, pushes] = await Promise.all([sources.queues.list(first), sources.topics.list(first), sources.push.list(first)]);
    const groups = await firstGroups(sources.groups, topics.items);
    // Everything is set in one synchronous stretch, so two scrapes never see each other's half.
    for (const metric of [this.deadLettered, this.depth, this.oldestReady, this.topicEnd, this.lag, this.pushBacklog]) metric.reset();
    for (const metric of [this.pushAttempts, this.pushFailures, this.pushDelivered, this.pushDeadLettered]) metric.reset();
    for (const { name: queue, stats } of queues.items) {
      this.deadLettered.inc({ queue }, stats.deadLettered);
      this.depth.set({ queue, state: 'ready' }, stats.ready);
      this.depth.set({ queue, state: 'in_flight' }, stats.inFlight);
      this.depth.set({ queue, state: 'delayed' }, stats.delayed);
      this.oldestReady.set({ queue }, (stats.oldestReadyAgeMs ?? 0) / 1000);
    }
    for (const topic of topics.items) {
      for (const p of topic.stats.partitions) this.topicEnd.set({ topic: topic.name, partition: p.partition }, p.endOffset);
    }
    for (const { topic, group } of groups) {
      for (const p of group.partitions) this.lag.set({ topic, group: group.name, partition: p.partition }, p.lag);
    }
    for (const { name: push, status } of pushes.items) {
      this.pushAttempts.inc({ push }, status.attempts);
      this.pushFailures.inc({ push }, status.failures);
      this.pushDelivered.inc({ push }, status.delivered);
      this.pushDeadLettered.inc({ push }, status.deadLettered);
      this.pushBacklog.set({ push }, status.backlog);
    }
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  private count(counter: Counter<'kind' | 'name'>, target: Target, count: number): void {
    if (count > 0) counter.inc(this.labelsOf(target), count);
  }

  /** The kind and name labels of a counted event: one bound on names for every counted-event metric. */
  private labelsOf(target: Target): { kind: Target['kind']; name: string } {
    return { kind: target.kind, name: this.eventNames.label(`${target.kind}/${target.name}`, target.name) };
  }

  private messageCounter(event: string, help: string): Counter<'kind' | 'name'> {
    return new Counter({
      name: `mqgate_messages_${event}_total`,
      help: `${help} By kind (queue or topic) and name.`,
      labelNames: ['kind', 'name'],
      registers: [this.registry],
    });
  }

  private pushCounter(event: string, help: string): Counter<'push'> {
    return new Counter({ name: `mqgate_push_${event}_total`, help, labelNames: ['push'], registers: [this.registry] });
  }
}
