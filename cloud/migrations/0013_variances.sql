-- Count variances: where the zone readers and the book disagreed for longer than
-- RFIDWMS_VARIANCE_AFTER_S (the cycle count job, cloud/operations/variances_job.py).
--
-- kind: missing (booked in zone, heard nowhere), unexpected (heard in zone, booked
-- nowhere), wrong_zone (booked in book_zone, heard in heard_zone). status: open until
-- an operator approves (the adjustment is posted to the ledger, cause count:<id>) or
-- rejects it, or the disagreement ends by itself (cleared, by system).
-- One open variance per pallet EPC and site.

CREATE TABLE count_variances (
    id           bigserial   PRIMARY KEY,
    site         text        NOT NULL,
    zone         text        NOT NULL,
    epc          text        NOT NULL,
    pallet       text,
    kind         text        NOT NULL CHECK (kind IN ('missing', 'unexpected', 'wrong_zone')),
    status       text        NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'approved', 'rejected', 'cleared')),
    book_zone    text,
    heard_zone   text,
    opened_at    timestamptz NOT NULL,
    resolved_at  timestamptz,
    resolved_by  text,
    note         text,
    postings     bigint[]    NOT NULL DEFAULT '{}',
    CHECK ((status = 'open') = (resolved_at IS NULL))
);
CREATE UNIQUE INDEX count_variances_open_epc ON count_variances (site, epc) WHERE status = 'open';
CREATE INDEX count_variances_site_status_idx ON count_variances (site, status, id);
COMMENT ON TABLE count_variances IS
    'Automatic cycle count variances (readers against the book), open until approved, '
    'rejected or cleared; postings: the ledger postings an approval made.';
