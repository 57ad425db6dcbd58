-- Deduplication per message group (SQS's DeduplicationScope): an
-- idempotency key of a queue with 'messageGroup' is remembered with the
-- message's group, so the same key in two groups is two messages.
ALTER TABLE subscriptions ADD COLUMN deduplication_scope TEXT NOT NULL DEFAULT 'queue'
  CHECK (deduplication_scope IN ('queue', 'messageGroup'));
-- Which queues may name this one as their dead-letter queue (SQS's
-- RedriveAllowPolicy), as JSON {"permission", "sourceQueues"}; NULL: any.
ALTER TABLE subscriptions ADD COLUMN redrive_allow_policy TEXT;
-- SQS queue attributes kept as they were set and not acted on (Policy, the
-- encryption settings, FifoThroughputLimit), as a JSON object of strings.
ALTER TABLE subscriptions ADD COLUMN sqs_attributes TEXT NOT NULL DEFAULT '{}';

-- A claim made under a receive attempt id (SQS's ReceiveRequestAttemptId):
-- the deliveries it leased (JSON [[message_id, delivery_count], ...]) and the
-- lease end it gave them, so that a retry with the same id through any
-- gateway gives the same messages and receipts while those leases stand.
-- Rows older than the attempt window go when a claim of the same
-- subscription with an attempt id next comes by.
CREATE TABLE receive_attempts (
  subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  attempt_id      TEXT NOT NULL,
  received_at     INTEGER NOT NULL,
  lease_until     INTEGER NOT NULL,
  deliveries      TEXT NOT NULL,
  PRIMARY KEY (subscription_id, attempt_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX receive_attempts_by_age ON receive_attempts (subscription_id, received_at);
