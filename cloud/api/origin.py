"""Which web pages may open the live WebSocket: a pure check of the ``Origin`` header.

Browsers send ``Origin`` with every WebSocket handshake and let any page open a
WebSocket to any host, cookies and network position included; so a page on another
site could read the live feed from a user's browser (cross-site WebSocket hijacking)
unless the server checks it. Clients that are not browsers send no ``Origin``.
"""

from __future__ import annotations

from collections.abc import Collection

from cloud.settings import normalize_origin

_HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def origin_allowed(
    origin: str | None, *, scheme: str, host: str | None, allowed: Collection[str]
) -> bool:
    """True for no ``origin`` (not a browser), the request's own origin (``scheme``
    of the request, ``ws``/``wss`` or ``http``/``https``, and its ``Host`` header), or
    one of ``allowed`` (normalised origins, as
    :attr:`cloud.settings.CloudSettings.allowed_origins` gives them)."""
    if origin is None:
        return True
    try:
        theirs = normalize_origin(origin)
    except ValueError:  # "null" (a sandboxed page, a file), or garbage
        return False
    if theirs in allowed:
        return True
    if not host or scheme not in _HTTP_SCHEME:
        return False
    try:
        ours = normalize_origin(f"{_HTTP_SCHEME[scheme]}://{host}")
    except ValueError:
        return False
    return theirs == ours
