-- Hardening: dead letters are bounded and counted once, a batch remembers its content.
--
-- dead_letters.payload holds a payload up to the message size limit whole, and only
-- the first 64 KiB of anything larger (payload_bytes keeps the size, payload_sha256
-- the digest of all of it). A retained message that is a dead letter is stored once,
-- not again on every reconnect of the ingester: dedup_key (SHA-256 of topic and
-- payload) is set for retained dead letters only and unique.
-- ingested_batches.digest is the SHA-256 of the batch as received: the same
-- (edge, spool, seq) again with other content is a broken edge, kept as a dead letter.

ALTER TABLE dead_letters
    ADD COLUMN payload_bytes  integer,
    ADD COLUMN payload_sha256 bytea,
    ADD COLUMN retained       boolean NOT NULL DEFAULT false,
    ADD COLUMN dedup_key      bytea;
UPDATE dead_letters SET payload_bytes = length(payload), payload_sha256 = sha256(payload);
ALTER TABLE dead_letters ALTER COLUMN payload_bytes SET NOT NULL;
ALTER TABLE dead_letters ALTER COLUMN payload_sha256 SET NOT NULL;
CREATE UNIQUE INDEX dead_letters_dedup_key_idx ON dead_letters (dedup_key);
COMMENT ON COLUMN dead_letters.payload IS
    'the payload as received; only its first 64 KiB when it was larger than the message size limit';
COMMENT ON COLUMN dead_letters.dedup_key IS
    'SHA-256 of topic, NUL and payload for a retained message (stored once); NULL otherwise';

ALTER TABLE ingested_batches ADD COLUMN digest bytea;
COMMENT ON COLUMN ingested_batches.digest IS
    'SHA-256 of the batch payload as received (NULL for batches before migration 0006)';
