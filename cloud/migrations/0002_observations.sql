-- The time series of tag reads: one row per observation of a batch.
-- time is the observation's last_seen.

CREATE TABLE observations (
    time       timestamptz NOT NULL,
    epc        text        NOT NULL,
    reader_id  text        NOT NULL,
    antenna    integer     NOT NULL,
    read_point text        NOT NULL,
    rssi_dbm   real,
    first_seen timestamptz NOT NULL,
    seen_count integer     NOT NULL,
    edge_id    text        NOT NULL,
    seq        bigint      NOT NULL
);
CREATE INDEX observations_epc_time_idx ON observations (epc, time DESC);
