import { StoreError } from '../errors';
import { repairOffsets } from '../rows/groupOffsets';
import { describeGroup, type GroupOffsets, type GroupState, groupView, type PartitionGroupOffsets, type RawGroup, type RawMember, toGroupState, toMember } from '../rows/groupRow';
import { pageOf } from '../rows/page';
import type { GroupDescription, GroupSettings, Listed, OffsetReset, PageRequest, PartitionInfo, StoreRules } from '../store';
import type { Queryable } from './connection';
import { pageClause, pageParameters } from './page';
import { topicPartitions } from './topicPartitions';
import { loadTopicRow } from './topicRow';
import type { TopicRow } from '../rows/topicRow';

const GROUP_COLUMNS = 'id, name, generation, reset_policy, session_timeout_ms, partitions_seen';

/**
 * Every group operation starts by locking its group's row, so that operations
 * on one group (from any connection of any gateway) run one after the other:
 * each reads members, generation and offsets, decides, and writes them. Only
 * the consumer_groups row is locked; the topic row in the subquery is not.
 */
const LOCK = `SELECT ${GROUP_COLUMNS} FROM consumer_groups
               WHERE topic_id = (SELECT id FROM topics WHERE name = $1 AND kind = 'topic') AND name = $2
                 FOR UPDATE`;

/** A group of a topic whose id is known, unlocked: what a read (groupView) sees. */
const ROW = `SELECT ${GROUP_COLUMNS} FROM consumer_groups WHERE topic_id = $1 AND name = $2`;

/** A group's members as they are, none removed: what a read (groupView) sees. */
const ALL_MEMBERS = 'SELECT member_id, joined_at, last_seen FROM group_members WHERE group_id = $1 ORDER BY member_id';

/**
 * Creates a group unless one exists. A concurrent creation of the same group
 * makes this wait for it and insert nothing. The topic row is held FOR KEY
 * SHARE, so that a topic being deleted meanwhile makes this insert nothing
 * rather than fail its foreign key.
 */
const CREATE = `INSERT INTO consumer_groups (topic_id, name, reset_policy, session_timeout_ms, created_at)
                SELECT id, $2, $3, $4, $5 FROM topics WHERE name = $1 AND kind = 'topic' FOR KEY SHARE
                    ON CONFLICT (topic_id, name) DO NOTHING
                RETURNING ${GROUP_COLUMNS}`;

/**
 * Removes the members past their session timeout and lists every member as
 * it was before, each marked with whether it was just removed: one round
 * trip, and the expiry condition is written once.
 */
const MEMBERS = `WITH expired AS (DELETE FROM group_members WHERE group_id = $1 AND last_seen <= $2 RETURNING member_id)
                 SELECT m.member_id, m.joined_at, m.last_seen, e.member_id IS NOT NULL AS expired
                   FROM group_members m LEFT JOIN expired e ON e.member_id = m.member_id
                  WHERE m.group_id = $1
                  ORDER BY m.member_id`;

/** A new generation, in which every position goes back to its committed offset. */
const REBALANCE = `WITH rewound AS (UPDATE group_offsets SET position = committed, moved_by = '{}' WHERE group_id = $2 AND position <> committed)
                   UPDATE consumer_groups SET generation = generation + 1, partitions_seen = $1 WHERE id = $2
                   RETURNING generation`;

const OFFSETS = 'SELECT partition, committed, position FROM group_offsets WHERE group_id = $1';

// moved_by: the processes whose fetches moved the position past the committed offset since it last met it (003_position_holders.sql).
const SET_OFFSETS = `INSERT INTO group_offsets (group_id, partition, committed, position, moved_by)
                     SELECT $1, o.partition, o.committed, o.position,
                            CASE WHEN o.position = o.committed OR $5::text IS NULL THEN '{}'::text[] ELSE ARRAY[$5::text] END
                       FROM unnest($2::integer[], $3::bigint[], $4::bigint[]) AS o (partition, committed, position)
                         ON CONFLICT (group_id, partition) DO UPDATE
                        SET committed = excluded.committed, position = excluded.position,
                            moved_by = CASE WHEN excluded.position = excluded.committed THEN '{}'::text[]
                                            WHEN group_offsets.position = group_offsets.committed THEN excluded.moved_by
                                            ELSE ARRAY(SELECT DISTINCT h FROM unnest(group_offsets.moved_by || excluded.moved_by) AS h) END`;

/** A member as MEMBERS lists it: whether the statement just removed it, too. */
interface ListedMember extends RawMember {
  expired: boolean;
}

async function lockRow(tx: Queryable, topicName: string, name: string): Promise<RawGroup | null> {
  const { rows } = await tx.query<RawGroup>({ name: 'groupRow-lock', text: LOCK, values: [topicName, name] });
  return rows[0] ?? null;
}

/** The group's row, locked; with `create`, made with those settings if missing (`created`). Null: no such group. */
async function lockGroup(
  tx: Queryable,
  topicName: string,
  name: string,
  create: GroupSettings | null,
  now: number,
): Promise<{ raw: RawGroup | null; created: boolean }> {
  const locked = await lockRow(tx, topicName, name);
  if (locked !== null || create === null) return { raw: locked, created: false };
  const { rows } = await tx.query<RawGroup>({
    name: 'groupRow-create',
    text: CREATE,
    values: [topicName, name, create.resetPolicy, create.sessionTimeoutMs, now],
  });
  // Nothing inserted: another transaction created it first (and has committed), or the topic is gone.
  if (rows.length === 0) return { raw: await lockRow(tx, topicName, name), created: false };
  // A row this transaction inserted is invisible to others until it commits: it needs no lock.
  return { raw: rows[0], created: true };
}

/** What loadGroup does, also telling whether it created the group; null instead of `group_not_found`. */
async function openGroup(
  tx: Queryable,
  rules: StoreRules,
  topicName: string,
  name: string,
  now: number,
  create: GroupSettings | null,
): Promise<{ group: GroupState; created: boolean } | null> {
  const { raw, created } = await lockGroup(tx, topicName, name, create, now);
  // Read once the lock is held: the transaction it waited for may have seen (and recorded) a newer partition count.
  const topic = await loadTopicRow(tx, topicName);
  if (raw === null) return null;
  const { rows } = await tx.query<ListedMember>({
    name: 'groupRow-members',
    text: MEMBERS,
    values: [raw.id, rules.membersSeenBefore(now, raw.session_timeout_ms)],
  });
  const members = rows.filter((m) => !m.expired).map(toMember);
  let generation = raw.generation;
  if (members.length < rows.length || raw.partitions_seen !== topic.partitions) generation = await startGeneration(tx, raw.id, topic.partitions);
  return { group: toGroupState(rules, raw, topic, generation, members), created };
}

function groupNotFound(topic: string, group: string): StoreError {
  return new StoreError({ code: 'group_not_found', topic, group });
}

/**
 * Loads a group, locked until the transaction ends, and brings it up to date:
 * members past their session timeout are removed, and a change of membership
 * or of the partition count starts a new generation, in which every position
 * goes back to its committed offset (what a new owner of a partition starts
 * from, as in Kafka). `group_not_found`, unless `create` gives the settings
 * to create it with.
 */
export async function loadGroup(
  tx: Queryable,
  rules: StoreRules,
  topicName: string,
  name: string,
  now: number,
  create: GroupSettings | null = null,
): Promise<GroupState> {
  const opened = await openGroup(tx, rules, topicName, name, now, create);
  if (opened === null) throw groupNotFound(topicName, name);
  return opened.group;
}

/** A new generation: positions rewind to the committed offsets. Returns its number. */
export async function startGeneration(tx: Queryable, groupId: number, partitions: number): Promise<number> {
  const { rows } = await tx.query<{ generation: number }>({ name: 'groupRow-rebalance', text: REBALANCE, values: [partitions, groupId] });
  return rows[0].generation;
}

/** Committed offset and position per partition that has them. */
export async function groupOffsets(db: Queryable, groupId: number): Promise<Map<number, GroupOffsets>> {
  const { rows } = await db.query<PartitionGroupOffsets>({ name: 'groupRow-offsets', text: OFFSETS, values: [groupId] });
  return new Map(rows.map((o) => [o.partition, { committed: o.committed, position: o.position }]));
}

/** Start and end offsets of every partition of the group's topic, by partition. */
export async function partitionBounds(db: Queryable, group: GroupState): Promise<Map<number, PartitionInfo>> {
  return new Map((await topicPartitions(db, group.topic.name)).map((p) => [p.partition, p]));
}

/** Makes every given partition's offsets usable (repairOffsets). Returns what was reset, and the group's offsets after. */
export async function usableOffsets(
  tx: Queryable,
  rules: StoreRules,
  group: GroupState,
  partitions: number[],
  info?: Map<number, PartitionInfo>,
): Promise<{ resets: OffsetReset[]; offsets: Map<number, GroupOffsets> }> {
  const bounds = info ?? (await partitionBounds(tx, group));
  const offsets = await groupOffsets(tx, group.id);
  const resets: OffsetReset[] = [];
  const changed: PartitionGroupOffsets[] = [];
  for (const partition of partitions) {
    const repair = repairOffsets(rules, group.resetPolicy, partition, bounds.get(partition) as PartitionInfo, offsets.get(partition));
    if (repair === null) continue;
    if (repair.reset !== null) resets.push(repair.reset);
    offsets.set(partition, repair.offsets);
    changed.push({ partition, ...repair.offsets });
  }
  await setOffsets(tx, group.id, changed);
  return { resets, offsets };
}

/** `usableOffsets`, for a caller that needs only the resets. */
export async function ensureOffsets(
  tx: Queryable,
  rules: StoreRules,
  group: GroupState,
  partitions: number[],
  info?: Map<number, PartitionInfo>,
): Promise<OffsetReset[]> {
  return (await usableOffsets(tx, rules, group, partitions, info)).resets;
}

/**
 * Sets partitions' committed offsets and positions in one statement, making
 * the rows of partitions that have none. A partition named twice gets its
 * last offsets (one statement cannot write a row twice). `movedBy`: the
 * gateway process whose fetch moved the positions (null for commits, seeks
 * and repairs).
 */
export async function setOffsets(tx: Queryable, groupId: number, offsets: PartitionGroupOffsets[], movedBy: string | null = null): Promise<void> {
  const last = [...new Map(offsets.map((o) => [o.partition, o])).values()];
  if (last.length === 0) return;
  await tx.query({
    name: 'groupRow-setOffsets',
    text: SET_OFFSETS,
    values: [groupId, last.map((o) => o.partition), last.map((o) => o.committed), last.map((o) => o.position), movedBy],
  });
}

/** The group as clients see it (describeGroup). */
export async function describe(db: Queryable, rules: StoreRules, group: GroupState): Promise<GroupDescription> {
  return describeGroup(rules, group, await groupOffsets(db, group.id), await topicPartitions(db, group.topic.name));
}

/** A member's heartbeat; `unknown_member` if it is not (or no longer) a member. */
export async function touchMember(tx: Queryable, group: GroupState, memberId: string, now: number): Promise<void> {
  const { rowCount } = await tx.query({
    name: 'groupRow-touchMember',
    text: 'UPDATE group_members SET last_seen = $1 WHERE group_id = $2 AND member_id = $3',
    values: [now, group.id, memberId],
  });
  if (rowCount === 0) throw new StoreError({ code: 'unknown_member', group: group.name, memberId, during: 'heartbeat' });
}

/** operation: joinGroup — a new member starts a new generation; a known one just heartbeats. */
export async function joinGroup(
  tx: Queryable,
  rules: StoreRules,
  topic: string,
  name: string,
  memberId: string,
  now: number,
  defaults: GroupSettings | null,
): Promise<GroupState> {
  const group = await loadGroup(tx, rules, topic, name, now, defaults);
  if (group.members.some((m) => m.memberId === memberId)) {
    await touchMember(tx, group, memberId, now);
    return group;
  }
  await tx.query({
    name: 'groupRow-addMember',
    text: 'INSERT INTO group_members (group_id, member_id, joined_at, last_seen) VALUES ($1, $2, $3, $3)',
    values: [group.id, memberId, now],
  });
  await startGeneration(tx, group.id, group.topic.partitions);
  return loadGroup(tx, rules, topic, name, now);
}

/** operation: leaveGroup — the member's partitions go to the others in a new generation. */
export async function leaveGroup(tx: Queryable, rules: StoreRules, topic: string, name: string, memberId: string, now: number): Promise<void> {
  const group = await loadGroup(tx, rules, topic, name, now);
  const { rowCount } = await tx.query({
    name: 'groupRow-removeMember',
    text: 'DELETE FROM group_members WHERE group_id = $1 AND member_id = $2',
    values: [group.id, memberId],
  });
  if (rowCount === 0) throw new StoreError({ code: 'unknown_member', group: name, memberId, during: 'leave' });
  await startGeneration(tx, group.id, group.topic.partitions);
}

/** operation: deleteGroup — its offsets and members with it. */
export async function deleteGroup(tx: Queryable, rules: StoreRules, topic: string, name: string, now: number): Promise<void> {
  const { id } = await loadGroup(tx, rules, topic, name, now);
  await tx.query({ name: 'groupRow-delete', text: 'DELETE FROM consumer_groups WHERE id = $1', values: [id] });
}

/** operation: putGroup — create with these settings, or change them. */
export async function putGroup(
  tx: Queryable,
  rules: StoreRules,
  topic: string,
  name: string,
  settings: GroupSettings,
  now: number,
): Promise<{ group: GroupDescription; created: boolean }> {
  const opened = await openGroup(tx, rules, topic, name, now, settings);
  // Created and deleted again between this transaction's two looks at it.
  if (opened === null) throw groupNotFound(topic, name);
  if (opened.created) return { group: await describe(tx, rules, opened.group), created: true };
  await tx.query({
    name: 'groupRow-configure',
    text: 'UPDATE consumer_groups SET reset_policy = $1, session_timeout_ms = $2 WHERE id = $3',
    values: [settings.resetPolicy, settings.sessionTimeoutMs, opened.group.id],
  });
  // Loaded again: members expire by the new session timeout too.
  return { group: await describe(tx, rules, await loadGroup(tx, rules, topic, name, now)), created: false };
}

/** operation: listGroups — each group as describeGroup shows it, writing nothing; a group deleted between the page's names and its own look at it is left out. */
export async function listGroups(db: Queryable, rules: StoreRules, topic: string, page: PageRequest, now: number): Promise<Listed<GroupDescription>> {
  const topicRow = await loadTopicRow(db, topic);
  const { rows } = await db.query<{ name: string }>({
    name: 'groupRow-names',
    text: `SELECT name FROM consumer_groups WHERE topic_id = $5 AND ${pageClause('name')}`,
    values: [...pageParameters(page), topicRow.topicId],
  });
  const { items, next } = pageOf(
    rows.map((row) => row.name),
    page,
    (name) => name,
  );
  const groups: GroupDescription[] = [];
  for (const name of items) {
    const viewed = await viewOf(db, rules, topicRow, name, now);
    if (viewed !== null) groups.push(viewed);
  }
  return { items: groups, next };
}

/** A group of `topic` as a read sees it (groupView), locking and writing nothing; null when there is no such group. */
async function viewOf(db: Queryable, rules: StoreRules, topic: TopicRow, name: string, now: number): Promise<GroupDescription | null> {
  const raw = (await db.query<RawGroup>({ name: 'groupRow-row', text: ROW, values: [topic.topicId, name] })).rows[0];
  if (raw === undefined) return null;
  const { rows } = await db.query<RawMember>({ name: 'groupRow-allMembers', text: ALL_MEMBERS, values: [raw.id] });
  return describe(db, rules, groupView(rules, raw, topic, rows, now));
}

/** operation: describeGroup — as a read sees the group: it locks and writes nothing. */
export async function viewGroup(db: Queryable, rules: StoreRules, topicName: string, name: string, now: number): Promise<GroupDescription> {
  const viewed = await viewOf(db, rules, await loadTopicRow(db, topicName), name, now);
  if (viewed === null) throw groupNotFound(topicName, name);
  return viewed;
}
