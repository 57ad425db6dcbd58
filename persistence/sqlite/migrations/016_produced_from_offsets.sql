-- What a queue or topic ever took in is the sum of its partitions' next
-- offsets: offsets are dense, every append moves both by the same count, and
-- nothing else moves either. The counter each append updated besides (a
-- statement of every produce) goes; the reads sum the partitions instead.
ALTER TABLE topics DROP COLUMN produced;
