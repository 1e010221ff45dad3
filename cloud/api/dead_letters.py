"""``/api/dead-letters``: what the ingester could not store, newest first, in pages."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.api import schemas
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import queries

router = APIRouter(prefix="/api")


def dead_letter_out(d: queries.DeadLetter) -> schemas.DeadLetterOut:
    return schemas.DeadLetterOut(
        id=d.id,
        received_at=d.received_at,
        topic=d.topic,
        reason=d.reason,
        payload_bytes=d.payload_bytes,
        payload_preview=d.payload_head.decode("utf-8", errors="replace"),
    )


@router.get(
    "/dead-letters",
    response_model=Page[schemas.DeadLetterOut],
    responses={422: {"description": "bad limit or cursor"}},
)
async def dead_letters(
    st: State, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[schemas.DeadLetterOut]:
    """A page of the messages that could not be ingested, newest first: topic, why,
    size, and the start of the payload."""
    before = None if cursor is None else int(cursor_or_422(cursor, int)[0])
    async with st.pool.connection() as conn:
        found = await queries.dead_letters(conn, before, limit + 1)
    items = [dead_letter_out(d) for d in found[:limit]]
    more = len(found) > limit
    return Page(items=items, next=encode_cursor(items[-1].id) if more else None)
