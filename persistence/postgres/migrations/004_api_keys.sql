-- API keys kept in the database (the gateway's keysInStore setting), so that
-- every gateway over it sees a key added or revoked through any of them. One
-- row per key, `entry` exactly as a keys file lists it: the key's hash, never
-- the key itself, and an SQS secret as the file keeps it. The gateway checks
-- the entries as it checks a keys file; the store only keeps them.
CREATE TABLE api_keys (
  id         text COLLATE "C" PRIMARY KEY,
  entry      jsonb NOT NULL,
  created_at bigint NOT NULL
);
