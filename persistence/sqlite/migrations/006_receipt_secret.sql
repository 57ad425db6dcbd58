-- The key receipts are signed with (an HMAC over the delivery they name), so
-- that a receipt can be neither guessed nor altered. One row per database,
-- filled with random bytes when the store is first opened: every gateway
-- process over this file signs and checks with the same key, across restarts.
CREATE TABLE receipt_secret (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  secret BLOB NOT NULL CHECK (length(secret) >= 32)
) STRICT;
