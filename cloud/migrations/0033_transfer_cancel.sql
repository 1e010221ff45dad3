-- Cancelling a transfer (issue 8.2): a transfer whose order at the source is cancelled
-- before anything of it left is closed, status 'cancelled' (cancelled_at, and who:
-- cancelled_by). Its order's cancel gave the reservations back through the ledger,
-- cancelled the open tasks and sent the pallets already off their shelves back to
-- storage (cloud/db/order_status.py, cancel_order). The rule: cloud/warehouse/transfers.py
-- (cancel_plan); the SQL: cloud/db/transfer_cancel.py.

ALTER TABLE transfers ADD COLUMN cancelled_at timestamptz, ADD COLUMN cancelled_by text;

ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_status_check
    CHECK (status IN ('open', 'in_transit', 'received', 'cancelled'));

-- nothing of a cancelled transfer left: it has no shipping time, like an open one
ALTER TABLE transfers DROP CONSTRAINT transfers_check1;
ALTER TABLE transfers ADD CONSTRAINT transfers_shipped_check
    CHECK ((status IN ('open', 'cancelled')) = (shipped_at IS NULL));
ALTER TABLE transfers ADD CONSTRAINT transfers_cancelled_check
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));

COMMENT ON COLUMN transfers.cancelled_at IS
    'When it was cancelled (status cancelled): its order at the source was cancelled '
    'before any pallet of it left.';
