-- The FIFO claim's group indexes cover only the deliveries of FIFO queues:
-- standard queues (and topics' queue subscriptions) no longer write them on
-- each produce, claim and ack. A FIFO queue's deliveries carry their
-- message's group, and '' for a message without one (no group id is empty),
-- so that all of them are in the indexes; every other delivery carries NULL
-- (rows/appendTarget.ts deliveryGroup). A queue made FIFO later gets its
-- deliveries' groups then (putQueue).
UPDATE deliveries SET group_id = NULL
 WHERE group_id IS NOT NULL AND subscription_id IN (SELECT id FROM subscriptions WHERE ordering <> 'fifo');
UPDATE deliveries SET group_id = ''
 WHERE group_id IS NULL AND subscription_id IN (SELECT id FROM subscriptions WHERE ordering = 'fifo');

DROP INDEX deliveries_by_group;
DROP INDEX deliveries_leased_by_group;
CREATE INDEX deliveries_by_group ON deliveries (subscription_id, group_id, message_id) WHERE group_id IS NOT NULL;
CREATE INDEX deliveries_leased_by_group ON deliveries (subscription_id, group_id, available_at) WHERE leased = 1 AND group_id IS NOT NULL;
