import { createHash, randomUUID } from 'node:crypto';
import type {
  AppendResult,
  BrowsedMessage,
  ClaimResult,
  DeliveryRef,
  DeliveryStore,
  LeaseStore,
  Listed,
  MaintenanceStore,
  NewMessage,
  PendingReply,
  ProduceOptions,
  QueueRecord,
  QueueSettings,
  QueueStats,
  QueueStore,
  ReceiveAttempt,
  RedriveAllowPolicy,
  RedriveResult,
  ReplyStore,
  Settlement,
  SettleStatus,
  SubscriptionRef,
} from '../persistence/store';
import type { Clock } from './clock';
import { checkAtMost, GatewayError, invalidField } from './errors';
import { countWhere, type MessageEvents, targetOf } from './events';
import { atMostBatch, defaultQueueSettings, type Limits } from './limits';
import { type DeliveredMessage, type ProduceInput, toDelivered } from './messages';
import { batchMessages, type Producer, type RawMessage, rawMessage } from './produceRequest';
import type { SchemaService } from './schemas';
import { decodeReceipt, encodeReceipt, storedReceiptSecret } from './receipts';
import { everyItem, type ListRequest, MAX_NAMES_EXAMINED, viewPage, viewsOf, visiblePage } from './pages';
import type { Wakeups } from './wakeups';

export type QueueSettingsView = Omit<QueueRecord, 'subscriptionId'>;
export type QueueView = QueueSettingsView & { stats: QueueStats };

export interface FetchRequest {
  max: number;
  waitMs: number;
  visibilityTimeoutMs?: number;
  /** A receive attempt id (SQS's ReceiveRequestAttemptId): a retry with it within RECEIVE_ATTEMPT_WINDOW_MS gets the same messages and receipts. */
  attemptId?: string;
}

export interface LeasedMessage extends DeliveredMessage {
  receipt: string;
  deliveryCount: number;
  /** When the message was first leased, by this delivery or an earlier one. */
  firstDeliveredAt: number;
}

/** A FIFO queue remembers idempotency keys this long, as SQS remembers deduplication ids. */
export const FIFO_DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;

/** A fetch may be repeated by its attempt id this long, as SQS allows a ReceiveRequestAttemptId. */
export const RECEIVE_ATTEMPT_WINDOW_MS = 5 * 60 * 1000;

/** A message as a browse shows it: where it stands, without a receipt (nothing is leased). */
export type BrowsedView = DeliveredMessage & Pick<BrowsedMessage, 'deliveryCount' | 'state'>;

export interface ReceiptResult {
  receipt: string;
  status: SettleStatus;
  /** Why a receipt was not honoured: `receipt_expired` or `receipt_unknown`. */
  code?: 'receipt_expired' | 'receipt_unknown';
}

/**
 * The queue semantics over the store: settings and their defaults, produce
 * validation, leases and long-polls, receipts. Holds no queue state of its
 * own; everything lives in the store, so any process can serve any request.
 */
export class QueueService {
  /** The key receipts are signed and checked with: the store's, so any process over it honours them. */
  private readonly receiptSecret: () => Promise<Buffer>;

  constructor(
    private readonly store: QueueStore & DeliveryStore & Pick<ReplyStore, 'produceRequest'> & Pick<MaintenanceStore, 'receiptSecret'> & LeaseStore,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly wakeups: Wakeups,
    private readonly events: MessageEvents,
    private readonly schemas: Pick<SchemaService, 'checkBatch' | 'checkRaw'>,
  ) {
    this.receiptSecret = storedReceiptSecret(store);
  }

  /**
   * operation: putQueue — fields left out take their defaults, but for the
   * SQS attributes kept for SQS clients (sqsAttributes), which /v1 does not
   * set: an existing queue keeps them.
   */
  async put(name: string, input: Partial<QueueSettings>): Promise<{ queue: QueueView; created: boolean }> {
    const existing = await this.store.getQueue(name);
    const current = existing === null ? null : settingsOf(existing);
    const kept = { sqsAttributes: current?.sqsAttributes ?? {} };
    const { queue, created } = await this.save(name, { ...defaultQueueSettings(this.limits), ...kept, ...input }, current);
    return { queue: await this.view(queue), created };
  }

  /**
   * Changes some settings of an existing queue and keeps the others (SQS's
   * SetQueueAttributes and tags); `change` sees the current ones.
   */
  async update(name: string, change: (current: QueueSettings) => Partial<QueueSettings>): Promise<void> {
    const current = settingsOf(await this.record(name));
    await this.save(name, { ...current, ...change(current) }, current);
  }

  async get(name: string): Promise<QueueView> {
    return this.view(await this.record(name));
  }

  /** A queue's settings without its stats, for a face that needs them on every send or receive (SQS). */
  async settings(name: string): Promise<QueueSettingsView> {
    return withoutId(await this.record(name));
  }

  /** A page of queues with their stats: the stats of the page's queues only. */
  async list(request: ListRequest): Promise<Listed<QueueView>> {
    return viewPage(await visiblePage((page) => this.store.listQueues(page), request), (record) => this.view(record));
  }

  /**
   * The `limit` queues with the most messages waiting (whose names start with
   * `prefix`), with their stats. For a caller who sees only some, among the
   * MAX_NAMES_EXAMINED with the most.
   */
  async top({ prefix, limit, visible }: Omit<ListRequest, 'after'>): Promise<QueueView[]> {
    const records = await this.store.topQueues({ prefix, limit: visible === null ? limit : MAX_NAMES_EXAMINED });
    const shown = visible === null ? records : records.filter((record) => visible(record.name)).slice(0, limit);
    return viewsOf(shown, (record) => this.view(record));
  }

  /** A page of queue names: a list without the stats. */
  async names(request: ListRequest): Promise<Listed<string>> {
    const { items, next } = await visiblePage((page) => this.store.listQueues(page), request);
    return { items: items.map((queue) => queue.name), next };
  }

  /** Whether some queue dead-letters into `name`. */
  async isDeadLetterQueue(name: string): Promise<boolean> {
    for await (const queue of everyItem((page) => this.store.listQueues(page))) if (queue.deadLetterQueue === name) return true;
    return false;
  }

  /**
   * A page of the queues that dead-letter into `name` (SQS's
   * ListDeadLetterSourceQueues), by name, after `after`: those the caller
   * may see. Walks the queues as isDeadLetterQueue does.
   */
  async deadLetterSources(name: string, { after, limit, visible }: Omit<ListRequest, 'prefix'>): Promise<Listed<string>> {
    const items: string[] = [];
    for await (const queue of everyItem((page) => this.store.listQueues(page), after)) {
      if (queue.deadLetterQueue !== name || (visible !== null && !visible(queue.name))) continue;
      // One more than the page holds: only then is there a next page.
      if (items.length === limit) return { items, next: items[items.length - 1] };
      items.push(queue.name);
    }
    return { items, next: null };
  }

  delete(name: string): Promise<void> {
    return this.store.deleteQueue(name);
  }

  purge(name: string): Promise<number> {
    return this.store.purgeQueue(name);
  }

  /**
   * operation: purge, at most once per `windowMs` per queue (SQS's rule):
   * the purge takes a lease of the queue's name for the window, which no
   * other purge through any gateway can take until it runs out. Null when
   * one was purged within it; a purge that fails gives the lease back.
   */
  async purgeOncePer(name: string, windowMs: number): Promise<number | null> {
    const lease = { names: [`purge:${name}`], holder: randomUUID() };
    if ((await this.store.holdLeases({ ...lease, ttlMs: windowMs, now: this.clock.now() })).length === 0) {
      // A queue deleted since its last purge is not_found, not purged too recently.
      await this.settings(name);
      return null;
    }
    try {
      return await this.store.purgeQueue(name);
    } catch (error) {
      await this.store.releaseLeases(lease);
      throw error;
    }
  }

  /**
   * operation: produce — the whole batch is checked before any of it is
   * stored, against the queue's schema too (the version `schemaVersion`
   * names, or the latest). The SQS face's text bodies are JSON to its schema.
   * `escapeFree`: the request's JSON had no backslash (batchMessages).
   */
  async produce(
    name: string,
    inputs: ProduceInput[],
    requestKey: string | null,
    producer: Producer = 'client',
    schemaVersion: number | null = null,
    escapeFree = false,
  ): Promise<AppendResult[]> {
    const messages = batchMessages(inputs, requestKey, this.limits, producer, escapeFree);
    return this.append(name, await this.schemas.checkBatch({ queue: name }, inputs, messages, schemaVersion, producer === 'sqs'));
  }

  /** operation: produce with a non-JSON body — one message, bytes and content type as sent. */
  async produceRaw(name: string, raw: RawMessage, requestKey: string | null, schemaVersion: number | null = null): Promise<AppendResult> {
    const [result] = await this.append(name, [await this.schemas.checkRaw({ queue: name }, rawMessage(raw, requestKey, this.limits), schemaVersion)]);
    return result;
  }

  /**
   * operation: request — a raw produce whose message carries the gateway's
   * `headers` (its reply address), committed with the reply it awaits.
   */
  async produceRequest(name: string, raw: RawMessage, headers: Record<string, string>, pending: PendingReply): Promise<AppendResult> {
    const message = await this.schemas.checkRaw({ queue: name }, rawMessage(raw, null, this.limits, headers), null);
    const result = await this.store.produceRequest({ queue: name, message, pending, ...this.produceOptions() });
    this.events.produced({ kind: 'queue', name }, 1);
    return result;
  }

  /**
   * operation: fetch — leases up to `max` messages. With `waitMs`, waits until
   * a message is ready (woken by the commit that made it so, or by the clock
   * when a delay or lease runs out) or the time is up. If the client goes away
   * (`signal`) after messages were leased, they are released at once.
   */
  async fetch(from: SubscriptionRef, request: FetchRequest, signal: AbortSignal): Promise<LeasedMessage[]> {
    checkAtMost('/body/waitMs', request.waitMs, this.limits.maxWaitMs);
    const deadline = this.clock.now() + request.waitMs;
    const max = atMostBatch(request.max, this.limits);
    // Before the claim: leases are not taken when their receipts could not be signed.
    const secret = await this.receiptSecret();
    const attempt = request.attemptId === undefined ? undefined : { id: request.attemptId, windowMs: RECEIVE_ATTEMPT_WINDOW_MS };
    const claimed = await this.claimWhenReady(from, max, request.visibilityTimeoutMs ?? null, deadline, signal, attempt);
    const { subscriptionId, leases } = claimed;
    if (claimed.attempt === 'spent') {
      throw new GatewayError(
        'bad_request',
        `Receive attempt '${request.attemptId}' cannot be repeated: a message it received was deleted, or its visibility changed or ran out, since.`,
      );
    }
    const refs = leases.map((lease) => ({ subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount }));
    if (signal.aborted) {
      await this.release(from, refs);
      return [];
    }
    // A repeated attempt delivers nothing new.
    if (claimed.attempt !== 'repeated') this.events.delivered(targetOf(from), leases.length);
    return leases.map(({ message, deliveryCount, firstDeliveredAt }, i) => ({
      ...toDelivered(message),
      receipt: encodeReceipt(refs[i], secret),
      deliveryCount,
      firstDeliveredAt,
    }));
  }

  /**
   * Leases up to `max` messages; with none ready, waits until one is (woken
   * by the commit that made it so, or by the clock when a delay or lease runs
   * out), `deadline` passes or `signal` aborts. No polling loop: an idle
   * waiter costs one entry in the wake-up registry. Under a receive attempt
   * seen before, its answer at once (ClaimOptions.attempt).
   */
  async claimWhenReady(
    from: SubscriptionRef,
    max: number,
    visibilityTimeoutMs: number | null,
    deadline: number,
    signal: AbortSignal,
    attempt?: ReceiveAttempt,
  ): Promise<ClaimResult> {
    for (;;) {
      const since = this.wakeups.version(wakeupKey(from));
      const now = this.clock.now();
      const claimed = await this.store.claim({ from, max, now, visibilityTimeoutMs, leaseGraceMs: this.limits.clockSkewMs, attempt });
      if (claimed.leases.length > 0 || claimed.attempt !== undefined || now >= deadline || signal.aborted) return claimed;
      const next = await this.store.nextAvailableAt({ at: from, now });
      await this.wakeups.wait(wakeupKey(from), since, Math.min(deadline, next ?? deadline), signal);
      if (signal.aborted) return { subscriptionId: claimed.subscriptionId, leases: [] };
    }
  }

  /**
   * operations: streamQueue, streamSubscription — leases messages one event
   * at a time for as long as `signal` holds, never more than `maxInFlight`
   * live at once. A slot frees when its lease is settled or runs out; a
   * stream at its most waits for an ack or nack made through this process
   * (Wakeups.settled), or for its first lease to run out, and re-checks its
   * leases every streamHeartbeatMs for acks made through other processes
   * (the store announces no ack: an ack wakes no fetch). Renews nothing. A
   * lease taken but not yet handed out when the stream ends is given back at
   * once.
   */
  async *stream(from: SubscriptionRef, maxInFlight: number, signal: AbortSignal): AsyncGenerator<LeasedMessage> {
    const secret = await this.receiptSecret();
    const key = wakeupKey(from);
    let held: DeliveryRef[] = [];
    while (!signal.aborted) {
      const since = this.wakeups.version(key);
      const settledSince = this.wakeups.settled.version(key);
      const now = this.clock.now();
      const ends = held.length === 0 ? [] : await this.store.leaseEnds({ at: from, refs: held, now });
      held = held.filter((_ref, i) => ends[i] !== null);
      if (held.length >= maxInFlight) {
        const firstEnd = Math.min(...ends.filter((end) => end !== null));
        await this.wakeups.settled.wait(key, settledSince, Math.min(firstEnd, now + this.limits.streamHeartbeatMs), signal);
        continue;
      }
      const claimed = await this.store.claim({ from, max: maxInFlight - held.length, now, visibilityTimeoutMs: null, leaseGraceMs: this.limits.clockSkewMs });
      if (claimed.leases.length === 0) {
        // A lease of this stream running out is a message becoming ready again: nextAvailableAt covers it.
        const next = await this.store.nextAvailableAt({ at: from, now });
        await this.wakeups.wait(key, since, next ?? Infinity, signal);
        continue;
      }
      const { subscriptionId, leases } = claimed;
      const refs = leases.map((lease) => ({ subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount }));
      let handed = 0;
      try {
        while (handed < leases.length && !signal.aborted) {
          const { message, deliveryCount, firstDeliveredAt } = leases[handed];
          const ref = refs[handed];
          handed += 1;
          held.push(ref);
          this.events.delivered(targetOf(from), 1);
          yield { ...toDelivered(message), receipt: encodeReceipt(ref, secret), deliveryCount, firstDeliveredAt };
        }
      } finally {
        await this.release(from, refs.slice(handed));
      }
    }
  }

  /** Gives leased messages back at once, ready for the next fetch. */
  private async release(from: SubscriptionRef, refs: DeliveryRef[]): Promise<void> {
    if (refs.length === 0) return;
    const now = this.clock.now();
    await this.store.settle({ at: from, refs, settlement: { kind: 'nack', availableAt: now }, now });
  }


  /** operation: ack */
  async ack(at: SubscriptionRef, receipts: string[]): Promise<ReceiptResult[]> {
    const results = await this.settle(at, receipts, () => ({ kind: 'ack' }));
    this.events.acked(targetOf(at), countWhere(results, (r) => r.status === 'acked'));
    return results;
  }

  /** operation: nack — the message is ready again after `delayMs` (0: at once). */
  nack(at: SubscriptionRef, receipts: string[], delayMs: number): Promise<ReceiptResult[]> {
    return this.settle(at, receipts, (now) => ({ kind: 'nack', availableAt: now + delayMs }));
  }

  /** operation: extend — the lease now ends `visibilityTimeoutMs` from now (and the clocks' allowed skew). */
  extend(at: SubscriptionRef, receipts: string[], visibilityTimeoutMs: number): Promise<ReceiptResult[]> {
    return this.settle(at, receipts, (now) => ({ kind: 'extend', leaseUntil: now + visibilityTimeoutMs + this.limits.clockSkewMs }));
  }

  /**
   * Whether a string is a receipt this store signed, whatever became of its
   * delivery: for a face that tells a forged receipt from a stale one (SQS
   * answers ReceiptHandleIsInvalid to the first only). The check itself is
   * synchronous, so a batch can fail each entry on its own.
   */
  async receiptCheck(): Promise<(receipt: string) => boolean> {
    const secret = await this.receiptSecret();
    return (receipt) => decodeReceipt(receipt, secret) !== null;
  }

  /** operations: browseQueue, browseSubscription — a page of unsettled messages after `after`, leasing nothing. */
  async browse(at: SubscriptionRef, after: string | null, max: number): Promise<BrowsedView[]> {
    const messages = await this.store.browse({ at, after, max, now: this.clock.now() });
    return messages.map((message) => ({ ...toDelivered(message), deliveryCount: message.deliveryCount, state: message.state }));
  }

  /** operation: redrive — `name` is the dead-letter queue. */
  async redrive(name: string, max: number, to: string | null = null): Promise<RedriveResult> {
    if (to === name) throw invalidField('/body/to', 'Dead letters cannot be redriven into the queue they are in.');
    return this.store.redrive({ deadLetterQueue: name, max, to, now: this.clock.now() });
  }

  private async settle(
    at: SubscriptionRef,
    receipts: string[],
    settlement: (now: number) => Settlement,
  ): Promise<ReceiptResult[]> {
    // Checked before the store is asked: a forged or altered receipt reaches no lease.
    const secret = await this.receiptSecret();
    const refs = receipts.map((receipt) => decodeReceipt(receipt, secret));
    const known = refs.filter((ref) => ref !== null);
    const now = this.clock.now();
    const statuses = await this.store.settle({ at, refs: known, settlement: settlement(now), now });
    // This process's streams at their most leases may take more (an extend frees no slot).
    if (statuses.some((status) => status === 'acked' || status === 'nacked')) this.wakeups.settled.bump(wakeupKey(at));
    let next = 0;
    return receipts.map((receipt, i): ReceiptResult => {
      const status = refs[i] === null ? 'unknown' : statuses[next++];
      if (status === 'expired') return { receipt, status, code: 'receipt_expired' };
      if (status === 'unknown') return { receipt, status, code: 'receipt_unknown' };
      return { receipt, status };
    });
  }

  /**
   * Stores a checked batch. A queue with content-based deduplication keys a
   * message without an idempotency key by the SHA-256 of its value; a FIFO
   * queue remembers keys for 5 minutes, as SQS does. The store applies both
   * from the queue row it reads anyway.
   */
  private async append(name: string, messages: NewMessage[]): Promise<AppendResult[]> {
    const results = await this.store.produce({ queue: name, messages, ...this.produceOptions() });
    this.events.produced({ kind: 'queue', name }, countWhere(results, (r) => !r.duplicate));
    return results;
  }

  private produceOptions(): ProduceOptions {
    return {
      now: this.clock.now(),
      idempotencyWindowMs: this.limits.idempotencyWindowMs,
      fifoIdempotencyWindowMs: FIFO_DEDUPLICATION_WINDOW_MS,
      contentKey,
    };
  }

  private async record(name: string): Promise<QueueRecord> {
    const queue = await this.store.getQueue(name);
    if (queue === null) throw new GatewayError('queue_not_found', `Queue '${name}' does not exist.`);
    return queue;
  }

  /** Checked as a PUT is, then stored; `current`: the queue's settings before, null for a new queue. */
  private async save(name: string, settings: QueueSettings, current: QueueSettings | null): Promise<{ queue: QueueRecord; created: boolean }> {
    if (settings.deadLetterQueue === name) {
      throw invalidField('/body/deadLetterQueue', 'A queue cannot be its own dead-letter queue.');
    }
    checkDeadLetterPolicy(settings);
    checkAtMost('/body/maxMessageBytes', settings.maxMessageBytes, this.limits.maxMessageBytes);
    if (settings.deduplicationScope === 'messageGroup' && settings.ordering !== 'fifo') {
      throw invalidField('/body/deduplicationScope', 'Deduplication per message group needs ordering fifo.');
    }
    checkRedriveAllowPolicy(settings.redriveAllowPolicy);
    await this.checkDeadLetterAllowed(name, settings.deadLetterQueue, current);
    return this.store.putQueue({ name, settings, now: this.clock.now() });
  }

  /**
   * A queue that newly names `deadLetterQueue` must be one its
   * redriveAllowPolicy allows. Checked when the name is set, as SQS checks a
   * RedrivePolicy: a queue that already names it keeps it.
   */
  private async checkDeadLetterAllowed(name: string, deadLetterQueue: string | null, current: QueueSettings | null): Promise<void> {
    if (deadLetterQueue === null || deadLetterQueue === current?.deadLetterQueue) return;
    // One that does not exist is refused by the store (dead_letter_queue_not_found).
    const target = await this.store.getQueue(deadLetterQueue);
    if (target === null || deadLetterAllowed(target.redriveAllowPolicy, name)) return;
    throw invalidField(
      '/body/deadLetterQueue',
      `Queue '${deadLetterQueue}' does not allow '${name}' to name it as its dead-letter queue (its redriveAllowPolicy).`,
    );
  }

  private async view(record: QueueRecord): Promise<QueueView> {
    return { ...withoutId(record), stats: await this.store.queueStats({ queue: record.name, now: this.clock.now() }) };
  }
}

/** A message's key under content-based deduplication. */
function contentKey(value: Buffer): string {
  return `sha256:${createHash('sha256').update(value).digest('hex')}`;
}

/** A queue's record as callers see it: the subscription id stays inside. */
function withoutId(record: QueueRecord): QueueSettingsView {
  const { subscriptionId: _internal, ...view } = record;
  return view;
}

/** The settings of a queue as its record holds them. */
function settingsOf(queue: QueueRecord): QueueSettings {
  const { name: _name, subscriptionId: _id, createdAt: _created, updatedAt: _updated, ...settings } = queue;
  return settings;
}

/** Long-polls wait on the log they read: a queue's own, or the topic a subscription reads. */
function wakeupKey(ref: SubscriptionRef): string {
  return 'queue' in ref ? ref.queue : ref.topic;
}

/** Whether a queue with redrive allow `policy` may be the dead-letter queue of `source`. */
export function deadLetterAllowed(policy: RedriveAllowPolicy | null, source: string): boolean {
  if (policy === null || policy.permission === 'allowAll') return true;
  return policy.permission === 'byQueue' && policy.sourceQueues.includes(source);
}

/** `byQueue` names 1 to 10 queues, as SQS allows; `allowAll` and `denyAll` name none. */
export function checkRedriveAllowPolicy(policy: RedriveAllowPolicy | null): void {
  if (policy === null) return;
  const named = policy.sourceQueues.length;
  if (policy.permission === 'byQueue' ? named < 1 || named > MAX_DEAD_LETTER_SOURCES : named > 0) {
    throw invalidField(
      '/body/redriveAllowPolicy/sourceQueues',
      `byQueue names 1 to ${MAX_DEAD_LETTER_SOURCES} source queues; allowAll and denyAll name none.`,
    );
  }
}

/** The most queues a byQueue redrive allow policy names (SQS's limit). */
export const MAX_DEAD_LETTER_SOURCES = 10;

/** A delivery limit needs somewhere to send what exceeds it: nothing is dropped silently. */
export function checkDeadLetterPolicy(settings: Pick<QueueSettings, 'maxDeliveries' | 'deadLetterQueue'>): void {
  if (settings.maxDeliveries !== null && settings.deadLetterQueue === null) {
    throw invalidField('/body/maxDeliveries', 'maxDeliveries needs a deadLetterQueue to move messages to.');
  }
}
