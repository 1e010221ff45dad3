"""Bearer tokens for the tests: every test that calls the API or the WebSocket gets its
token here (one place), straight from the database through ``cloud.db.users``.

The database must be migrated (``apply_migrations``, or a running ``rfidwms cloud``,
which migrates before it serves).
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg

from cloud.db import users
from cloud.warehouse.roles import Role


async def issue_token(
    database_url: str, role: Role | str, *, customer: str | None = None, name: str | None = None
) -> str:
    """A new user of ``role`` (named ``name``, or a fresh name) and a token of it."""
    r = Role(role)
    if r is Role.CUSTOMER and customer is None:
        customer = "acme"
    name = name or f"{r.value}-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        user = await users.user_by_name(conn, name) or await users.create_user(
            conn, name, r, customer, at=now
        )
        return (await users.issue_token(conn, user, at=now)).token


def issue_token_now(
    database_url: str, role: Role | str, *, customer: str | None = None, name: str | None = None
) -> str:
    """:func:`issue_token` for code that is not async (it runs on a thread of its own,
    so it works whether or not this thread runs an event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(
            asyncio.run, issue_token(database_url, role, customer=customer, name=name)
        ).result()


def bearer(token: str) -> dict[str, str]:
    """The header that carries ``token``."""
    return {"Authorization": f"Bearer {token}"}
