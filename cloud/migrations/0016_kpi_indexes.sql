-- The KPIs of a period (cloud/db/kpis.py, docs/kpis.md) read orders made or shipped,
-- pallets received, and handheld counts taken within [from, to): index those times so
-- a month's figures do not scan the whole history. (The ledger and alerts have their
-- time indexes already: ledger_entries_time_idx, alerts_raised_idx.)

CREATE INDEX orders_created_idx ON orders (created_at);
CREATE INDEX orders_shipped_idx ON orders (shipped_at) WHERE shipped_at IS NOT NULL;
CREATE INDEX pallets_received_idx ON pallets (received_at) WHERE received_at IS NOT NULL;
CREATE INDEX scans_count_time_idx ON scans (time) WHERE action = 'count';
