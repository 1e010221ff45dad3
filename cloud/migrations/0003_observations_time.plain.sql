-- Plain PostgreSQL: the same table stays a heap; a (time DESC) index serves
-- "latest reads" the way the hypertable's default index does.

CREATE INDEX observations_time_idx ON observations (time DESC);
