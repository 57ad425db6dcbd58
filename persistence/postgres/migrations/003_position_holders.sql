-- The gateway processes whose group fetches moved a position past its
-- committed offset since it last met it (a commit, a rebalance or a rewind
-- empties the list). A fetch whose answer a gateway's crash cut off moved a
-- position no client read: the position goes back to the committed offset
-- when that gateway starts again (it keeps its id) or, if it never does,
-- once its presence lease (gateway:<id>) has run out, and no other
-- gateway's positions are disturbed.
ALTER TABLE group_offsets ADD COLUMN moved_by text[] NOT NULL DEFAULT '{}';
