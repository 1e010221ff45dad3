-- Each reader's faults and antenna events, as its edge's health messages carry them
-- (an edge repeats an event in a few messages: one row per edge, reader, time, kind and
-- antenna). A plain table (small: a few rows per fault) on PostgreSQL and TimescaleDB
-- alike; the cloud deletes rows older than RFIDWMS_READER_EVENTS_RETENTION_DAYS (by time).

CREATE TABLE reader_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    edge_id    text        NOT NULL,
    reader_id  text        NOT NULL,
    time       timestamptz NOT NULL,
    kind       text        NOT NULL CHECK (kind IN (
        'unreachable', 'refused', 'connection_lost', 'reconnected', 'silent', 'speaking',
        'reader_exception', 'llrp_error', 'antenna_disconnected', 'antenna_connected')),
    antenna    integer     CHECK (antenna BETWEEN 1 AND 65535),
    detail     text        NOT NULL DEFAULT '',
    stored_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX reader_events_once_idx
    ON reader_events (edge_id, reader_id, time, kind, (coalesce(antenna, 0)));
CREATE INDEX reader_events_reader_idx ON reader_events (reader_id, time DESC, id DESC);
CREATE INDEX reader_events_time_idx ON reader_events (time DESC, id DESC);
COMMENT ON TABLE reader_events IS
    'Readers'' faults and antenna events by their edges'' health messages (time: the edge''s clock).';
