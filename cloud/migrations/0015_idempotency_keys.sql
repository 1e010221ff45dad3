-- Idempotency keys of the API (cloud/api/idempotency.py): a POST sent with header
-- Idempotency-Key is done once per (token, key); a retry gets the first answer back
-- (status and body). request_sha256: method, path and body of the first request (the
-- same key with another request is refused); status NULL: the first is still running
-- (locked_until: a crashed one is taken over after that). Rows expire after 24 h.

CREATE TABLE idempotency_keys (
    token_id        bigint      NOT NULL REFERENCES api_tokens (id),
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_sha256  bytea       NOT NULL CHECK (octet_length(request_sha256) = 32),
    status          integer,
    content_type    text,
    body            bytea,
    created_at      timestamptz NOT NULL,
    locked_until    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
COMMENT ON TABLE idempotency_keys IS
    'The first answer to each (token, Idempotency-Key) POST, kept until expires_at.';
