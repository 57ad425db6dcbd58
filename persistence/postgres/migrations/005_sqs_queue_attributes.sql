-- Deduplication per message group (SQS's DeduplicationScope): an
-- idempotency key of a queue with 'messageGroup' is remembered with the
-- message's group, so the same key in two groups is two messages.
ALTER TABLE subscriptions ADD COLUMN deduplication_scope text NOT NULL DEFAULT 'queue'
  CHECK (deduplication_scope IN ('queue', 'messageGroup'));
-- Which queues may name this one as their dead-letter queue (SQS's
-- RedriveAllowPolicy), as JSON {"permission", "sourceQueues"}; NULL: any.
-- Text, as SQLite keeps it: both backends read it with one parse.
ALTER TABLE subscriptions ADD COLUMN redrive_allow_policy text;
-- SQS queue attributes kept as they were set and not acted on (Policy, the
-- encryption settings, FifoThroughputLimit), as a JSON object of strings.
ALTER TABLE subscriptions ADD COLUMN sqs_attributes text NOT NULL DEFAULT '{}';

-- A claim made under a receive attempt id (SQS's ReceiveRequestAttemptId):
-- the deliveries it leased (message ids and delivery counts, pair by pair)
-- and the lease end it gave them, so that a retry with the same id through
-- any gateway gives the same messages and receipts while those leases
-- stand. Rows older than the attempt window go when a claim of the same
-- subscription with an attempt id next comes by.
CREATE TABLE receive_attempts (
  subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  attempt_id      text COLLATE "C" NOT NULL,
  received_at     bigint NOT NULL,
  lease_until     bigint NOT NULL,
  message_ids     bigint[] NOT NULL,
  delivery_counts integer[] NOT NULL,
  PRIMARY KEY (subscription_id, attempt_id)
);

CREATE INDEX receive_attempts_by_age ON receive_attempts (subscription_id, received_at);
