-- Quotas: a queue or topic may cap the messages and value bytes it stores;
-- NULL: no cap. Each partition counts its messages beside its bytes, so a
-- produce checks its quota without counting rows.
ALTER TABLE topics ADD COLUMN max_stored_messages INTEGER;
ALTER TABLE topics ADD COLUMN max_stored_bytes INTEGER;
ALTER TABLE partitions ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;

UPDATE partitions
   SET messages = (SELECT count(*) FROM messages m
                    WHERE m.topic_id = partitions.topic_id AND m.partition = partitions.partition);
