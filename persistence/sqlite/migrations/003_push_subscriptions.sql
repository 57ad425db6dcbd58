-- Push subscriptions: the gateway delivers a source's messages to an HTTP
-- endpoint. The source is a queue subscription (a queue's own or a topic's)
-- or a consumer group; deleting the source deletes the push subscription.

CREATE TABLE push_subscriptions (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  name                 TEXT NOT NULL UNIQUE,
  subscription_id      INTEGER REFERENCES subscriptions (id) ON DELETE CASCADE,
  group_id             INTEGER REFERENCES consumer_groups (id) ON DELETE CASCADE,
  -- Kept as a column (not only in settings) so a queue in use cannot be deleted.
  dead_letter_topic_id INTEGER REFERENCES topics (id),
  -- Target, method, headers, timeout, concurrency, attempts, backoff, ordering (JSON).
  settings             TEXT NOT NULL,
  -- The HMAC key; it signs every delivery, so it is kept as given (never returned by the API).
  secret               TEXT,
  paused               INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  delivered            INTEGER NOT NULL DEFAULT 0,
  failures             INTEGER NOT NULL DEFAULT 0,
  dead_lettered        INTEGER NOT NULL DEFAULT 0,
  last_success_at      INTEGER,
  last_error_at        INTEGER,
  last_error_status    INTEGER,
  last_error           TEXT,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  CHECK ((subscription_id IS NULL) <> (group_id IS NULL))
) STRICT;

CREATE INDEX push_subscriptions_by_subscription ON push_subscriptions (subscription_id);
CREATE INDEX push_subscriptions_by_group ON push_subscriptions (group_id);
CREATE INDEX push_subscriptions_by_dead_letter_topic ON push_subscriptions (dead_letter_topic_id);
