import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import type { GroupFetch, GroupFetchOptions, StoreRules, StoredMessage } from '../store';
import { ensureOffsets, groupOffsets, loadGroup, setOffsets, touchMember } from './groupRow';
import { readRange } from './readPartition';

/**
 * operation: fetchGroup — a member reads its assigned partitions (a simple
 * consumer, all of them) from the group's positions, each partition getting
 * an even share of `max` first, and the positions move past what was read.
 * Nothing is committed: that is the client's commit.
 */
export function fetchGroup(db: Database, rules: StoreRules, options: GroupFetchOptions): GroupFetch {
  const { topic, group: name } = options;
  const group = loadGroup(db, rules, topic, name, options.now, options.defaults);
  let partitions: number[];
  if (options.memberId === null) {
    if (group.members.length > 0) {
      throw new StoreError({ code: 'group_has_members', group: name, during: 'fetch' });
    }
    partitions = Array.from({ length: group.topic.partitions }, (_, p) => p);
  } else {
    touchMember(db, group, options.memberId, options.now);
    partitions = group.assignment.get(options.memberId) ?? [];
  }
  const resets = ensureOffsets(db, rules, group, partitions);
  const offsets = groupOffsets(db, group.id);
  const messages: StoredMessage[] = [];
  let bytes = 0;
  const share = Math.max(1, Math.ceil(options.max / Math.max(1, partitions.length)));
  for (const partition of partitions) {
    const max = Math.min(share, options.max - messages.length);
    if (max <= 0 || bytes >= options.maxBytes) break;
    const at = offsets.get(partition) as { committed: number; position: number };
    // ensureOffsets put every position inside the partition's range.
    const read = readRange(db, group.topic.topicId, partition, { offset: at.position, max, maxBytes: options.maxBytes - bytes });
    const last = read.at(-1);
    if (last === undefined) continue;
    messages.push(...read);
    for (const message of read) bytes += message.value.length;
    setOffsets(db, group.id, partition, at.committed, last.offset + 1);
  }
  return { generation: group.generation, partitions, messages, resets };
}
