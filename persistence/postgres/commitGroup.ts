import { StoreError } from '../errors';
import type { CommitRequest, GroupRef, PartitionOffset, SeekTarget, StoreRules } from '../store';
import type { Queryable } from './connection';
import { loadGroup, partitionBounds, setOffsets, touchMember, usableOffsets } from './groupRow';
import { offsetForTimestamp } from './offsetForTimestamp';

function checkRange(topic: string, partition: number, offset: number, endOffset: number | undefined): void {
  if (endOffset === undefined) throw new StoreError({ code: 'partition_not_found', topic, partition });
  if (offset > endOffset) {
    throw new StoreError({ code: 'offset_out_of_range', topic, partition, offset, start: null, end: endOffset });
  }
}

/**
 * operation: commitGroup — the Kafka-mode ack. A member's commit is fenced:
 * it must carry the current generation and name only its own partitions, so
 * a member that lost its partitions cannot move their offsets. Without
 * offsets, what the fetches delivered so far (the positions) is committed.
 */
export async function commitGroup(tx: Queryable, rules: StoreRules, request: CommitRequest): Promise<{ generation: number; offsets: PartitionOffset[] }> {
  const { topic, group: name, now } = request;
  const group = await loadGroup(tx, rules, topic, name, now);
  let owned = Array.from({ length: group.topic.partitions }, (_, p) => p);
  if (request.memberId === null && group.members.length > 0) {
    // As for a fetch: without a member id, a commit could move the members' offsets under them.
    throw new StoreError({ code: 'group_has_members', group: name, during: 'commit' });
  }
  if (request.memberId !== null) {
    if (request.generation !== group.generation) {
      throw new StoreError({ code: 'stale_generation', group: name, generation: request.generation, current: group.generation });
    }
    await touchMember(tx, group, request.memberId, now);
    owned = group.assignment.get(request.memberId) ?? [];
  }
  const info = await partitionBounds(tx, group);
  const { offsets: current } = await usableOffsets(tx, rules, group, owned, info);
  const offsets = request.offsets ?? owned.map((partition) => ({ partition, offset: current.get(partition)?.position ?? 0 }));
  for (const { partition, offset } of offsets) {
    checkRange(topic, partition, offset, info.get(partition)?.endOffset);
    if (!owned.includes(partition)) {
      throw new StoreError({ code: 'partition_not_assigned', memberId: request.memberId, partition, generation: group.generation });
    }
  }
  await setOffsets(
    tx,
    group.id,
    offsets.map(({ partition, offset }) => ({ partition, committed: offset, position: Math.max(current.get(partition)?.position ?? offset, offset) })),
  );
  return { generation: group.generation, offsets };
}

/**
 * operation: seekGroup — moves the committed offset and the position of the
 * chosen partitions (all when null) to the earliest or latest offset, an
 * offset, or the first offset at or after a timestamp: a replay.
 */
export async function seekGroup(
  tx: Queryable,
  rules: StoreRules,
  { topic, group: name, target, partitions, now }: GroupRef & { target: SeekTarget; partitions: number[] | null; now: number },
): Promise<PartitionOffset[]> {
  const group = await loadGroup(tx, rules, topic, name, now);
  const info = await partitionBounds(tx, group);
  const chosen = partitions ?? [...info.keys()];
  for (const partition of chosen) checkRange(topic, partition, 0, info.get(partition)?.endOffset);
  await usableOffsets(tx, rules, group, chosen, info);
  const sought: PartitionOffset[] = [];
  for (const partition of chosen) {
    const bounds = info.get(partition) as { startOffset: number; endOffset: number };
    let offset: number;
    switch (target.to) {
      case 'earliest':
        offset = bounds.startOffset;
        break;
      case 'latest':
        offset = bounds.endOffset;
        break;
      case 'offset':
        checkRange(topic, partition, target.offset, bounds.endOffset);
        offset = Math.max(target.offset, bounds.startOffset);
        break;
      case 'timestamp':
        offset = await offsetForTimestamp(tx, topic, partition, target.timestamp);
        break;
    }
    sought.push({ partition, offset });
  }
  await setOffsets(
    tx,
    group.id,
    sought.map(({ partition, offset }) => ({ partition, committed: offset, position: offset })),
  );
  return sought;
}
