-- An order's promised date and its delivery (issue 8, point 7: the webhook events
-- order.promised_date_changed and order.delivered).
--
-- promised_date: the day the cases of an open order that are not reserved (status
-- backordered / partially_allocated) can be had from available stock and announced
-- inbound, as the promised dates job (cloud/operations/promised_dates.py) last judged
-- it; NULL: never judged, or stock and announced inbound together fall short.
-- delivered_at / delivered_by: the delivery of a shipped order as an ERP or carrier
-- confirmed it (POST /api/orders/{id}/delivered).
ALTER TABLE orders
    ADD COLUMN promised_date date,
    ADD COLUMN delivered_at  timestamptz,
    ADD COLUMN delivered_by  text,
    ADD CONSTRAINT orders_delivered_shipped CHECK (delivered_at IS NULL OR status = 'shipped');
COMMENT ON COLUMN orders.promised_date IS
    'The day its short cases can be had (stock, then announced inbound); NULL: not known.';
COMMENT ON COLUMN orders.delivered_at IS 'When the customer got it, as the ERP or carrier said.';
