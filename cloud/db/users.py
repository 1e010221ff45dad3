"""Users and their bearer tokens, in PostgreSQL (tables of migration 0011).

A token is ``secrets.token_urlsafe(32)``: 32 random bytes (256 bits) as 43 URL-safe
characters. Only its SHA-256 is stored (:func:`token_digest`), never its text, so a
copy of the database holds no usable token. A plain, fast hash is right here and a
password hash (bcrypt, argon2) is not: those slow down guessing a *low-entropy*
password from its hash, but 256 random bits cannot be guessed however fast the hash,
and a deterministic digest can be found by index on every request.

Every time (created, last used, revoked) comes from the caller, from the process's
clock (:meth:`protocols.settings.CommonSettings.now_clock`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.roles import Role, check_customer

Conn = AsyncConnection[TupleRow]

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 256
"""A bearer value longer than this is not one of ours (ours are 43 characters)."""
TOUCH_EVERY = timedelta(seconds=60)
"""``last_used_at`` is written when it is older than this: not a write per request."""


class UserExistsError(ValueError):
    """A user of that name exists already."""


class NoSuchUserError(LookupError):
    """No user has that id or name."""


def new_token() -> str:
    """A fresh bearer token: 32 random bytes, URL-safe base64 (43 characters).

    Never one that begins with ``-``: a command line would take it for an option
    (``rfidwms score --token -Che0…`` fails with "expected one argument").
    """
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


def token_digest(token: str) -> bytes:
    """What is stored of a token: its SHA-256 (see the module docstring for why)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    customer: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token without its secret: what may be listed."""

    id: int
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just made; ``token`` is its text, shown this once and never stored."""

    id: int
    user: User
    token: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """The user behind a valid (not revoked) token."""

    token_id: int
    user: User
    last_used_at: datetime | None


def _user(row: Sequence[object]) -> User:
    uid, name, role, customer, created_at = row
    assert isinstance(uid, int) and isinstance(name, str) and isinstance(role, str)
    assert isinstance(created_at, datetime) and (customer is None or isinstance(customer, str))
    return User(uid, name, Role(role), customer, created_at)


_USER_COLUMNS = "u.id, u.name, u.role, u.customer, u.created_at"


async def create_user(
    conn: Conn, name: str, role: Role, customer: str | None, *, at: datetime
) -> User:
    """A new user; :class:`UserExistsError` when the name is taken,
    :class:`cloud.warehouse.roles.CustomerRuleError` when the customer does not fit."""
    check_customer(role, customer)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO users AS u (name, role, customer, created_at)"
                f" VALUES (%s, %s, %s, %s) RETURNING {_USER_COLUMNS}",
                [name, role.value, customer, at],
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation:
        raise UserExistsError(f"user {name!r} exists already") from None
    assert row is not None
    return _user(row)


async def user_by_id(conn: Conn, user_id: int) -> User | None:
    cur = await conn.execute(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = %s", [user_id])
    row = await cur.fetchone()
    return _user(row) if row else None


async def user_by_name(conn: Conn, name: str) -> User | None:
    cur = await conn.execute(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.name = %s", [name])
    row = await cur.fetchone()
    return _user(row) if row else None


async def users_after(conn: Conn, after_id: int, limit: int) -> list[User]:
    """Users by id, after ``after_id`` (0 for the first), at most ``limit``."""
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id > %s ORDER BY u.id LIMIT %s",
        [after_id, limit],
    )
    return [_user(r) for r in await cur.fetchall()]


async def tokens_of(conn: Conn, user_ids: Sequence[int]) -> dict[int, list[TokenInfo]]:
    """The tokens (revoked ones too, without their secret) of each user, oldest first."""
    cur = await conn.execute(
        "SELECT id, user_id, created_at, last_used_at, revoked_at FROM api_tokens"
        " WHERE user_id = ANY(%s) ORDER BY user_id, id",
        [list(user_ids)],
    )
    found: dict[int, list[TokenInfo]] = {uid: [] for uid in user_ids}
    for tid, uid, created, used, revoked in await cur.fetchall():
        found[uid].append(TokenInfo(tid, uid, created, used, revoked))
    return found


async def issue_token(conn: Conn, user: User, *, at: datetime) -> IssuedToken:
    """A new token for ``user``; only its digest is stored."""
    token = new_token()
    try:
        cur = await conn.execute(
            "INSERT INTO api_tokens (user_id, token_sha256, created_at) VALUES (%s, %s, %s)"
            " RETURNING id",
            [user.id, token_digest(token), at],
        )
    except psycopg.errors.ForeignKeyViolation:
        raise NoSuchUserError(f"no user has id {user.id}") from None
    row = await cur.fetchone()
    assert row is not None
    return IssuedToken(int(row[0]), user, token, at)


async def revoke_token(conn: Conn, token_id: int, *, at: datetime) -> TokenInfo | None:
    """Revoke a token (a revoked one keeps its first ``revoked_at``); None when there is
    no token of that id."""
    cur = await conn.execute(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, %s) WHERE id = %s"
        " RETURNING id, user_id, created_at, last_used_at, revoked_at",
        [at, token_id],
    )
    row = await cur.fetchone()
    return TokenInfo(*row) if row else None


async def revoke_tokens_of(conn: Conn, user_id: int, *, at: datetime) -> int:
    """Revoke every valid token of a user; how many were revoked."""
    cur = await conn.execute(
        "UPDATE api_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
        [at, user_id],
    )
    return cur.rowcount


async def token_owner(conn: Conn, token: str) -> TokenOwner | None:
    """The user of a valid token; None for an unknown or revoked one.

    The row is found by the token's digest through the unique index: how long that
    takes can tell at most something about the digest of a guess, which leads nowhere
    near a token (finding a text of a given SHA-256 is the infeasible part). The stored
    digest is still compared in constant time before the token is trusted."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    digest = token_digest(token)
    cur = await conn.execute(
        f"SELECT t.id, t.token_sha256, t.last_used_at, {_USER_COLUMNS}"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_sha256 = %s AND t.revoked_at IS NULL",
        [digest],
    )
    row = await cur.fetchone()
    if row is None or not hmac.compare_digest(bytes(row[1]), digest):
        return None
    return TokenOwner(int(row[0]), _user(row[3:]), row[2])


async def touch_token(conn: Conn, owner: TokenOwner, *, at: datetime) -> None:
    """Record that a token was used at ``at``, when its last use is older than
    :data:`TOUCH_EVERY` (so a busy client does not write a row on every request)."""
    if owner.last_used_at is not None and at - owner.last_used_at < TOUCH_EVERY:
        return
    await conn.execute(
        "UPDATE api_tokens SET last_used_at = %s WHERE id = %s"
        " AND (last_used_at IS NULL OR last_used_at < %s)",
        [at, owner.token_id, at],
    )


async def fresh_token_for(
    conn: Conn, name: str, role: Role, customer: str | None, *, at: datetime
) -> IssuedToken:
    """A new token for user ``name``, made with ``role`` and ``customer`` when it does
    not exist; its older tokens are revoked. For the demo's users, which get new tokens
    at every start. Raises :class:`UserExistsError` when ``name`` is a user of another
    role or customer (it is not the demo's to take over)."""
    async with conn.transaction():
        user = await user_by_name(conn, name)
        if user is None:
            user = await create_user(conn, name, role, customer, at=at)
        elif (user.role, user.customer) != (role, customer):
            raise UserExistsError(
                f"user {name!r} exists with role {user.role.value!r}"
                + (f" (customer {user.customer!r})" if user.customer else "")
                + f", not role {role.value!r}"
                + (f" (customer {customer!r})" if customer else "")
            )
        await revoke_tokens_of(conn, user.id, at=at)
        return await issue_token(conn, user, at=at)
