-- Transfers between the sites of one cloud (issue 8.2). A transfer is an order of an
-- internal customer at the source (orders.customer = 'site:<destination>', client_id
-- the transfer's id): reserved, picked, packed and verified at the door like any order;
-- its pallets are dispatched (ledger: reserved -> in_transit, booked at the
-- destination) instead of shipped, and received by the destination's inbound passage
-- of the same pallets (in_transit -> available at the door). The rules are in
-- cloud/warehouse/transfers.py (pure); the SQL in cloud/db/transfers.py; the door's
-- handler in cloud/operations/transfers_feed.py; docs/warehouse.md (Transfers).

CREATE SEQUENCE transfer_numbers;

CREATE TABLE transfers (
    id            text        PRIMARY KEY,
    seq           bigint      NOT NULL UNIQUE DEFAULT nextval('transfer_numbers'),
    from_site     text        NOT NULL,
    to_site       text        NOT NULL CHECK (to_site <> from_site),
    order_id      text        NOT NULL UNIQUE REFERENCES orders (id),
    status        text        NOT NULL CHECK (status IN ('open', 'in_transit', 'received')),
    transit_min   double precision NOT NULL CHECK (transit_min > 0),
    requested_by  text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    shipped_at    timestamptz,
    expected_at   timestamptz,
    received_at   timestamptz,
    late_at       timestamptz,
    CHECK ((status = 'open') = (shipped_at IS NULL)),
    CHECK ((shipped_at IS NULL) = (expected_at IS NULL)),
    CHECK ((status = 'received') = (received_at IS NOT NULL))
);
CREATE INDEX transfers_from_idx ON transfers (from_site, seq);
CREATE INDEX transfers_to_idx ON transfers (to_site, seq);
CREATE INDEX transfers_on_road_idx ON transfers (to_site, expected_at)
    WHERE status = 'in_transit' AND late_at IS NULL;
COMMENT ON TABLE transfers IS
    'Transfers TR-000123 of stock from one site to another: open (the order at the source '
    'moving), in_transit (every pallet left the source''s door; expected_at = shipped_at + '
    'transit_min), received (every pallet that left came in); late_at: when it was found '
    'late (transfer_late raised).';

CREATE TABLE transfer_pallets (
    transfer_id      text        NOT NULL REFERENCES transfers (id),
    sscc             text        NOT NULL CHECK (sscc ~ '^[0-9]{18}$'),
    epc              text,
    cases            integer     NOT NULL CHECK (cases >= 0),
    case_epcs        text[]      NOT NULL DEFAULT '{}',
    door             text        NOT NULL,
    dispatched_at    timestamptz NOT NULL,
    dispatch_cause   text        NOT NULL,
    arrived_at       timestamptz,
    arrival_door     text,
    arrival_cause    text,
    received         integer     NOT NULL DEFAULT 0 CHECK (received >= 0),
    missing_epcs     text[]      NOT NULL DEFAULT '{}',
    extra_epcs       text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (transfer_id, sscc),
    CHECK ((arrived_at IS NULL) = (arrival_door IS NULL))
);
CREATE INDEX transfer_pallets_road_idx ON transfer_pallets (sscc) WHERE arrived_at IS NULL;
COMMENT ON TABLE transfer_pallets IS
    'The pallets of a transfer that left the source''s door (cases: in transit on it; '
    'case_epcs: the case EPCs that left on it, when known) and their arrival at the '
    'destination (received cases; missing_epcs: short; extra_epcs: over, not booked).';

CREATE TABLE transfer_receipts (
    id           bigserial   PRIMARY KEY,
    transfer_id  text        NOT NULL REFERENCES transfers (id),
    sscc         text        NOT NULL,
    sku          text        NOT NULL,
    lot          text        NOT NULL,
    qty          integer     NOT NULL CHECK (qty >= 1),
    posting      bigint      NOT NULL
);
CREATE INDEX transfer_receipts_transfer_idx ON transfer_receipts (transfer_id, id);
COMMENT ON TABLE transfer_receipts IS
    'What arrived per item and lot on each pallet of a transfer (posting: the arrive).';
