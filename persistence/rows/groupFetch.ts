import { StoreError } from '../errors';
import type { GroupFetchOptions, ReadOptions, StoredMessage } from '../store';
import type { GroupState } from './groupRow';

/** The partitions a fetch reads: a member's assigned ones; a simple consumer's all of them, while the group has no members. */
export function fetchPartitions(group: GroupState, options: Pick<GroupFetchOptions, 'group' | 'memberId'>): number[] {
  if (options.memberId !== null) return group.assignment.get(options.memberId) ?? [];
  if (group.members.length > 0) {
    throw new StoreError({ code: 'group_has_members', group: options.group, during: 'fetch' });
  }
  return Array.from({ length: group.topic.partitions }, (_, p) => p);
}

/**
 * What a group fetch reads, partition after partition in order: each gets an
 * even share of `max` first, and the reads stop once `max` messages or about
 * `maxBytes` (the first message always) are in.
 */
export class GroupFetchBudget {
  readonly messages: StoredMessage[] = [];
  private bytes = 0;
  private readonly share: number;

  constructor(
    private readonly options: Pick<GroupFetchOptions, 'max' | 'maxBytes'>,
    partitions: number,
  ) {
    this.share = Math.max(1, Math.ceil(options.max / Math.max(1, partitions)));
  }

  /** How much the next partition's read may take; null once the fetch is full. */
  next(): Omit<ReadOptions, 'offset'> | null {
    const max = Math.min(this.share, this.options.max - this.messages.length);
    if (max <= 0 || this.bytes >= this.options.maxBytes) return null;
    return { max, maxBytes: this.options.maxBytes - this.bytes };
  }

  /** Takes a partition's read in; the position the partition moves to, or null when it read nothing. */
  add(read: StoredMessage[]): number | null {
    const last = read.at(-1);
    if (last === undefined) return null;
    this.messages.push(...read);
    for (const message of read) this.bytes += message.value.length;
    return last.offset + 1;
  }
}
