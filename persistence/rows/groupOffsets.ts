import { StoreError } from '../errors';
import type { CommitRequest, GroupSettings, OffsetReset, PartitionInfo, PartitionOffset, SeekTarget, StoreRules } from '../store';
import type { GroupOffsets, GroupState, PartitionGroupOffsets } from './groupRow';

type Bounds = Pick<PartitionInfo, 'startOffset' | 'endOffset'>;

/**
 * What makes a partition's offsets usable: a partition the group never read
 * (`current` undefined) starts where the reset policy says, and one whose
 * committed offset fell below the retention start is reset by the policy too
 * (`reset` says so); a position below it goes back to the committed offset.
 * Null: they are usable as they are.
 */
export function repairOffsets(
  rules: StoreRules,
  policy: GroupSettings['resetPolicy'],
  partition: number,
  bounds: Bounds,
  current: GroupOffsets | undefined,
): { offsets: GroupOffsets; reset: OffsetReset | null } | null {
  const start = rules.resetOffset(policy, bounds);
  if (current === undefined) return { offsets: { committed: start, position: start }, reset: { partition, from: null, to: start } };
  if (current.committed < bounds.startOffset) {
    return { offsets: { committed: start, position: start }, reset: { partition, from: current.committed, to: start } };
  }
  if (current.position < bounds.startOffset) return { offsets: { committed: current.committed, position: current.committed }, reset: null };
  return null;
}

function checkRange(topic: string, partition: number, offset: number, endOffset: number | undefined): void {
  if (endOffset === undefined) throw new StoreError({ code: 'partition_not_found', topic, partition });
  if (offset > endOffset) {
    throw new StoreError({ code: 'offset_out_of_range', topic, partition, offset, start: null, end: endOffset });
  }
}

/**
 * The partitions a commit may move. A member's commit is fenced: it must
 * carry the current generation, and may move only its own partitions, so a
 * member that lost its partitions cannot move their offsets. Without a
 * member, every partition, while the group has none.
 */
export function commitPartitions(group: GroupState, request: CommitRequest): number[] {
  if (request.memberId === null) {
    if (group.members.length > 0) {
      // As for a fetch: without a member id, a commit could move the members' offsets under them.
      throw new StoreError({ code: 'group_has_members', group: request.group, during: 'commit' });
    }
    return Array.from({ length: group.topic.partitions }, (_, p) => p);
  }
  if (request.generation !== group.generation) {
    throw new StoreError({ code: 'stale_generation', group: request.group, generation: request.generation, current: group.generation });
  }
  return group.assignment.get(request.memberId) ?? [];
}

/**
 * What a commit commits: the offsets it names, each inside its partition and
 * of `owned`, or without them what the fetches delivered so far (the
 * positions, in `current`). `writes` are the offsets to store: a position
 * never moves back for a commit behind it.
 */
export function commitOffsets(
  group: GroupState,
  request: CommitRequest,
  owned: number[],
  info: Map<number, Bounds>,
  current: Map<number, GroupOffsets>,
): { offsets: PartitionOffset[]; writes: PartitionGroupOffsets[] } {
  const offsets = request.offsets ?? owned.map((partition) => ({ partition, offset: current.get(partition)?.position ?? 0 }));
  for (const { partition, offset } of offsets) {
    checkRange(request.topic, partition, offset, info.get(partition)?.endOffset);
    if (!owned.includes(partition)) {
      throw new StoreError({ code: 'partition_not_assigned', memberId: request.memberId, partition, generation: group.generation });
    }
  }
  const writes = offsets.map(({ partition, offset }) => ({ partition, committed: offset, position: Math.max(current.get(partition)?.position ?? offset, offset) }));
  return { offsets, writes };
}

/** The partitions a seek moves: those it names (each must exist), or all of them (null). */
export function seekPartitions(topic: string, partitions: number[] | null, info: Map<number, Bounds>): number[] {
  const chosen = partitions ?? [...info.keys()];
  for (const partition of chosen) checkRange(topic, partition, 0, info.get(partition)?.endOffset);
  return chosen;
}

/** Where a seek moves a partition: the earliest or latest offset, or an offset (a timestamp's offset a backend finds in its messages). */
export function seekOffset(topic: string, partition: number, target: Exclude<SeekTarget, { to: 'timestamp' }>, bounds: Bounds): number {
  switch (target.to) {
    case 'earliest':
      return bounds.startOffset;
    case 'latest':
      return bounds.endOffset;
    case 'offset':
      checkRange(topic, partition, target.offset, bounds.endOffset);
      return Math.max(target.offset, bounds.startOffset);
  }
}
