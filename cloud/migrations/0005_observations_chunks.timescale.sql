-- TimescaleDB: 6-hour chunks for observations (new chunks only; existing ones keep
-- their size). A database whose observations stayed a plain table (0003 ran as its
-- plain variant before the extension was there) has no hypertable to change.

DO $$
BEGIN
    IF to_regclass('timescaledb_information.hypertables') IS NOT NULL THEN
        IF EXISTS (
            SELECT 1 FROM timescaledb_information.hypertables
            WHERE hypertable_schema = current_schema() AND hypertable_name = 'observations'
        ) THEN
            PERFORM set_chunk_time_interval('observations', INTERVAL '6 hours');
        END IF;
    END IF;
END
$$;
