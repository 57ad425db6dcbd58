-- Stats without a scan of the backlog: each queue subscription counts the
-- delivery rows it holds (every state: ready, leased, delayed) and their
-- value bytes. Triggers on deliveries keep the counts in the transaction of
-- every insert and delete, whichever path makes it: produce, fan-out of a
-- topic's messages, a new subscription's backfill, ack, dead letter, redrive,
-- purge, retention, and the cascades of a deleted subscription, queue or
-- topic. Stats then count only the rows that are not ready now (in flight or
-- delayed) on deliveries_by_availability; ready is the rest.
--
-- A delivery row carries its message's value bytes, given by the statement
-- that inserts it (which has the message or its value at hand), rather than
-- looked up by the triggers: they then read nothing but the row in hand, no
-- message (for a topic subscription's ack, a read of a message page for its
-- length alone), and the delete's count is right whatever order a path
-- deletes a message and its rows in. A few bytes per row is the price.
--
-- No statement changes a row's subscription or bytes, so UPDATEs need no
-- trigger; none REPLACEs a row (a REPLACE's implicit delete fires no trigger
-- unless recursive_triggers is on).
ALTER TABLE deliveries ADD COLUMN bytes INTEGER;
ALTER TABLE subscriptions ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN waiting_bytes INTEGER NOT NULL DEFAULT 0;

-- A row whose message is already gone counts 0 bytes, so that its delete still balances.
UPDATE deliveries
   SET bytes = COALESCE((SELECT length(m.value) FROM messages m WHERE m.id = deliveries.message_id), 0);

UPDATE subscriptions
   SET waiting       = (SELECT count(*) FROM deliveries d WHERE d.subscription_id = subscriptions.id),
       waiting_bytes = (SELECT COALESCE(sum(d.bytes), 0) FROM deliveries d WHERE d.subscription_id = subscriptions.id);

-- An insert without bytes is refused, not counted wrong. RAISE rather than
-- the NOT NULL of waiting_bytes: a trigger's statements take the conflict
-- clause of the statement that fired it, so under redrive's INSERT OR IGNORE
-- the failing update would be skipped in silence and the row not counted.
CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
BEGIN
  SELECT RAISE(ABORT, 'deliveries.bytes is required') WHERE NEW.bytes IS NULL;
  UPDATE subscriptions SET waiting = waiting + 1, waiting_bytes = waiting_bytes + NEW.bytes
   WHERE id = NEW.subscription_id;
END;

-- SQLite fires this for rows a cascade deletes too (recursive_triggers off),
-- but a cascade only takes the rows of a subscription being deleted, whose
-- row is already gone: the update matches nothing, and no other count moves.
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
BEGIN
  UPDATE subscriptions SET waiting = waiting - 1, waiting_bytes = waiting_bytes - OLD.bytes
   WHERE id = OLD.subscription_id;
END;
