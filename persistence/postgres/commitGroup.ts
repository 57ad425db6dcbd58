import { commitOffsets, commitPartitions, seekOffset, seekPartitions } from '../rows/groupOffsets';
import type { CommitRequest, GroupRef, PartitionOffset, SeekTarget, StoreRules } from '../store';
import type { Queryable } from './connection';
import { loadGroup, partitionBounds, setOffsets, touchMember, usableOffsets } from './groupRow';
import { offsetForTimestamp } from './offsetForTimestamp';

/**
 * operation: commitGroup — the Kafka-mode ack. A member's commit is fenced:
 * it must carry the current generation and name only its own partitions, so
 * a member that lost its partitions cannot move their offsets. Without
 * offsets, what the fetches delivered so far (the positions) is committed.
 */
export async function commitGroup(tx: Queryable, rules: StoreRules, request: CommitRequest): Promise<{ generation: number; offsets: PartitionOffset[] }> {
  const group = await loadGroup(tx, rules, request.topic, request.group, request.now);
  const owned = commitPartitions(group, request);
  if (request.memberId !== null) await touchMember(tx, group, request.memberId, request.now);
  const info = await partitionBounds(tx, group);
  const { offsets: current } = await usableOffsets(tx, rules, group, owned, info);
  const { offsets, writes } = commitOffsets(group, request, owned, info, current);
  await setOffsets(tx, group.id, writes);
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
  const chosen = seekPartitions(topic, partitions, info);
  await usableOffsets(tx, rules, group, chosen, info);
  const sought: PartitionOffset[] = [];
  for (const partition of chosen) {
    const bounds = info.get(partition) as { startOffset: number; endOffset: number };
    const offset =
      target.to === 'timestamp'
        ? await offsetForTimestamp(tx, topic, partition, target.timestamp)
        : seekOffset(topic, partition, target, bounds);
    sought.push({ partition, offset });
  }
  await setOffsets(
    tx,
    group.id,
    sought.map(({ partition, offset }) => ({ partition, committed: offset, position: offset })),
  );
  return sought;
}
