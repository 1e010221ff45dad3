-- Plain PostgreSQL: observations is not partitioned, so there is no chunk interval
-- to set (the TimescaleDB variant sets 6-hour chunks). Nothing to do.

SELECT 1;
