-- TimescaleDB: observations becomes a hypertable partitioned by time. The
-- extension creates the (time DESC) index itself; migrate_data moves rows
-- written before the extension was there.

CREATE EXTENSION IF NOT EXISTS timescaledb;
SELECT create_hypertable(
    'observations', 'time',
    chunk_time_interval => INTERVAL '1 day',
    if_not_exists => TRUE,
    migrate_data => TRUE
);
