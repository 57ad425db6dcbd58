/**
 * The store interface: everything the queue semantics need from storage, and
 * nothing more. It is asynchronous even though the SQLite backend is
 * synchronous underneath, so that a networked backend fits it unchanged and so
 * that concurrent writes can share one commit (group commit).
 *
 * Every backend must pass test/store-contract/ (docs/architecture.md).
 */

/** A queue subscription: a queue's own, or a named one of a topic. */
export type SubscriptionRef = { queue: string } | { topic: string; subscription: string };

/** Settings of a queue (a topic with one queue subscription). */
export interface QueueSettings {
  /** How long a fetched message stays leased before it is offered again. */
  visibilityTimeoutMs: number;
  /** Deliveries allowed before the message moves to `deadLetterQueue`; null: unlimited. */
  maxDeliveries: number | null;
  /** Name of the queue that receives messages past `maxDeliveries`. */
  deadLetterQueue: string | null;
  /** Default delay before a produced message becomes ready. */
  delayMs: number;
  /** Age after which a message is deleted whether or not it was acknowledged. */
  retentionMs: number;
  /** Largest accepted message (value, key and headers together). */
  maxMessageBytes: number;
  /** Quota: most messages stored at once; a produce past it is refused with quota_exceeded. null: none. */
  maxStoredMessages: number | null;
  /** Quota: most value bytes stored at once; a produce past it is refused with quota_exceeded. null: none. */
  maxStoredBytes: number | null;
  /**
   * `standard`: oldest ready first, any number leased at once. `fifo`: each
   * message group (`group`) is delivered in order, and a group is skipped
   * while any of its messages is leased; groups proceed independently.
   */
  ordering: 'standard' | 'fifo';
  /** A message produced without an idempotency key is deduplicated by the SHA-256 of its value. */
  contentBasedDeduplication: boolean;
  /**
   * Of a FIFO queue: `queue`, an idempotency key is one message in the whole
   * queue; `messageGroup`, one message per message group (SQS's
   * DeduplicationScope), so the same key in two groups is two messages.
   */
  deduplicationScope: 'queue' | 'messageGroup';
  /** Which queues may name this one as their deadLetterQueue (SQS's RedriveAllowPolicy); null: any, as `allowAll`. */
  redriveAllowPolicy: RedriveAllowPolicy | null;
  /** How long a fetch that gives no `waitMs` waits for a message. */
  receiveWaitMs: number;
  /** Labels for people and tools (SQS tags). */
  tags: Record<string, string>;
  /**
   * SQS queue attributes the gateway keeps as they were set, for SQS clients
   * to read back, and does not act on (Policy, SqsManagedSseEnabled,
   * KmsMasterKeyId, KmsDataKeyReusePeriodSeconds, FifoThroughputLimit): by name, values as SQS gives them.
   */
  sqsAttributes: Record<string, string>;
}

/** Which queues may name a queue as their dead-letter queue: every one, none, or those of `sourceQueues` (1 to 10; empty otherwise). */
export interface RedriveAllowPolicy {
  permission: 'allowAll' | 'denyAll' | 'byQueue';
  sourceQueues: string[];
}

/** Settings of a queue subscription of a topic: a queue's, less what belongs to the topic. */
export type SubscriptionSettings = Pick<QueueSettings, 'visibilityTimeoutMs' | 'maxDeliveries' | 'deadLetterQueue'>;

export interface SubscriptionRecord extends SubscriptionSettings {
  topic: string;
  name: string;
}

export interface QueueRecord extends QueueSettings {
  name: string;
  /** The subscription id of the queue's own queue subscription: receipts are bound to it. Opaque. */
  subscriptionId: string;
  createdAt: number;
  updatedAt: number;
}

/** Settings of a topic: a retained, partitioned log. */
export interface TopicSettings {
  /** Number of partitions; may grow, never shrink. */
  partitions: number;
  /** Messages older than this are deleted; null: no age limit. */
  retentionMs: number | null;
  /** Per partition: the oldest messages are deleted while a partition holds more value bytes; null: no limit. */
  retentionBytes: number | null;
  maxMessageBytes: number;
  /** Quota over all partitions: most messages stored at once; null: none. */
  maxStoredMessages: number | null;
  /** Quota over all partitions: most value bytes stored at once; null: none. */
  maxStoredBytes: number | null;
}

export interface TopicRecord extends TopicSettings {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface PartitionInfo {
  partition: number;
  /** Offset of the oldest retained message (= endOffset when empty). */
  startOffset: number;
  /** Offset the next message will get: the high watermark. */
  endOffset: number;
  /** Value bytes stored. */
  bytes: number;
}

export interface ReadOptions {
  offset: number;
  max: number;
  /** Stop adding messages past this many value bytes; the first message is always returned. */
  maxBytes: number;
}

export interface PartitionRead {
  messages: StoredMessage[];
  startOffset: number;
  endOffset: number;
}

/** Settings of a consumer group of a topic. */
export interface GroupSettings {
  /** Where a partition starts with no committed offset, or one below the retention start. */
  resetPolicy: 'earliest' | 'latest';
  /** A member that has not fetched for this long is removed and its partitions reassigned. */
  sessionTimeoutMs: number;
}

export interface GroupPartition {
  partition: number;
  /** The offset of the next message the group will read, as in Kafka; null until the group first reads it. */
  committed: number | null;
  endOffset: number;
  /** endOffset − committed (from the policy's start when nothing is committed). */
  lag: number;
  /** The member it is assigned to; null for none. */
  memberId: string | null;
}

export interface GroupMember {
  memberId: string;
  partitions: number[];
  joinedAt: number;
  lastSeenAt: number;
}

export interface GroupDescription extends GroupSettings {
  name: string;
  topic: string;
  generation: number;
  partitions: GroupPartition[];
  members: GroupMember[];
}

/** A partition whose offset the reset policy set: from null when it had none, or from one below the retention start. */
export interface OffsetReset {
  partition: number;
  from: number | null;
  to: number;
}

/** A consumer group: its topic and its name. */
export interface GroupRef {
  topic: string;
  group: string;
}

export interface GroupFetchOptions extends GroupRef {
  /** The fetching member, or null for a simple consumer of all partitions (only while the group has no members). */
  memberId: string | null;
  max: number;
  maxBytes: number;
  now: number;
  /** Settings of a group that does not exist yet and is created by this fetch; null: `group_not_found` instead. */
  defaults: GroupSettings | null;
}

export interface GroupFetch {
  generation: number;
  partitions: number[];
  messages: StoredMessage[];
  resets: OffsetReset[];
}

export interface PartitionOffset {
  partition: number;
  offset: number;
}

export interface CommitRequest extends GroupRef {
  now: number;
  /** With a member, `generation` must be the group's current one and the partitions its own. */
  memberId: string | null;
  generation: number | null;
  /** null: commit what the fetches delivered so far (the positions). */
  offsets: PartitionOffset[] | null;
}

/** One page of a list in name order: names after `after` that start with `prefix`, at most `limit`. */
export interface PageRequest {
  /** null: from the first name. */
  after: string | null;
  prefix: string;
  limit: number;
}

/** A page of a list. */
export interface Listed<T> {
  items: T[];
  /** The `after` of the next page; null when this page is the last. */
  next: string | null;
}

export type SeekTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'offset'; offset: number }
  | { to: 'timestamp'; timestamp: number };

export interface QueueStats {
  ready: number;
  inFlight: number;
  delayed: number;
  /** Value bytes of the messages waiting, in every state (ready, in flight, delayed). */
  bytes: number;
  oldestReadyAgeMs: number | null;
  produced: number;
  acked: number;
  deadLettered: number;
}

/** A message ready to be appended: values are bytes, encoding is the API's business. */
export interface NewMessage {
  key: string | null;
  headers: Record<string, string>;
  contentType: string;
  value: Buffer;
  /** Delay before the message becomes ready; null: the queue's delayMs. */
  delayMs: number | null;
  idempotencyKey: string | null;
  /** The size that counts against the queue's maxMessageBytes. */
  bytes: number;
  /** The message group (FIFO ordering); null for none. */
  group: string | null;
}

/** A message for a topic: its partition chosen by the caller (explicit, by key, or spread). */
export interface TopicMessage extends NewMessage {
  partition: number;
}

export interface AppendResult {
  id: string;
  partition: number;
  offset: number;
  timestamp: number;
  duplicate: boolean;
}

/**
 * The header a dead letter gains naming where it came from: its queue, or
 * `topic/subscription`. Redrive reads it back; the SQS face shows a queue's
 * as DeadLetterQueueSourceArn.
 */
export const DEAD_LETTER_SOURCE_HEADER = 'mqgate-dead-letter-source';

export interface StoredMessage {
  /**
   * The store's row of the message where it is now, which deliveries and
   * receipts name: a message moved to another queue is a new row there, so
   * a receipt from before the move never settles a delivery after it.
   */
  id: string;
  /**
   * The message's id as clients see it: the one it was produced with, which
   * it keeps when it moves to another queue (a dead letter, a redrive), as
   * SQS keeps a MessageId; `id` for a message never moved.
   */
  publicId: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  contentType: string;
  value: Buffer;
  /** The message group a FIFO queue orders by; null for none. */
  group: string | null;
}

export interface Lease {
  message: StoredMessage;
  /** 1 on the first delivery; together with the message id it fences the receipt. */
  deliveryCount: number;
  /** When the message was first leased (this delivery, or an earlier one). */
  firstDeliveredAt: number;
}

/** Identifies one delivery of one message: what a receipt names (and its signature covers). */
export interface DeliveryRef {
  /** The subscription id of the queue subscription that leased it; a ref of another one is `unknown`. */
  subscriptionId: string;
  /** The leased message's row (StoredMessage.id, not its publicId). */
  messageId: string;
  deliveryCount: number;
}

export type Settlement =
  | { kind: 'ack' }
  | { kind: 'nack'; availableAt: number }
  | { kind: 'extend'; leaseUntil: number };

export type SettleStatus = 'acked' | 'nacked' | 'extended' | 'expired' | 'unknown';

export interface ProduceOptions {
  now: number;
  /** A repeated idempotency key younger than this returns the original result. */
  idempotencyWindowMs: number;
  /** Into a queue whose ordering is fifo: the window instead of idempotencyWindowMs. */
  fifoIdempotencyWindowMs?: number;
  /** Into a queue that deduplicates by content: the key of a message without one. */
  contentKey?: (value: Buffer) => string;
}

/** A request whose caller waits for a reply (request–reply). */
export interface PendingReply {
  /** Unguessable: it is the reply address. */
  correlationId: string;
  /** A reply at or after this time is refused (`expired`). */
  deadline: number;
}

/** A consumer's reply to a request: what its caller is answered with, byte for byte. */
export interface Reply {
  /** The HTTP status the caller gets. */
  status: number;
  contentType: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * What became of a reply: stored for the caller; `unknown` (no such request of
 * that queue, or its caller already has a reply and went); `replied` (a reply
 * is already waiting for the caller); `expired` (its caller stopped waiting).
 */
export type ReplyOutcome = 'stored' | 'unknown' | 'replied' | 'expired';

export interface ClaimOptions {
  max: number;
  now: number;
  /** Lease length; null: the queue's visibilityTimeoutMs. */
  visibilityTimeoutMs: number | null;
  /**
   * Added to every lease this claim gives: how far apart the clocks of the
   * gateway processes over the store may be, so that none whose clock runs
   * ahead of this one's sees the lease end early. Default 0 (one process).
   */
  leaseGraceMs?: number;
  /**
   * A receive attempt (SQS's ReceiveRequestAttemptId): a claim with the id
   * of an earlier one within `windowMs` gives that claim's leases again,
   * their leases renewed from now, while every one of them is still the live
   * lease it gave (none settled, extended or run out); once one is not, the
   * attempt is `spent`. A claim that leases anything under a new id records it.
   */
  attempt?: ReceiveAttempt;
}

export interface ReceiveAttempt {
  id: string;
  windowMs: number;
}

export interface ClaimResult {
  /** The subscription id of the queue subscription, which receipts are bound to. */
  subscriptionId: string;
  leases: Lease[];
  /** With an attempt: `repeated`, the leases are the earlier claim's; `spent`, it cannot be repeated (no leases). Absent: a claim of its own. */
  attempt?: 'repeated' | 'spent';
}

export interface BrowseOptions {
  /**
   * The id of the last message of the page before (acked since or not); null: from the oldest. A string that is not one of this store's message ids is `position_invalid`.
   * Pages follow the store's rows: a message moved into the queue (a dead letter, a redrive) has a newer row than its id, and the next page
   * goes on after that row while the message is still there; once it is settled, after its id, so that page may show again messages moved in since it was produced.
   */
  after: string | null;
  max: number;
  now: number;
}

/** A message as a browse shows it: where it stands in its queue subscription. */
export interface BrowsedMessage extends StoredMessage {
  /** Deliveries so far. */
  deliveryCount: number;
  /** `ready` (a lease that ran out included), `leased`, or `delayed` (by a produce delay or a nack). */
  state: 'ready' | 'leased' | 'delayed';
}

/**
 * Where a move task stands: `running` (moving, a step at a time),
 * `cancelling` (asked to stop; its next step stops it), and how it ended:
 * `completed`, `cancelled` or `failed`.
 */
export type MoveTaskStatus = 'running' | 'cancelling' | 'completed' | 'cancelled' | 'failed';

/**
 * Why a move task failed: `message_source_unknown`, a dead letter names no
 * source to go back to (it was produced into the dead-letter queue);
 * `queue_not_found`, where a dead letter was to go (its source, or the
 * destination) is gone.
 */
export type MoveTaskFailure = 'message_source_unknown' | 'queue_not_found';

/** A move of a dead-letter queue's messages back to their sources, or to a destination (an SQS message move task). */
export interface MoveTask {
  handle: string;
  /** The queue the dead letters go to; null: back to each one's source. */
  destination: string | null;
  /** Most dead letters moved per second; null: as fast as the store takes them. */
  maxPerSecond: number | null;
  moved: number;
  /** Ready dead letters when it started: it moves no more than these. */
  toMove: number;
  startedAt: number;
  status: MoveTaskStatus;
  /** Why it failed; null unless `failed`. */
  failure: MoveTaskFailure | null;
}

/** What a move task's start records; it starts `running` with nothing moved. */
export type NewMoveTask = Pick<MoveTask, 'handle' | 'destination' | 'maxPerSecond' | 'toMove' | 'startedAt'>;

/** One step of a move task: how many ready dead letters it asked for, and what became of those it found. */
export interface MoveStep {
  asked: number;
  /** Ready dead letters found, at most `asked`. */
  found: number;
  /** Of those found, moved. */
  moved: number;
  /** Left where they are: they name no source (back to their sources only). */
  unsourced: number;
  /** Left where they are: where they were to go (their source, the destination) is gone. */
  unplaced: number;
}

export interface RedriveResult {
  redriven: number;
  /** Dead letters left behind: leased ones, and ones whose source queue no longer exists. */
  remaining: number;
}

export interface SweepOptions {
  now: number;
  idempotencyWindowMs: number;
  /** Replies awaited with a deadline before this are forgotten: a late reply is then `unknown`, no longer `expired`. */
  repliesBefore: number;
  /** Most messages, and most idempotency keys, removed by one call. */
  budget: number;
  /**
   * Most partitions (a queue has one) one call looks at, so a call costs the
   * same with 100 queues or 100,000: a walk over all of them takes several
   * calls, each going on where the one before stopped.
   */
  partitions: number;
  /** Where the walk goes on: the `resumeAfter` of the call before; null: from the first partition. */
  resumeAfter: string | null;
  /**
   * The process asking (LeaseStore): of several processes over one store,
   * only the holder of the `sweep` lease sweeps; the call takes or renews it
   * for `leaseMs`. A call of another process does nothing.
   */
  holder: string;
  leaseMs: number;
}

export interface SweepResult {
  expiredMessages: number;
  expiredKeys: number;
  expiredReplies: number;
  /** Where the next call goes on; null when this one reached the last partition. Opaque. */
  resumeAfter: string | null;
}

/** What a push subscription delivers: a queue, a queue subscription of a topic, or a consumer group of a topic. */
export type PushSource = { queue: string } | { topic: string; subscription: string } | { topic: string; group: string };

export interface PushBackoff {
  /** Delay before the second attempt. */
  initialMs: number;
  /** Longest delay between attempts. */
  maxMs: number;
  /** Each delay is the previous one times this. */
  multiplier: number;
  /** Each delay varies at random by up to this fraction, up or down (0: exact). */
  jitter: number;
}

/** How a push subscription calls its target. */
export interface PushSettings {
  url: string;
  method: 'POST' | 'PUT';
  /** Extra request headers, sent with every delivery. */
  headers: Record<string, string>;
  /** Longest an attempt may take, connection to the end of the response. */
  timeoutMs: number;
  /** Most deliveries in progress at once (each is one open request, a wait before a retry, or a message behind its key). */
  concurrency: number;
  /** With a dead-letter queue: attempts before a message moves there. */
  maxAttempts: number;
  backoff: PushBackoff;
  /** `key`: messages of one key are delivered one at a time, in produce order. */
  ordering: 'unordered' | 'key';
  /** Where undeliverable messages go; null: every message is retried until delivered. */
  deadLetterQueue: string | null;
  /** A 4xx answer (but 408 and 429) dead-letters at once unless this is true. */
  retryClientErrors: boolean;
}

/** What a push subscription did, as its status shows it. */
export interface PushCounters {
  delivered: number;
  /** delivered + failures. */
  attempts: number;
  failures: number;
  deadLettered: number;
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  /** The last failed attempt: its HTTP status (null when there was no answer) and what went wrong. */
  lastError: { status: number | null; error: string } | null;
}

export interface PushRecord extends PushSettings {
  name: string;
  source: PushSource;
  /** The HMAC-SHA256 key deliveries are signed with; null: unsigned. */
  secret: string | null;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  counters: PushCounters;
}

/** The result of attempts, added to a push subscription's counters. */
export interface PushOutcome {
  delivered: number;
  failures: number;
  deadLettered: number;
  at: number;
  /** The last failure among them, if any. */
  lastError: { status: number | null; error: string } | null;
}

/** A named queue subscription of a topic. */
export interface SubscriptionName {
  topic: string;
  subscription: string;
}

/** The rules a backend applies inside its transactions. They are queue/'s decisions (queue/rules.ts), written once for every backend. */
export interface StoreRules {
  /** Rebalancing: which member reads which partitions, for a membership. */
  assignPartitions(memberIds: string[], partitions: number): Map<string, number[]>;
  /** Member expiry: a member last seen before the answer is removed at `now`. */
  membersSeenBefore(now: number, sessionTimeoutMs: number): number;
  /** The reset policy: where a partition with no usable committed offset starts. */
  resetOffset(policy: GroupSettings['resetPolicy'], bounds: Pick<PartitionInfo, 'startOffset' | 'endOffset'>): number;
  /** The dead-letter threshold: whether a message coming up for delivery `deliveryCount` goes to the dead-letter queue instead. */
  deadLetters(deliveryCount: number, maxDeliveries: number | null): boolean;
  /** FIFO: whether a message group may be delivered, given its oldest unsettled message and whether any of it is leased (a read, asked only when needed). */
  fifoGroupMayGo(head: { availableAt: number; leased: () => boolean }, now: number): boolean;
  /** Quotas: the cap an append of `adding` would break, if any. */
  quotaBreach(
    quota: Pick<QueueSettings, 'maxStoredMessages' | 'maxStoredBytes'>,
    stored: { messages: number; bytes: number },
    adding: { messages: number; bytes: number },
  ): 'messages' | 'bytes' | null;
  /** The deduplication window of a produce into a queue (or topic) of `ordering`. */
  deduplicationWindowMs(ordering: QueueSettings['ordering'], options: ProduceOptions): number;
  /** Move tasks: where a task stands after a step, given what it has moved in all (`task.moved`, the step's included). */
  moveTaskAfter(task: Pick<MoveTask, 'moved' | 'toMove'>, step: MoveStep): Pick<MoveTask, 'status' | 'failure'>;
  /** The key an idempotency key is remembered by in a queue of deduplication `scope`, for a message of `group`. */
  deduplicationKey(scope: QueueSettings['deduplicationScope'], group: string | null, key: string): string;
}

/**
 * The store, by role: each service depends on the roles it uses. A call that
 * takes more than one thing takes one parameter object; `now` is always a
 * field of it. Refusals are StoreErrors (persistence/errors.ts).
 */
export interface QueueStore {
  /** Creates the queue, or updates its settings; `created` says which. */
  putQueue(params: { name: string; settings: QueueSettings; now: number }): Promise<{ queue: QueueRecord; created: boolean }>;
  getQueue(name: string): Promise<QueueRecord | null>;
  listQueues(page: PageRequest): Promise<Listed<QueueRecord>>;
  /** The `limit` queues whose names start with `prefix` with the most messages waiting (any state), most first, then the oldest queue first. */
  topQueues(params: { prefix: string; limit: number }): Promise<QueueRecord[]>;
  /** `queue_not_found`, or `queue_in_use` while another queue dead-letters into it. */
  deleteQueue(name: string): Promise<void>;
  /** Deletes every message of the queue; idempotency keys are kept. Returns how many. */
  purgeQueue(name: string): Promise<number>;
  queueStats(params: { queue: string; now: number }): Promise<QueueStats>;
  /**
   * Appends all messages in one commit, or none: `message_too_large` when one
   * is over the queue's maxMessageBytes. Each is one store call, so a produce,
   * fetch or ack costs one round trip to a remote or threaded backend.
   */
  produce(params: { queue: string; messages: NewMessage[] } & ProduceOptions): Promise<AppendResult[]>;
  /** Moves up to `max` ready dead letters of `deadLetterQueue` back to their source queues (or all to `to`). */
  redrive(params: { deadLetterQueue: string; max: number; to: string | null; now: number }): Promise<RedriveResult>;
}

/**
 * Move tasks of dead-letter queues (SQS's message move tasks), kept in the
 * store: every gateway process over it lists them, and runs those no other
 * process runs (LeaseStore decides which), a step at a time.
 */
export interface MoveTaskStore {
  /** Records a running task of dead-letter queue `queue`; false, recording nothing, while another of its tasks is running or cancelling. The newest 10 of a queue are kept. */
  startMoveTask(params: { queue: string; task: NewMoveTask }): Promise<boolean>;
  /** The newest move tasks of `queue` first, at most `max` (and 10). */
  moveTasks(params: { queue: string; max: number }): Promise<MoveTask[]>;
  /** The running and cancelling tasks of every queue: what the gateway processes must run. */
  activeMoveTasks(): Promise<MoveTask[]>;
  /** Asks the running task `handle` of `queue` to stop: it is `cancelling` until its next step. Null when `queue` has no such running task. */
  cancelMoveTask(params: { queue: string; handle: string }): Promise<MoveTask | null>;
  /**
   * One step of task `handle`, in one transaction: a cancelling task is
   * cancelled; a running one moves up to `max` ready dead letters (no more
   * than it has left to move), counts them, and takes the status the rules
   * give (StoreRules.moveTaskAfter). Returns the task as the step left it
   * (unchanged when it had ended); null when there is none (its queue was
   * deleted).
   */
  stepMoveTask(params: { handle: string; max: number; now: number }): Promise<MoveTask | null>;
}

/** Leases of a queue subscription (a queue's own, or a topic's): what fetch, ack, browse and push use. */
export interface DeliveryStore {
  /**
   * Leases up to `max` ready messages. A message that comes up for a delivery
   * beyond the queue's maxDeliveries is moved to its dead-letter queue instead.
   */
  claim(params: { from: SubscriptionRef } & ClaimOptions): Promise<ClaimResult>;
  /** Settles each delivery independently: one status per ref, in order. A queue's acked messages are deleted; a topic's stay. */
  settle(params: { at: SubscriptionRef; refs: DeliveryRef[]; settlement: Settlement; now: number }): Promise<SettleStatus[]>;
  /** Up to `max` unsettled messages after `after`, oldest first; leases nothing. */
  browse(params: { at: SubscriptionRef } & BrowseOptions): Promise<BrowsedMessage[]>;
  /** The earliest moment after `now` at which a message of the queue becomes ready, if any. */
  nextAvailableAt(params: { at: SubscriptionRef; now: number }): Promise<number | null>;
  /** When each delivery's lease ends, in order; null where its ref no longer holds it (another delivery, or the lease over at `now`). Reads only. */
  leaseEnds(params: { at: SubscriptionRef; refs: DeliveryRef[]; now: number }): Promise<(number | null)[]>;
  /** Moves one live lease to its dead-letter queue at once, with extra headers; false when the lease is over. */
  deadLetterLease(params: {
    at: SubscriptionRef;
    ref: DeliveryRef;
    deadLetterQueue: string;
    headers: Record<string, string>;
    now: number;
  }): Promise<boolean>;
  /** A new delivery of a leased message without letting it go: the count goes up and the lease ends at `leaseUntil`. Null when the lease is over. */
  renewLease(params: { at: SubscriptionRef; ref: DeliveryRef; leaseUntil: number; now: number }): Promise<DeliveryRef | null>;
}

/** Request–reply over queues. */
export interface ReplyStore {
  /** Produces one message as `produce` does, and makes its reply awaited, in one transaction. */
  produceRequest(params: { queue: string; message: NewMessage; pending: PendingReply } & ProduceOptions): Promise<AppendResult>;
  /** Stores the reply to a request of `queue`; the commit wakes `onReplied` listeners. */
  putReply(params: { queue: string; correlationId: string; reply: Reply; now: number }): Promise<ReplyOutcome>;
  /** The reply to a request, once given; null before. */
  findReply(correlationId: string): Promise<Reply | null>;
  /** The caller has its reply: the request is done. */
  forgetReply(correlationId: string): Promise<void>;
  /** The caller stopped waiting: a reply from `now` on is `expired`. */
  abandonReply(params: { correlationId: string; now: number }): Promise<void>;
  /**
   * Called after a commit that stored the reply to `correlationId`, on
   * whichever gateway process committed it; with null when announcements may
   * have been missed (as `onAvailable`). Returns an unsubscribe function.
   */
  onReplied(listener: (correlationId: string | null) => void): () => void;
}

export interface TopicStore {
  /** Creates the topic or updates it; `partitions_cannot_shrink`, or `name_in_use` by a queue. */
  putTopic(params: { name: string; settings: TopicSettings; now: number }): Promise<{ topic: TopicRecord; created: boolean }>;
  getTopic(name: string): Promise<TopicRecord | null>;
  listTopics(page: PageRequest): Promise<Listed<TopicRecord>>;
  /** `topic_not_found`. */
  deleteTopic(name: string): Promise<void>;
  topicPartitions(name: string): Promise<PartitionInfo[]>;
  /** Appends all messages in one commit, or none; `partition_not_found`, `message_too_large`. */
  produceTopic(params: { topic: string; messages: TopicMessage[] } & ProduceOptions): Promise<AppendResult[]>;
  /** Reads a partition from an offset in [startOffset, endOffset], else `offset_out_of_range`. */
  readPartition(params: { topic: string; partition: number } & ReadOptions): Promise<PartitionRead>;
  /** The first offset whose timestamp is at or after `timestamp`; the end offset when there is none. */
  offsetForTimestamp(params: { topic: string; partition: number; timestamp: number }): Promise<number>;
}

/** Queue subscriptions of topics: independent work queues over a topic's messages (no copies). */
export interface SubscriptionStore {
  /** Creates or updates one. A new one starts with the next message, or with every retained one (`fromEarliest`). */
  putSubscription(
    params: SubscriptionName & { settings: SubscriptionSettings; fromEarliest: boolean; now: number },
  ): Promise<{ subscription: SubscriptionRecord; created: boolean }>;
  getSubscription(params: SubscriptionName): Promise<SubscriptionRecord | null>;
  listSubscriptions(params: { topic: string } & PageRequest): Promise<Listed<SubscriptionRecord>>;
  /** `subscription_not_found`. */
  deleteSubscription(params: SubscriptionName): Promise<void>;
  subscriptionStats(params: SubscriptionName & { now: number }): Promise<QueueStats>;
}

/**
 * Consumer groups of topics. Members past their session timeout are removed
 * by any write to their group; the reads (describeGroup, listGroups) show
 * the group as that write will leave it, and write nothing.
 */
export interface GroupStore {
  /** Creates or updates a consumer group of a topic. */
  putGroup(params: GroupRef & { settings: GroupSettings; now: number }): Promise<{ group: GroupDescription; created: boolean }>;
  /** `group_not_found`. */
  describeGroup(params: GroupRef & { now: number }): Promise<GroupDescription>;
  listGroups(params: { topic: string; now: number } & PageRequest): Promise<Listed<GroupDescription>>;
  deleteGroup(params: GroupRef & { now: number }): Promise<void>;
  /** Adds (or keeps) a member; a new member starts a new generation. Creates the group with `defaults` (null: `group_not_found`). */
  joinGroup(params: GroupRef & { memberId: string; now: number; defaults: GroupSettings | null }): Promise<GroupFetch>;
  /** Removes a member (`unknown_member` if it is not one); its partitions go to the others. */
  leaveGroup(params: GroupRef & { memberId: string; now: number }): Promise<void>;
  /** Reads the fetcher's partitions from the group's positions and moves them on; a member's fetch is its heartbeat. */
  fetchGroup(params: GroupFetchOptions): Promise<GroupFetch>;
  /** `stale_generation` for a member's commit from an older generation, `partition_not_assigned` for partitions not its own. */
  commitGroup(params: CommitRequest): Promise<{ generation: number; offsets: PartitionOffset[] }>;
  /** Moves committed offset and position of the chosen partitions (null: all). */
  seekGroup(params: GroupRef & { target: SeekTarget; partitions: number[] | null; now: number }): Promise<PartitionOffset[]>;
}

export interface PushStore {
  /**
   * Creates or updates a push subscription; its source must exist (a group is
   * created with `groupDefaults`), and cannot change. `source_cannot_change`,
   * `dead_letter_queue_not_found`.
   */
  putPush(params: {
    name: string;
    source: PushSource;
    settings: PushSettings;
    secret: string | null;
    now: number;
    groupDefaults: GroupSettings;
  }): Promise<{ push: PushRecord; created: boolean }>;
  getPush(name: string): Promise<PushRecord | null>;
  listPush(page: PageRequest): Promise<Listed<PushRecord>>;
  /** `push_subscription_not_found`. */
  deletePush(name: string): Promise<void>;
  setPushPaused(params: { name: string; paused: boolean; now: number }): Promise<PushRecord>;
  /** Adds attempts' results to the counters; a push subscription deleted meanwhile is ignored. */
  recordPush(params: { name: string; outcome: PushOutcome }): Promise<void>;
}

/** What keeps the store running: retention, the receipt key, wake-ups, readiness. */
export interface MaintenanceStore {
  /** Retention: removes expired messages and idempotency keys, bounded by `budget`. */
  sweep(options: SweepOptions): Promise<SweepResult>;
  /**
   * The key receipts are signed with: random bytes made with the store, the
   * same for every process over it, kept across restarts. The store only
   * keeps it; what it signs, and how, is queue/receipts.ts's rule.
   */
  receiptSecret(): Promise<Buffer>;
  /**
   * Called after a commit that made messages of `queue` ready, or that may
   * have changed when they are next available (a delayed produce or nack):
   * on whichever gateway process committed it, for every process over the
   * store. With null when announcements may have been missed (the
   * connection they come over was lost): every waiter should look again.
   * Returns an unsubscribe function.
   */
  onAvailable(listener: (queue: string | null) => void): () => void;
  /** Resolves once a write commits and the schema is current; rejects with the reason (storage_unavailable, not_ready) otherwise. */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/** A queue or a topic, as the owner of a schema. */
export type SchemaOwner = { queue: string } | { topic: string };

/**
 * How a new schema version must relate to those before it, as Confluent
 * Schema Registry defines the modes: `backward`, the new version reads data
 * written with the previous one; `forward`, the previous one reads data
 * written with the new one; `full`, both. The `_transitive` forms hold
 * against every earlier version, not only the latest; `none` checks nothing.
 * The rules themselves are queue/schemaCompatibility.ts's.
 */
export type CompatibilityMode =
  | 'none'
  | 'backward'
  | 'backward_transitive'
  | 'forward'
  | 'forward_transitive'
  | 'full'
  | 'full_transitive';

/** Settings of a resource's schema, kept with its versions. */
export interface SchemaSettings {
  compatibility: CompatibilityMode;
  /** Whether messages that are not JSON (a raw body of another content type, text or base64 values) may be produced; they are not validated. */
  allowRawBodies: boolean;
}

/** One registered version of a resource's JSON Schema. */
export interface SchemaVersion {
  /** 1, 2, … in registration order. */
  version: number;
  /** The schema as canonical JSON (keys sorted, no whitespace). */
  schema: string;
  /** SHA-256 of `schema`, hex. */
  fingerprint: string;
  createdAt: number;
}

/** A resource's schema: its settings, its latest version and how many there are. */
export interface SchemaRecord extends SchemaSettings {
  latest: SchemaVersion;
  versions: number;
}

/**
 * JSON Schemas of queues and topics, by version. The store only keeps them:
 * whether a version may follow the others, and what a message must be, is
 * decided in queue/. A resource's versions go with it when it is deleted.
 */
export interface SchemaStore {
  /** The resource's schema, null when it has none; `queue_not_found` / `topic_not_found`. */
  getSchema(owner: SchemaOwner): Promise<SchemaRecord | null>;
  /** Every version of the resource's schema, oldest first (none when it has none). */
  schemaVersions(owner: SchemaOwner): Promise<SchemaVersion[]>;
  /** One version; null when the resource has no such version. */
  schemaVersion(params: { owner: SchemaOwner; version: number }): Promise<SchemaVersion | null>;
  /**
   * Registers `schema` as the version after `after` (null: the first) with
   * `settings`, in one transaction; null, writing nothing, when the latest
   * version is no longer `after` (another registration came first: the
   * caller checks again against the new latest).
   */
  putSchema(params: {
    owner: SchemaOwner;
    after: number | null;
    schema: string;
    fingerprint: string;
    settings: SchemaSettings;
    now: number;
  }): Promise<SchemaRecord | null>;
  /** Sets the settings of a resource that has a schema; null when it has none. */
  putSchemaSettings(params: { owner: SchemaOwner; settings: SchemaSettings }): Promise<SchemaRecord | null>;
}

/** A lease of work one gateway process at a time may do, asked for by `holder` (a process's id). */
export interface HoldLeases {
  names: string[];
  holder: string;
  ttlMs: number;
  now: number;
}

/** Work that one gateway process at a time may do over a store shared by several: a push subscription's deliveries, the retention sweep. */
export interface LeaseStore {
  /**
   * Takes or renews for `holder` each lease of `names` that is free, expired
   * or its own already, until `ttlMs` from now; returns the names it holds
   * then. A backend that several processes share judges time by its own
   * clock (PostgreSQL's), not by `now`: the processes' clocks may disagree,
   * and a lease must never have two holders.
   */
  holdLeases(params: HoldLeases): Promise<string[]>;
  /** Gives up those of `names` that `holder` holds: any process may take them at once. */
  releaseLeases(params: { names: string[]; holder: string }): Promise<void>;
}

/** Every role: what a backend implements. Every backend must pass test/store-contract/. */
export type Store = QueueStore &
  MoveTaskStore &
  DeliveryStore &
  ReplyStore &
  TopicStore &
  SubscriptionStore &
  GroupStore &
  PushStore &
  MaintenanceStore &
  LeaseStore &
  SchemaStore;
