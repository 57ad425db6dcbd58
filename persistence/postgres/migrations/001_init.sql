-- The whole schema of the SQLite backend as its migrations 001–009 leave it,
-- in one file: the same tables, columns and indexes under the same names, so
-- that each SQLite module's queries port one by one. What differs, and why:
--
-- * Ids are identities (never reused, like SQLite's AUTOINCREMENT: a receipt
--   of a deleted message can never match a newer one). Times are bigint
--   milliseconds, passed in by the gateway (`now`) as in SQLite; counts and
--   sizes are bigint, small numbers (partitions, deliveries) integer.
-- * `offset` is a reserved word in PostgreSQL: queries write it "offset".
-- * Flags are boolean (leased, paused, content_based_deduplication), not 0/1.
-- * Every text that is ordered or range-compared (names, keys, message
--   groups, member ids) is COLLATE "C": byte order, as SQLite's BINARY
--   compares, whatever the database's locale. Name pages rely on it
--   (`name >= prefix AND name < prefix || U+10FFFF`), and so do FIFO group
--   walks; under a language collation both would skip or repeat names.
-- * JSON stays text: it is only ever read whole and parsed by the gateway,
--   and jsonb would reorder the keys of headers a client gave.
-- * Referencing columns get an index wherever a cascade or a check looks
--   rows up by them (PostgreSQL indexes none by itself): replies_by_queue is
--   the one SQLite did without.

-- A row is a queue or a topic: a retained, partitioned log. A queue is a
-- topic of kind 'queue' with one partition and one queue subscription
-- ('$queue'); its messages are deleted once acked. A topic of kind 'topic'
-- keeps its messages until retention removes them.
CREATE TABLE topics (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text COLLATE "C" NOT NULL UNIQUE,
  kind                text NOT NULL CHECK (kind IN ('queue', 'topic')),
  partitions          integer NOT NULL CHECK (partitions >= 1),
  retention_ms        bigint,              -- NULL: no age limit
  retention_bytes     bigint,              -- per partition; NULL: no size limit
  max_message_bytes   bigint NOT NULL,
  -- Quotas over all partitions; NULL: no cap.
  max_stored_messages bigint,
  max_stored_bytes    bigint,
  -- Messages ever produced (stats).
  produced            bigint NOT NULL DEFAULT 0,
  created_at          bigint NOT NULL,
  updated_at          bigint NOT NULL
);

-- A row is one partition of a topic (a queue has partition 0 only).
-- next_offset is the high watermark; bytes and messages what it stores, so a
-- produce checks its quota without counting rows; timestamps never go
-- backwards within a partition (last_timestamp), so a timestamp lookup is a
-- binary search over offsets. Every append updates its row: none of these
-- columns is indexed, so with room left on the page (fillfactor) the update
-- stays on the page (HOT) and writes no index entry.
CREATE TABLE partitions (
  topic_id       bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  partition      integer NOT NULL,
  next_offset    bigint NOT NULL DEFAULT 0,
  bytes          bigint NOT NULL DEFAULT 0,
  messages       bigint NOT NULL DEFAULT 0,
  last_timestamp bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (topic_id, partition)
) WITH (fillfactor = 50);

-- A row is one message of one partition, at its offset. group_id is its
-- message group (FIFO ordering), copied to its deliveries.
CREATE TABLE messages (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic_id     bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  partition    integer NOT NULL,
  "offset"     bigint NOT NULL,
  timestamp    bigint NOT NULL,
  key          text,
  headers      text NOT NULL,      -- JSON object
  content_type text NOT NULL,
  value        bytea NOT NULL,
  group_id     text COLLATE "C"
);

-- Reads by offset, retention oldest first, offset-for-timestamp's binary search.
CREATE UNIQUE INDEX messages_by_offset ON messages (topic_id, partition, "offset");

-- A row is a queue subscription: independent delivery state over a topic's
-- messages. A queue's own is named '$queue'; a topic's have their own names.
-- waiting and waiting_bytes count its delivery rows (every state: ready,
-- leased, delayed) and their value bytes; the triggers on deliveries below
-- keep them.
CREATE TABLE subscriptions (
  id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic_id                    bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  name                        text COLLATE "C" NOT NULL,
  visibility_timeout_ms       bigint NOT NULL,
  max_deliveries              integer,          -- NULL: unlimited
  dead_letter_topic_id        bigint REFERENCES topics (id),
  delay_ms                    bigint NOT NULL,
  -- FIFO ordering: each message group is delivered in order, one batch of a group leased at a time.
  ordering                    text NOT NULL DEFAULT 'standard' CHECK (ordering IN ('standard', 'fifo')),
  -- A message without an idempotency key is deduplicated by the SHA-256 of its value.
  content_based_deduplication boolean NOT NULL DEFAULT false,
  -- How long a fetch that does not say waits for a message.
  receive_wait_ms             bigint NOT NULL DEFAULT 0,
  acked                       bigint NOT NULL DEFAULT 0,
  dead_lettered               bigint NOT NULL DEFAULT 0,
  waiting                     bigint NOT NULL DEFAULT 0,
  waiting_bytes               bigint NOT NULL DEFAULT 0,
  UNIQUE (topic_id, name)
);

-- Which queues dead-letter into a queue: deleting it is refused while any do.
CREATE INDEX subscriptions_by_dead_letter_topic ON subscriptions (dead_letter_topic_id);

-- The queues with the most messages waiting, most first (GET
-- /v1/queues?sort=backlog, the dashboard): a walk down this index, not a sort
-- of every queue. Partial: topics' queue subscriptions are not queues, and
-- are never listed this way.
CREATE INDEX queues_by_backlog ON subscriptions (waiting DESC, topic_id) WHERE name = '$queue';

-- A row is one message's delivery state in one queue subscription. It is
-- ready when available_at <= now; leased marks a row whose available_at is a
-- lease expiry rather than a delay. bytes is the message's value size, given
-- by the statement that inserts the row, for the counters of subscriptions.
-- No foreign key to messages: a row may briefly outlive its message within a
-- transaction that deletes both.
CREATE TABLE deliveries (
  subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  message_id      bigint NOT NULL,
  available_at    bigint NOT NULL,
  delivery_count  integer NOT NULL DEFAULT 0,
  leased          boolean NOT NULL DEFAULT false,
  group_id        text COLLATE "C",
  -- When the message was first leased; NULL until then.
  first_leased_at bigint,
  -- NOT NULL here where SQLite's trigger had to refuse a NULL: a row without bytes is refused, not counted wrong.
  bytes           bigint NOT NULL,
  PRIMARY KEY (subscription_id, message_id)
);

-- The claim: ready rows of one subscription, oldest first
-- (`available_at <= now ORDER BY available_at, message_id LIMIT n FOR UPDATE SKIP LOCKED`).
-- Stats count the rows not ready now on it too.
CREATE INDEX deliveries_by_availability ON deliveries (subscription_id, available_at, message_id);
-- The FIFO claim's lookups: a group's oldest row (its head), and whether any row of it is leased.
CREATE INDEX deliveries_by_group ON deliveries (subscription_id, group_id, message_id);
CREATE INDEX deliveries_leased_by_group ON deliveries (subscription_id, group_id, available_at) WHERE leased;

-- Stats without a scan of the backlog: subscriptions.waiting and
-- waiting_bytes follow every insert and delete of deliveries, in its
-- transaction, whichever path makes it: produce, fan-out of a topic's
-- messages, a new subscription's backfill, ack, dead letter, redrive, purge,
-- retention, and the cascades of a deleted subscription, queue or topic (the
-- cascade's subscription row is already gone: the update matches nothing).
--
-- Once per statement, over its transition table, rather than once per row:
-- a produce of 100 messages updates its subscription once, not 100 times
-- (each update of a row in PostgreSQL writes a new version of it). The
-- subscriptions are locked in id order first, so that two statements adding
-- to the same subscriptions queue behind each other instead of deadlocking.
--
-- No statement changes a row's subscription or bytes: the third trigger
-- refuses one that would, rather than let the counts drift.
CREATE FUNCTION deliveries_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM subscriptions WHERE id IN (SELECT subscription_id FROM inserted) ORDER BY id FOR NO KEY UPDATE;
  UPDATE subscriptions s
     SET waiting = s.waiting + i.added, waiting_bytes = s.waiting_bytes + i.bytes
    FROM (SELECT subscription_id, count(*) AS added, sum(bytes) AS bytes FROM inserted GROUP BY subscription_id) i
   WHERE s.id = i.subscription_id;
  RETURN NULL;
END
$$;

CREATE FUNCTION deliveries_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM subscriptions WHERE id IN (SELECT subscription_id FROM deleted) ORDER BY id FOR NO KEY UPDATE;
  UPDATE subscriptions s
     SET waiting = s.waiting - d.removed, waiting_bytes = s.waiting_bytes - d.bytes
    FROM (SELECT subscription_id, count(*) AS removed, sum(bytes) AS bytes FROM deleted GROUP BY subscription_id) d
   WHERE s.id = d.subscription_id;
  RETURN NULL;
END
$$;

CREATE FUNCTION deliveries_count_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'deliveries.subscription_id and deliveries.bytes never change: the stats counters count rows by them';
END
$$;

CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION deliveries_count_insert();
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION deliveries_count_delete();
-- Fires only for an UPDATE whose SET names one of the two columns: never on the hot paths.
CREATE TRIGGER deliveries_count_fixed BEFORE UPDATE OF subscription_id, bytes ON deliveries
  FOR EACH ROW EXECUTE FUNCTION deliveries_count_fixed();

-- A row is an idempotency key of a topic and the message it produced. Keys
-- outlive their messages (ack, purge), until the window ends.
CREATE TABLE idempotency_keys (
  topic_id   bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  key        text COLLATE "C" NOT NULL,
  message_id bigint NOT NULL,
  partition  integer NOT NULL,
  "offset"   bigint NOT NULL,
  timestamp  bigint NOT NULL,
  PRIMARY KEY (topic_id, key)
);

-- Retention of keys past the window, oldest first.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (timestamp);

-- A row is a Kafka-mode consumer group of a topic. All its state lives in
-- the store, so any gateway process can serve any request of any member.
CREATE TABLE consumer_groups (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic_id           bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  name               text COLLATE "C" NOT NULL,
  -- Bumped on every change of membership or partition count: commits carry it (fencing).
  generation         integer NOT NULL DEFAULT 0,
  -- Where a partition without a usable committed offset starts.
  reset_policy       text NOT NULL CHECK (reset_policy IN ('earliest', 'latest')),
  session_timeout_ms bigint NOT NULL,
  partitions_seen    integer NOT NULL DEFAULT 0,
  created_at         bigint NOT NULL,
  UNIQUE (topic_id, name)
);

-- A row is a consumer group's offsets in one partition. committed: the
-- offset of the next message the group will read (Kafka's meaning).
-- position: where the next fetch reads; back to committed whenever
-- assignment changes.
CREATE TABLE group_offsets (
  group_id  bigint NOT NULL REFERENCES consumer_groups (id) ON DELETE CASCADE,
  partition integer NOT NULL,
  committed bigint NOT NULL,
  position  bigint NOT NULL,
  PRIMARY KEY (group_id, partition)
);

-- A row is a member of a consumer group, with when it joined and last fetched.
CREATE TABLE group_members (
  group_id  bigint NOT NULL REFERENCES consumer_groups (id) ON DELETE CASCADE,
  member_id text COLLATE "C" NOT NULL,
  joined_at bigint NOT NULL,
  last_seen bigint NOT NULL,
  PRIMARY KEY (group_id, member_id)
);

-- A row is a push subscription: the gateway delivers a source's messages to
-- an HTTP endpoint. The source is a queue subscription (a queue's own or a
-- topic's) or a consumer group; deleting the source deletes the push
-- subscription.
CREATE TABLE push_subscriptions (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                 text COLLATE "C" NOT NULL UNIQUE,
  subscription_id      bigint REFERENCES subscriptions (id) ON DELETE CASCADE,
  group_id             bigint REFERENCES consumer_groups (id) ON DELETE CASCADE,
  -- Kept as a column (not only in settings) so a queue in use cannot be deleted.
  dead_letter_topic_id bigint REFERENCES topics (id),
  -- Target, method, headers, timeout, concurrency, attempts, backoff, ordering (JSON).
  settings             text NOT NULL,
  -- The HMAC key; it signs every delivery, so it is kept as given (never returned by the API).
  secret               text,
  paused               boolean NOT NULL DEFAULT false,
  delivered            bigint NOT NULL DEFAULT 0,
  failures             bigint NOT NULL DEFAULT 0,
  dead_lettered        bigint NOT NULL DEFAULT 0,
  last_success_at      bigint,
  last_error_at        bigint,
  last_error_status    integer,
  last_error           text,
  created_at           bigint NOT NULL,
  updated_at           bigint NOT NULL,
  CHECK ((subscription_id IS NULL) <> (group_id IS NULL))
);

CREATE INDEX push_subscriptions_by_subscription ON push_subscriptions (subscription_id);
CREATE INDEX push_subscriptions_by_group ON push_subscriptions (group_id);
CREATE INDEX push_subscriptions_by_dead_letter_topic ON push_subscriptions (dead_letter_topic_id);

-- A row is one label of a queue (an SQS tag): a free key/value pair for people and tools.
CREATE TABLE queue_tags (
  topic_id bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  key      text COLLATE "C" NOT NULL,
  value    text NOT NULL,
  PRIMARY KEY (topic_id, key)
);

-- A row is a finished dead-letter redrive of a queue, an SQS message move
-- task as ListMessageMoveTasks shows it: kept in the store, so any gateway
-- process can list them (the newest 10 per queue are kept).
CREATE TABLE move_tasks (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic_id       bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  handle         text NOT NULL UNIQUE,
  destination    text,                -- NULL: back to each message's source
  max_per_second integer,
  moved          bigint NOT NULL,
  to_move        bigint NOT NULL,
  started_at     bigint NOT NULL
);

CREATE INDEX move_tasks_by_queue ON move_tasks (topic_id, id);

-- The one row is the key receipts are signed with (an HMAC over the delivery
-- they name), so that a receipt can be neither guessed nor altered. Filled
-- with random bytes when the store is first opened: every gateway process
-- over this database signs and checks with the same key, across restarts.
CREATE TABLE receipt_secret (
  id     integer PRIMARY KEY CHECK (id = 1),
  secret bytea NOT NULL CHECK (length(secret) >= 32)
);

-- A row is a request a caller is waiting on (request–reply). Made with the
-- request's message, in the same transaction; filled by the consumer's reply
-- (status not NULL); read by the waiting caller, then deleted. A reply after
-- the deadline is refused; rows past their deadline are swept.
CREATE TABLE replies (
  correlation_id text PRIMARY KEY,
  queue_id       bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  deadline       bigint NOT NULL,
  status         integer,
  content_type   text,
  headers        text,              -- JSON object
  body           bytea
);

CREATE INDEX replies_by_deadline ON replies (deadline);
-- Deleting a queue deletes its awaited replies: found by this, not by reading them all.
CREATE INDEX replies_by_queue ON replies (queue_id);
