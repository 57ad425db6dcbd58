import type { Database } from 'better-sqlite3';
import { fetchPartitions, GroupFetchBudget } from '../rows/groupFetch';
import type { GroupOffsets } from '../rows/groupRow';
import type { GroupFetch, GroupFetchOptions, StoreRules } from '../store';
import { ensureOffsets, groupOffsets, loadGroup, setOffsets, touchMember } from './groupRow';
import { readRange } from './readPartition';

/**
 * operation: fetchGroup — a member reads its assigned partitions (a simple
 * consumer, all of them) from the group's positions, each partition getting
 * an even share of `max` first, and the positions move past what was read.
 * Nothing is committed: that is the client's commit.
 */
export function fetchGroup(db: Database, rules: StoreRules, options: GroupFetchOptions): GroupFetch {
  const group = loadGroup(db, rules, options.topic, options.group, options.now, options.defaults);
  const partitions = fetchPartitions(group, options);
  if (options.memberId !== null) touchMember(db, group, options.memberId, options.now);
  const resets = ensureOffsets(db, rules, group, partitions);
  const offsets = groupOffsets(db, group.id);
  const budget = new GroupFetchBudget(options, partitions.length);
  for (const partition of partitions) {
    const limits = budget.next();
    if (limits === null) break;
    const at = offsets.get(partition) as GroupOffsets;
    // ensureOffsets put every position inside the partition's range.
    const position = budget.add(readRange(db, group.topic.topicId, partition, { offset: at.position, ...limits }));
    if (position !== null) setOffsets(db, group.id, partition, at.committed, position);
  }
  return { generation: group.generation, partitions, messages: budget.messages, resets };
}
