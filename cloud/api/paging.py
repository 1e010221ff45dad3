"""The API's convention for lists: pages of ``{"items": [...], "next": cursor | null}``.

A list endpoint takes ``limit`` (:data:`Limit`, 1-1000, default 100) and ``cursor``
(:data:`Cursor`, the ``next`` of the page before; absent for the first page) and
returns a :class:`Page`. A cursor is opaque to clients: base64url (no padding) of a
small JSON array the endpoint chose (its position, e.g. the last id it returned).
:func:`encode_cursor` makes one; :func:`decode_cursor` reads one back, checking its
shape, and raises :class:`CursorError` naming it when it is not one the endpoint
gave out; :func:`cursor_or_422` turns that into a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Generic, TypeVar

from fastapi import HTTPException, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 512
"""Characters of the longest cursor accepted (ours are far shorter)."""

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})")
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR,
        description="the `next` of the previous page; leave it out for the first page",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(
        description="cursor of the next page (pass it as `cursor`); null on the last page"
    )


class CursorError(ValueError):
    """A cursor this endpoint did not give out (or cannot read any more)."""


def encode_cursor(*position: str | int) -> str:
    """An opaque cursor for ``position`` (a few strings and integers)."""
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *shape: type[str] | type[int]) -> tuple[str | int, ...]:
    """The position in ``cursor``, checked to be values of the types in ``shape``."""
    problem = f"cursor {cursor!r} is not a cursor this list gave out; start again without one"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError):
        raise CursorError(problem) from None
    if (
        not isinstance(position, list)
        or len(position) != len(shape)
        or not all(
            type(v) is t  # exact: json gives bool for true, and bool is an int
            for v, t in zip(position, shape, strict=True)
        )
    ):
        raise CursorError(problem)
    return tuple(position)


def cursor_or_422(cursor: str, *shape: type[str] | type[int]) -> tuple[str | int, ...]:
    """:func:`decode_cursor`, a bad cursor being the client's error (HTTP 422)."""
    try:
        return decode_cursor(cursor, *shape)
    except CursorError as e:
        raise HTTPException(422, detail=str(e)) from None
