-- Weigh a pallet again: a pallet in packing for its order whose weight check never
-- came (the scale's weight went to another pallet, or none was attributed) is sent
-- back onto the packing scale by a task, a few times at most.
CREATE TABLE weigh_tasks (
    id            bigserial   PRIMARY KEY,
    site          text        NOT NULL,
    order_id      text        NOT NULL REFERENCES orders (id),
    pallet        text        NOT NULL CHECK (pallet ~ '^[0-9]{18}$'),
    location      text        NOT NULL,
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at    timestamptz NOT NULL,
    reported_at   timestamptz,
    weighed_at    timestamptz
);
CREATE INDEX weigh_tasks_open_idx ON weigh_tasks (site, status, id);
CREATE INDEX weigh_tasks_pallet_idx ON weigh_tasks (site, pallet);
COMMENT ON TABLE weigh_tasks IS
    'Put a pallet onto the packing scale (location) again: its weight check never came. '
    'weighed_at: a weight of it came (the feed); reported_at: a worker said done.';
