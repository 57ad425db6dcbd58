import { randomUUID } from 'node:crypto';
import type {
  GroupDescription,
  GroupSettings,
  GroupStore,
  Listed,
  OffsetReset,
  PageRequest,
  PartitionOffset,
  SeekTarget,
} from '../persistence/store';
import type { Clock } from './clock';
import type { MessageEvents } from './events';
import { type DeliveredMessage, toDelivered } from './messages';
import type { Wakeups } from './wakeups';

/** A group created by its first use: Kafka's defaults (auto.offset.reset=latest, 45 s session timeout). */
export const DEFAULT_GROUP_SETTINGS: GroupSettings = { resetPolicy: 'latest', sessionTimeoutMs: 45_000 };

export interface GroupFetchRequest {
  /** Omitted: a simple consumer of every partition (only while the group has no members). */
  memberId?: string;
  max: number;
  maxBytes: number;
  waitMs: number;
}

export interface GroupFetchResult {
  memberId?: string;
  generation: number;
  partitions: number[];
  messages: DeliveredMessage[];
  /** Partitions whose offset the reset policy set during this fetch. */
  resets: OffsetReset[];
}

export interface CommitInput {
  memberId?: string;
  generation?: number;
  offsets?: PartitionOffset[];
}

export type SeekInput =
  | { to: 'earliest' | 'latest'; partitions?: number[] }
  | { to: 'offset'; offset: number; partitions?: number[] }
  | { to: 'timestamp'; timestamp: number; partitions?: number[] };

/**
 * Consumer groups of a topic (Kafka mode): membership and generations,
 * fetches from the group's positions with long-polls, fenced commits, seeks.
 * All group state is in the store.
 */
export class GroupService {

  constructor(
    private readonly store: GroupStore,
    private readonly clock: Clock,
    private readonly wakeups: Wakeups,
    private readonly events: MessageEvents,
  ) {}

  /** operation: putGroup — fields left out take the defaults. */
  put(topic: string, group: string, input: Partial<GroupSettings>): Promise<{ group: GroupDescription; created: boolean }> {
    return this.store.putGroup({ topic, group, settings: { ...DEFAULT_GROUP_SETTINGS, ...input }, now: this.clock.now() });
  }

  describe(topic: string, group: string): Promise<GroupDescription> {
    return this.store.describeGroup({ topic, group, now: this.clock.now() });
  }

  list(topic: string, page: PageRequest): Promise<Listed<GroupDescription>> {
    return this.store.listGroups({ topic, ...page, now: this.clock.now() });
  }

  delete(topic: string, group: string): Promise<void> {
    return this.store.deleteGroup({ topic, group, now: this.clock.now() });
  }

  /** operation: joinGroup — a fresh member id; the member's partitions come with it. */
  async join(topic: string, group: string): Promise<{ memberId: string; generation: number; partitions: number[] }> {
    const memberId = randomUUID();
    const joined = await this.store.joinGroup({ topic, group, memberId, now: this.clock.now(), defaults: DEFAULT_GROUP_SETTINGS });
    return { memberId, generation: joined.generation, partitions: joined.partitions };
  }

  leave(topic: string, group: string, memberId: string): Promise<void> {
    return this.store.leaveGroup({ topic, group, memberId, now: this.clock.now() });
  }

  /**
   * operation: fetchGroup — reads from the group's positions; with `waitMs`,
   * waits for a message on one of the fetcher's partitions. Every fetch of a
   * member is its heartbeat.
   */
  async fetch(topic: string, group: string, request: GroupFetchRequest, signal: AbortSignal): Promise<GroupFetchResult> {
    const deadline = this.clock.now() + request.waitMs;
    const resets: OffsetReset[] = [];
    for (;;) {
      const since = this.wakeups.version(topic);
      const fetched = await this.store.fetchGroup({
        topic,
        group,
        memberId: request.memberId ?? null,
        max: request.max,
        maxBytes: request.maxBytes,
        now: this.clock.now(),
        defaults: DEFAULT_GROUP_SETTINGS,
      });
      resets.push(...fetched.resets);
      if (fetched.messages.length > 0 || this.clock.now() >= deadline || signal.aborted) {
        this.events.delivered({ kind: 'topic', name: topic }, fetched.messages.length);
        return {
          ...(request.memberId === undefined ? {} : { memberId: request.memberId }),
          generation: fetched.generation,
          partitions: fetched.partitions,
          messages: fetched.messages.map(toDelivered),
          resets,
        };
      }
      await this.wakeups.wait(topic, since, deadline, signal);
    }
  }


  /** operation: commitGroup — the Kafka-mode ack. */
  async commit(
    topic: string,
    group: string,
    input: CommitInput,
  ): Promise<{ memberId?: string; generation: number; offsets: PartitionOffset[] }> {
    const committed = await this.store.commitGroup({
      topic,
      group,
      memberId: input.memberId ?? null,
      generation: input.generation ?? null,
      offsets: input.offsets ?? null,
      now: this.clock.now(),
    });
    return { ...(input.memberId === undefined ? {} : { memberId: input.memberId }), ...committed };
  }

  /** operation: seekGroup — replay from earliest, latest, an offset or a time. */
  async seek(topic: string, group: string, input: SeekInput): Promise<{ offsets: PartitionOffset[] }> {
    const { partitions, ...target } = input;
    const offsets = await this.store.seekGroup({ topic, group, target: target as SeekTarget, partitions: partitions ?? null, now: this.clock.now() });
    return { offsets };
  }
}
