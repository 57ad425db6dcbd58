-- A message moved from one queue to another (to a dead-letter queue, back by
-- a redrive, by a move task) is a new row there that keeps the id the
-- message was produced with, as SQS keeps a MessageId: clients see that id
-- wherever the message goes. NULL: the row's own id (a message never moved).
-- Rows stay unique and never reused, so a receipt (it names a row) given
-- before a move never settles a delivery after it.
ALTER TABLE messages ADD COLUMN original_id INTEGER;
-- A browse page that ends with a moved message goes on after its row.
CREATE INDEX messages_by_original_id ON messages (original_id) WHERE original_id IS NOT NULL;

-- Move tasks run in the background: `running` (moving), `cancelling` (asked
-- to stop, until its next step), and what ends them, `completed`,
-- `cancelled` or `failed` (with `failure`: `message_source_unknown`, a dead
-- letter names no source; `queue_not_found`, its source or the destination
-- is gone). The tasks recorded before ran to completion in their start.
ALTER TABLE move_tasks ADD COLUMN status TEXT NOT NULL DEFAULT 'completed'
  CHECK (status IN ('running', 'cancelling', 'completed', 'cancelled', 'failed'));
ALTER TABLE move_tasks ADD COLUMN failure TEXT;
-- One active task per queue; and every gateway finds the active ones (to run
-- those no other runs) on this index, not by reading every queue's tasks.
CREATE UNIQUE INDEX move_tasks_active ON move_tasks (topic_id) WHERE status IN ('running', 'cancelling');
