-- The EPCs in a zone, by EPC (GET /api/zones/{zone}/tags): an index on (zone, epc)
-- gives a zone's tags in EPC order, so a page reads its 50 rows instead of every tag of
-- the zone (2.6 s with 1M tags stored, bench/bench_api_scale.py). It serves every
-- lookup by zone the old (zone) index served, which it replaces.

CREATE INDEX tag_places_zone_epc_idx ON tag_places (zone, epc) WHERE zone IS NOT NULL;
DROP INDEX tag_places_zone_idx;
