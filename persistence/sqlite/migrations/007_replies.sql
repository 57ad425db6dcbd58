-- Request–reply: one row per request a caller is waiting on. Made with the
-- request's message, in the same transaction; filled by the consumer's reply
-- (status not NULL); read by the waiting caller, then deleted. A reply after
-- the deadline is refused; rows past their deadline are swept.
CREATE TABLE replies (
  correlation_id TEXT PRIMARY KEY,
  queue_id       INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
  deadline       INTEGER NOT NULL,
  status         INTEGER,
  content_type   TEXT,
  headers        TEXT,
  body           BLOB
) STRICT;
CREATE INDEX replies_by_deadline ON replies (deadline);
