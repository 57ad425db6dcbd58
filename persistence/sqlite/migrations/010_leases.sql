-- Work that one gateway process at a time may do (a push subscription's
-- deliveries, the retention sweep), named, with the process that holds it
-- until when. A holder renews before its time is up; once it is up, any
-- process may take it.
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
