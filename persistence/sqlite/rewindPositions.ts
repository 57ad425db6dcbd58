import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  rewind: db.prepare('UPDATE group_offsets SET position = committed WHERE position <> committed'),
}));

/**
 * operation: rewindPositions — at start, every group reads on from its
 * committed offsets. A position moved by a fetch whose answer a crash may
 * have cut off is not trusted, so a commit without offsets never commits
 * messages no client received.
 */
export function rewindPositions(db: Database): void {
  statements(db).rewind.run();
}
