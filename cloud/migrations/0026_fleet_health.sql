-- What the edges' health messages say beyond a reader's state and read rates: each
-- reader's clock offset, and the edge's spool (what waits there for the cloud's
-- confirmation). Both optional in the message; null until an edge reports them.
ALTER TABLE readers ADD COLUMN clock_offset_s double precision;
COMMENT ON COLUMN readers.clock_offset_s IS
    'edge clock minus reader clock, seconds, as the edge estimates it (null: not reported)';

ALTER TABLE edges ADD COLUMN spool jsonb;
ALTER TABLE edges ADD COLUMN spool_at timestamptz;
COMMENT ON COLUMN edges.spool IS
    'the edge''s spool by its last health message: {batches, bytes, max_bytes, full, '
    'refused_batches} (null: not reported)';
COMMENT ON COLUMN edges.spool_at IS 'time (the edge''s) of the health message that gave spool';
