-- The queues with the most messages waiting, most first (GET /v1/queues?sort=backlog,
-- the dashboard): a walk down this index, not a sort of every queue. Partial:
-- topics' queue subscriptions are not queues, and are never listed this way.
CREATE INDEX queues_by_backlog ON subscriptions (waiting DESC, topic_id) WHERE name = '$queue';
