import type { Database } from 'better-sqlite3';
import { commitOffsets, commitPartitions, seekOffset, seekPartitions } from '../rows/groupOffsets';
import type { CommitRequest, GroupRef, PartitionOffset, SeekTarget, StoreRules } from '../store';
import { ensureOffsets, groupOffsets, loadGroup, partitionBounds, setOffsets, touchMember } from './groupRow';
import { offsetForTimestamp } from './offsetForTimestamp';

/**
 * operation: commitGroup — the Kafka-mode ack. A member's commit is fenced:
 * it must carry the current generation and name only its own partitions, so
 * a member that lost its partitions cannot move their offsets. Without
 * offsets, what the fetches delivered so far (the positions) is committed.
 */
export function commitGroup(db: Database, rules: StoreRules, request: CommitRequest): { generation: number; offsets: PartitionOffset[] } {
  const group = loadGroup(db, rules, request.topic, request.group, request.now);
  const owned = commitPartitions(group, request);
  if (request.memberId !== null) touchMember(db, group, request.memberId, request.now);
  const info = partitionBounds(db, group);
  ensureOffsets(db, rules, group, owned, info);
  const { offsets, writes } = commitOffsets(group, request, owned, info, groupOffsets(db, group.id));
  for (const { partition, committed, position } of writes) setOffsets(db, group.id, partition, committed, position);
  return { generation: group.generation, offsets };
}

/**
 * operation: seekGroup — moves the committed offset and the position of the
 * chosen partitions (all when null) to the earliest or latest offset, an
 * offset, or the first offset at or after a timestamp: a replay.
 */
export function seekGroup(
  db: Database,
  rules: StoreRules,
  { topic, group: name, target, partitions, now }: GroupRef & { target: SeekTarget; partitions: number[] | null; now: number },
): PartitionOffset[] {
  const group = loadGroup(db, rules, topic, name, now);
  const info = partitionBounds(db, group);
  const chosen = seekPartitions(topic, partitions, info);
  ensureOffsets(db, rules, group, chosen, info);
  return chosen.map((partition) => {
    const bounds = info.get(partition) as { startOffset: number; endOffset: number };
    const offset =
      target.to === 'timestamp' ? offsetForTimestamp(db, topic, partition, target.timestamp) : seekOffset(topic, partition, target, bounds);
    setOffsets(db, group.id, partition, offset, offset);
    return { partition, offset };
  });
}
