-- Alerts: something a person must look at (a mis-shipment, a short receipt, a reader
-- offline ...), with a lifecycle open -> acknowledged -> resolved, by whom and when.
--
-- dedupe_key: while an alert of a key is not resolved, raising the same key again
-- adds to it (raised_count, last_raised_at) instead of opening another one.
-- Every insert and change notifies channel 'rfidwms_alerts' with the alert's id at
-- commit, so every API node can push it to its live pages.

CREATE TABLE alerts (
    id               bigserial   PRIMARY KEY,
    site             text        NOT NULL,
    kind             text        NOT NULL,
    severity         text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    subject          text        NOT NULL,
    message          text        NOT NULL,
    detail           jsonb       NOT NULL DEFAULT '{}',
    cause_kind       text,
    cause_id         text,
    dedupe_key       text        NOT NULL,
    status           text        NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'resolved')),
    raised_at        timestamptz NOT NULL,
    last_raised_at   timestamptz NOT NULL,
    raised_count     integer     NOT NULL DEFAULT 1,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution       text,
    CHECK (status <> 'acknowledged' OR acknowledged_at IS NOT NULL),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX alerts_unresolved_key ON alerts (site, dedupe_key) WHERE status <> 'resolved';
CREATE INDEX alerts_status_kind_idx ON alerts (status, kind, raised_at, id);
CREATE INDEX alerts_raised_idx ON alerts (raised_at, id);
COMMENT ON TABLE alerts IS
    'Alerts with their lifecycle; one unresolved alert per (site, dedupe_key).';
