"""``/api/dead-letters``: what the ingester could not store; ``/api/feed-failures``:
events the warehouse feed could not apply. Newest first, in pages."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.api import schemas
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import feed as feed_db
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


@router.get(
    "/feed-failures",
    response_model=Page[schemas.FeedFailureOut],
    responses={422: {"description": "bad limit or cursor"}},
)
async def feed_failures(
    st: State, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[schemas.FeedFailureOut]:
    """A page of the events (passages, zone events, weights) the warehouse feed skipped
    after its handlers kept failing on them, newest first: which event, the error, how
    many tries. The books miss what each one said; the health says how many."""
    before = None if cursor is None else int(cursor_or_422(cursor, int)[0])
    async with st.pool.connection() as conn:
        found = await feed_db.failures_before(conn, before, limit + 1)
    items = [
        schemas.FeedFailureOut(
            id=f.id,
            consumer=f.consumer,
            source=f.source,
            event_id=f.event_id,
            error=f.error,
            attempts=f.attempts,
            failed_at=f.failed_at,
        )
        for f in found[:limit]
    ]
    more = len(found) > limit
    return Page(items=items, next=encode_cursor(items[-1].id) if more else None)
