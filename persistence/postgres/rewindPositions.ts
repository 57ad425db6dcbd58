import type { Queryable } from './connection';

const STATEMENTS = {
  // As every change of a group's state: its row first, and several in id order, so a fetch or commit running meanwhile waits or is waited for, never deadlocks.
  lockGroups: {
    name: 'rewindPositions-lockGroups',
    text: `SELECT id FROM consumer_groups WHERE id IN (SELECT group_id FROM group_offsets WHERE position <> committed)
            ORDER BY id FOR UPDATE`,
  },
  rewind: { name: 'rewindPositions-rewind', text: 'UPDATE group_offsets SET position = committed WHERE position <> committed' },
};

/**
 * operation: rewindPositions — at start, every group reads on from its
 * committed offsets. A position moved by a fetch whose answer a crash may
 * have cut off is not trusted, so a commit without offsets never commits
 * messages no client received. With several gateways over one database, the
 * start of one rewinds the groups the others serve too: their members are
 * given again what they were given since their last commit (at least once,
 * as after any rebalance), never less.
 */
export async function rewindPositions(tx: Queryable): Promise<void> {
  await tx.query(STATEMENTS.lockGroups);
  await tx.query(STATEMENTS.rewind);
}
