-- FIFO ordering: a queue subscription may deliver each message group in
-- order, with at most one batch of a group leased at a time.
ALTER TABLE subscriptions ADD COLUMN ordering TEXT NOT NULL DEFAULT 'standard' CHECK (ordering IN ('standard', 'fifo'));
-- A message without an idempotency key is deduplicated by the SHA-256 of its value.
ALTER TABLE subscriptions ADD COLUMN content_based_deduplication INTEGER NOT NULL DEFAULT 0
  CHECK (content_based_deduplication IN (0, 1));
-- How long a fetch that does not say waits for a message.
ALTER TABLE subscriptions ADD COLUMN receive_wait_ms INTEGER NOT NULL DEFAULT 0;

-- A message's group; copied to its deliveries, so that the FIFO claim finds
-- the head of a group and its leases on one index.
ALTER TABLE messages ADD COLUMN group_id TEXT;
ALTER TABLE deliveries ADD COLUMN group_id TEXT;
-- When the message was first leased; NULL until then.
ALTER TABLE deliveries ADD COLUMN first_leased_at INTEGER;
-- The FIFO claim's lookups: a group's oldest row, and whether any row of it is leased.
CREATE INDEX deliveries_by_group ON deliveries (subscription_id, group_id, message_id);
CREATE INDEX deliveries_leased_by_group ON deliveries (subscription_id, group_id, available_at) WHERE leased = 1;

-- Labels of a queue (SQS tags): free key/value pairs for people and tools.
CREATE TABLE queue_tags (
  topic_id INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (topic_id, key)
) STRICT, WITHOUT ROWID;

-- Dead-letter redrives run as SQS message move tasks, as ListMessageMoveTasks
-- shows them: kept in the store, so any gateway process can list them.
CREATE TABLE move_tasks (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  topic_id         INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  handle           TEXT NOT NULL UNIQUE,
  destination      TEXT,                  -- NULL: back to each message's source
  max_per_second   INTEGER,
  moved            INTEGER NOT NULL,
  to_move          INTEGER NOT NULL,
  started_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX move_tasks_by_queue ON move_tasks (topic_id, id);
