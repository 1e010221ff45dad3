"""Count variances of the automatic cycle count: list them, approve or reject them, and
see which zones are counted now.

Approving posts the variance's adjustment to the stock ledger (cause
``count:variance:<id>``, :func:`cloud.db.variances.approve`); rejecting closes it with
nothing posted. Either resolves the variance's ``count_variance`` alert. Only an open
variance can be approved or rejected (409 otherwise, naming its status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.alerts import Actor
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import SiteFilter, State
from cloud.db import variances as db
from cloud.operations.variances_job import resolve_alert
from cloud.warehouse.ledger import LedgerError
from cloud.warehouse.putaway import storage_zones
from cloud.warehouse.variances import (
    CountRules,
    ReaderState,
    VarianceError,
    VarianceKind,
    VarianceStatus,
    zone_counts,
)
from protocols.types import ID_PATTERN

router = APIRouter(prefix="/api", tags=["variances"])

MAX_NOTE = 2000


class VarianceOut(BaseModel):
    id: int
    site: str
    zone: str = Field(description="the zone counted: where booked (missing) or heard")
    epc: str = Field(description="the pallet's EPC")
    pallet: str | None = Field(description="the pallet's SSCC")
    kind: VarianceKind
    status: VarianceStatus
    book_zone: str | None = Field(description="where the book has the pallet")
    heard_zone: str | None = Field(description="where the zone readers hear it")
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="who approved or rejected; `system`: cleared")
    note: str | None
    postings: list[int] = Field(description="the ledger postings its approval made")


class ZoneCountOut(BaseModel):
    site: str
    zone: str
    counted: bool
    status: str = Field(description="`counted`, or why not (the readers down or unknown)")
    down: list[str] = Field(description="the zone's readers down or not known")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=MAX_NOTE, description="why")


VarianceId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_STEP: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such variance"},
    409: {
        "description": "the variance is not open (its status is named), or the ledger"
        " refused the adjustment"
    },
    422: {"description": "a bad body"},
}


def variance_out(v: db.Variance) -> VarianceOut:
    return VarianceOut.model_validate(v.document())


@router.get("/variances", response_model=Page[VarianceOut])
async def list_variances(
    st: State,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: VarianceStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[VarianceOut]:
    """Count variances, oldest first (by id)."""
    after = int(cursor_or_422(cursor, int)[0]) if cursor is not None else None
    async with st.pool.connection() as conn:
        found = await db.list_variances(
            conn, site=site, status=status, after=after, limit=limit + 1
        )
    more = len(found) > limit
    return Page(
        items=[variance_out(v) for v in found[:limit]],
        next=encode_cursor(found[limit - 1].id) if more else None,
    )


@router.get("/variances/zones", response_model=list[ZoneCountOut])
async def zone_count_status(st: State, site: SiteFilter = None) -> list[ZoneCountOut]:
    """Each storage zone of the site's layout (of every site's when ``site`` is left
    out): counted now, or not (a zone whose readers are down or unknown, or in which the
    edge has pallets ``unknown``, is not counted, never counted as empty)."""
    async with st.pool.connection() as conn:
        cur = await conn.execute("SELECT reader_id, state, last_seen FROM readers")
        readers = [ReaderState(*row) for row in await cur.fetchall()]
        heard = await db.heard_pallets(conn)
    rules = CountRules(st.settings.variance_after, st.settings.edge_offline_after)
    now = st.settings.now_clock()()
    out: list[ZoneCountOut] = []
    for where in st.sites_of(site):
        layout = st.layout(where)
        zone_readers = {z: [r.id for r in layout.readers_at(z)] for z in storage_zones(layout)}
        counts = zone_counts(zone_readers, readers, now, rules, heard)
        out += [
            ZoneCountOut(
                site=where, zone=c.zone, counted=c.counted, status=c.status, down=list(c.down)
            )
            for c in counts.values()
        ]
    return out


async def _decide(
    st: State, variance_id: int, to: VarianceStatus, actor: str, body: DecisionIn | None
) -> VarianceOut:
    at = st.settings.now_clock()()
    note = body.note if body else None
    doors = st.sites.doors
    try:
        async with st.pool.connection() as conn, conn.transaction():
            if to is VarianceStatus.APPROVED:
                v = await db.approve(conn, variance_id, by=actor, at=at, note=note, doors=doors)
            else:
                v = await db.reject(conn, variance_id, by=actor, at=at, note=note)
            await resolve_alert(
                conn,
                site=v.site,
                variance_id=v.id,
                by=actor,
                at=at,
                note=f"variance {to.value}" + (f": {note}" if note else ""),
            )
    except db.VarianceNotFound:
        raise HTTPException(404, detail=f"no variance {variance_id}") from None
    except (VarianceError, LedgerError) as e:
        raise HTTPException(409, detail=str(e)) from None
    return variance_out(v)


@router.post("/variances/{variance_id}/approve", response_model=VarianceOut, responses=_STEP)
async def approve(
    st: State, variance_id: VarianceId, actor: Actor, body: DecisionIn | None = None
) -> VarianceOut:
    """The readers are right: the adjustment is posted to the ledger (missing: the
    pallet written off; unexpected: adjusted in where heard if the goods know it, else
    recorded; wrong zone: moved to the zone heard), naming the variance as the cause."""
    return await _decide(st, variance_id, VarianceStatus.APPROVED, actor, body)


@router.post("/variances/{variance_id}/reject", response_model=VarianceOut, responses=_STEP)
async def reject(
    st: State, variance_id: VarianceId, actor: Actor, body: DecisionIn | None = None
) -> VarianceOut:
    """The book is right: closed with nothing posted."""
    return await _decide(st, variance_id, VarianceStatus.REJECTED, actor, body)
