-- Goods and stock (issue 7): the item master, lots, advance ship notices, pallets and
-- their cases, the stock ledger and its positions, handheld scans, and the warehouse
-- feed's cursor and failures. The rules are in cloud/warehouse/ (pure); the SQL in
-- cloud/db/stock.py and cloud/db/goods.py; docs/warehouse.md tells the whole story.
--
-- A pallet is known by its SSCC (18 digits) at a site; its SSCC-96 EPC (hex) is kept
-- beside it once known (a notice may give only the SSCC: the EPC then comes with the
-- first passage). The ledger and the positions name a pallet by its SSCC, as the pure
-- ledger does (cloud.warehouse.ledger.Position.pallet).
--
-- Text keys of stock_positions are COLLATE "C": the primary key orders positions the
-- way cloud.warehouse.ledger.Position.sort_key does (code points), and post() locks
-- them in that order, so two postings never deadlock on each other's rows.

CREATE TABLE items (
    sku              text        PRIMARY KEY CHECK (sku ~ '^[0-9]{14}$'),
    name             text        NOT NULL CHECK (name <> ''),
    case_weight_kg   double precision NOT NULL CHECK (case_weight_kg > 0),
    shelf_life_days  integer     CHECK (shelf_life_days > 0),
    pallet_tare_kg   double precision NOT NULL DEFAULT 25 CHECK (pallet_tare_kg >= 0),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
COMMENT ON TABLE items IS 'The item master: one row per GTIN-14; quantities are in cases.';

CREATE TABLE lots (
    sku         text        NOT NULL REFERENCES items (sku),
    lot         text        NOT NULL CHECK (lot <> ''),
    expiry      date,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (sku, lot)
);
COMMENT ON TABLE lots IS 'Batches of an item, with their expiry (null: does not expire).';

CREATE TABLE asns (
    id                text        PRIMARY KEY,
    site              text        NOT NULL,
    supplier          text        NOT NULL,
    expected_at       timestamptz NOT NULL,
    door              text,
    created_at        timestamptz NOT NULL,
    short_checked_at  timestamptz
);
CREATE INDEX asns_site_expected_idx ON asns (site, expected_at);
COMMENT ON TABLE asns IS 'Advance ship notices: pallets announced before a truck comes.';
COMMENT ON COLUMN asns.short_checked_at IS
    'When the feed looked for its pallets not come by expected_at + grace (alerted once).';

CREATE TABLE pallets (
    site              text        NOT NULL,
    sscc              text        NOT NULL CHECK (sscc ~ '^[0-9]{18}$'),
    epc               text        CHECK (epc ~ '^31[0-9A-F]{22}$'),
    sku               text,
    lot               text,
    expiry            date,
    asn               text        REFERENCES asns (id),
    announced_cases   integer     CHECK (announced_cases > 0),
    status            text        NOT NULL
        CHECK (status IN ('announced', 'received', 'shipped')),
    received_at       timestamptz,
    received_door     text,
    received_cause    text,
    received_cases    integer     NOT NULL DEFAULT 0 CHECK (received_cases >= 0),
    over_cases        integer     NOT NULL DEFAULT 0 CHECK (over_cases >= 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (site, sscc),
    UNIQUE (site, epc),
    CHECK ((status = 'announced') = (received_at IS NULL)),
    CHECK (asn IS NULL OR (sku IS NOT NULL AND lot IS NOT NULL AND announced_cases IS NOT NULL))
);
CREATE INDEX pallets_asn_idx ON pallets (asn) WHERE asn IS NOT NULL;
CREATE INDEX pallets_epc_idx ON pallets (epc) WHERE epc IS NOT NULL;
COMMENT ON TABLE pallets IS
    'Pallets by SSCC: announced by a notice (asn), or come unannounced (asn null); '
    'received through a door or by a scan (received_cause: passage:<id> or scan:<id>); '
    'received_cases: announced cases booked; over_cases: cases heard or counted beyond '
    'the announcement (reported, not booked); shipped.';

CREATE TABLE pallet_cases (
    site       text        NOT NULL,
    epc        text        NOT NULL CHECK (epc ~ '^30[0-9A-F]{22}$'),
    pallet     text        NOT NULL,
    announced  boolean     NOT NULL DEFAULT false,
    heard_at   timestamptz,
    PRIMARY KEY (site, epc),
    FOREIGN KEY (site, pallet) REFERENCES pallets (site, sscc)
);
CREATE INDEX pallet_cases_pallet_idx ON pallet_cases (site, pallet);
COMMENT ON TABLE pallet_cases IS
    'Case EPCs (SGTIN-96 hex) on a pallet: announced by its notice, and/or heard crossing '
    'a door with it (heard_at).';

CREATE SEQUENCE ledger_postings;

CREATE TABLE ledger_entries (
    id           bigserial   PRIMARY KEY,
    posting      bigint      NOT NULL,
    site         text        NOT NULL,
    time         timestamptz NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('receipt', 'ship', 'adjust', 'putaway',
        'move', 'pick', 'reserve', 'unreserve', 'quarantine', 'release', 'damage',
        'dispatch', 'arrive')),
    cause_kind   text        NOT NULL CHECK (cause_kind IN ('passage', 'zone_event', 'weight',
        'scan', 'asn', 'order', 'count', 'user')),
    cause_id     text        NOT NULL CHECK (cause_id <> ''),
    sku          text        NOT NULL,
    lot          text        NOT NULL,
    location     text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('available', 'reserved', 'quarantine',
        'damaged', 'in_transit')),
    pallet       text        CHECK (pallet ~ '^[0-9]{18}$'),
    qty          integer     NOT NULL CHECK (qty <> 0),
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX ledger_entries_posting_idx ON ledger_entries (posting);
CREATE INDEX ledger_entries_sku_idx ON ledger_entries (sku, id);
CREATE INDEX ledger_entries_pallet_idx ON ledger_entries (pallet, id) WHERE pallet IS NOT NULL;
CREATE INDEX ledger_entries_cause_idx ON ledger_entries (cause_kind, cause_id);
CREATE INDEX ledger_entries_time_idx ON ledger_entries (time, id);
COMMENT ON TABLE ledger_entries IS
    'The stock ledger: immutable, signed quantities in cases; an operation''s entries share '
    'a posting; pallet is the SSCC (null: loose cases). Never updated nor deleted.';

CREATE TABLE stock_positions (
    site        text COLLATE "C" NOT NULL,
    sku         text COLLATE "C" NOT NULL,
    lot         text COLLATE "C" NOT NULL,
    location    text COLLATE "C" NOT NULL,
    state       text COLLATE "C" NOT NULL CHECK (state IN ('available', 'reserved',
        'quarantine', 'damaged', 'in_transit')),
    pallet      text COLLATE "C" NOT NULL DEFAULT '' CHECK (pallet = '' OR pallet ~ '^[0-9]{18}$'),
    qty         integer     NOT NULL CHECK (qty >= 0),
    since       timestamptz,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (site, sku, lot, location, state, pallet)
);
CREATE INDEX stock_positions_item_idx ON stock_positions (site, sku, state) WHERE qty > 0;
CREATE INDEX stock_positions_pallet_idx ON stock_positions (site, pallet)
    WHERE pallet <> '' AND qty > 0;
CREATE INDEX stock_positions_location_idx ON stock_positions (site, location) WHERE qty > 0;
COMMENT ON TABLE stock_positions IS
    'The sum of the ledger per position (pallet '''' : loose cases), kept in the same '
    'transaction as the entries; qty 0 rows stay (they are the lock targets of later postings).';
COMMENT ON COLUMN stock_positions.since IS 'When the position last went from empty to holding stock.';

CREATE TABLE scans (
    id          bigserial   PRIMARY KEY,
    site        text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('receive', 'move', 'count')),
    barcode     text        NOT NULL,
    elements    jsonb       NOT NULL,
    location    text,
    qty         integer,
    time        timestamptz NOT NULL,
    postings    bigint[]    NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE scans IS
    'Handheld barcode scans taken: the cause (scan, id) of the ledger postings they made.';

CREATE TABLE feed_cursors (
    consumer    text        NOT NULL,
    source      text        NOT NULL CHECK (source IN ('passages', 'zone_events', 'weights')),
    last_id     bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz,
    PRIMARY KEY (consumer, source)
);
COMMENT ON TABLE feed_cursors IS
    'How far each consumer of the event tables (the outbox of ingest) has applied them; '
    'advanced in the transaction that applies the events.';

CREATE TABLE feed_failures (
    id          bigserial   PRIMARY KEY,
    consumer    text        NOT NULL,
    source      text        NOT NULL,
    event_id    bigint      NOT NULL,
    error       text        NOT NULL,
    attempts    integer     NOT NULL,
    failed_at   timestamptz NOT NULL,
    UNIQUE (consumer, source, event_id)
);
COMMENT ON TABLE feed_failures IS
    'Events a consumer could not apply (after retries) and skipped, with the error.';
