-- The site of each door passage, zone event and weight: the site whose topic
-- (rfidwms/v1/<site>/<edge>/events) the edge's batch came under, which ingest checked
-- against that site's layout. The lists filter by it (GET /api/passages?site=...) and
-- the warehouse feed handles an event in its site's context.
--
-- Rows stored before this migration have none (NULL): which site an edge belongs to
-- is configuration (RFIDWMS_SITES and the layouts), not data, so the cloud fills them
-- when it starts (cloud.db.events.fill_sites: the site whose layout has the row's
-- edge, else the default site). The partial indexes find those rows and stay empty
-- once they are filled. None of these tables is a hypertable (only observations is);
-- ADD COLUMN without a default and CREATE INDEX work on one as well.

ALTER TABLE passages ADD COLUMN site text;
ALTER TABLE zone_events ADD COLUMN site text;
ALTER TABLE weights ADD COLUMN site text;

CREATE INDEX passages_site_time_idx ON passages (site, time, id);
CREATE INDEX zone_events_site_time_idx ON zone_events (site, time, id);
CREATE INDEX weights_site_time_idx ON weights (site, time, id);

CREATE INDEX passages_unsited_idx ON passages (edge_id) WHERE site IS NULL;
CREATE INDEX zone_events_unsited_idx ON zone_events (edge_id) WHERE site IS NULL;
CREATE INDEX weights_unsited_idx ON weights (edge_id) WHERE site IS NULL;

COMMENT ON COLUMN passages.site IS
    'The site the edge''s batch came under (its topic); NULL until the cloud fills a row '
    'stored before 0034';
COMMENT ON COLUMN zone_events.site IS
    'The site the edge''s batch came under (its topic); NULL until the cloud fills a row '
    'stored before 0034';
COMMENT ON COLUMN weights.site IS
    'The site the edge''s batch came under (its topic); NULL until the cloud fills a row '
    'stored before 0034';
