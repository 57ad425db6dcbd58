-- Kafka-mode consumer groups of a topic. All their state lives here, so any
-- gateway process can serve any request of any member.

CREATE TABLE consumer_groups (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  topic_id           INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  name               TEXT NOT NULL,
  -- Bumped on every change of membership or partition count: commits carry it (fencing).
  generation         INTEGER NOT NULL DEFAULT 0,
  -- Where a partition without a usable committed offset starts.
  reset_policy       TEXT NOT NULL CHECK (reset_policy IN ('earliest', 'latest')),
  session_timeout_ms INTEGER NOT NULL,
  partitions_seen    INTEGER NOT NULL DEFAULT 0,
  created_at         INTEGER NOT NULL,
  UNIQUE (topic_id, name)
) STRICT;

-- committed: the offset of the next message the group will read (Kafka's meaning).
-- position: where the next fetch reads; back to committed whenever assignment changes.
CREATE TABLE group_offsets (
  group_id  INTEGER NOT NULL REFERENCES consumer_groups (id) ON DELETE CASCADE,
  partition INTEGER NOT NULL,
  committed INTEGER NOT NULL,
  position  INTEGER NOT NULL,
  PRIMARY KEY (group_id, partition)
) STRICT, WITHOUT ROWID;

CREATE TABLE group_members (
  group_id  INTEGER NOT NULL REFERENCES consumer_groups (id) ON DELETE CASCADE,
  member_id TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id)
) STRICT, WITHOUT ROWID;
