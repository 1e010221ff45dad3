"""Who is calling, and may they: bearer tokens checked against the role policy.

:func:`authorize` is a dependency of the whole app (``create_app`` passes it to
FastAPI), so it runs before every route, WebSocket included. It finds the route's
entry in :data:`cloud.warehouse.roles.POLICY` by the route's method and path
template: a public route passes without a token; any other needs
``Authorization: Bearer <token>`` (a WebSocket may give ``?token=`` instead, as a
browser cannot set headers on one) of a user whose role the entry allows.

- no token, an unknown or a revoked one: 401 ``{"detail": ...}`` with
  ``WWW-Authenticate: Bearer``;
- a role the route does not allow (or a route without an entry: default deny): 403
  naming the role and the action;
- a WebSocket refused either way is accepted and closed at once with code 1008
  (policy violation) and the reason, before any data: a browser page can read that
  code, where a refused handshake would look like a network error to it.

A route that needs to know the caller (the orders router filters by customer) takes
``caller: CallerDep``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, status
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket

from cloud.api.state import State
from cloud.db import users as db
from cloud.warehouse.roles import PUBLIC, WS, Caller, access_to, is_public, roles_allowed

log = logging.getLogger(__name__)

REALM = "rfidwms"
MAX_REASON_BYTES = 123  # the most a WebSocket close frame carries


class AuthError(Exception):
    """A request refused for want of a valid token (401) or of a role (403)."""

    def __init__(self, status_code: int, detail: str, *, invalid_token: bool = False) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.invalid_token = invalid_token


def _unauthorized(detail: str, *, invalid_token: bool = False) -> AuthError:
    return AuthError(status.HTTP_401_UNAUTHORIZED, detail, invalid_token=invalid_token)


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of ``Authorization: Bearer <token>``; for a WebSocket also ``?token=``
    (the header wins). None when there is neither; AuthError for a malformed header."""
    header = conn.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value or " " in value:
            raise _unauthorized(
                "the Authorization header is not 'Bearer <token>'", invalid_token=True
            )
        return value
    if conn.scope["type"] == "websocket":
        return conn.query_params.get("token") or None
    return None


def _action(conn: HTTPConnection) -> tuple[str, str]:
    """(method, path template) of the route this request matched."""
    route = conn.scope.get("route")
    template = getattr(route, "path", None) or conn.url.path
    method = WS if conn.scope["type"] == "websocket" else conn.scope["method"]
    return method, template


async def authorize(conn: HTTPConnection, st: State) -> Caller | None:
    """The caller of a protected route (None for a public one), or AuthError."""
    method, template = _action(conn)
    access = access_to(method, template)
    if access == PUBLIC:
        return None
    token = bearer_token(conn)
    if token is None:
        how = "Authorization: Bearer <token>" + (" or ?token=<token>" if method == WS else "")
        raise _unauthorized(f"a token is needed: send {how}")
    now = st.settings.now_clock()()
    async with st.pool.connection() as c:
        owner = await db.token_owner(c, token)
        if owner is not None:
            await db.touch_token(c, owner, at=now)
    if owner is None:
        raise _unauthorized("the token is not valid (unknown or revoked)", invalid_token=True)
    user = owner.user
    caller = Caller(user.id, user.name, user.role, user.customer, owner.token_id)
    if access is None or user.role not in access:
        why = "" if access is not None else " (no role may: the route has no entry in the policy)"
        raise AuthError(
            status.HTTP_403_FORBIDDEN,
            f"role {user.role.value!r} may not {method} {template}{why}",
        )
    return caller


async def current_caller(caller: Annotated[Caller | None, Depends(authorize)]) -> Caller:
    if caller is None:  # a public route asked who calls: nobody has to say
        raise _unauthorized("a token is needed: send Authorization: Bearer <token>")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
"""The caller as a route parameter: ``async def route(caller: CallerDep) -> ...``."""


async def refused(conn: HTTPConnection, exc: Exception) -> Response | None:
    """The app's handler of :class:`AuthError`: JSON for HTTP, close 1008 for a WebSocket."""
    assert isinstance(exc, AuthError)
    log.info("refused %s %s: %s", _action(conn)[0], conn.url.path, exc.detail)
    if isinstance(conn, WebSocket):
        kind = "unauthorized" if exc.status_code == 401 else "forbidden"
        reason = f"{kind}: {exc.detail}".encode()[:MAX_REASON_BYTES].decode(errors="ignore")
        await conn.accept()
        await conn.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
        return None
    headers = {}
    if exc.status_code == 401:
        error = ', error="invalid_token"' if exc.invalid_token else ""
        headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"{error}'
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _document(schema: dict[str, Any]) -> None:
    """Mark every protected operation of an OpenAPI document: the bearer scheme, the
    roles allowed, and its 401 and 403 answers."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from `rfidwms users add`, `POST /api/users/{id}/tokens` "
        "or the lines `rfidwms demo` prints",
    }
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            if method not in _HTTP_METHODS or is_public(method, path):
                continue
            allowed = ", ".join(r.value for r in roles_allowed(method, path)) or "none"
            op["security"] = [{"bearer": []}]
            op["description"] = f"{op.get('description', '')}\n\nRoles: {allowed}.".lstrip()
            responses = op.setdefault("responses", {})
            responses.setdefault("401", {"description": "no token, or an unknown or revoked one"})
            responses.setdefault("403", {"description": "the token's role may not do this"})


def install(app: FastAPI) -> None:
    """Answer :class:`AuthError` as this module says, and document the policy in the
    app's OpenAPI document (``authorize`` itself is given to FastAPI as an app
    dependency by ``create_app``)."""
    app.add_exception_handler(AuthError, refused)  # type: ignore[arg-type]  # HTTP and WS alike
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        schema = plain()
        if first:
            _document(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
