"""The edges' events: door passages, zone events, weights, and what is in a zone now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from cloud.api import schemas
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import CloudState, SiteFilter, State
from cloud.db import events as db
from cloud.ingest.places import place_of

router = APIRouter(prefix="/api")

Since = Annotated[
    datetime | None,
    Query(description="only events at or after this time (ISO-8601 with a time zone)"),
]
_UNTIMED: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad parameter, a time without a time zone, or a site not served"}
}


def _site(st: CloudState, site: str | None) -> str | None:
    """The one site a list keeps, None for all; 422 naming a site not served."""
    return None if site is None else st.sites_of(site)[0]


def _since(since: datetime | None) -> datetime | None:
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, detail=f"since {since.isoformat()!r} has no time zone (add Z)")
    return since


def _after(cursor: str | None) -> db.Position | None:
    if cursor is None:
        return None
    iso, row_id = cursor_or_422(cursor, str, int)
    try:
        return datetime.fromisoformat(str(iso)), int(row_id)
    except ValueError:
        raise HTTPException(
            422, detail=f"cursor {cursor!r} is not one this list gave out"
        ) from None


def _next(rows: list[Any], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(last.time.isoformat(), last.id)


def _epc(text: str | None) -> str | None:
    return text.strip().upper() if text else None


@router.get("/passages", response_model=Page[schemas.PassageOut], responses=_UNTIMED)
async def passages(
    st: State,
    site: SiteFilter = None,
    since: Since = None,
    door: Annotated[str | None, Query(max_length=63, description="one door only")] = None,
    epc: Annotated[
        str | None, Query(max_length=124, description="passages of this pallet, case or tag")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[schemas.PassageOut]:
    """Door crossings in time order: when (the door's middle), which door, which way,
    the pallet (SSCC-96) with its cases, how sure, and the evidence; of one site or of
    all."""
    one = _site(st, site)
    async with st.pool.connection() as conn:
        rows = await db.passages(
            conn,
            site=one,
            since=_since(since),
            after=_after(cursor),
            door=door,
            epc=_epc(epc),
            limit=limit + 1,
        )
    items = [
        schemas.PassageOut(
            time=r.time,
            door=r.door,
            direction=r.direction,  # type: ignore[arg-type]
            epc=r.epc,
            cases=r.cases,
            confidence=r.confidence,
            edge_id=r.edge_id,
            site=r.site,
            stored_at=r.stored_at,
            evidence={k: schemas.SideEvidenceOut(**v) for k, v in r.evidence.items()},
        )
        for r in rows[:limit]
    ]
    return Page(items=items, next=_next(rows, limit))


@router.get("/zone-events", response_model=Page[schemas.ZoneEventOut], responses=_UNTIMED)
async def zone_events(
    st: State,
    site: SiteFilter = None,
    since: Since = None,
    epc: Annotated[str | None, Query(max_length=124)] = None,
    zone: Annotated[str | None, Query(max_length=63)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[schemas.ZoneEventOut]:
    """Tags arriving in, moving between, departing from zones (and unknown while a
    zone's readers are out), in time order; of one site or of all."""
    one = _site(st, site)
    async with st.pool.connection() as conn:
        rows = await db.zone_events(
            conn,
            site=one,
            since=_since(since),
            after=_after(cursor),
            epc=_epc(epc),
            zone=zone,
            limit=limit + 1,
        )
    items = [
        schemas.ZoneEventOut(
            time=r.time,
            kind=r.kind,  # type: ignore[arg-type]
            epc=r.epc,
            zone=r.zone,
            from_zone=r.from_zone,
            edge_id=r.edge_id,
            site=r.site,
            stored_at=r.stored_at,
        )
        for r in rows[:limit]
    ]
    return Page(items=items, next=_next(rows, limit))


@router.get("/weights", response_model=Page[schemas.WeightOut], responses=_UNTIMED)
async def weights(
    st: State,
    site: SiteFilter = None,
    since: Since = None,
    scale: Annotated[str | None, Query(max_length=63)] = None,
    epc: Annotated[str | None, Query(max_length=124, description="weights of this pallet")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[schemas.WeightOut]:
    """Stable scale weights in time order, each with the pallet that was on the scale;
    of one site or of all."""
    one = _site(st, site)
    async with st.pool.connection() as conn:
        rows = await db.weights(
            conn,
            site=one,
            since=_since(since),
            after=_after(cursor),
            scale=scale,
            epc=_epc(epc),
            limit=limit + 1,
        )
    items = [
        schemas.WeightOut(
            time=r.time,
            scale=r.scale,
            weight_kg=r.weight_kg,
            epc=r.epc,
            cases=r.cases,
            candidates=r.candidates,
            edge_epc=r.edge_epc,
            edge_id=r.edge_id,
            site=r.site,
            stored_at=r.stored_at,
        )
        for r in rows[:limit]
    ]
    return Page(items=items, next=_next(rows, limit))


def epc_kind(epc: str) -> str:
    """pallet (an SSCC-96: GS1 header 0x31), case (an SGTIN-96: 0x30) or tag."""
    if len(epc) == 24:
        return {"31": "pallet", "30": "case"}.get(epc[:2], "tag")
    return "tag"


@router.get(
    "/zones/{zone}/tags",
    response_model=Page[schemas.ZoneTagOut],
    responses={
        404: {"description": "no such zone in the layout"},
        422: {"description": "bad cursor"},
    },
)
async def zone_tags(
    st: State,
    zone: Annotated[str, Path(max_length=63)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[schemas.ZoneTagOut]:
    """The EPCs in a zone now, by EPC: pallets and tags heard there, and the cases on
    those pallets."""
    if zone not in st.sites.zones:
        raise HTTPException(404, detail=f"zone {zone!r} is not a zone of the layout")
    after = None if cursor is None else str(cursor_or_422(cursor, str)[0])
    async with st.pool.connection() as conn:
        rows = await db.places_in_zone(conn, zone, after=after, limit=limit + 1)
    items = []
    for tag, pallet in rows[:limit]:
        place = place_of(tag, pallet)
        if place.state == "present" and place.zone == zone:
            items.append(
                schemas.ZoneTagOut(
                    epc=tag.epc,
                    kind=epc_kind(tag.epc),  # type: ignore[arg-type]
                    pallet=tag.pallet,
                    since=place.changed_at,
                )
            )
    more = len(rows) > limit
    return Page(items=items, next=encode_cursor(rows[limit - 1][0].epc) if more else None)
