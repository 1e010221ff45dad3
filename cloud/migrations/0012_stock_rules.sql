-- Stock rules per site and item: a reorder point (low_stock while available is below
-- it), a maximum on hand (overstock above it) and an expiry warning horizon in days
-- (expiry for a lot with stock expiring within it). NULL: no such rule.
-- Read by the stock rules job (cloud/operations/stock_alerts_job.py).

CREATE TABLE stock_rules (
    site                text        NOT NULL,
    sku                 text        NOT NULL CHECK (sku ~ '^[0-9]{14}$'),
    reorder_point       integer     CHECK (reorder_point >= 0),
    max_on_hand         integer     CHECK (max_on_hand >= 1),
    expiry_warning_days integer     CHECK (expiry_warning_days BETWEEN 0 AND 3650),
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (site, sku),
    CHECK (reorder_point IS NULL OR max_on_hand IS NULL OR reorder_point <= max_on_hand)
);
COMMENT ON TABLE stock_rules IS
    'Per site and item (GTIN-14): reorder point, max on hand, expiry warning days.';

-- The alert lifecycle's notes: the acknowledgement's (the resolution's is in
-- alerts.resolution).
ALTER TABLE alerts ADD COLUMN acknowledgement text;
CREATE INDEX alerts_site_status_idx ON alerts (site, status, kind) WHERE status <> 'resolved';
