-- Customer orders (issue 7): orders and their lines, the stock reserved for them, the
-- tasks of the workers (pick, ship, put-away) and each order's timeline. The rules are
-- in cloud/warehouse/ (orders.py, pick_list.py, packing.py, putaway.py; pure); the SQL
-- in cloud/db/orders.py; docs/warehouse.md tells the whole story.
--
-- Stock itself is only ever in the goods ledger (ledger_entries, stock_positions): a
-- reservation row says which order line the cases reserved at a position are for, and
-- how many of them were picked and shipped; the ledger says where they are.

CREATE SEQUENCE order_numbers;

CREATE TABLE orders (
    id             text        PRIMARY KEY,
    seq            bigint      NOT NULL UNIQUE DEFAULT nextval('order_numbers'),
    site           text        NOT NULL,
    customer       text        NOT NULL CHECK (customer <> ''),
    client_id      text,
    request        jsonb       NOT NULL,
    status         text        NOT NULL CHECK (status IN ('received', 'allocated',
        'partially_allocated', 'backordered', 'picking', 'picked', 'packed', 'loading',
        'shipped', 'on_hold', 'cancelled')),
    allocation     text        CHECK (allocation IN ('allocated', 'partially_allocated',
        'backordered')),
    ship_door      text,
    requested_at   timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    released_at    timestamptz,
    shipped_at     timestamptz,
    hold_reason    text,
    route_m        double precision,
    naive_route_m  double precision,
    CHECK ((status = 'on_hold') = (hold_reason IS NOT NULL)),
    UNIQUE (site, customer, client_id)
);
CREATE INDEX orders_status_idx ON orders (site, status, seq);
CREATE INDEX orders_customer_idx ON orders (site, customer, seq);
CREATE INDEX orders_loading_idx ON orders (site, ship_door) WHERE status = 'loading';
COMMENT ON TABLE orders IS
    'Customer orders: id SO-000123 (client_id: the caller''s own id, idempotent per '
    'customer; request: the body as accepted); allocation: what reserving gave; '
    'route_m / naive_route_m: the pick list''s walk and the naive one.';

CREATE TABLE order_lines (
    order_id   text     NOT NULL REFERENCES orders (id),
    line       integer  NOT NULL CHECK (line >= 1),
    site       text     NOT NULL,
    sku        text     NOT NULL REFERENCES items (sku),
    qty        integer  NOT NULL CHECK (qty >= 1),
    allocated  integer  NOT NULL DEFAULT 0 CHECK (allocated BETWEEN 0 AND qty),
    picked     integer  NOT NULL DEFAULT 0 CHECK (picked BETWEEN 0 AND allocated),
    shipped    integer  NOT NULL DEFAULT 0 CHECK (shipped BETWEEN 0 AND allocated),
    PRIMARY KEY (order_id, line)
);
COMMENT ON TABLE order_lines IS 'Cases wanted per item (sku: GTIN-14), and of them allocated, picked, shipped.';

CREATE TABLE pick_tasks (
    id             bigserial   PRIMARY KEY,
    site           text        NOT NULL,
    order_id       text        NOT NULL REFERENCES orders (id),
    seq            integer     NOT NULL CHECK (seq >= 1),
    pallet         text        CHECK (pallet ~ '^[0-9]{18}$'),
    from_location  text        NOT NULL,
    to_location    text        NOT NULL,
    qty            integer     NOT NULL CHECK (qty >= 1),
    status         text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at     timestamptz NOT NULL,
    reported_at    timestamptz,
    picked_at      timestamptz,
    packed_at      timestamptz,
    shipped_at     timestamptz,
    weight         jsonb,
    UNIQUE (order_id, seq)
);
CREATE INDEX pick_tasks_pallet_idx ON pick_tasks (site, pallet) WHERE pallet IS NOT NULL;
CREATE INDEX pick_tasks_open_idx ON pick_tasks (site, status, id);
COMMENT ON TABLE pick_tasks IS
    'One task per pallet to take to packing, in route order (seq). reported_at: a worker '
    'said done; picked_at: the pallet reached packing (RFID); packed_at: weighed right; '
    'shipped_at: left through the order''s door; weight: the last weight check.';

CREATE TABLE reservations (
    id           bigserial   PRIMARY KEY,
    site         text        NOT NULL,
    order_id     text        NOT NULL,
    line         integer     NOT NULL,
    task_id      bigint      REFERENCES pick_tasks (id),
    sku          text        NOT NULL,
    lot          text        NOT NULL,
    location     text        NOT NULL,
    pallet       text        CHECK (pallet ~ '^[0-9]{18}$'),
    qty          integer     NOT NULL CHECK (qty >= 1),
    picked       integer     NOT NULL DEFAULT 0 CHECK (picked BETWEEN 0 AND qty),
    shipped      integer     NOT NULL DEFAULT 0 CHECK (shipped BETWEEN 0 AND qty),
    released     integer     NOT NULL DEFAULT 0 CHECK (released BETWEEN 0 AND qty),
    posting      bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    FOREIGN KEY (order_id, line) REFERENCES order_lines (order_id, line)
);
CREATE INDEX reservations_order_idx ON reservations (order_id, line);
CREATE INDEX reservations_pallet_idx ON reservations (site, pallet) WHERE pallet IS NOT NULL;
COMMENT ON TABLE reservations IS
    'Cases reserved for an order line at a position (location: where they were reserved; '
    'posting: the ledger''s reserve posting); picked, shipped, released (given back).';

CREATE TABLE ship_tasks (
    id            bigserial   PRIMARY KEY,
    site          text        NOT NULL,
    order_id      text        NOT NULL UNIQUE REFERENCES orders (id),
    door          text        NOT NULL,
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at    timestamptz NOT NULL,
    reported_at   timestamptz,
    shipped_at    timestamptz
);
CREATE INDEX ship_tasks_open_idx ON ship_tasks (site, status, id);
COMMENT ON TABLE ship_tasks IS
    'Load an order''s pallets through its door; shipped_at: the last one left (RFID).';

CREATE TABLE putaway_tasks (
    id             bigserial   PRIMARY KEY,
    site           text        NOT NULL,
    pallet         text        NOT NULL CHECK (pallet ~ '^[0-9]{18}$'),
    sku            text,
    from_location  text        NOT NULL,
    to_location    text        NOT NULL,
    rule           text        NOT NULL,
    status         text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at     timestamptz NOT NULL,
    reported_at    timestamptz,
    arrived_at     timestamptz,
    arrived_zone   text
);
CREATE UNIQUE INDEX putaway_tasks_open_pallet ON putaway_tasks (site, pallet) WHERE status = 'open';
CREATE INDEX putaway_tasks_pallet_idx ON putaway_tasks (site, pallet) WHERE arrived_at IS NULL;
CREATE INDEX putaway_tasks_open_idx ON putaway_tasks (site, status, id);
COMMENT ON TABLE putaway_tasks IS
    'Take a received pallet to a storage zone (rule: why that zone); arrived_*: where its '
    'zone arrival put it (RFID), which may differ from to_location.';

CREATE TABLE order_timeline (
    id           bigserial   PRIMARY KEY,
    site         text        NOT NULL,
    order_id     text        NOT NULL REFERENCES orders (id),
    time         timestamptz NOT NULL,
    status       text        NOT NULL,
    event        text        NOT NULL,
    cause_kind   text        CHECK (cause_kind IN ('passage', 'zone_event', 'weight', 'scan',
        'asn', 'order', 'count', 'user')),
    cause_id     text,
    detail       jsonb       NOT NULL DEFAULT '{}',
    recorded_at  timestamptz NOT NULL,
    CHECK ((cause_kind IS NULL) = (cause_id IS NULL))
);
CREATE INDEX order_timeline_order_idx ON order_timeline (order_id, id);
COMMENT ON TABLE order_timeline IS
    'What happened to an order, in order: status (after the entry), event, cause, detail.';

-- A handheld scan may ship a pallet through a door too: the same door check as an
-- outbound passage (POST /api/scans with action 'ship').
ALTER TABLE scans DROP CONSTRAINT scans_action_check;
ALTER TABLE scans ADD CONSTRAINT scans_action_check
    CHECK (action IN ('receive', 'move', 'count', 'ship'));
