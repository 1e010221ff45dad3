-- Customer notifications by webhook (cloud/warehouse/webhooks.py: the rules, pure;
-- cloud/db/webhooks.py: the SQL; cloud/operations/webhook_delivery.py: the sender).
--
-- webhook_events is the outbox: a row is written in the same transaction as the
-- change it tells of (an order's timeline entry), so nothing committed is left untold
-- and nothing rolled back is told. The sender fans each event out to the matching
-- subscriptions (one webhook_deliveries row each) and tries every delivery until the
-- endpoint answers 2xx, with backoff; every try is a webhook_attempts row (the log).

CREATE TABLE webhook_subscriptions (
    id                    bigserial   PRIMARY KEY,
    url                   text        NOT NULL CHECK (url ~ '^https?://'),
    events                text[],
    customer              text,
    secret                text        NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_by            bigint      NOT NULL REFERENCES users (id),
    created_at            timestamptz NOT NULL,
    deleted_at            timestamptz,
    disabled_at           timestamptz,
    disabled_reason       text,
    consecutive_failures  integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    failing_since         timestamptz,
    CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);
CREATE INDEX webhook_subscriptions_customer_idx ON webhook_subscriptions (customer, id)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE webhook_subscriptions IS
    'Webhook endpoints: events (NULL: all types), customer (a customer''s: its events only), '
    'secret (whsec_..., signs every message); disabled_* after failing too long.';

CREATE TABLE webhook_events (
    id            bigserial   PRIMARY KEY,
    msg_id        text        NOT NULL UNIQUE,
    site          text        NOT NULL,
    type          text        NOT NULL,
    subject_kind  text        NOT NULL,
    subject_id    text        NOT NULL,
    customer      text,
    time          timestamptz NOT NULL,
    payload       jsonb       NOT NULL,
    recorded_at   timestamptz NOT NULL,
    fanned_out_at timestamptz
);
CREATE INDEX webhook_events_pending_idx ON webhook_events (id) WHERE fanned_out_at IS NULL;
COMMENT ON TABLE webhook_events IS
    'The outbox of events to tell (msg_id: the webhook-id header; payload: the body).';

CREATE TABLE webhook_deliveries (
    id               bigserial   PRIMARY KEY,
    subscription_id  bigint      NOT NULL REFERENCES webhook_subscriptions (id),
    event_id         bigint      NOT NULL REFERENCES webhook_events (id),
    replay_of        bigint      REFERENCES webhook_deliveries (id),
    status           text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL,
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE UNIQUE INDEX webhook_deliveries_first_idx ON webhook_deliveries (subscription_id, event_id)
    WHERE replay_of IS NULL;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_sub_idx ON webhook_deliveries (subscription_id, id);
COMMENT ON TABLE webhook_deliveries IS
    'One event for one subscription (replay_of: a manual replay of that delivery); '
    'pending until 2xx (delivered) or given up (failed); lease_until: a sender has it.';

CREATE TABLE webhook_attempts (
    delivery_id  bigint      NOT NULL REFERENCES webhook_deliveries (id),
    attempt      integer     NOT NULL CHECK (attempt >= 1),
    at           timestamptz NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  double precision NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
COMMENT ON TABLE webhook_attempts IS
    'Every try of a delivery: the HTTP status the endpoint answered, or the error.';
