import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import { repairOffsets } from '../rows/groupOffsets';
import { describeGroup, type GroupOffsets, type GroupState, groupView, type PartitionGroupOffsets, type RawGroup, type RawMember, toGroupState, toMember } from '../rows/groupRow';
import { pageOf } from '../rows/page';
import type { TopicRow } from '../rows/topicRow';
import type { GroupDescription, GroupSettings, Listed, OffsetReset, PageRequest, PartitionInfo, StoreRules } from '../store';
import { type PageParameters, pageClause, pageParameters } from './page';
import { prepared } from './prepared';
import { topicPartitions } from './topicPartitions';
import { loadTopicRow } from './topicRow';

const statements = prepared((db) => ({
  group: db.prepare<[number, string], RawGroup>(
    `SELECT id, name, generation, reset_policy, session_timeout_ms, partitions_seen
       FROM consumer_groups WHERE topic_id = ? AND name = ?`,
  ),
  names: db.prepare<[number, PageParameters]>(`SELECT name FROM consumer_groups WHERE topic_id = ? AND ${pageClause('name')}`).pluck(),
  insert: db.prepare<[number, string, string, number, number]>(
    `INSERT INTO consumer_groups (topic_id, name, reset_policy, session_timeout_ms, created_at) VALUES (?, ?, ?, ?, ?)`,
  ),
  configure: db.prepare<[string, number, number]>('UPDATE consumer_groups SET reset_policy = ?, session_timeout_ms = ? WHERE id = ?'),
  expire: db.prepare<[number, number]>('DELETE FROM group_members WHERE group_id = ? AND last_seen <= ?'),
  members: db.prepare<[number], RawMember>(
    'SELECT member_id, joined_at, last_seen FROM group_members WHERE group_id = ? ORDER BY member_id',
  ),
  rebalance: db.prepare<[number, number]>(
    'UPDATE consumer_groups SET generation = generation + 1, partitions_seen = ? WHERE id = ?',
  ),
  generation: db.prepare<[number]>('SELECT generation FROM consumer_groups WHERE id = ?').pluck(),
  rewind: db.prepare<[number]>('UPDATE group_offsets SET position = committed WHERE group_id = ?'),
  addMember: db.prepare<[number, string, number, number]>(
    'INSERT INTO group_members (group_id, member_id, joined_at, last_seen) VALUES (?, ?, ?, ?)',
  ),
  touchMember: db.prepare<[number, number, string]>('UPDATE group_members SET last_seen = ? WHERE group_id = ? AND member_id = ?'),
  removeMember: db.prepare<[number, string]>('DELETE FROM group_members WHERE group_id = ? AND member_id = ?'),
  deleteGroup: db.prepare<[number]>('DELETE FROM consumer_groups WHERE id = ?'),
  offsets: db.prepare<[number], PartitionGroupOffsets>('SELECT partition, committed, position FROM group_offsets WHERE group_id = ?'),
  insertOffset: db.prepare<[number, number, number, number]>(
    'INSERT INTO group_offsets (group_id, partition, committed, position) VALUES (?, ?, ?, ?)',
  ),
  setOffset: db.prepare<[number, number, number, number]>(
    'UPDATE group_offsets SET committed = ?, position = ? WHERE group_id = ? AND partition = ?',
  ),
}));

/** The group, or `group_not_found`; or, with `create`, the group created with those settings. */
function rawGroup(db: Database, topic: TopicRow, name: string, create: GroupSettings | null, now: number): RawGroup {
  const s = statements(db);
  let raw = s.group.get(topic.topicId, name);
  if (raw === undefined && create !== null) {
    s.insert.run(topic.topicId, name, create.resetPolicy, create.sessionTimeoutMs, now);
    raw = s.group.get(topic.topicId, name);
  }
  if (raw === undefined) throw new StoreError({ code: 'group_not_found', topic: topic.name, group: name });
  return raw;
}

/**
 * Loads a group and brings it up to date: members past their session timeout
 * are removed, and a change of membership or of the partition count starts a
 * new generation, in which every position goes back to its committed offset
 * (what a new owner of a partition starts from, as in Kafka).
 */
export function loadGroup(
  db: Database,
  rules: StoreRules,
  topicName: string,
  name: string,
  now: number,
  create: GroupSettings | null = null,
): GroupState {
  const s = statements(db);
  const topic = loadTopicRow(db, topicName);
  const raw = rawGroup(db, topic, name, create, now);
  const expired = s.expire.run(raw.id, rules.membersSeenBefore(now, raw.session_timeout_ms)).changes;
  let generation = raw.generation;
  if (expired > 0 || raw.partitions_seen !== topic.partitions) generation = startGeneration(db, raw.id, topic.partitions);
  return toGroupState(rules, raw, topic, generation, s.members.all(raw.id).map(toMember));
}

/** A new generation: positions rewind to the committed offsets. Returns its number. */
export function startGeneration(db: Database, groupId: number, partitions: number): number {
  const s = statements(db);
  s.rebalance.run(partitions, groupId);
  s.rewind.run(groupId);
  return s.generation.get(groupId) as number;
}

function configureGroup(db: Database, groupId: number, settings: GroupSettings): void {
  statements(db).configure.run(settings.resetPolicy, settings.sessionTimeoutMs, groupId);
}

/** Committed offset and position per partition that has them. */
export function groupOffsets(db: Database, groupId: number): Map<number, GroupOffsets> {
  return new Map(statements(db).offsets.all(groupId).map((o) => [o.partition, { committed: o.committed, position: o.position }]));
}

/** Start and end offsets of every partition of the group's topic, by partition. */
export function partitionBounds(db: Database, group: GroupState): Map<number, PartitionInfo> {
  return new Map(topicPartitions(db, group.topic.name).map((p) => [p.partition, p]));
}

/** Makes every given partition's offsets usable (repairOffsets). Returns what was reset. */
export function ensureOffsets(
  db: Database,
  rules: StoreRules,
  group: GroupState,
  partitions: number[],
  info: Map<number, PartitionInfo> = partitionBounds(db, group),
): OffsetReset[] {
  const s = statements(db);
  const current = groupOffsets(db, group.id);
  const resets: OffsetReset[] = [];
  for (const partition of partitions) {
    const offsets = current.get(partition);
    const repair = repairOffsets(rules, group.resetPolicy, partition, info.get(partition) as PartitionInfo, offsets);
    if (repair === null) continue;
    const { committed, position } = repair.offsets;
    if (offsets === undefined) s.insertOffset.run(group.id, partition, committed, position);
    else s.setOffset.run(committed, position, group.id, partition);
    if (repair.reset !== null) resets.push(repair.reset);
  }
  return resets;
}

/** Sets a partition's committed offset and position (the row must exist). */
export function setOffsets(db: Database, groupId: number, partition: number, committed: number, position: number): void {
  statements(db).setOffset.run(committed, position, groupId, partition);
}

/** The group as clients see it (describeGroup). */
export function describe(db: Database, rules: StoreRules, group: GroupState): GroupDescription {
  return describeGroup(rules, group, groupOffsets(db, group.id), topicPartitions(db, group.topic.name));
}

/** A member's heartbeat; `unknown_member` if it is not (or no longer) a member. */
export function touchMember(db: Database, group: GroupState, memberId: string, now: number): void {
  if (statements(db).touchMember.run(now, group.id, memberId).changes === 0) {
    throw new StoreError({ code: 'unknown_member', group: group.name, memberId, during: 'heartbeat' });
  }
}

/** operation: joinGroup — a new member starts a new generation; a known one just heartbeats. */
export function joinGroup(db: Database, rules: StoreRules, topic: string, name: string, memberId: string, now: number, defaults: GroupSettings | null): GroupState {
  const group = loadGroup(db, rules, topic, name, now, defaults);
  if (group.members.some((m) => m.memberId === memberId)) {
    touchMember(db, group, memberId, now);
    return group;
  }
  statements(db).addMember.run(group.id, memberId, now, now);
  startGeneration(db, group.id, group.topic.partitions);
  return loadGroup(db, rules, topic, name, now);
}

/** operation: leaveGroup — the member's partitions go to the others in a new generation. */
export function leaveGroup(db: Database, rules: StoreRules, topic: string, name: string, memberId: string, now: number): void {
  const group = loadGroup(db, rules, topic, name, now);
  if (statements(db).removeMember.run(group.id, memberId).changes === 0) {
    throw new StoreError({ code: 'unknown_member', group: name, memberId, during: 'leave' });
  }
  startGeneration(db, group.id, group.topic.partitions);
}

/** operation: deleteGroup — its offsets and members with it. */
export function deleteGroup(db: Database, rules: StoreRules, topic: string, name: string, now: number): void {
  statements(db).deleteGroup.run(loadGroup(db, rules, topic, name, now).id);
}

/** operation: putGroup — create with these settings, or change them. */
export function putGroup(
  db: Database,
  rules: StoreRules,
  topic: string,
  name: string,
  settings: GroupSettings,
  now: number,
): { group: GroupDescription; created: boolean } {
  const existed = statements(db).group.get(loadTopicRow(db, topic).topicId, name) !== undefined;
  const group = loadGroup(db, rules, topic, name, now, settings);
  if (existed) configureGroup(db, group.id, settings);
  return { group: describe(db, rules, loadGroup(db, rules, topic, name, now)), created: !existed };
}

/** A group of `topic` as a read sees it (groupView): it writes nothing. */
function view(db: Database, rules: StoreRules, topic: TopicRow, name: string, now: number): GroupDescription {
  const raw = rawGroup(db, topic, name, null, now);
  return describe(db, rules, groupView(rules, raw, topic, statements(db).members.all(raw.id), now));
}

/** operation: describeGroup — as a read sees the group (groupView): it writes nothing. */
export function viewGroup(db: Database, rules: StoreRules, topicName: string, name: string, now: number): GroupDescription {
  return view(db, rules, loadTopicRow(db, topicName), name, now);
}

/** operation: listGroups — each group as describeGroup shows it; writes nothing (a /metrics scrape lists them). */
export function listGroups(db: Database, rules: StoreRules, topicName: string, page: PageRequest, now: number): Listed<GroupDescription> {
  const topic = loadTopicRow(db, topicName);
  const names = statements(db).names.all(topic.topicId, pageParameters(page)) as string[];
  const { items, next } = pageOf(names, page, (name) => name);
  return { items: items.map((name) => view(db, rules, topic, name, now)), next };
}
