import { PRESENCE_PREFIX } from '../rows/retention';
import type { Queryable } from './connection';
import { DATABASE_NOW } from './leases';

/** A position moved by a gateway process whose presence lease has run out: the process is gone. */
const MOVED_BY_THE_GONE = `EXISTS (SELECT 1 FROM unnest(moved_by) AS h
                                    WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = '${PRESENCE_PREFIX}' || h AND l.expires_at > ${DATABASE_NOW}))`;
/** At a process's start: positions it moved itself before it stopped, those of processes gone, and those no process claims. */
const AT_START = `position <> committed AND (cardinality(moved_by) = 0 OR $1 = ANY(moved_by) OR ${MOVED_BY_THE_GONE})`;
const OF_THE_GONE = `position <> committed AND ${MOVED_BY_THE_GONE}`;

/** As every change of a group's state: its row first, and several in id order, so a fetch or commit running meanwhile waits or is waited for, never deadlocks. */
const lockGroups = (rows: string): string => `SELECT id FROM consumer_groups WHERE id IN (SELECT group_id FROM group_offsets WHERE ${rows}) ORDER BY id FOR UPDATE`;
const rewind = (rows: string): string => `UPDATE group_offsets SET position = committed, moved_by = '{}' WHERE ${rows}`;

const STATEMENTS = {
  lockAtStart: { name: 'rewindPositions-lockAtStart', text: lockGroups(AT_START) },
  rewindAtStart: { name: 'rewindPositions-rewindAtStart', text: rewind(AT_START) },
  lockOfTheGone: { name: 'rewindPositions-lockOfTheGone', text: lockGroups(OF_THE_GONE) },
  rewindOfTheGone: { name: 'rewindPositions-rewindOfTheGone', text: rewind(OF_THE_GONE) },
};

/**
 * operation: rewindPositions — at the start of gateway process `holder`, the
 * positions it moved before it stopped go back to their committed offsets:
 * a position moved by a fetch whose answer a crash may have cut off is not
 * trusted, so a commit without offsets never commits messages no client
 * received. So do the positions of processes gone (rewindPositionsOfTheGone).
 * Positions that live processes moved are theirs, and left alone: their
 * members read on undisturbed.
 */
export async function rewindPositions(tx: Queryable, holder: string): Promise<void> {
  await tx.query({ ...STATEMENTS.lockAtStart, values: [holder] });
  await tx.query({ ...STATEMENTS.rewindAtStart, values: [holder] });
}

/**
 * The sweeper's part: positions moved by gateway processes that are gone
 * (their presence lease, renewed by each of their sweeps, ran out) and never
 * started again go back to their committed offsets. Their members are given
 * again what they were given since their last commit (at least once, as
 * after a rebalance), never less.
 */
export async function rewindPositionsOfTheGone(tx: Queryable): Promise<void> {
  await tx.query(STATEMENTS.lockOfTheGone);
  await tx.query(STATEMENTS.rewindOfTheGone);
}
