-- Commands sent to an edge's readers from the API (reconnect, start, stop, set_power)
-- and what the edge answered. A command is stored before it is published; the answer
-- (status ok or error, with the edge's detail) is written by every API node that hears
-- it, once (UPDATE ... WHERE status = 'sent').

CREATE TABLE edge_commands (
    id            text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    site          text        NOT NULL,
    edge_id       text        NOT NULL,
    reader_id     text        NOT NULL,
    command       text        NOT NULL CHECK (command IN ('reconnect', 'start', 'stop', 'set_power')),
    antenna       integer,
    power_dbm     double precision,
    requested_by  text        NOT NULL,
    sent_at       timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'ok', 'error')),
    detail        text,
    answered_at   timestamptz,
    CHECK ((status = 'sent') = (answered_at IS NULL))
);
CREATE INDEX edge_commands_edge_idx ON edge_commands (site, edge_id, sent_at DESC, id);
COMMENT ON TABLE edge_commands IS
    'Commands to edges'' readers and their results, as the edges answered them.';
