import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { StoreError } from '../errors';
import { toSubscriptionRecord } from '../rows/queueRow';
import { toTopicRecord } from '../rows/topicRow';
import type {
  AppendResult,
  BrowsedMessage,
  ClaimResult,
  CommitRequest,
  DeliveryRef,
  GroupDescription,
  GroupFetch,
  GroupFetchOptions,
  Listed,
  MoveTask,
  NewMessage,
  PageRequest,
  PartitionInfo,
  PartitionOffset,
  PartitionRead,
  PushRecord,
  QueueRecord,
  QueueStats,
  RedriveResult,
  Reply,
  SchemaOwner,
  SchemaRecord,
  SchemaVersion,
  ReplyOutcome,
  SettleStatus,
  Store,
  StoreRules,
  SubscriptionName,
  SubscriptionRecord,
  SweepOptions,
  SweepResult,
  TopicMessage,
  TopicRecord,
} from '../store';
import { addApiKey, apiKeys, removeApiKey, type StoredKeyEntry } from './apiKeys';
import { browse } from './browse';
import { checkReady } from './checkReady';
import { claim } from './claim';
import { commitGroup, seekGroup } from './commitGroup';
import { type Announced, Announcements, type Transact } from './announcements';
import { createPool, type PostgresOptions, type Queryable, transaction, withConnection } from './connection';
import { deleteQueue } from './deleteQueue';
import { deleteTopic } from './deleteTopic';
import { fetchGroup } from './fetchGroup';
import { deleteGroup, joinGroup, leaveGroup, listGroups, putGroup, viewGroup } from './groupRow';
import { deadLetterLease, leaseEnds, renewLease } from './leaseActions';
import { migrate } from './migrate';
import { activeMoveTasks, cancelMoveTask, moveTasks, startMoveTask, stepMoveTask } from './moveTasks';
import { nextAvailableAt } from './nextAvailableAt';
import { offsetForTimestamp } from './offsetForTimestamp';
import { type ProduceRequest, produce } from './produce';
import { produceTopic } from './produceTopic';
import { purgeQueue } from './purgeQueue';
import { deletePush, findPush, pushPage, putPush, recordPush, setPushPaused } from './pushRow';
import { putQueue } from './putQueue';
import { deleteSubscription, putSubscription } from './putSubscription';
import { putTopic } from './putTopic';
import { findQueueRow, findSubscriptionRow, queueRecord, queueRecords, queueRowPage, subscriptionPage, topQueueRows } from './queueRow';
import { queueStats } from './queueStats';
import { readPartition } from './readPartition';
import { holdLeases, releaseLeases } from './leases';
import { createReceiptSecret, receiptSecret } from './receiptSecret';
import { redrive } from './redrive';
import { abandonReply, findReply, forgetReply, produceRequest, putReply } from './replies';
import { rewindPositions } from './rewindPositions';
import { settle } from './settle';
import { sweep } from './sweep';
import { getSchema, putSchema, putSchemaSettings, schemaVersion, schemaVersions } from './schemas';
import { topicPartitions } from './topicPartitions';
import { findTopicRow, loadTopicRow, topicRowPage } from './topicRow';
import { SharedCommits } from './sharedCommit';
import type { WriteContext } from './writeContext';

export interface PostgresStoreOptions extends PostgresOptions {
  /** The queue rules this backend applies (queue/rules.ts). */
  rules: StoreRules;
  /** Told of each transaction's duration, from BEGIN to the answer of COMMIT, in seconds (metrics). */
  onCommit?: (seconds: number, operations: number) => void;
  /**
   * This gateway process among those over the database (the gateway's id,
   * kept in its data directory): positions its group fetches move are its
   * own, rewound when it starts again, and left alone when another process
   * starts. Default: a random id.
   */
  holder?: string;
}

/** The parameter object of a store call. */
type Params<K extends keyof Store> = Store[K] extends (params: infer P) => unknown ? P : never;

/**
 * The PostgreSQL backend: a pool of connections, one transaction per write
 * call (READ COMMITTED; row locks serialize what must not interleave) except
 * produces, which share a transaction with those into the same queue or topic
 * waiting at the same time (sharedCommit.ts); reads on any pooled connection. Opening is lazy and retried: the store can be made
 * while the server is down, and every call first waits for the schema to be
 * current (migrations, advisory-locked) and the receipt secret to exist.
 */
export class PostgresStore implements Store {
  private readonly pool: Pool;
  private readonly rules: StoreRules;
  private readonly holder: string;
  private readonly schema: string | undefined;
  private readonly onCommit: (seconds: number, operations: number) => void;
  private readonly announcements: Announcements;
  private readonly stats = { commits: 0, operations: 0, reruns: 0 };
  /** Produces, group-committed per queue and per topic. */
  private readonly queueProduces: SharedCommits<ProduceRequest<NewMessage>, AppendResult[]>;
  private readonly topicProduces: SharedCommits<ProduceRequest<TopicMessage>, AppendResult[]>;
  /** Settles once the database is ready for this code; a failed opening is forgotten, and the next call tries again. */
  private opening: Promise<void> | null = null;

  constructor(options: PostgresStoreOptions) {
    this.pool = createPool(options);
    this.rules = options.rules;
    this.holder = options.holder ?? randomUUID();
    this.schema = options.schema;
    this.onCommit = options.onCommit ?? (() => undefined);
    this.announcements = new Announcements({ url: options.url, schema: options.schema, applicationName: options.applicationName });
    const transact: Transact = (work) => this.announcements.transaction(this.pool, work);
    const hooks = {
      committed: (seconds: number, operations: number, announced: Announced) => this.committed(seconds, operations, announced),
      rerun: () => {
        this.stats.reruns += 1;
      },
    };
    this.queueProduces = new SharedCommits(transact, hooks, (tx, context, queue, requests) => produce(tx, context, this.rules, queue, requests));
    this.topicProduces = new SharedCommits(transact, hooks, (tx, context, topic, requests) => produceTopic(tx, context, this.rules, topic, requests));
  }

  /**
   * How many transactions committed how many write calls (produces into one
   * queue or topic share commits), and how many shared transactions the
   * database refused and ran again one write at a time.
   */
  get commitStats(): { commits: number; operations: number; reruns: number } {
    return { ...this.stats };
  }

  putQueue({ name, settings, now }: Params<'putQueue'>): Promise<{ queue: QueueRecord; created: boolean }> {
    return this.write((tx) => putQueue(tx, name, settings, now));
  }

  getQueue(name: string): Promise<QueueRecord | null> {
    return this.read(async (db) => {
      const row = await findQueueRow(db, name);
      return row === null ? null : queueRecord(db, row);
    });
  }

  listQueues(page: PageRequest): Promise<Listed<QueueRecord>> {
    return this.read(async (db) => {
      const { items, next } = await queueRowPage(db, page);
      return { items: await queueRecords(db, items), next };
    });
  }

  topQueues({ prefix, limit }: Params<'topQueues'>): Promise<QueueRecord[]> {
    return this.read(async (db) => queueRecords(db, await topQueueRows(db, prefix, limit)));
  }

  // A deleted source wakes whoever waits on its log (long-polls, push runners): they find it gone.
  deleteQueue(name: string): Promise<void> {
    return this.write(async (tx, context) => {
      await deleteQueue(tx, name);
      context.notify(name);
    });
  }

  purgeQueue(name: string): Promise<number> {
    return this.write((tx) => purgeQueue(tx, name));
  }

  queueStats({ queue, now }: Params<'queueStats'>): Promise<QueueStats> {
    return this.read((db) => queueStats(db, { queue }, now));
  }

  produce({ queue, messages, ...options }: Params<'produce'>): Promise<AppendResult[]> {
    return this.shared(this.queueProduces, queue, { messages, options });
  }

  produceRequest({ queue, message, pending, ...options }: Params<'produceRequest'>): Promise<AppendResult> {
    return this.write((tx, context) => produceRequest(tx, context, this.rules, queue, message, pending, options));
  }

  putReply({ queue, correlationId, reply, now }: Params<'putReply'>): Promise<ReplyOutcome> {
    return this.write((tx, context) => putReply(tx, context, queue, correlationId, reply, now));
  }

  findReply(correlationId: string): Promise<Reply | null> {
    return this.read((db) => findReply(db, correlationId));
  }

  forgetReply(correlationId: string): Promise<void> {
    return this.write((tx) => forgetReply(tx, correlationId));
  }

  abandonReply({ correlationId, now }: Params<'abandonReply'>): Promise<void> {
    return this.write((tx) => abandonReply(tx, correlationId, now));
  }

  claim({ from, ...options }: Params<'claim'>): Promise<ClaimResult> {
    return this.write((tx, context) => claim(tx, context, this.rules, from, options));
  }

  settle({ at, refs, settlement, now }: Params<'settle'>): Promise<SettleStatus[]> {
    return this.write((tx, context) => settle(tx, context, at, refs, settlement, now));
  }

  redrive({ deadLetterQueue, max, to, now }: Params<'redrive'>): Promise<RedriveResult> {
    return this.write((tx, context) => redrive(tx, context, deadLetterQueue, max, now, to));
  }

  deadLetterLease({ at, ref, deadLetterQueue, headers, now }: Params<'deadLetterLease'>): Promise<boolean> {
    return this.write((tx, context) => deadLetterLease(tx, context, at, ref, { queue: deadLetterQueue, headers }, now));
  }

  renewLease({ at, ref, leaseUntil, now }: Params<'renewLease'>): Promise<DeliveryRef | null> {
    return this.write((tx) => renewLease(tx, at, ref, leaseUntil, now));
  }

  leaseEnds({ at, refs, now }: Params<'leaseEnds'>): Promise<(number | null)[]> {
    return this.read((db) => leaseEnds(db, at, refs, now));
  }

  putPush(params: Params<'putPush'>): Promise<{ push: PushRecord; created: boolean }> {
    return this.write((tx) => putPush(tx, this.rules, params));
  }

  getPush(name: string): Promise<PushRecord | null> {
    return this.read((db) => findPush(db, name));
  }

  listPush(page: PageRequest): Promise<Listed<PushRecord>> {
    return this.read((db) => pushPage(db, page));
  }

  deletePush(name: string): Promise<void> {
    return this.write((tx) => deletePush(tx, name));
  }

  setPushPaused({ name, paused, now }: Params<'setPushPaused'>): Promise<PushRecord> {
    return this.write((tx) => setPushPaused(tx, name, paused, now));
  }

  recordPush({ name, outcome }: Params<'recordPush'>): Promise<void> {
    return this.write((tx) => recordPush(tx, name, outcome));
  }

  startMoveTask({ queue, task }: Params<'startMoveTask'>): Promise<boolean> {
    return this.write((tx) => startMoveTask(tx, queue, task));
  }

  moveTasks({ queue, max }: Params<'moveTasks'>): Promise<MoveTask[]> {
    return this.read((db) => moveTasks(db, queue, max));
  }

  activeMoveTasks(): Promise<MoveTask[]> {
    return this.read((db) => activeMoveTasks(db));
  }

  cancelMoveTask({ queue, handle }: Params<'cancelMoveTask'>): Promise<MoveTask | null> {
    return this.write((tx) => cancelMoveTask(tx, queue, handle));
  }

  stepMoveTask({ handle, max, now }: Params<'stepMoveTask'>): Promise<MoveTask | null> {
    return this.write((tx, context) => stepMoveTask(tx, context, this.rules, handle, max, now));
  }

  browse({ at, ...options }: Params<'browse'>): Promise<BrowsedMessage[]> {
    return this.read((db) => browse(db, at, options));
  }

  nextAvailableAt({ at, now }: Params<'nextAvailableAt'>): Promise<number | null> {
    return this.read((db) => nextAvailableAt(db, at, now));
  }

  putSubscription({ topic, subscription, settings, fromEarliest, now }: Params<'putSubscription'>): Promise<{ subscription: SubscriptionRecord; created: boolean }> {
    return this.write((tx) => putSubscription(tx, topic, subscription, settings, fromEarliest, now));
  }

  getSubscription({ topic, subscription }: SubscriptionName): Promise<SubscriptionRecord | null> {
    return this.read(async (db) => {
      await loadTopicRow(db, topic);
      const row = await findSubscriptionRow(db, topic, subscription);
      return row === null ? null : toSubscriptionRecord(row);
    });
  }

  listSubscriptions({ topic, ...page }: Params<'listSubscriptions'>): Promise<Listed<SubscriptionRecord>> {
    return this.read(async (db) => {
      await loadTopicRow(db, topic);
      return subscriptionPage(db, topic, page);
    });
  }

  deleteSubscription({ topic, subscription }: SubscriptionName): Promise<void> {
    return this.write(async (tx, context) => {
      await deleteSubscription(tx, topic, subscription);
      context.notify(topic);
    });
  }

  subscriptionStats({ topic, subscription, now }: Params<'subscriptionStats'>): Promise<QueueStats> {
    return this.read((db) => queueStats(db, { topic, subscription }, now));
  }

  putTopic({ name, settings, now }: Params<'putTopic'>): Promise<{ topic: TopicRecord; created: boolean }> {
    return this.write((tx) => putTopic(tx, name, settings, now));
  }

  getTopic(name: string): Promise<TopicRecord | null> {
    return this.read(async (db) => {
      const row = await findTopicRow(db, name);
      return row === null ? null : toTopicRecord(row);
    });
  }

  listTopics(page: PageRequest): Promise<Listed<TopicRecord>> {
    return this.read(async (db) => {
      const { items, next } = await topicRowPage(db, page);
      return { items: items.map(toTopicRecord), next };
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.write(async (tx, context) => {
      await deleteTopic(tx, name);
      context.notify(name);
    });
  }

  topicPartitions(name: string): Promise<PartitionInfo[]> {
    return this.read((db) => topicPartitions(db, name));
  }

  produceTopic({ topic, messages, ...options }: Params<'produceTopic'>): Promise<AppendResult[]> {
    return this.shared(this.topicProduces, topic, { messages, options });
  }

  readPartition({ topic, partition, ...options }: Params<'readPartition'>): Promise<PartitionRead> {
    return this.read((db) => readPartition(db, topic, partition, options));
  }

  offsetForTimestamp({ topic, partition, timestamp }: Params<'offsetForTimestamp'>): Promise<number> {
    return this.read((db) => offsetForTimestamp(db, topic, partition, timestamp));
  }

  // A group's writes remove members past their session timeout first.
  putGroup({ topic, group, settings, now }: Params<'putGroup'>): Promise<{ group: GroupDescription; created: boolean }> {
    return this.write((tx) => putGroup(tx, this.rules, topic, group, settings, now));
  }

  // Reads, as reads see the group: they remove nothing, so a /metrics scrape or a dashboard refresh writes nothing.
  describeGroup({ topic, group, now }: Params<'describeGroup'>): Promise<GroupDescription> {
    return this.read((db) => viewGroup(db, this.rules, topic, group, now));
  }

  listGroups({ topic, now, ...page }: Params<'listGroups'>): Promise<Listed<GroupDescription>> {
    return this.read((db) => listGroups(db, this.rules, topic, page, now));
  }

  deleteGroup({ topic, group, now }: Params<'deleteGroup'>): Promise<void> {
    return this.write(async (tx, context) => {
      await deleteGroup(tx, this.rules, topic, group, now);
      context.notify(topic);
    });
  }

  joinGroup({ topic, group, memberId, now, defaults }: Params<'joinGroup'>): Promise<GroupFetch> {
    return this.write(async (tx) => {
      const state = await joinGroup(tx, this.rules, topic, group, memberId, now, defaults);
      return { generation: state.generation, partitions: state.assignment.get(memberId) ?? [], messages: [], resets: [] };
    });
  }

  leaveGroup({ topic, group, memberId, now }: Params<'leaveGroup'>): Promise<void> {
    return this.write((tx) => leaveGroup(tx, this.rules, topic, group, memberId, now));
  }

  fetchGroup(options: GroupFetchOptions): Promise<GroupFetch> {
    return this.write((tx) => fetchGroup(tx, this.rules, options, this.holder));
  }

  commitGroup(request: CommitRequest): Promise<{ generation: number; offsets: PartitionOffset[] }> {
    return this.write((tx) => commitGroup(tx, this.rules, request));
  }

  seekGroup(params: Params<'seekGroup'>): Promise<PartitionOffset[]> {
    return this.write((tx) => seekGroup(tx, this.rules, params));
  }

  getSchema(owner: SchemaOwner): Promise<SchemaRecord | null> {
    return this.read((db) => getSchema(db, owner));
  }

  schemaVersions(owner: SchemaOwner): Promise<SchemaVersion[]> {
    return this.read((db) => schemaVersions(db, owner));
  }

  schemaVersion({ owner, version }: Params<'schemaVersion'>): Promise<SchemaVersion | null> {
    return this.read((db) => schemaVersion(db, owner, version));
  }

  putSchema(params: Params<'putSchema'>): Promise<SchemaRecord | null> {
    return this.write((tx) => putSchema(tx, params));
  }

  putSchemaSettings({ owner, settings }: Params<'putSchemaSettings'>): Promise<SchemaRecord | null> {
    return this.write((tx) => putSchemaSettings(tx, owner, settings));
  }

  sweep(options: SweepOptions): Promise<SweepResult> {
    return this.write((tx) => sweep(tx, options));
  }

  holdLeases(params: Params<'holdLeases'>): Promise<string[]> {
    return this.write((tx) => holdLeases(tx, params));
  }

  releaseLeases({ names, holder }: Params<'releaseLeases'>): Promise<void> {
    return this.write((tx) => releaseLeases(tx, names, holder));
  }

  receiptSecret(): Promise<Buffer> {
    return this.read((db) => receiptSecret(db));
  }

  // The API keys of the gateways that keep theirs here (keysInStore): not part of Store, which SQLite's
  // single gateway implements with its keys file. Entries as a keys file lists them, checked by the gateway.

  /** Every stored key entry, in id order. */
  apiKeys(): Promise<unknown[]> {
    return this.read((db) => apiKeys(db));
  }

  /** Stores a key entry; false when its id is stored already. */
  addApiKey({ entry, now }: { entry: StoredKeyEntry; now: number }): Promise<boolean> {
    return this.write((tx) => addApiKey(tx, entry, now));
  }

  /** Removes the key `id`; whether it was stored. */
  removeApiKey(id: string): Promise<boolean> {
    return this.write((tx) => removeApiKey(tx, id));
  }

  onAvailable(listener: (queue: string | null) => void): () => void {
    this.announcements.listen();
    return this.announcements.available.add(listener);
  }

  onReplied(listener: (correlationId: string | null) => void): () => void {
    this.announcements.listen();
    return this.announcements.replied.add(listener);
  }

  checkReady(): Promise<void> {
    return this.write((tx) => checkReady(tx));
  }

  async close(): Promise<void> {
    // Calls in progress finish first: pool.end waits for every checked-out connection to come back.
    await Promise.all([this.pool.end(), this.announcements.close()]);
  }

  /** The database ready for this code: migrations applied, positions rewound, the receipt secret made. */
  private opened(): Promise<void> {
    this.opening ??= (async () => {
      await migrate(this.pool, this.schema);
      await transaction(this.pool, async (tx) => {
        await rewindPositions(tx, this.holder);
        await createReceiptSecret(tx);
      });
    })().catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    return this.opening;
  }

  /**
   * One transaction; the queues it made ready and the replies it stored are
   * announced to every gateway process (announcements.ts), to this one once
   * COMMIT is answered.
   */
  private async write<T>(work: (tx: Queryable, context: WriteContext) => Promise<T>): Promise<T> {
    await this.opened();
    const started = performance.now();
    const { result, announced } = await this.announcements.transaction(this.pool, work).catch((error: unknown) => this.failed(error));
    this.committed((performance.now() - started) / 1000, 1, announced);
    return result;
  }

  /** A write that shares its transaction with the others of the same `key` waiting at the same time. */
  private async shared<R, T>(commits: SharedCommits<R, T>, key: string, request: R): Promise<T> {
    await this.opened();
    return commits.run(key, request).catch((error: unknown) => this.failed(error));
  }

  /** After a COMMIT was answered: counted, timed, and what it made ready announced to this process's listeners. */
  private committed(seconds: number, operations: number, announced: Announced): void {
    this.stats.commits += 1;
    this.stats.operations += operations;
    this.onCommit(seconds, operations);
    this.announcements.heard(announced);
  }

  /** A read on any pooled connection: what it sees is committed, and with synchronous_commit on, flushed. */
  private async read<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    await this.opened();
    return withConnection(this.pool, work).catch((error: unknown) => this.failed(error));
  }

  /**
   * After the server could not be reached, the next call opens the store
   * again, as a restart would: a group fetch whose COMMIT may have been kept
   * while its answer was lost moved positions no client read, and they must
   * go back to the committed offsets before a commit without offsets can
   * commit them (rewindPositions). The process lives on through an outage,
   * so what a start does for a crash is done here.
   */
  private failed(error: unknown): never {
    if (error instanceof StoreError && error.code === 'storage_unavailable') this.opening = null;
    throw error;
  }
}
