-- API latency with a large site's data stored (bench/bench_api_scale.py: 1M tags,
-- 50k pallets, 60k passages; EXPLAIN (ANALYZE, BUFFERS) on its filled database).

-- GET /api/pallets?zone=: a zone's pallets in (site, SSCC) order, so a page reads its
-- own positions instead of every position of the zone, sorted.
CREATE INDEX stock_positions_location_pallet_idx ON stock_positions (location, site, pallet)
    WHERE pallet <> '' AND qty > 0;

-- GET /api/passages?epc=: the GIN of cases is searched per request; with fastupdate its
-- pending list (up to gin_pending_list_limit, 4 MB: ~500 pages) is read whole by every
-- search until a vacuum merges it, 1-20 ms for an EPC found in 2 passages. Passages come
-- a few a minute: inserting into the index directly costs them little.
ALTER INDEX passages_cases_idx SET (fastupdate = off);

-- GET /api/kpis: the first put-away of each pallet received in the period (dock to stock
-- time) is the first entry of this index for the pallet, read without the heap; and the
-- ship entries of a period (cases shipped, shipping passages) without scanning the ledger.
CREATE INDEX ledger_entries_putaway_idx ON ledger_entries (pallet, site, time)
    WHERE kind = 'putaway' AND qty > 0;
CREATE INDEX ledger_entries_ship_time_idx ON ledger_entries (time) WHERE kind = 'ship';
SELECT gin_clean_pending_list('passages_cases_idx'::regclass);  -- what it holds now
