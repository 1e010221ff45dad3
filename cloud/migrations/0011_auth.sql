-- Users of the API and their bearer tokens (cloud/db/users.py, cloud/api/auth.py).
--
-- A user has one role: admin, operator, erp (an integration) or customer; a customer
-- user names its customer. A token is stored as the SHA-256 of its text only (never
-- the text): tokens are 256 random bits, so the hash cannot be reversed or guessed,
-- and a plain hash can be looked up by index on every request. Revoking sets
-- revoked_at; the row stays, for the record.

CREATE TABLE users (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$'),
    role        text        NOT NULL CHECK (role IN ('admin', 'operator', 'erp', 'customer')),
    customer    text        CHECK (customer ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$'),
    created_at  timestamptz NOT NULL,
    CHECK ((role = 'customer') = (customer IS NOT NULL))
);
COMMENT ON TABLE users IS 'Users of the API; a customer user names its customer.';

CREATE TABLE api_tokens (
    id            bigserial   PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id),
    token_sha256  bytea       NOT NULL UNIQUE CHECK (octet_length(token_sha256) = 32),
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, id);
COMMENT ON TABLE api_tokens IS
    'Bearer tokens, stored as the SHA-256 of the token only; revoked ones kept for the record.';
