-- The counts of migration 008 (waiting, waiting_bytes) are added by each
-- statement that inserts delivery rows, once per produce and subscription
-- (persistence/sqlite/waiting.ts), no longer by a trigger on every row: the
-- trigger's update of the subscription row and of queues_by_backlog cost a
-- third of a delivery's insert. The three inserts (a produce's append, a
-- new subscription's backfill, a redrive to a topic subscription) all count
-- what they added. Deletes keep their trigger (deliveries_count_delete).
DROP TRIGGER deliveries_count_insert;
