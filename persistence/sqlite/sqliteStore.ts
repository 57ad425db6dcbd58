import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Listeners } from '../listeners';
import { type QueueRow, toSubscriptionRecord } from '../rows/queueRow';
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
  HoldLeases,
  Listed,
  MoveTask,
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
  TopicRecord,
} from '../store';
import { deadLetterLease, leaseEnds, renewLease } from './leaseActions';
import { pushPage, deletePush, findPush, putPush, recordPush, setPushPaused } from './pushRow';
import { deleteSubscription, putSubscription } from './putSubscription';
import { commitGroup, seekGroup } from './commitGroup';
import { fetchGroup } from './fetchGroup';
import { deleteGroup, joinGroup, leaveGroup, listGroups, putGroup, viewGroup } from './groupRow';
import { deleteTopic } from './deleteTopic';
import { offsetForTimestamp } from './offsetForTimestamp';
import { produceTopic } from './produceTopic';
import { putTopic } from './putTopic';
import { readPartition } from './readPartition';
import { browse } from './browse';
import { activeMoveTasks, cancelMoveTask, moveTasks, startMoveTask, stepMoveTask } from './moveTasks';
import { topicPartitions } from './topicPartitions';
import { findTopicRow, loadTopicRow, topicRowPage } from './topicRow';
import { claim } from './claim';
import { deleteQueue } from './deleteQueue';
import { AppendTally } from './appendTally';
import { Checkpointer } from './checkpointer';
import { type CommitObserver, type CommitStats, GroupCommit } from './groupCommit';
import { interpretError } from './interpretError';
import { type FileSync, type Fsync, walSync } from './walSync';
import { migrate } from './migrate';
import { nextAvailableAt } from './nextAvailableAt';
import { purgeQueue } from './purgeQueue';
import { putQueue } from './putQueue';
import { abandonReply, findReply, forgetReply, produceRequest, putReply } from './replies';
import { forgetLeases, holdLeases, releaseLeases } from './leases';
import { createReceiptSecret, receiptSecret } from './receiptSecret';
import { produce } from './produce';
import { findQueueRow, findSubscriptionRow, loadQueueRow, queueRecord, queueRowPage, subscriptionPage, topQueueRows } from './queueRow';
import { mapPage } from './page';
import { queueStats } from './queueStats';
import { checkReady } from './checkReady';
import { redrive } from './redrive';
import { rewindPositions } from './rewindPositions';
import { settle } from './settle';
import { sweep } from './sweep';
import { KeptRows } from './keptRows';
import { ownerRow } from '../rows/schemaRow';
import { getSchema, putSchema, putSchemaSettings, schemaVersion, schemaVersions } from './schemas';

export interface SqliteStoreOptions {
  /** Directory that holds mqgate.db (created if missing). */
  dataDir: string;
  /** FULL fsyncs every commit (a 2xx survives power loss); NORMAL survives a process crash only. */
  synchronous: 'FULL' | 'NORMAL';
  /** Cap on the database size; writes past it fail with storage_full. Default: none (the disk is the cap). */
  maxDatabaseBytes?: number;
  /** Told of each commit's duration and size (metrics). */
  onCommit?: CommitObserver;
  /**
   * Runs the fsync of the log (FULL). Default: fs.fsync. Tests pass one that
   * holds it, to check that no answer leaves before its commit is on disk.
   */
  fsync?: Fsync;
  /** The queue rules this backend applies (queue/rules.ts). */
  rules: StoreRules;
}

export const DATABASE_FILE = 'mqgate.db';

/** The parameter object of a store call. */
type Params<K extends keyof Store> = Store[K] extends (params: infer P) => unknown ? P : never;

/**
 * The SQLite backend: one connection in WAL mode; writes go through group
 * commit, reads run directly on the same connection between commits.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly writes: GroupCommit;
  /** The log's fsync, run after COMMIT off the event loop (FULL); null for NORMAL. */
  private readonly wal: FileSync | null;
  /** Copies the log into the database off the event loop, told of every commit. */
  private readonly checkpointer: Checkpointer;
  /** The heads and counts the produces of a commit change, written once before it (group commit's Deferred). */
  private readonly tally: AppendTally;
  private readonly available = new Listeners<string | null>();
  private readonly replied = new Listeners<string | null>();
  private readonly rules: StoreRules;
  /**
   * getSchema's answers (null: no schema) by owner, emptied by each write that
   * changes a schema or deletes its queue or topic, in its own unit.
   */
  private readonly schemas = new KeptRows<SchemaRecord | null>();
  /**
   * Queues' rows as produce reads them (its settings, names and ids; produce
   * reads none of the row's counters, which are as of when it was kept),
   * emptied by each write that changes or deletes a queue, in its own unit.
   */
  private readonly producing = new KeptRows<QueueRow>();

  constructor(options: SqliteStoreOptions) {
    this.rules = options.rules;
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.db = new Database(path.join(options.dataDir, DATABASE_FILE));
    this.db.pragma('journal_mode = WAL');
    // FULL's per-commit fsync of the log is run by GroupCommit, off the event
    // loop; to SQLite both modes are NORMAL, which still syncs the log before
    // each checkpoint and its header when the log is reused.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // The savepoints of a group commit run again after a failed unit, and the statement journals of statements
    // with a trigger (every delivery's delete): in memory, not spilled to a temporary file past 64 KiB, they cost a
    // third of what they did (README, "Durability and speed"). They hold the pages one unit changes, at most a batch's.
    this.db.pragma('temp_store = MEMORY');
    if (options.maxDatabaseBytes !== undefined) {
      const pageSize = this.db.pragma('page_size', { simple: true }) as number;
      this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxDatabaseBytes / pageSize))}`);
    }
    migrate(this.db);
    rewindPositions(this.db);
    forgetLeases(this.db);
    // No fsync of its own: a receipt signed with the secret leaves only after
    // its claim commits, and (with FULL) that commit's fsync of the log
    // covers this earlier write too.
    createReceiptSecret(this.db);
    // The log exists by now: the migrations' first read created it.
    this.wal = options.synchronous === 'FULL' ? walSync(path.join(options.dataDir, `${DATABASE_FILE}-wal`), options.fsync) : null;
    this.checkpointer = new Checkpointer(path.join(options.dataDir, DATABASE_FILE));
    this.tally = new AppendTally(this.db);
    this.writes = new GroupCommit(
      this.db,
      ({ queues, replies }) => {
        for (const queue of queues) this.available.emit(queue);
        for (const id of replies) this.replied.emit(id);
      },
      (seconds, operations) => {
        this.checkpointer.committed();
        options.onCommit?.(seconds, operations);
      },
      this.wal,
      // A unit may have kept what an earlier unit of the same transaction wrote.
      () => this.forgetSettings(),
      this.tally,
    );
  }

  /** Empties the kept rows: their writes were rolled back, or a queue or topic is deleted. */
  private forgetSettings(): void {
    this.schemas.clear();
    this.producing.clear();
  }

  /** How many commits served how many write operations (group commit at work). */
  get commitStats(): CommitStats {
    return { ...this.writes.stats };
  }

  putQueue({ name, settings, now }: Params<'putQueue'>): Promise<{ queue: QueueRecord; created: boolean }> {
    return this.writes.run(() => {
      this.producing.clear();
      return putQueue(this.db, name, settings, now);
    });
  }

  getQueue(name: string): Promise<QueueRecord | null> {
    return this.readNow(() => {
      const row = findQueueRow(this.db, name);
      return row === null ? null : queueRecord(this.db, row);
    });
  }

  listQueues(page: PageRequest): Promise<Listed<QueueRecord>> {
    return this.readNow(() => mapPage(queueRowPage(this.db, page), (row) => queueRecord(this.db, row)));
  }

  topQueues({ prefix, limit }: Params<'topQueues'>): Promise<QueueRecord[]> {
    return this.readNow(() => topQueueRows(this.db, prefix, limit).map((row) => queueRecord(this.db, row)));
  }

  // A deleted source wakes whoever waits on its log (long-polls, push runners): they find it gone.
  deleteQueue(name: string): Promise<void> {
    return this.writes.run((context) => {
      this.forgetSettings();
      deleteQueue(this.db, name);
      context.notify(name);
    });
  }

  purgeQueue(name: string): Promise<number> {
    return this.writes.run(() => purgeQueue(this.db, name));
  }

  queueStats({ queue, now }: Params<'queueStats'>): Promise<QueueStats> {
    return this.read(() => queueStats(this.db, { queue }, now));
  }

  produce({ queue, messages, ...options }: Params<'produce'>): Promise<AppendResult[]> {
    return this.writes.run((context) => {
      const row = this.producing.get(queue, () => loadQueueRow(this.db, queue));
      return produce(this.db, context, this.rules, row, messages, options, this.tally);
    }, true);
  }

  produceRequest({ queue, message, pending, ...options }: Params<'produceRequest'>): Promise<AppendResult> {
    return this.writes.run((context) => produceRequest(this.db, context, this.rules, queue, message, pending, options, this.tally), true);
  }

  putReply({ queue, correlationId, reply, now }: Params<'putReply'>): Promise<ReplyOutcome> {
    return this.writes.run((context) => putReply(this.db, context, queue, correlationId, reply, now));
  }

  findReply(correlationId: string): Promise<Reply | null> {
    return this.read(() => findReply(this.db, correlationId));
  }

  forgetReply(correlationId: string): Promise<void> {
    return this.writes.run(() => forgetReply(this.db, correlationId));
  }

  abandonReply({ correlationId, now }: Params<'abandonReply'>): Promise<void> {
    return this.writes.run(() => abandonReply(this.db, correlationId, now));
  }

  claim({ from, ...options }: Params<'claim'>): Promise<ClaimResult> {
    return this.writes.run((context) => claim(this.db, context, this.rules, from, options));
  }

  settle({ at, refs, settlement, now }: Params<'settle'>): Promise<SettleStatus[]> {
    return this.writes.run((context) => settle(this.db, context, at, refs, settlement, now));
  }

  redrive({ deadLetterQueue, max, to, now }: Params<'redrive'>): Promise<RedriveResult> {
    return this.writes.run((context) => redrive(this.db, context, deadLetterQueue, max, now, to));
  }

  deadLetterLease({ at, ref, deadLetterQueue, headers, now }: Params<'deadLetterLease'>): Promise<boolean> {
    return this.writes.run((context) => deadLetterLease(this.db, context, at, ref, { queue: deadLetterQueue, headers }, now));
  }

  renewLease({ at, ref, leaseUntil, now }: Params<'renewLease'>): Promise<DeliveryRef | null> {
    return this.writes.run(() => renewLease(this.db, at, ref, leaseUntil, now));
  }

  leaseEnds({ at, refs, now }: Params<'leaseEnds'>): Promise<(number | null)[]> {
    return this.readNow(() => leaseEnds(this.db, at, refs, now));
  }

  putPush(params: Params<'putPush'>): Promise<{ push: PushRecord; created: boolean }> {
    return this.writes.run(() => putPush(this.db, this.rules, params));
  }

  getPush(name: string): Promise<PushRecord | null> {
    return this.read(() => findPush(this.db, name));
  }

  listPush(page: PageRequest): Promise<Listed<PushRecord>> {
    return this.read(() => pushPage(this.db, page));
  }

  deletePush(name: string): Promise<void> {
    return this.writes.run(() => deletePush(this.db, name));
  }

  setPushPaused({ name, paused, now }: Params<'setPushPaused'>): Promise<PushRecord> {
    return this.writes.run(() => setPushPaused(this.db, name, paused, now));
  }

  recordPush({ name, outcome }: Params<'recordPush'>): Promise<void> {
    return this.writes.run(() => recordPush(this.db, name, outcome));
  }

  startMoveTask({ queue, task }: Params<'startMoveTask'>): Promise<boolean> {
    return this.writes.run(() => startMoveTask(this.db, queue, task));
  }

  moveTasks({ queue, max }: Params<'moveTasks'>): Promise<MoveTask[]> {
    return this.read(() => moveTasks(this.db, queue, max));
  }

  activeMoveTasks(): Promise<MoveTask[]> {
    return this.read(() => activeMoveTasks(this.db));
  }

  cancelMoveTask({ queue, handle }: Params<'cancelMoveTask'>): Promise<MoveTask | null> {
    return this.writes.run(() => cancelMoveTask(this.db, queue, handle));
  }

  stepMoveTask({ handle, max, now }: Params<'stepMoveTask'>): Promise<MoveTask | null> {
    return this.writes.run((context) => stepMoveTask(this.db, context, this.rules, handle, max, now));
  }

  browse({ at, ...options }: Params<'browse'>): Promise<BrowsedMessage[]> {
    return this.read(() => browse(this.db, at, options));
  }

  nextAvailableAt({ at, now }: Params<'nextAvailableAt'>): Promise<number | null> {
    return this.readNow(() => nextAvailableAt(this.db, at, now));
  }

  putSubscription({ topic, subscription, settings, fromEarliest, now }: Params<'putSubscription'>): Promise<{ subscription: SubscriptionRecord; created: boolean }> {
    return this.writes.run(() => putSubscription(this.db, topic, subscription, settings, fromEarliest, now));
  }

  getSubscription({ topic, subscription }: SubscriptionName): Promise<SubscriptionRecord | null> {
    return this.readNow(() => {
      loadTopicRow(this.db, topic);
      const row = findSubscriptionRow(this.db, topic, subscription);
      return row === null ? null : toSubscriptionRecord(row);
    });
  }

  listSubscriptions({ topic, ...page }: Params<'listSubscriptions'>): Promise<Listed<SubscriptionRecord>> {
    return this.readNow(() => {
      loadTopicRow(this.db, topic);
      return subscriptionPage(this.db, topic, page);
    });
  }

  deleteSubscription({ topic, subscription }: SubscriptionName): Promise<void> {
    return this.writes.run((context) => {
      deleteSubscription(this.db, topic, subscription);
      context.notify(topic);
    });
  }

  subscriptionStats({ topic, subscription, now }: Params<'subscriptionStats'>): Promise<QueueStats> {
    return this.read(() => queueStats(this.db, { topic, subscription }, now));
  }

  putTopic({ name, settings, now }: Params<'putTopic'>): Promise<{ topic: TopicRecord; created: boolean }> {
    return this.writes.run(() => putTopic(this.db, name, settings, now));
  }

  getTopic(name: string): Promise<TopicRecord | null> {
    return this.readNow(() => {
      const row = findTopicRow(this.db, name);
      return row === null ? null : toTopicRecord(row);
    });
  }

  listTopics(page: PageRequest): Promise<Listed<TopicRecord>> {
    return this.readNow(() => mapPage(topicRowPage(this.db, page), toTopicRecord));
  }

  deleteTopic(name: string): Promise<void> {
    return this.writes.run((context) => {
      this.forgetSettings();
      deleteTopic(this.db, name);
      context.notify(name);
    });
  }

  topicPartitions(name: string): Promise<PartitionInfo[]> {
    return this.read(() => topicPartitions(this.db, name));
  }

  produceTopic({ topic, messages, ...options }: Params<'produceTopic'>): Promise<AppendResult[]> {
    return this.writes.run((context) => produceTopic(this.db, context, this.rules, topic, messages, options, this.tally), true);
  }

  readPartition({ topic, partition, ...options }: Params<'readPartition'>): Promise<PartitionRead> {
    return this.read(() => readPartition(this.db, topic, partition, options));
  }

  offsetForTimestamp({ topic, partition, timestamp }: Params<'offsetForTimestamp'>): Promise<number> {
    return this.read(() => offsetForTimestamp(this.db, topic, partition, timestamp));
  }

  // A group's writes remove members past their session timeout first.
  putGroup({ topic, group, settings, now }: Params<'putGroup'>): Promise<{ group: GroupDescription; created: boolean }> {
    return this.writes.run(() => putGroup(this.db, this.rules, topic, group, settings, now));
  }

  // Reads, as reads see the group: they remove nothing, so a /metrics scrape or a dashboard refresh commits nothing.
  describeGroup({ topic, group, now }: Params<'describeGroup'>): Promise<GroupDescription> {
    return this.read(() => viewGroup(this.db, this.rules, topic, group, now));
  }

  listGroups({ topic, now, ...page }: Params<'listGroups'>): Promise<Listed<GroupDescription>> {
    return this.read(() => listGroups(this.db, this.rules, topic, page, now));
  }

  deleteGroup({ topic, group, now }: Params<'deleteGroup'>): Promise<void> {
    return this.writes.run((context) => {
      deleteGroup(this.db, this.rules, topic, group, now);
      context.notify(topic);
    });
  }

  joinGroup({ topic, group, memberId, now, defaults }: Params<'joinGroup'>): Promise<GroupFetch> {
    return this.writes.run(() => {
      const state = joinGroup(this.db, this.rules, topic, group, memberId, now, defaults);
      return { generation: state.generation, partitions: state.assignment.get(memberId) ?? [], messages: [], resets: [] };
    });
  }

  leaveGroup({ topic, group, memberId, now }: Params<'leaveGroup'>): Promise<void> {
    return this.writes.run(() => leaveGroup(this.db, this.rules, topic, group, memberId, now));
  }

  fetchGroup(options: GroupFetchOptions): Promise<GroupFetch> {
    return this.writes.run(() => fetchGroup(this.db, this.rules, options));
  }

  commitGroup(request: CommitRequest): Promise<{ generation: number; offsets: PartitionOffset[] }> {
    return this.writes.run(() => commitGroup(this.db, this.rules, request));
  }

  seekGroup(params: Params<'seekGroup'>): Promise<PartitionOffset[]> {
    return this.writes.run(() => seekGroup(this.db, this.rules, params));
  }

  getSchema(owner: SchemaOwner): Promise<SchemaRecord | null> {
    const { kind, name } = ownerRow(owner);
    return this.readNow(() => this.schemas.get(`${kind}/${name}`, () => getSchema(this.db, owner)));
  }

  schemaVersions(owner: SchemaOwner): Promise<SchemaVersion[]> {
    return this.readNow(() => schemaVersions(this.db, owner));
  }

  schemaVersion({ owner, version }: Params<'schemaVersion'>): Promise<SchemaVersion | null> {
    return this.readNow(() => schemaVersion(this.db, owner, version));
  }

  putSchema(params: Params<'putSchema'>): Promise<SchemaRecord | null> {
    return this.writes.run(() => {
      this.schemas.clear();
      return putSchema(this.db, params);
    });
  }

  putSchemaSettings({ owner, settings }: Params<'putSchemaSettings'>): Promise<SchemaRecord | null> {
    return this.writes.run(() => {
      this.schemas.clear();
      return putSchemaSettings(this.db, owner, settings);
    });
  }

  sweep(options: SweepOptions): Promise<SweepResult> {
    return this.writes.run(() => sweep(this.db, options));
  }

  holdLeases(params: HoldLeases): Promise<string[]> {
    return this.writes.run(() => holdLeases(this.db, params));
  }

  releaseLeases({ names, holder }: { names: string[]; holder: string }): Promise<void> {
    return this.writes.run(() => releaseLeases(this.db, names, holder));
  }

  receiptSecret(): Promise<Buffer> {
    return this.readNow(() => receiptSecret(this.db));
  }

  onAvailable(listener: (queue: string | null) => void): () => void {
    return this.available.add(listener);
  }

  onReplied(listener: (correlationId: string | null) => void): () => void {
    return this.replied.add(listener);
  }

  checkReady(): Promise<void> {
    return this.writes.run(() => checkReady(this.db));
  }

  async close(): Promise<void> {
    // Let writes already requested commit before the connection goes; after a failed fsync none can.
    const drained = await this.writes.run(() => undefined).then(
      () => true,
      () => false,
    );
    await this.checkpointer.close();
    if (drained) this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.wal?.close();
    this.db.close();
  }

  /** Reads messages, offsets or counts: runs `work` now and answers once what it saw is durable. */
  private read<T>(work: () => T): Promise<T> {
    return this.readNow(work).then((value) => this.writes.settled().then(() => value));
  }

  /**
   * Reads settings (of queues, topics, subscriptions) or the next time a
   * message comes due, as committed: no wait for an fsync on the paths that
   * read a queue's settings before they produce or fetch, whose own write is
   * made durable after anything it saw.
   */
  private readNow<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(interpretError(error));
    }
  }
}
