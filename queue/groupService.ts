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
import { GatewayError } from './errors';
import type { MessageEvents } from './events';
import { type DeliveredMessage, toDelivered } from './messages';
import { STREAM_READ } from './topicService';
import type { Wakeups } from './wakeups';

/** A group created by its first use: Kafka's defaults (auto.offset.reset=latest, 45 s session timeout). */
export const DEFAULT_GROUP_SETTINGS: GroupSettings = { resetPolicy: 'latest', sessionTimeoutMs: 45_000 };

/** A member of a group in one generation, and the partitions it has in it. */
export interface Membership {
  memberId: string;
  generation: number;
  partitions: number[];
}

/** What a group stream hands out: a message of its partitions, or the assignment it reads them in (first, and after each rebalance). */
export type GroupStreamEvent = { message: DeliveredMessage } | { assignment: Membership };

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

/** Why a member's commit is refused when its membership moved on under it. */
const FENCED: GatewayError['code'][] = ['stale_generation', 'unknown_member'];
/** Why a member cannot leave because it is no longer one. */
const GONE: GatewayError['code'][] = ['unknown_member', 'group_not_found', 'topic_not_found'];

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
  async join(topic: string, group: string): Promise<Membership> {
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

  /**
   * operation: streamGroup — the messages of the partitions `joined` (a
   * member that just joined) is assigned, for as long as `signal` holds; the
   * member leaves the group when the stream ends. It reads as a member's
   * fetches do, from the group's positions, which each fetch moves past what
   * it read: nothing is handed out twice while the assignment holds, whether
   * or not the client commits. Each fetch is the member's heartbeat; with
   * nothing to read, one waits at most a third of the session timeout, so an
   * idle stream stays a member. A fetch in a new generation (a member joined,
   * left or timed out) is announced as the new assignment before its
   * messages: the positions went back to the committed offsets, so what no
   * commit covered is handed out again, to whichever member has its
   * partition now. A member removed meanwhile (a reader that took longer
   * than the session timeout to take one event) joins again, as a new member.
   * With `autoCommit`, each message's offset + 1 is committed once the client
   * took its event (this generator is resumed only then): at most once.
   */
  async *stream(topic: string, group: string, joined: Membership, autoCommit: boolean, signal: AbortSignal): AsyncGenerator<GroupStreamEvent> {
    let current = joined;
    try {
      let waitMs = await this.heartbeatEvery(topic, group);
      yield { assignment: current };
      while (!signal.aborted) {
        const { memberId } = current;
        const fetched = await this.fetch(topic, group, { memberId, ...STREAM_READ, waitMs }, signal).catch((error: unknown) => {
          if (error instanceof GatewayError && error.code === 'unknown_member') return null;
          throw error;
        });
        if (fetched === null || fetched.generation !== current.generation) {
          current = fetched === null ? await this.join(topic, group) : { memberId, generation: fetched.generation, partitions: fetched.partitions };
          waitMs = await this.heartbeatEvery(topic, group);
          yield { assignment: current };
        }
        for (const message of fetched?.messages ?? []) {
          if (signal.aborted) return;
          yield { message };
          if (autoCommit) await this.commitDelivered(topic, group, current, message);
        }
      }
    } finally {
      await this.leaveIfMember(topic, group, current.memberId);
    }
  }

  /** How long a stream's fetch may wait: a third of the group's session timeout, so that two heartbeats may be late before the member is removed. */
  private async heartbeatEvery(topic: string, group: string): Promise<number> {
    return Math.floor((await this.describe(topic, group)).sessionTimeoutMs / 3);
  }

  /** A stream's auto-commit of a message it handed out. Refused once the generation moved on: the message's partition is read again from the committed offset, by its new owner. */
  private async commitDelivered(topic: string, group: string, { memberId, generation }: Membership, { partition, offset }: DeliveredMessage): Promise<void> {
    try {
      await this.commit(topic, group, { memberId, generation, offsets: [{ partition, offset: offset + 1 }] });
    } catch (error) {
      if (!(error instanceof GatewayError && FENCED.includes(error.code))) throw error;
    }
  }

  /** A stream's leave: a member already removed (timed out, its group or topic deleted) has nothing to leave. */
  private async leaveIfMember(topic: string, group: string, memberId: string): Promise<void> {
    try {
      await this.leave(topic, group, memberId);
    } catch (error) {
      if (!(error instanceof GatewayError && GONE.includes(error.code))) throw error;
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
