import type { GroupDescription, GroupSettings, PartitionInfo, StoreRules } from '../store';
import type { TopicRow } from './topicRow';

/** A group as the group operations need it, after expired members were removed. */
export interface GroupState extends GroupSettings {
  id: number;
  name: string;
  topic: TopicRow;
  generation: number;
  /** Live members in id order, with joinedAt and lastSeenAt. */
  members: Array<{ memberId: string; joinedAt: number; lastSeenAt: number }>;
  assignment: Map<string, number[]>;
}

/** The columns of a consumer group's SELECT. */
export interface RawGroup {
  id: number;
  name: string;
  generation: number;
  reset_policy: 'earliest' | 'latest';
  session_timeout_ms: number;
  partitions_seen: number;
}

/** The columns of a group member's SELECT. */
export interface RawMember {
  member_id: string;
  joined_at: number;
  last_seen: number;
}

/** A partition's committed offset (the next message the group will read) and position (where its next fetch reads). */
export interface GroupOffsets {
  committed: number;
  position: number;
}

/** Offsets to write for one partition. */
export interface PartitionGroupOffsets extends GroupOffsets {
  partition: number;
}

export function toMember(raw: RawMember): GroupState['members'][number] {
  return { memberId: raw.member_id, joinedAt: raw.joined_at, lastSeenAt: raw.last_seen };
}

/** The group of `raw`, in `generation`, with its live members and the assignor's split of the topic's partitions among them. */
export function toGroupState(
  rules: StoreRules,
  raw: RawGroup,
  topic: TopicRow,
  generation: number,
  members: GroupState['members'],
): GroupState {
  return {
    id: raw.id,
    name: raw.name,
    topic,
    generation,
    resetPolicy: raw.reset_policy,
    sessionTimeoutMs: raw.session_timeout_ms,
    members,
    assignment: rules.assignPartitions(
      members.map((m) => m.memberId),
      topic.partitions,
    ),
  };
}

/**
 * The group as a read shows it, changing nothing: what loading it
 * (loadGroup) would make of it at `now`. Members past their session timeout
 * are left out, and the generation is the one their removal, or a change of
 * the partition count, will start (one more) when the group is next written.
 */
export function groupView(rules: StoreRules, raw: RawGroup, topic: TopicRow, members: RawMember[], now: number): GroupState {
  const cutoff = rules.membersSeenBefore(now, raw.session_timeout_ms);
  const live = members.filter((m) => Number(m.last_seen) > cutoff);
  const behind = live.length < members.length || raw.partitions_seen !== topic.partitions;
  return toGroupState(rules, raw, topic, raw.generation + (behind ? 1 : 0), live.map(toMember));
}

/**
 * The group as clients see it: per partition (of `partitions`, the topic's)
 * committed offset, end offset, lag and owner; members and theirs.
 */
export function describeGroup(rules: StoreRules, group: GroupState, offsets: Map<number, GroupOffsets>, partitions: PartitionInfo[]): GroupDescription {
  const owners = new Map<number, string>();
  for (const [memberId, owned] of group.assignment) for (const p of owned) owners.set(p, memberId);
  return {
    name: group.name,
    topic: group.topic.name,
    generation: group.generation,
    resetPolicy: group.resetPolicy,
    sessionTimeoutMs: group.sessionTimeoutMs,
    partitions: partitions.map((p) => {
      const committed = offsets.get(p.partition)?.committed ?? null;
      const from = committed ?? rules.resetOffset(group.resetPolicy, p);
      return { partition: p.partition, committed, endOffset: p.endOffset, lag: p.endOffset - from, memberId: owners.get(p.partition) ?? null };
    }),
    members: group.members.map((m) => ({ ...m, partitions: group.assignment.get(m.memberId) ?? [] })),
  };
}
