import type { AppendResult, Listed, PartitionInfo, TopicMessage, TopicRecord, TopicSettings, TopicStore } from '../persistence/store';
import type { Clock } from './clock';
import { GatewayError } from './errors';
import { countWhere, type MessageEvents } from './events';
import type { Limits } from './limits';
import { type DeliveredMessage, type ProduceInput, toDelivered } from './messages';
import { type ListRequest, viewPage, visiblePage } from './pages';
import { partitionForKey } from './partitioner';
import { batchMessages, type RawMessage, rawMessage } from './produceRequest';
import type { SchemaService } from './schemas';
import type { Wakeups } from './wakeups';

export type TopicView = TopicRecord & { stats: { partitions: PartitionInfo[] } };

/** A message of a topic produce: like a queue's, plus an explicit partition. */
export type TopicProduceInput = ProduceInput & { partition?: number };

/** Where a read starts: an offset, or the partition's first retained or next offset. */
export type Position = number | 'earliest' | 'latest';

export interface ReadRequest {
  offset: Position;
  max: number;
  maxBytes: number;
  waitMs: number;
}

export interface ReadResult {
  messages: DeliveredMessage[];
  /** The offset to read from next. */
  nextOffset: number;
  startOffset: number;
  endOffset: number;
}

/** What one read of a stream takes: few enough messages and bytes to hold while they are written one by one. */
export const STREAM_READ = { max: 100, maxBytes: 64 * 1024 };

/** Settings of a topic created with an empty body: Kafka's defaults where Kafka has one. */
export function defaultTopicSettings(limits: Limits): TopicSettings {
  return {
    partitions: 1,
    retentionMs: 7 * 24 * 60 * 60 * 1000,
    retentionBytes: null,
    maxMessageBytes: limits.maxMessageBytes,
    maxStoredMessages: null,
    maxStoredBytes: null,
  };
}

/**
 * The topic (Kafka mode) semantics over the store: settings, partitioning of
 * produced messages and stateless reads by offset with long-polls.
 */
export class TopicService {
  /** Keyless messages stick to one partition per request, the next request takes the next (Kafka's sticky spread). */
  private readonly spread = new Map<string, number>();

  constructor(
    private readonly store: TopicStore,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly wakeups: Wakeups,
    private readonly events: MessageEvents,
    private readonly schemas: Pick<SchemaService, 'checkBatch' | 'checkRaw'>,
  ) {}

  /** operation: putTopic — fields left out take their defaults; partitions may only grow. */
  async put(name: string, input: Partial<TopicSettings>): Promise<{ topic: TopicView; created: boolean }> {
    const settings = { ...defaultTopicSettings(this.limits), ...input };
    const { topic, created } = await this.store.putTopic({ name, settings, now: this.clock.now() });
    return { topic: await this.view(topic), created };
  }

  async get(name: string): Promise<TopicView> {
    return this.view(await this.record(name));
  }

  /** A topic's settings without its partitions' stats. */
  settings(name: string): Promise<TopicRecord> {
    return this.record(name);
  }

  async list(request: ListRequest): Promise<Listed<TopicView>> {
    return viewPage(await visiblePage((page) => this.store.listTopics(page), request), (topic) => this.view(topic));
  }

  delete(name: string): Promise<void> {
    return this.store.deleteTopic(name);
  }

  /**
   * operation: produceToTopic — each message goes to its explicit partition,
   * else to murmur2(key) % partitions as Kafka's default partitioner does,
   * else (no key) to this request's sticky partition. `escapeFree`: the
   * request's JSON had no backslash (batchMessages).
   */
  async produce(name: string, inputs: TopicProduceInput[], requestKey: string | null, schemaVersion: number | null = null, escapeFree = false): Promise<AppendResult[]> {
    const messages = await this.schemas.checkBatch({ topic: name }, inputs, batchMessages(inputs, requestKey, this.limits, 'client', escapeFree), schemaVersion);
    const { partitions } = await this.record(name);
    const sticky = this.nextSpread(name, partitions);
    return this.append(
      name,
      messages.map((message, i) => ({
        ...message,
        partition: this.partitionOf(name, partitions, message.key, inputs[i].partition, sticky),
      })),
    );
  }

  /** operation: produceToTopic with a non-JSON body; `partition` and the key come from the query. */
  async produceRaw(name: string, raw: RawMessage, requestKey: string | null, partition?: number, schemaVersion: number | null = null): Promise<AppendResult> {
    const message = await this.schemas.checkRaw({ topic: name }, rawMessage(raw, requestKey, this.limits), schemaVersion);
    const { partitions } = await this.record(name);
    const target = this.partitionOf(name, partitions, message.key, partition, this.nextSpread(name, partitions));
    const [result] = await this.append(name, [{ ...message, partition: target }]);
    return result;
  }

  private async append(name: string, messages: TopicMessage[]): Promise<AppendResult[]> {
    const results = await this.store.produceTopic({
      topic: name,
      messages,
      now: this.clock.now(),
      idempotencyWindowMs: this.limits.idempotencyWindowMs,
    });
    this.events.produced({ kind: 'topic', name }, countWhere(results, (r) => !r.duplicate));
    return results;
  }

  /**
   * operation: readPartition — up to `max` messages (and about `maxBytes`)
   * from an offset. At the end of the log it waits up to `waitMs` for the next
   * message, woken by the commit that appends it.
   */
  async read(name: string, partition: number, request: ReadRequest, signal: AbortSignal): Promise<ReadResult> {
    const offset = await this.resolve(name, partition, request.offset);
    const deadline = this.clock.now() + request.waitMs;
    for (;;) {
      const since = this.wakeups.version(name);
      const read = await this.store.readPartition({ topic: name, partition, offset, max: request.max, maxBytes: request.maxBytes });
      const last = read.messages.at(-1);
      if (last !== undefined || this.clock.now() >= deadline || signal.aborted) {
        return {
          messages: read.messages.map(toDelivered),
          nextOffset: last === undefined ? offset : last.offset + 1,
          startOffset: read.startOffset,
          endOffset: read.endOffset,
        };
      }
      await this.wakeups.wait(name, since, deadline, signal);
    }
  }


  /**
   * Where a stream of a partition starts: `position` as an offset, checked
   * against the partition's readable range before anything is sent
   * (`topic_not_found`, `partition_not_found`, `offset_out_of_range`).
   */
  async streamStart(name: string, partition: number, position: Position): Promise<number> {
    await this.record(name);
    const info = await this.partitionInfo(name, partition);
    const offset = offsetAt(info, position);
    if (offset < info.startOffset || offset > info.endOffset) {
      throw new GatewayError(
        'offset_out_of_range',
        `Offset ${offset} is outside partition ${partition}'s readable range, ${info.startOffset} to ${info.endOffset}.`,
      );
    }
    return offset;
  }

  /**
   * operation: streamPartition — the partition's messages from `offset` on,
   * for as long as `signal` holds, waiting at the end of the log for the next
   * append (the wake-ups, as a read's long-poll). Reads STREAM_READ at a time:
   * what a stream holds besides the event being written.
   */
  async *stream(name: string, partition: number, offset: number, signal: AbortSignal): AsyncGenerator<DeliveredMessage> {
    let next = offset;
    while (!signal.aborted) {
      const read = await this.read(name, partition, { offset: next, ...STREAM_READ, waitMs: Infinity }, signal);
      for (const message of read.messages) {
        if (signal.aborted) return;
        yield message;
      }
      next = read.nextOffset;
    }
  }

  /** operation: offsetForTimestamp — the first offset at or after `timestamp` (the end offset if none). */
  offsetForTimestamp(name: string, partition: number, timestamp: number): Promise<number> {
    return this.store.offsetForTimestamp({ topic: name, partition, timestamp });
  }

  private async resolve(name: string, partition: number, position: Position): Promise<number> {
    return typeof position === 'number' ? position : offsetAt(await this.partitionInfo(name, partition), position);
  }

  /** The partition's start and end offsets; `partition_not_found`. */
  private async partitionInfo(name: string, partition: number): Promise<PartitionInfo> {
    const info = (await this.store.topicPartitions(name)).find((p) => p.partition === partition);
    if (info === undefined) throw new GatewayError('partition_not_found', `Topic '${name}' has no partition ${partition}.`);
    return info;
  }

  private partitionOf(name: string, partitions: number, key: string | null, explicit: number | undefined, sticky: number): number {
    if (explicit !== undefined) {
      if (explicit >= partitions) {
        throw new GatewayError('partition_not_found', `Topic '${name}' has ${partitions} partitions; there is no partition ${explicit}.`);
      }
      return explicit;
    }
    return key === null ? sticky : partitionForKey(key, partitions);
  }

  private nextSpread(name: string, partitions: number): number {
    const next = ((this.spread.get(name) ?? -1) + 1) % partitions;
    this.spread.set(name, next);
    return next;
  }

  private async record(name: string): Promise<TopicRecord> {
    const topic = await this.store.getTopic(name);
    if (topic === null) throw new GatewayError('topic_not_found', `Topic '${name}' does not exist.`);
    return topic;
  }

  private async view(topic: TopicRecord): Promise<TopicView> {
    return { ...topic, stats: { partitions: await this.store.topicPartitions(topic.name) } };
  }
}

/** The offset `position` names in a partition of `info`'s offsets. */
function offsetAt(info: PartitionInfo, position: Position): number {
  if (typeof position === 'number') return position;
  return position === 'earliest' ? info.startOffset : info.endOffset;
}
