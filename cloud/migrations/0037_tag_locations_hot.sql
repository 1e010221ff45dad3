-- Tag locations are rewritten in place, thousands a second: let PostgreSQL do it with
-- heap-only (HOT) updates, which write no index entry. An update is HOT only when no
-- indexed column changes and the row's page has room for the new version:
--
-- - the index on last_seen, which every refresh of a tag changed, goes; it served one
--   query, the live view's newest tags (read when an API node starts or resyncs), which
--   now scans the table (0.8 s for 1M tags on the loaded 2-core bench machine, once per
--   start or resync; the upserts cost PostgreSQL some 8 µs a tag with the index, 3-4 µs
--   without it and with room on the page);
-- - pages are filled to 70% by inserts, leaving room for updated versions.
--
-- Pages already full keep no room until rewritten (VACUUM FULL, or as rows move).

DROP INDEX IF EXISTS tag_locations_last_seen_idx;
ALTER TABLE tag_locations SET (fillfactor = 70);
