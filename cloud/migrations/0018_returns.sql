-- Returns (RMA): a customer's request to send back goods of a shipped order, what came
-- back through a door (into quarantine) and the inspection that restocks or writes
-- them off. The rules are in cloud/warehouse/returns.py (pure); the SQL in
-- cloud/db/returns.py; the door's handler in cloud/operations/returns_feed.py;
-- docs/warehouse.md (Returns) tells the whole story.
--
-- The ledger and the order timeline name a return as their cause: (return, RMA-000123).

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_cause_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_cause_kind_check
    CHECK (cause_kind IN ('passage', 'zone_event', 'weight', 'scan', 'asn', 'order', 'count',
        'user', 'return'));
ALTER TABLE order_timeline DROP CONSTRAINT order_timeline_cause_kind_check;
ALTER TABLE order_timeline ADD CONSTRAINT order_timeline_cause_kind_check
    CHECK (cause_kind IN ('passage', 'zone_event', 'weight', 'scan', 'asn', 'order', 'count',
        'user', 'return'));

CREATE SEQUENCE return_numbers;

CREATE TABLE returns (
    id            text        PRIMARY KEY,
    seq           bigint      NOT NULL UNIQUE DEFAULT nextval('return_numbers'),
    site          text        NOT NULL,
    order_id      text        NOT NULL REFERENCES orders (id),
    customer      text        NOT NULL,
    status        text        NOT NULL
        CHECK (status IN ('requested', 'receiving', 'received', 'closed')),
    reason        text,
    by_epc        boolean     NOT NULL,
    requested_by  text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX returns_order_idx ON returns (order_id);
CREATE INDEX returns_open_idx ON returns (site, seq) WHERE status IN ('requested', 'receiving');
CREATE INDEX returns_customer_idx ON returns (site, customer, seq);
COMMENT ON TABLE returns IS
    'Return requests (RMA-000123) of a shipped order: by lines (item, cases) or by the '
    'case EPCs (by_epc); status requested, receiving, received, closed (all inspected).';

CREATE TABLE return_lines (
    return_id    text     NOT NULL REFERENCES returns (id),
    line         integer  NOT NULL CHECK (line >= 1),
    sku          text     NOT NULL REFERENCES items (sku),
    qty          integer  NOT NULL CHECK (qty >= 1),
    received     integer  NOT NULL DEFAULT 0 CHECK (received BETWEEN 0 AND qty),
    restocked    integer  NOT NULL DEFAULT 0 CHECK (restocked >= 0),
    written_off  integer  NOT NULL DEFAULT 0 CHECK (written_off >= 0),
    PRIMARY KEY (return_id, line),
    UNIQUE (return_id, sku),
    CHECK (restocked + written_off <= received)
);
COMMENT ON TABLE return_lines IS
    'Cases asked back per item, and of them received (in quarantine until inspected), '
    'restocked and written off.';

CREATE TABLE return_receipts (
    id           bigserial   PRIMARY KEY,
    return_id    text        NOT NULL REFERENCES returns (id),
    sku          text        NOT NULL,
    lot          text        NOT NULL,
    pallet       text        CHECK (pallet ~ '^[0-9]{18}$'),
    qty          integer     NOT NULL CHECK (qty >= 1),
    restocked    integer     NOT NULL DEFAULT 0 CHECK (restocked >= 0),
    written_off  integer     NOT NULL DEFAULT 0 CHECK (written_off >= 0),
    door         text        NOT NULL,
    time         timestamptz NOT NULL,
    cause        text        NOT NULL,
    posting      bigint      NOT NULL,
    CHECK (restocked + written_off <= qty)
);
CREATE INDEX return_receipts_return_idx ON return_receipts (return_id, id);
COMMENT ON TABLE return_receipts IS
    'What came back on one arrival (cause passage:<id>), booked into quarantine at the '
    'door (posting); pallet: the SSCC it came on (null: a lone case, loose).';

CREATE TABLE return_cases (
    return_id    text        NOT NULL REFERENCES returns (id),
    epc          text        NOT NULL CHECK (epc ~ '^30[0-9A-F]{22}$'),
    sku          text        NOT NULL,
    listed       boolean     NOT NULL,
    receipt_id   bigint      REFERENCES return_receipts (id),
    decision     text        CHECK (decision IN ('restock', 'write_off')),
    decided_at   timestamptz,
    PRIMARY KEY (return_id, epc),
    CHECK ((decision IS NULL) = (decided_at IS NULL)),
    CHECK (decision IS NULL OR receipt_id IS NOT NULL)
);
CREATE INDEX return_cases_epc_idx ON return_cases (epc);
COMMENT ON TABLE return_cases IS
    'Case EPCs of a return: named by the request (listed) and/or heard coming back '
    '(receipt_id); decision: what its inspection decided for this case.';
