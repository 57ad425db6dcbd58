import { StoreError, type StoreErrorCode, type StoreFailure } from '../../persistence/errors';
import type {
  DeliveryRef,
  Lease,
  NewMessage,
  QueueSettings,
  Settlement,
  Store,
  SubscriptionRef,
  SweepOptions,
  TopicMessage,
  TopicSettings,
} from '../../persistence/store';

/** A backend under test: its store, and how to reopen and remove it. */
export interface StoreHarness {
  store: Store;
  /** Closes the store and opens it again on the same data. */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

/**
 * What each area's tests share. `store` is read at each use, never kept: a
 * test that reopens the store goes on with the new one.
 */
export interface ContractContext {
  readonly store: Store;
  /** Closes the store and opens it again on the same data; `store` is the reopened one after. */
  reopen(): Promise<Store>;
  /** Opens another store of the backend, with data of its own. */
  open(): Promise<StoreHarness>;
}

export const T0 = 1_700_000_000_000;
export const WINDOW = 60_000;

/** The produce options of a test: at `now`, with the test's idempotency window. */
export const opts = (now = T0) => ({ now, idempotencyWindowMs: WINDOW });

/** A retention sweep at `now` that looks at every partition a test makes. */
export const sweepAt = (now: number, overrides: Partial<SweepOptions> = {}): SweepOptions => ({
  now,
  budget: 100,
  idempotencyWindowMs: WINDOW,
  repliesBefore: 0,
  partitions: 1000,
  resumeAfter: null,
  holder: 'sweeper',
  leaseMs: 60_000,
  ...overrides,
});

/** A page that holds every name a test makes. */
export const ALL = { after: null, prefix: '', limit: 1000 };

export const settings = (overrides: Partial<QueueSettings> = {}): QueueSettings => ({
  visibilityTimeoutMs: 1000,
  maxDeliveries: null,
  deadLetterQueue: null,
  delayMs: 0,
  retentionMs: 3_600_000,
  maxMessageBytes: 1024 * 1024,
  maxStoredMessages: null,
  maxStoredBytes: null,
  ordering: 'standard',
  contentBasedDeduplication: false,
  deduplicationScope: 'queue',
  redriveAllowPolicy: null,
  receiveWaitMs: 0,
  tags: {},
  sqsAttributes: {},
  ...overrides,
});

export const topicSettings = (overrides: Partial<TopicSettings> = {}): TopicSettings => ({
  partitions: 1,
  retentionMs: null,
  retentionBytes: null,
  maxMessageBytes: 1024 * 1024,
  maxStoredMessages: null,
  maxStoredBytes: null,
  ...overrides,
});

/** A plain subscription's settings: no dead-letter queue. */
export const SUBSCRIPTION = { visibilityTimeoutMs: 1000, maxDeliveries: null, deadLetterQueue: null };

export const message = (text: string, overrides: Partial<NewMessage> = {}): NewMessage => ({
  key: null,
  headers: {},
  contentType: 'text/plain',
  value: Buffer.from(text),
  delayMs: null,
  idempotencyKey: null,
  bytes: Buffer.byteLength(text),
  group: null,
  ...overrides,
});

/** A message for partition `partition` of a topic. */
export const inPartition = (partition: number, text: string): TopicMessage => ({ ...message(text), partition });

/** The values of leases (or of messages wrapped as `{ message }`), as text. */
export const values = (leases: Array<{ message: { value: Buffer } }>): string[] => leases.map((l) => l.message.value.toString());

/** A lease with the ref its receipt would carry. */
type HeldLease = Lease & { ref: DeliveryRef };

/** Claims and settlements on the context's store as it is at each call (a reopen included). */
export function leasing(context: ContractContext) {
  const claimAt = async (from: SubscriptionRef, max: number, now: number, visibilityTimeoutMs: number | null): Promise<HeldLease[]> => {
    const { subscriptionId, leases } = await context.store.claim({ from, max, now, visibilityTimeoutMs });
    return leases.map((lease) => ({ ...lease, ref: { subscriptionId, messageId: lease.message.id, deliveryCount: lease.deliveryCount } }));
  };
  const claimFrom = (queue: string, max: number, now: number, visibilityTimeoutMs: number | null) => claimAt({ queue }, max, now, visibilityTimeoutMs);
  /** From queue q, which every test starts with. */
  const claim = (max = 10, now = T0, visibilityTimeoutMs: number | null = 1000) => claimFrom('q', max, now, visibilityTimeoutMs);
  /** Settles leases of queue q. */
  const settle = (refs: DeliveryRef[], settlement: Settlement, now = T0) => context.store.settle({ at: { queue: 'q' }, refs, settlement, now });
  return { claimAt, claimFrom, claim, settle };
}

/** The code of a failure and any of that code's facts: a misspelt fact does not compile. */
type FailureFacts<C extends StoreErrorCode> = { code: C } & Partial<Extract<StoreFailure, { code: C }>>;

/**
 * A refusal is a StoreError that states facts. The words people read are
 * queue/'s (queue/storeErrors.ts), the same for every backend, so none are
 * checked here: the facts are what a backend must get right.
 */
export async function expectFailure<C extends StoreErrorCode>(promise: Promise<unknown>, failure: FailureFacts<C>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(StoreError);
  await expect(promise).rejects.toMatchObject({ failure });
}
