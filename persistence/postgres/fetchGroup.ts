import { StoreError } from '../errors';
import type { GroupFetch, GroupFetchOptions, StoreRules, StoredMessage } from '../store';
import type { Queryable } from './connection';
import { type GroupOffsets, loadGroup, type PartitionGroupOffsets, setOffsets, touchMember, usableOffsets } from './groupRow';
import { readRange } from './readPartition';

/**
 * operation: fetchGroup — a member reads its assigned partitions (a simple
 * consumer, all of them) from the group's positions, each partition getting
 * an even share of `max` first, and the positions move past what was read.
 * Nothing is committed: that is the client's commit. The group's lock
 * (loadGroup) keeps two fetches of one group from reading the same positions.
 */
export async function fetchGroup(tx: Queryable, rules: StoreRules, options: GroupFetchOptions): Promise<GroupFetch> {
  const { topic, group: name } = options;
  const group = await loadGroup(tx, rules, topic, name, options.now, options.defaults);
  let partitions: number[];
  if (options.memberId === null) {
    if (group.members.length > 0) {
      throw new StoreError({ code: 'group_has_members', group: name, during: 'fetch' });
    }
    partitions = Array.from({ length: group.topic.partitions }, (_, p) => p);
  } else {
    await touchMember(tx, group, options.memberId, options.now);
    partitions = group.assignment.get(options.memberId) ?? [];
  }
  const { resets, offsets } = await usableOffsets(tx, rules, group, partitions);
  const messages: StoredMessage[] = [];
  const moved: PartitionGroupOffsets[] = [];
  let bytes = 0;
  const share = Math.max(1, Math.ceil(options.max / Math.max(1, partitions.length)));
  for (const partition of partitions) {
    const max = Math.min(share, options.max - messages.length);
    if (max <= 0 || bytes >= options.maxBytes) break;
    const at = offsets.get(partition) as GroupOffsets;
    // usableOffsets put every position inside the partition's range.
    const read = await readRange(tx, group.topic.topicId, partition, { offset: at.position, max, maxBytes: options.maxBytes - bytes });
    const last = read.at(-1);
    if (last === undefined) continue;
    messages.push(...read);
    for (const message of read) bytes += message.value.length;
    moved.push({ partition, committed: at.committed, position: last.offset + 1 });
  }
  await setOffsets(tx, group.id, moved);
  return { generation: group.generation, partitions, messages, resets };
}
