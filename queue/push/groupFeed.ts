import type { GroupFetch, GroupStore, QueueStore, StoredMessage } from '../../persistence/store';
import type { Clock } from '../clock';
import { GatewayError } from '../errors';
import { DEFAULT_GROUP_SETTINGS } from '../groupService';
import type { Wakeups } from '../wakeups';
import type { FeedItem, PushFeed } from './feed';

class OffsetItem implements FeedItem {
  attempt = 1;

  constructor(
    readonly message: StoredMessage,
    /** The membership it was fetched in; its outcome commits nothing in another one. */
    readonly generation: number,
  ) {}
}

/** Offsets fetched and not yet settled, per partition, and how far the commits got. */
interface PartitionProgress {
  pending: Set<number>;
  /** One past the last offset fetched. */
  fetchedTo: number;
  committed: number;
}

/** Headers of a group's dead letter: where it was in the log. (No source header: redrive leaves it; seek replays it.) */
const DEAD_LETTER_GROUP_HEADER = 'mqgate-dead-letter-group';
const DEAD_LETTER_PARTITION_HEADER = 'mqgate-dead-letter-partition';
const DEAD_LETTER_OFFSET_HEADER = 'mqgate-dead-letter-offset';

const MAX_FETCH_BYTES = 16 * 1024 * 1024;

/**
 * Push from a consumer group (Kafka mode): the runner is a member of the
 * group (`push:<name>`), reads its partitions from the group's positions and
 * commits, per partition, up to the first message not yet settled. Messages
 * of one partition may be delivered concurrently, but the committed offset
 * never passes an unsettled one: after a restart, delivery resumes at it
 * (at-least-once). Attempts are counted in memory.
 */
export class GroupFeed implements PushFeed<OffsetItem> {
  private readonly memberId: string;
  private generation: number | null = null;
  private progress = new Map<number, PartitionProgress>();
  /** The commit in flight, the next one waiting for it. */
  private committing: Promise<void> = Promise.resolve();
  private sessionTimeoutMs = DEFAULT_GROUP_SETTINGS.sessionTimeoutMs;
  private cancelHeartbeat: () => void = () => undefined;
  private closed = false;
  /** Aborted when a release needs the membership started over: a waiting `next` fetches again. */
  private rejoined = new AbortController();
  private membership: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: GroupStore & Pick<QueueStore, 'produce'>,
    private readonly clock: Clock,
    private readonly wakeups: Wakeups,
    private readonly topic: string,
    private readonly group: string,
    name: string,
  ) {
    this.memberId = `push:${name}`;
  }

  async next(max: number, signal: AbortSignal): Promise<OffsetItem[]> {
    for (;;) {
      const since = this.wakeups.version(this.topic);
      const rejoined = this.rejoined.signal;
      // Fetched and recorded as pending in one step: a heartbeat's restart cannot come in between.
      const items = await this.serial(async () => {
        const fetched = await this.fetch(max);
        return fetched.messages.map((message) => {
          const progress = this.progress.get(message.partition) as PartitionProgress;
          progress.pending.add(message.offset);
          progress.fetchedTo = message.offset + 1;
          return new OffsetItem(message, fetched.generation);
        });
      });
      if (items.length > 0 || signal.aborted) return items;
      await this.wakeups.wait(this.topic, since, Infinity, AbortSignal.any([signal, rejoined]));
    }
  }

  async delivered(item: OffsetItem): Promise<void> {
    await this.settled(item);
  }

  async deadLetter(item: OffsetItem, queue: string, headers: Record<string, string>): Promise<boolean> {
    const { message } = item;
    const all = {
      ...message.headers,
      ...headers,
      [DEAD_LETTER_GROUP_HEADER]: `${this.topic}/${this.group}`,
      [DEAD_LETTER_PARTITION_HEADER]: String(message.partition),
      [DEAD_LETTER_OFFSET_HEADER]: String(message.offset),
    };
    // Counted as no bytes: a dead letter is never refused for its size (as a queue's are not), or it could go nowhere.
    await this.store.produce({
      queue,
      messages: [{ key: message.key, headers: all, contentType: message.contentType, value: message.value, group: message.group, delayMs: 0, idempotencyKey: null, bytes: 0 }],
      now: this.clock.now(),
      idempotencyWindowMs: 0,
    });
    await this.settled(item);
    return true;
  }

  async retry(item: OffsetItem): Promise<boolean> {
    if (item.generation !== this.generation) return false;
    item.attempt += 1;
    return true;
  }

  /** Offsets hold themselves: nothing to renew, nothing lost. */
  async hold(): Promise<OffsetItem[]> {
    return [];
  }

  /** Offsets cannot give one message back: the membership starts over from the committed offsets. */
  async release(items: OffsetItem[]): Promise<void> {
    if (items.some((item) => item.generation === this.generation)) this.startOver();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelHeartbeat();
    await this.serial(() => this.leave());
  }

  /** Membership calls one at a time: a heartbeat and a fetch must not both restart the progress. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.membership.then(work, work);
    this.membership = run.catch(() => undefined);
    return run;
  }

  /** The membership is over (left, fenced, or messages given back): the next fetch joins anew, and a waiting one goes now. */
  private startOver(): void {
    this.generation = null;
    this.rejoined.abort();
    this.rejoined = new AbortController();
  }

  /** A fetch as the group's member; joins first (anew, so positions rewind to the committed offsets) when it is not one. */
  private async fetch(max: number): Promise<GroupFetch> {
    if (this.generation === null) await this.join();
    let fetched: GroupFetch;
    try {
      fetched = await this.store.fetchGroup({
        topic: this.topic,
        group: this.group,
        memberId: this.memberId,
        max,
        maxBytes: MAX_FETCH_BYTES,
        now: this.clock.now(),
        // The push subscription made the group; gone, it is not made again here.
        defaults: null,
      });
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'unknown_member') this.startOver();
      throw error;
    }
    if (fetched.generation !== this.generation) await this.restart(fetched.generation);
    return fetched;
  }

  private async join(): Promise<void> {
    // A member of the same name left from before a crash would keep its positions: leave, then join anew.
    await this.leave();
    const joined = await this.store.joinGroup({ topic: this.topic, group: this.group, memberId: this.memberId, now: this.clock.now(), defaults: null });
    await this.restart(joined.generation);
    this.heartbeat();
  }

  private async leave(): Promise<void> {
    try {
      await this.store.leaveGroup({ topic: this.topic, group: this.group, memberId: this.memberId, now: this.clock.now() });
    } catch (error) {
      if (!(error instanceof GatewayError && error.code === 'unknown_member')) throw error;
    }
  }

  /** A new generation: positions are back at the committed offsets, so what was in flight will be fetched again. */
  private async restart(generation: number): Promise<void> {
    // What was in flight commits nothing now, and a waiting fetch must read the rewound positions.
    if (this.generation !== null) this.startOver();
    this.generation = generation;
    const described = await this.store.describeGroup({ topic: this.topic, group: this.group, now: this.clock.now() });
    this.sessionTimeoutMs = described.sessionTimeoutMs;
    this.progress = new Map(
      described.partitions.map((p) => {
        const committed = p.committed ?? 0;
        return [p.partition, { pending: new Set<number>(), fetchedTo: committed, committed }];
      }),
    );
  }

  /** A fetch of nothing is the member's heartbeat while the runner is busy; a third of the session timeout apart. */
  private heartbeat(): void {
    this.cancelHeartbeat();
    if (this.closed) return;
    const beat = async (): Promise<void> => {
      try {
        await this.serial(() => this.fetch(0));
      } catch {
        // The next fetch joins again.
      }
      this.heartbeat();
    };
    const every = Math.max(1000, Math.floor(this.sessionTimeoutMs / 3));
    this.cancelHeartbeat = this.clock.schedule(this.clock.now() + every, () => void beat());
  }

  /** Commits the partition up to its first unsettled offset, within the membership the item was fetched in. */
  private async settled(item: OffsetItem): Promise<void> {
    if (item.generation !== this.generation) return;
    const { partition, offset } = item.message;
    const progress = this.progress.get(partition) as PartitionProgress;
    progress.pending.delete(offset);
    const upTo = progress.pending.size === 0 ? progress.fetchedTo : Math.min(...progress.pending);
    if (upTo <= progress.committed) return;
    progress.committed = upTo;
    // One commit at a time, in the order decided: two sent at once may commit in either order on a store with
    // concurrent transactions (PostgreSQL), and the later one landing first would leave the offset behind for good.
    const commit = this.committing.then(() => this.commit(item.generation, partition, upTo));
    this.committing = commit.catch(() => undefined);
    await commit;
  }

  private async commit(generation: number, partition: number, upTo: number): Promise<void> {
    try {
      await this.store.commitGroup({
        topic: this.topic,
        group: this.group,
        memberId: this.memberId,
        generation,
        offsets: [{ partition, offset: upTo }],
        now: this.clock.now(),
      });
    } catch (error) {
      if (!(error instanceof GatewayError && (error.code === 'stale_generation' || error.code === 'unknown_member'))) throw error;
      this.startOver();
    }
  }
}
