-- The partitioned log and its subscriptions. A queue is a topic of kind
-- 'queue' with one queue subscription; its messages are deleted once acked.
-- A topic of kind 'topic' keeps its messages until retention removes them.

CREATE TABLE topics (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  name              TEXT NOT NULL UNIQUE,
  kind              TEXT NOT NULL CHECK (kind IN ('queue', 'topic')),
  partitions        INTEGER NOT NULL CHECK (partitions >= 1),
  retention_ms      INTEGER,              -- NULL: no age limit
  retention_bytes   INTEGER,              -- per partition; NULL: no size limit
  max_message_bytes INTEGER NOT NULL,
  produced          INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;

-- next_offset is the high watermark; bytes the value bytes stored; timestamps
-- never go backwards within a partition (last_timestamp), so a timestamp
-- lookup is a binary search over offsets.
CREATE TABLE partitions (
  topic_id       INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  partition      INTEGER NOT NULL,
  next_offset    INTEGER NOT NULL DEFAULT 0,
  bytes          INTEGER NOT NULL DEFAULT 0,
  last_timestamp INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (topic_id, partition)
) STRICT, WITHOUT ROWID;

-- AUTOINCREMENT: a message id is never reused, so a receipt of a deleted
-- message can never match a newer one.
CREATE TABLE messages (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  topic_id     INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  partition    INTEGER NOT NULL,
  offset       INTEGER NOT NULL,
  timestamp    INTEGER NOT NULL,
  key          TEXT,
  headers      TEXT NOT NULL,
  content_type TEXT NOT NULL,
  value        BLOB NOT NULL
) STRICT;

CREATE UNIQUE INDEX messages_by_offset ON messages (topic_id, partition, offset);

CREATE TABLE subscriptions (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  topic_id              INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  name                  TEXT NOT NULL,
  visibility_timeout_ms INTEGER NOT NULL,
  max_deliveries        INTEGER,
  dead_letter_topic_id  INTEGER REFERENCES topics (id),
  delay_ms              INTEGER NOT NULL,
  acked                 INTEGER NOT NULL DEFAULT 0,
  dead_lettered         INTEGER NOT NULL DEFAULT 0,
  UNIQUE (topic_id, name)
) STRICT;

CREATE INDEX subscriptions_by_dead_letter_topic ON subscriptions (dead_letter_topic_id);

-- Per-message lease state of a queue subscription. A row is ready when
-- available_at <= now; leased = 1 marks a row whose available_at is a lease
-- expiry rather than a delay.
CREATE TABLE deliveries (
  subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  message_id      INTEGER NOT NULL,
  available_at    INTEGER NOT NULL,
  delivery_count  INTEGER NOT NULL DEFAULT 0,
  leased          INTEGER NOT NULL DEFAULT 0 CHECK (leased IN (0, 1)),
  PRIMARY KEY (subscription_id, message_id)
) STRICT, WITHOUT ROWID;

-- Matches the claim query exactly: ready rows of one subscription, oldest first.
CREATE INDEX deliveries_by_availability ON deliveries (subscription_id, available_at, message_id);

-- Idempotency keys outlive their messages (ack, purge), until the window ends.
CREATE TABLE idempotency_keys (
  topic_id   INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  partition  INTEGER NOT NULL,
  offset     INTEGER NOT NULL,
  timestamp  INTEGER NOT NULL,
  PRIMARY KEY (topic_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (timestamp);
