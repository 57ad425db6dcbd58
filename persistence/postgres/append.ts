import { StoreError } from '../errors';
import { type AppendMessage, type AppendTarget, checkQuota, NO_GROUP } from '../rows/appendTarget';
import type { AppendResult, ProduceOptions } from '../store';
import type { Queryable } from './connection';
import { type Settled, settled, taken, type WriteContext } from './writeContext';

interface LockedPartition {
  partition: number;
  next_offset: number;
  last_timestamp: number;
  messages: number;
  bytes: number;
}

interface IdempotencyRow {
  key: string;
  message_id: number;
  partition: number;
  offset: number;
  timestamp: number;
}

// One statement stores the whole append after its partitions are locked: the
// messages, a delivery row per message and queue subscription, the
// idempotency keys (replacing ones past their window, as SQLite's INSERT OR
// REPLACE), the partitions' heads and totals, and the topic's produced count.
// The deliveries triggers run at its end, so the subscriptions rows are
// locked after the partitions and topic rows: acks, dead letters and sweeps
// lock partitions before subscriptions too, and puts topics before
// subscriptions, so none of them waits for an append in a circle.
const STORE = `
  WITH inserted AS (
    INSERT INTO messages (topic_id, partition, "offset", timestamp, key, headers, content_type, value, group_id, original_id)
    SELECT $1::bigint, * FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::text[], $19::bigint[])
    RETURNING id, partition, "offset", timestamp, group_id, length(value) AS bytes
  ), fresh AS (
    SELECT i.*, a.available_at, a.idempotency_key FROM inserted i
      JOIN unnest($2::int[], $3::bigint[], $10::bigint[], $11::text[]) AS a(partition, "offset", available_at, idempotency_key)
     USING (partition, "offset")
  ), delivered AS (
    INSERT INTO deliveries (subscription_id, message_id, available_at, group_id, bytes)
    SELECT s.id, f.id, f.available_at, CASE WHEN $20::boolean THEN coalesce(f.group_id, $21::text) END, f.bytes
      FROM fresh f CROSS JOIN unnest($12::bigint[]) AS s(id)
  ), remembered AS (
    INSERT INTO idempotency_keys (topic_id, key, message_id, partition, "offset", timestamp)
    SELECT $1::bigint, f.idempotency_key, f.id, f.partition, f."offset", f.timestamp FROM fresh f WHERE f.idempotency_key IS NOT NULL
    ON CONFLICT (topic_id, key) DO UPDATE
       SET message_id = EXCLUDED.message_id, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset", timestamp = EXCLUDED.timestamp
  ), advanced AS (
    UPDATE partitions p
       SET next_offset = a.next_offset, messages = p.messages + a.messages, bytes = p.bytes + a.bytes, last_timestamp = a.last_timestamp
      FROM unnest($13::int[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[]) AS a(partition, next_offset, messages, bytes, last_timestamp)
     WHERE p.topic_id = $1::bigint AND p.partition = a.partition
  ), counted AS (
    UPDATE topics SET produced = produced + $18::bigint WHERE id = $1::bigint
  )
  SELECT id, partition, "offset" FROM inserted`;

const STATEMENTS = {
  // In partition order, so that appends locking the same partitions queue up instead of deadlocking.
  lock: {
    name: 'append-lock',
    text: `SELECT partition, next_offset, last_timestamp, messages, bytes FROM partitions
            WHERE topic_id = $1 AND ($3::boolean OR partition = ANY($2::int[])) ORDER BY partition FOR UPDATE`,
  },
  findKeys: {
    name: 'append-findKeys',
    text: `SELECT key, message_id, partition, "offset", timestamp FROM idempotency_keys
            WHERE topic_id = $1 AND key = ANY($2::text[]) AND timestamp >= $3`,
  },
  store: { name: 'append-store', text: STORE },
};

/** A partition's head as this append moves it: the next offset, its timestamp, and what the append adds. */
interface Head {
  next: number;
  timestamp: number;
  messages: number;
  bytes: number;
}

/** A message this append stores, where it goes. */
interface Placed {
  message: AppendMessage;
  offset: number;
  timestamp: number;
  /** When its delay, counted from its request's time, has passed. */
  availableAt: number;
}

/** Each message's answer: an earlier message's stored result, or one of this append's messages (its first with the key, or itself). */
type Answer = { earlier: AppendResult } | { placed: number; duplicate: boolean };

/** One caller's messages, appended or refused together. */
export interface AppendRequest {
  messages: AppendMessage[];
  options: ProduceOptions;
}

/** Whether a quota caps anything: only then does the append need every partition's totals. */
function capped(quota: AppendTarget['quota']): quota is NonNullable<AppendTarget['quota']> {
  return quota !== null && (quota.caps.maxStoredMessages !== null || quota.caps.maxStoredBytes !== null);
}

/**
 * operation: append — the one way messages enter a topic (produce, dead-letter,
 * redrive). Offsets are dense per partition and timestamps never go backwards
 * within one (a clock step back repeats the last timestamp). A repeated
 * idempotency key inside the window returns the original result and stores
 * nothing.
 */
export async function append(
  tx: Queryable,
  context: WriteContext,
  target: AppendTarget,
  messages: AppendMessage[],
  options: ProduceOptions,
): Promise<AppendResult[]> {
  const [outcome] = await appendEach(tx, context, target, [{ ok: true, value: { messages, options } }]);
  return taken(outcome);
}

/**
 * Several callers' appends to one target in one round of statements: the
 * partitions locked once, the keys looked up once, everything stored by one
 * statement. Each request is taken or refused (quota, a partition gone) as
 * if it ran alone after the ones before it: it sees their messages in the
 * totals, and their idempotency keys as already stored.
 *
 * The partitions rows are locked first (FOR UPDATE, in partition order): an
 * append to a partition waits for the one before to commit, so offsets are
 * assigned in commit order and a reader by offset never sees n + 1 before n.
 * An append with idempotency keys, or under a quota cap, locks every
 * partition of the topic: a key is unique across the topic's partitions and
 * a quota spans them, so the key lookup and the stored totals must see what
 * every other append to the topic committed, and none may commit meanwhile.
 */
export async function appendEach(
  tx: Queryable,
  context: WriteContext,
  target: AppendTarget,
  prepared: Settled<AppendRequest>[],
): Promise<Settled<AppendResult[]>[]> {
  const requests = prepared.flatMap((request) => (request.ok ? [request.value] : []));
  const messages = requests.flatMap((request) => request.messages);
  if (messages.length === 0) return prepared.map((request) => (request.ok ? { ok: true, value: [] } : request));
  const keys = [...new Set(messages.flatMap((message) => (message.idempotencyKey === null ? [] : [message.idempotencyKey])))];
  const { rows: locked } = await tx.query<LockedPartition>({
    ...STATEMENTS.lock,
    values: [target.topicId, [...new Set(messages.map((message) => message.partition))], keys.length > 0 || capped(target.quota)],
  });
  const since = Math.min(...requests.map(({ options }) => options.now - options.idempotencyWindowMs));
  const seen = keys.length === 0 ? new Map<string, IdempotencyRow>() : await findKeys(tx, target.topicId, keys, since);

  const placing = new Placing(target, locked, seen);
  const answers = prepared.map((request) => (request.ok ? placing.take(request.value) : request));
  const ids = placing.placed.length === 0 ? new Map<string, number>() : await store(tx, target, placing.placed, placing.heads);
  if (placing.placed.length > 0) context.notify(target.name);
  return answers.map((settled) => {
    if (!settled.ok) return settled;
    return { ok: true, value: settled.value.map((answer) => placing.result(answer, ids)) };
  });
}

/**
 * Where an append's requests go, decided one request after the other: the
 * partitions' heads as they move, the messages placed so far, and the keys
 * they carry. A request that is refused leaves all of it as it found it.
 */
class Placing {
  readonly heads = new Map<number, Head>();
  readonly placed: Placed[] = [];
  private readonly placedByKey = new Map<string, number>();
  private readonly stored: { messages: number; bytes: number };

  constructor(
    private readonly target: AppendTarget,
    private readonly locked: LockedPartition[],
    private readonly seen: Map<string, IdempotencyRow>,
  ) {
    this.stored = storedIn(locked);
  }

  /** The answers of one request's messages, or why it is refused. */
  take({ messages, options }: AppendRequest): Settled<Answer[]> {
    const heads = new Map([...this.heads].map(([partition, head]) => [partition, { ...head }]));
    const placedBefore = this.placed.length;
    const keysBefore = new Set(this.placedByKey.keys());
    const taken = settled(() => {
      const answers = messages.map((message) => this.answer(message, options));
      const adding = { messages: this.placed.length - placedBefore, bytes: 0 };
      for (const { message } of this.placed.slice(placedBefore)) adding.bytes += message.value.length;
      if (adding.messages > 0 && capped(this.target.quota)) checkQuota(this.target.name, this.target.quota, this.stored, [adding]);
      this.stored.messages += adding.messages;
      this.stored.bytes += adding.bytes;
      return answers;
    });
    if (!taken.ok) {
      this.placed.length = placedBefore;
      this.heads.clear();
      for (const [partition, head] of heads) this.heads.set(partition, head);
      for (const key of this.placedByKey.keys()) if (!keysBefore.has(key)) this.placedByKey.delete(key);
    }
    return taken;
  }

  /** A stored answer made whole: the id the store gave a placed message. */
  result(answer: Answer, ids: Map<string, number>): AppendResult {
    if ('earlier' in answer) return answer.earlier;
    const { message, offset, timestamp } = this.placed[answer.placed];
    const id = ids.get(`${message.partition}.${offset}`);
    if (id === undefined) throw new Error(`append: no id returned for ${this.target.name} ${message.partition}.${offset}`);
    return { id: String(message.originalId ?? id), partition: message.partition, offset, timestamp, duplicate: answer.duplicate };
  }

  private answer(message: AppendMessage, options: ProduceOptions): Answer {
    const key = message.idempotencyKey;
    if (key !== null) {
      const earlier = this.seen.get(key);
      if (earlier !== undefined && earlier.timestamp >= options.now - options.idempotencyWindowMs) {
        return {
          earlier: { id: String(earlier.message_id), partition: earlier.partition, offset: earlier.offset, timestamp: earlier.timestamp, duplicate: true },
        };
      }
      const first = this.placedByKey.get(key);
      if (first !== undefined) return { placed: first, duplicate: true };
      this.placedByKey.set(key, this.placed.length);
    }
    const head = this.headOf(message.partition, options.now);
    this.placed.push({ message, offset: head.next, timestamp: head.timestamp, availableAt: options.now + message.delayMs });
    head.next += 1;
    head.messages += 1;
    head.bytes += message.value.length;
    return { placed: this.placed.length - 1, duplicate: false };
  }

  private headOf(partition: number, now: number): Head {
    let head = this.heads.get(partition);
    if (head === undefined) {
      const row = this.locked.find((candidate) => candidate.partition === partition);
      if (row === undefined) {
        // A queue has its one partition for as long as it exists: none means it was deleted since it was loaded.
        const { kind, name } = this.target;
        throw new StoreError(kind === 'queue' ? { code: 'queue_not_found', queue: name } : { code: 'partition_not_found', topic: name, partition });
      }
      head = { next: row.next_offset, timestamp: row.last_timestamp, messages: 0, bytes: 0 };
      this.heads.set(partition, head);
    }
    head.timestamp = Math.max(head.timestamp, now);
    return head;
  }
}

/** The keys stored within the window, by key. */
async function findKeys(tx: Queryable, topicId: number, keys: string[], since: number): Promise<Map<string, IdempotencyRow>> {
  const { rows } = await tx.query<IdempotencyRow>({ ...STATEMENTS.findKeys, values: [topicId, keys, since] });
  return new Map(rows.map((row) => [row.key, row]));
}

/** Stores the placed messages (STORE); the ids they got, by `partition.offset`. */
async function store(tx: Queryable, target: AppendTarget, placed: Placed[], heads: Map<number, Head>): Promise<Map<string, number>> {
  const column = <T>(pick: (entry: Placed) => T): T[] => placed.map(pick);
  const partitions = [...heads.entries()];
  const { rows } = await tx.query<{ id: number; partition: number; offset: number }>({
    ...STATEMENTS.store,
    values: [
      target.topicId,
      column((p) => p.message.partition),
      column((p) => p.offset),
      column((p) => p.timestamp),
      column((p) => p.message.key),
      column((p) => JSON.stringify(p.message.headers)),
      column((p) => p.message.contentType),
      column((p) => p.message.value),
      column((p) => p.message.group),
      column((p) => p.availableAt),
      column((p) => p.message.idempotencyKey),
      target.subscriptionIds,
      partitions.map(([partition]) => partition),
      partitions.map(([, head]) => head.next),
      partitions.map(([, head]) => head.messages),
      partitions.map(([, head]) => head.bytes),
      partitions.map(([, head]) => head.timestamp),
      placed.length,
      column((p) => p.message.originalId ?? null),
      // deliveryGroup, in SQL.
      target.fifo,
      NO_GROUP,
    ],
  });
  return new Map(rows.map((row) => [`${row.partition}.${row.offset}`, row.id]));
}

/** What the locked partitions store: under a cap every partition of the topic is locked, so these are its totals. */
function storedIn(locked: LockedPartition[]): { messages: number; bytes: number } {
  const stored = { messages: 0, bytes: 0 };
  for (const row of locked) {
    stored.messages += row.messages;
    stored.bytes += row.bytes;
  }
  return stored;
}
