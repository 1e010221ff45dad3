-- Ingest bookkeeping and current state: what was ingested, where each tag is,
-- how the readers and edges are, and what could not be ingested.

CREATE TABLE ingested_batches (
    edge_id      text        NOT NULL,
    seq          bigint      NOT NULL,
    sent_at      timestamptz NOT NULL,
    observations integer     NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (edge_id, seq)
);
COMMENT ON TABLE ingested_batches IS
    'One row per (edge, seq) observation batch ingested; the key makes ingest idempotent.';

CREATE TABLE tag_locations (
    epc         text        PRIMARY KEY,
    read_point  text        NOT NULL,
    reader_id   text        NOT NULL,
    antenna     integer     NOT NULL,
    edge_id     text        NOT NULL,
    rssi_dbm    real,
    last_seen   timestamptz NOT NULL,
    arrived_at  timestamptz NOT NULL
);
CREATE INDEX tag_locations_last_seen_idx ON tag_locations (last_seen DESC);
COMMENT ON TABLE tag_locations IS
    'Current read point of every EPC: where it was last seen, and since when it is there.';

CREATE TABLE readers (
    reader_id      text        PRIMARY KEY,
    edge_id        text        NOT NULL,
    state          text        NOT NULL,
    reads_per_s    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_report_at timestamptz,
    last_seen      timestamptz NOT NULL
);
COMMENT ON COLUMN readers.reads_per_s IS 'antenna id (text) -> tag reads per second';

CREATE TABLE edges (
    edge_id    text        PRIMARY KEY,
    state      text        NOT NULL CHECK (state IN ('online', 'offline')),
    last_seen  timestamptz NOT NULL,
    changed_at timestamptz NOT NULL
);

CREATE TABLE dead_letters (
    id          bigserial   PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    reason      text        NOT NULL
);
CREATE INDEX dead_letters_received_at_idx ON dead_letters (received_at DESC);
