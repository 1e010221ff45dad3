"""What integrations (ERPs, B2B customers) get on every route: idempotency keys on
every POST and a rate limit per token. Both are ASGI middleware of the whole app, so
no route has to do anything for them.

**Idempotency** (:class:`IdempotencyMiddleware`): a POST under ``/api/`` sent with
header ``Idempotency-Key: <1-255 printable ASCII>`` runs once per (token, key); the
same key again from the same token answers with the first answer (status and body,
with header ``Idempotent-Replayed: true``) without running the request again (but
for :data:`NOT_IDEMPOTENT`: a new token is never stored in clear). While
the first is still running a retry waits for its answer (at most ``wait_s``, then
409). The same key with another request (method, path, query or body) is refused
with 422 naming the header. Keys are kept in the database (``idempotency_keys``,
:mod:`cloud.db.idempotency`) for ``RFIDWMS_IDEMPOTENCY_TTL_H`` (24 h). An answer of
5xx (or 401/403/429: the request never ran) is not kept: a retry runs again. A
request without a valid token goes through untouched (and is refused by auth).

**Rate limits** (:class:`RateLimitMiddleware`): every request under ``/api/`` but the
health check takes one from its token's bucket (:mod:`cloud.api.token_bucket`; a
request without a token: its client address's), ``RFIDWMS_RATE_LIMIT_PER_S`` per
second with bursts of ``RFIDWMS_RATE_LIMIT_BURST``; past it, 429 with
``Retry-After``. Buckets are per API node.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.api.token_bucket import RateLimiter
from cloud.db import idempotency as db
from cloud.db.pool import Pool
from cloud.settings import CloudSettings

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
EXEMPT = frozenset({"/api/health"})
NOT_IDEMPOTENT = re.compile(r"^/api/users/[^/]+/tokens$")
"""POSTs whose answer holds a new bearer token: never stored in clear anywhere, so not
kept for a replay either (a retry issues another token; revoke the spare one)."""
NOT_KEPT = frozenset({401, 403, 429})


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return str(v.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and " " not in token else None


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    raw = json.dumps(body).encode()
    await _send_raw(send, status, "application/json", raw, headers or {})


async def _send_raw(
    send: Send, status: int, content_type: str | None, body: bytes, headers: dict[str, str]
) -> None:
    out = [(b"content-length", str(len(body)).encode())]
    if content_type:
        out.append((b"content-type", content_type.encode("latin-1")))
    out.extend((k.lower().encode(), v.encode("latin-1")) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limiter = RateLimiter(rate, burst) if rate > 0 else None
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            self.limiter is None
            or scope["type"] != "http"
            or not path.startswith("/api/")
            or path in EXEMPT
        ):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is not None:
            key = "token:" + hashlib.sha256(token.encode()).hexdigest()
        else:
            client = scope.get("client")
            key = f"addr:{client[0] if client else '?'}"
        wait = self.limiter.take(key, self.clock())
        if wait > 0:
            after = max(1, math.ceil(wait))
            await _send_json(
                send,
                429,
                {
                    "detail": f"rate limit: more than {self.limiter.rate:g} requests/s "
                    f"(bursts of {self.limiter.burst}) for this token; retry in {after} s"
                },
                {"Retry-After": str(after)},
            )
            return
        await self.app(scope, receive, send)


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        pool: Callable[[], Pool],
        clock: Callable[[], datetime],
        ttl: timedelta,
        lock: timedelta = timedelta(seconds=60),
        wait_s: float = 30.0,
    ) -> None:
        self.app = app
        self.pool = pool
        self.clock = clock
        self.ttl = ttl
        self.lock = lock
        self.wait_s = wait_s
        self._pruned_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER.lower().encode()) if scope["type"] == "http" else None
        if (
            key is None
            or scope["method"] != "POST"
            or not scope["path"].startswith("/api/")
            or NOT_IDEMPOTENT.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        if not KEY_PATTERN.match(key):
            await _send_json(
                send,
                422,
                {"detail": f"{HEADER}: {key[:40]!r} is not 1-255 printable ASCII characters"},
            )
            return
        token = _bearer(scope)
        async with self.pool().connection() as conn:
            owner = await db.token_id(conn, token) if token is not None else None
        if owner is None:  # auth refuses it: nothing to keep
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        sha = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), scope["query_string"]])
            + b"\n"
            + body
        ).digest()
        deadline = time.monotonic() + self.wait_s
        while True:
            async with self.pool().connection() as conn:
                got = await db.claim(
                    conn,
                    token_id=owner,
                    key=key,
                    request_sha256=sha,
                    now=self.clock(),
                    lock=self.lock,
                    ttl=self.ttl,
                )
            if got.claim is not db.Claim.RUNNING or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        if got.claim is db.Claim.MISMATCH:
            await _send_json(
                send,
                422,
                {
                    "detail": f"{HEADER}: key {key!r} was used for another request (method, "
                    "path or body); send that request again, or use a new key"
                },
            )
        elif got.claim is db.Claim.RUNNING:
            await _send_json(
                send,
                409,
                {"detail": f"{HEADER}: the first request with key {key!r} is still running"},
                {"Retry-After": "1"},
            )
        elif got.claim is db.Claim.DONE:
            assert got.status is not None and got.body is not None
            await _send_raw(send, got.status, got.content_type, got.body, {REPLAYED: "true"})
        else:
            await self._run(scope, receive, send, body, owner, key)
        await self._maybe_prune()

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, owner: int, key: str
    ) -> None:
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the body is read: what comes now is a disconnect

        status = 500
        content_type: str | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        content_type = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            keep = status < 500 and status not in NOT_KEPT
            async with self.pool().connection() as conn:
                if keep:
                    await db.finish(
                        conn,
                        token_id=owner,
                        key=key,
                        status=status,
                        content_type=content_type,
                        body=b"".join(chunks),
                    )
                else:
                    await db.release(conn, token_id=owner, key=key)

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._pruned_at < 600:
            return
        self._pruned_at = time.monotonic()
        async with self.pool().connection() as conn:
            gone = await db.prune(conn, now=self.clock())
        if gone:
            log.info("forgot %d expired idempotency keys", gone)


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


_POST_DOC = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "send a retried POST with the same key: it runs once, and a retry "
    "gets the first answer (24 h); the same key with another body is refused (422)",
    "example": "order-PO-4711-try",
}


def document(schema: dict[str, Any]) -> None:
    """Mark every API operation with its 429 answer, and every POST with the
    ``Idempotency-Key`` header."""
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/") or path in EXEMPT:
            continue
        for method, op in operations.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            op["responses"].setdefault(
                "429",
                {
                    "description": "the token's rate limit: wait Retry-After seconds",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                },
            )
            if method == "post" and not NOT_IDEMPOTENT.match(path):
                op.setdefault("parameters", []).append(dict(_POST_DOC))


def install(app: FastAPI, settings: CloudSettings) -> None:
    """Add both middlewares to ``app`` (the rate limit outermost: a refused request
    takes no idempotency key) and document them in its OpenAPI document."""

    def pool() -> Pool:
        state: Pool = app.state.cloud.pool
        return state

    app.add_middleware(
        IdempotencyMiddleware,
        pool=pool,
        clock=settings.now_clock(),
        ttl=timedelta(hours=settings.idempotency_ttl_h),
    )
    app.add_middleware(
        RateLimitMiddleware, rate=settings.rate_limit_per_s, burst=settings.rate_limit_burst
    )
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        schema = plain()
        if first:
            document(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
