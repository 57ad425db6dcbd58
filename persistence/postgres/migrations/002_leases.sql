-- Work that one gateway process at a time may do (a push subscription's
-- deliveries, the retention sweep), named, with the process that holds it
-- until when, in ms by the database's clock: the gateways' clocks never
-- decide who holds what. A holder renews before its time is up; once it is
-- up, any process may take it.
CREATE TABLE leases (
  name       text COLLATE "C" PRIMARY KEY,
  holder     text NOT NULL,
  expires_at bigint NOT NULL
);
