-- Batches are unique per (edge, spool, seq): an edge that loses its spool starts a
-- new one, with a new id, whose sequence numbers restart at 0. Batches ingested
-- before spools existed keep the spool '' (no new batch has it: a spool id is 32
-- hex digits).

ALTER TABLE ingested_batches ADD COLUMN spool text NOT NULL DEFAULT '';
ALTER TABLE ingested_batches ALTER COLUMN spool DROP DEFAULT;
ALTER TABLE ingested_batches DROP CONSTRAINT ingested_batches_pkey;
ALTER TABLE ingested_batches ADD PRIMARY KEY (edge_id, spool, seq);
COMMENT ON TABLE ingested_batches IS
    'One row per (edge, spool, seq) observation batch ingested; the key makes ingest idempotent.';
COMMENT ON COLUMN ingested_batches.spool IS
    'id of the edge spool that numbered the batch (32 hex digits; '''' before migration 0004)';
