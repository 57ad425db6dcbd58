import { fetchPartitions, GroupFetchBudget } from '../rows/groupFetch';
import type { GroupOffsets, PartitionGroupOffsets } from '../rows/groupRow';
import type { GroupFetch, GroupFetchOptions, StoreRules } from '../store';
import type { Queryable } from './connection';
import { loadGroup, setOffsets, touchMember, usableOffsets } from './groupRow';
import { readRange } from './readPartition';

/**
 * operation: fetchGroup — a member reads its assigned partitions (a simple
 * consumer, all of them) from the group's positions, each partition getting
 * an even share of `max` first, and the positions move past what was read.
 * Nothing is committed: that is the client's commit. The group's lock
 * (loadGroup) keeps two fetches of one group from reading the same positions.
 * The positions remember `holder`, the gateway process that moved them
 * (rewindPositions).
 */
export async function fetchGroup(tx: Queryable, rules: StoreRules, options: GroupFetchOptions, holder: string): Promise<GroupFetch> {
  const group = await loadGroup(tx, rules, options.topic, options.group, options.now, options.defaults);
  const partitions = fetchPartitions(group, options);
  if (options.memberId !== null) await touchMember(tx, group, options.memberId, options.now);
  const { resets, offsets } = await usableOffsets(tx, rules, group, partitions);
  const budget = new GroupFetchBudget(options, partitions.length);
  const moved: PartitionGroupOffsets[] = [];
  for (const partition of partitions) {
    const limits = budget.next();
    if (limits === null) break;
    const at = offsets.get(partition) as GroupOffsets;
    // usableOffsets put every position inside the partition's range.
    const position = budget.add(await readRange(tx, group.topic.topicId, partition, { offset: at.position, ...limits }));
    if (position !== null) moved.push({ partition, committed: at.committed, position });
  }
  await setOffsets(tx, group.id, moved, holder);
  return { generation: group.generation, partitions, messages: budget.messages, resets };
}
