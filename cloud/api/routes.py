"""REST endpoints: health, readers, edges, the readers' faults and antenna events, tags."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from cloud.api import schemas
from cloud.api.health_status import overall_health
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import CloudState, SiteFilter, State
from cloud.db import events as events_db
from cloud.db import queries
from cloud.ingest.places import place_of
from cloud.model import ReaderEventRecord, ReaderStatus, SpoolDepth
from protocols.epc import EPCError, decode_hex
from protocols.layout import Layout, Reader
from protocols.mqtt import FAULT_KINDS, ReaderEventKind

router = APIRouter(prefix="/api")

MAX_EPC_HEX = 124  # 496 bits, the largest EPC the MQTT schema carries


def parse_epc(text: str) -> str:
    """Upper-case hex EPC from ``text``; ValueError naming what is wrong."""
    epc = text.strip().upper()
    if not epc:
        raise ValueError("EPC is empty; expected hex digits such as 3034257BF7194E4000001A85")
    bad = next((c for c in epc if c not in "0123456789ABCDEF"), None)
    if bad is not None:
        raise ValueError(
            f"EPC {text!r} contains {bad!r}; an EPC is hex digits 0-9 and A-F "
            "(such as 3034257BF7194E4000001A85)"
        )
    if len(epc) % 4 or len(epc) > MAX_EPC_HEX:
        raise ValueError(
            f"EPC {text!r} has {len(epc)} hex digits; an EPC is a multiple of 4 digits "
            f"(16 bits), at most {MAX_EPC_HEX} (24 for a 96-bit EPC)"
        )
    return epc


@router.get(
    "/health",
    response_model=schemas.Health,
    responses={503: {"model": schemas.Health, "description": "database unreachable"}},
)
async def health(st: State, request: Request, response: Response) -> schemas.Health:
    """Database reachable, broker connected, ingest counters, row counts, live feed, the
    warehouse feed."""
    feed = getattr(request.app.state, "feed", None)
    fs = feed.stats if feed is not None else None
    db = schemas.DatabaseHealth(ok=True)
    counts: schemas.TableCounts | None = None
    try:
        async with st.pool.connection(timeout=min(3.0, st.settings.db_timeout_s)) as conn:
            c = await queries.table_counts(conn)
        counts = schemas.TableCounts(
            tags=c.tags,
            readers=c.readers,
            edges=c.edges,
            dead_letters=c.dead_letters,
            estimated=list(c.estimated),
        )
    except psycopg.Error as e:
        db = schemas.DatabaseHealth(ok=False, error=str(e).strip() or type(e).__name__)
    ing = st.ingester
    s = ing.stats if ing is not None else None
    lf = st.live_feed
    mqtt = schemas.MqttHealth(
        connected=bool(s and s.connected),
        broker=st.settings.mqtt_broker,
        client_id=ing.client_id if ing else "",
        subscription=ing.topic_filter if ing else "",
    )
    verdict = overall_health(
        database_ok=db.ok,
        ingest_running=ing is not None,
        broker_connected=mqtt.connected,
        failing_since=s.failing_since if s else None,
        now=st.settings.now_clock()(),
        stuck_after=timedelta(seconds=st.settings.ingest_stuck_after_s),
        feed_skipped=fs.failed if fs else 0,
        live_feed_connected=lf is None or lf.connected.is_set(),
    )
    if verdict.status == "down":
        response.status_code = 503
    return schemas.Health(
        status=verdict.status,
        problems=verdict.problems,
        site=st.sites.first,
        sites=list(st.sites.ids),
        database=db,
        mqtt=mqtt,
        ingest=schemas.IngestHealth(
            running=ing is not None,
            messages=s.messages if s else 0,
            batches=s.batches if s else 0,
            observations=s.observations if s else 0,
            events=s.events if s else 0,
            duplicates=s.duplicates if s else 0,
            dead_letters=s.dead_letters if s else 0,
            poison=s.poison if s else 0,
            last_ingest_at=s.last_ingest_at if s else None,
            last_error=s.last_error if s else None,
            failing_since=s.failing_since if s else None,
        ),
        counts=counts,
        live=schemas.LiveHealth(
            seq=st.hub.seq,
            stream=st.hub.stream,
            clients=st.hub.clients,
            resyncs=st.hub.resyncs,
            buffered=st.hub.buffered[0],
            buffered_bytes=st.hub.buffered[1],
            broker_connected=lf is not None and lf.connected.is_set(),
            from_broker=lf.applied if lf else 0,
            gaps=lf.gaps if lf else 0,
            reseeds=st.hub.reseeds,
        ),
        feed=schemas.FeedHealth(
            running=feed is not None,
            events=fs.events if fs else 0,
            applied=fs.applied if fs else 0,
            skipped=fs.failed if fs else 0,
            last_error=fs.last_error if fs else None,
        ),
    )


def _layout_reader(st: CloudState, reader_id: str) -> tuple[Layout, Reader] | None:
    """The layout that has the reader, and the reader; None when no served site's has."""
    for layout in st.sites.layouts.values():
        try:
            return layout, layout.reader(reader_id)
        except KeyError:
            continue
    return None


def _reader_out(st: CloudState, reader_id: str, status: ReaderStatus | None) -> schemas.ReaderOut:
    found = _layout_reader(st, reader_id)
    r = found[1] if found else None
    rates = status.reads_per_s if status else {}
    # keys are antenna numbers; '²'.isdigit() is True too, so ASCII digits only
    per_antenna: dict[int, float] = {}
    for k, v in rates.items():
        if k.isascii() and k.isdigit():
            per_antenna[int(k)] = per_antenna.get(int(k), 0.0) + v
    layout_antennas = {a.id for a in r.antennas} if r else set()
    antenna_ids = sorted(layout_antennas | set(per_antenna))
    return schemas.ReaderOut(
        reader_id=reader_id,
        edge_id=status.edge_id if status else (r.edge if r else ""),
        place=(r.door or r.zone) if r else None,
        place_kind=("door" if r.door else "zone") if r else None,
        in_layout=r is not None,
        state=status.state if status else "unknown",
        last_seen=status.last_seen if status else None,
        last_report_at=status.last_report_at if status else None,
        reads_per_s=round(sum(rates.values()), 3),
        clock_offset_s=status.clock_offset_s if status else None,
        antennas=[
            schemas.AntennaRate(
                antenna=a,
                read_point=found[0].read_point(reader_id, a) if found else None,
                reads_per_s=per_antenna.get(a, 0.0),
            )
            for a in antenna_ids
        ],
    )


@router.get(
    "/readers",
    response_model=Page[schemas.ReaderOut],
    responses={422: {"description": "bad limit or cursor"}},
)
async def readers(
    st: State, site: SiteFilter = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[schemas.ReaderOut]:
    """A page of readers: those of the sites' layouts first (of the one site named, or of
    every site), in site and layout order, then (without ``site``) any other reader
    health messages named, sorted by id; each with its state, last health message and
    reads per second per antenna."""
    layout_ids = [r.id for s in st.sites_of(site) for r in st.layout(s).readers]
    every_layout_id = [r.id for layout in st.sites.layouts.values() for r in layout.readers]
    phase, after = ("layout", "") if cursor is None else cursor_or_422(cursor, str, str)
    ids: list[str] = []
    if phase == "layout":
        start = 0
        if after:
            try:
                start = layout_ids.index(str(after)) + 1
            except ValueError:  # the layout changed since the cursor was made
                raise HTTPException(
                    422,
                    detail=f"cursor {cursor!r} names reader {after!r}, which is not in the "
                    "layout any more; start again without a cursor",
                ) from None
        ids = layout_ids[start : start + limit]
        more_in_layout = start + limit < len(layout_ids)
    elif phase == "database":
        more_in_layout = False
    else:
        raise HTTPException(422, detail=f"cursor {cursor!r} is not a cursor this list gave out")
    room = limit - len(ids)
    async with st.pool.connection() as conn:
        statuses = {s.reader_id: s for s in await queries.reader_statuses_of(conn, ids)}
        others = (
            []
            if more_in_layout or site is not None
            else await queries.reader_statuses_after(
                conn,
                str(after) if phase == "database" else "",
                room + 1,
                excluding=every_layout_id,
            )
        )
    items = [_reader_out(st, rid, statuses.get(rid)) for rid in ids]
    items += [_reader_out(st, s.reader_id, s) for s in others[:room]]
    if more_in_layout:
        next_cursor: str | None = encode_cursor("layout", ids[-1])
    elif len(others) > room:  # "" when the page ends with the layout's last reader
        next_cursor = encode_cursor("database", others[room - 1].reader_id if room else "")
    else:
        next_cursor = None
    return Page(items=items, next=next_cursor)


def _spool_out(s: SpoolDepth | None) -> schemas.SpoolOut | None:
    if s is None:
        return None
    return schemas.SpoolOut(
        batches=s.batches,
        bytes=s.bytes,
        max_bytes=s.max_bytes,
        full=s.full,
        refused_batches=s.refused_batches,
        at=s.at,
    )


@router.get(
    "/edges",
    response_model=Page[schemas.EdgeOut],
    responses={422: {"description": "bad limit or cursor"}},
)
async def edges(
    st: State, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[schemas.EdgeOut]:
    """A page of the edges, by id: online or offline (and since when) by their status
    messages, and their spool (what waits there for the cloud) by their health
    messages."""
    after = "" if cursor is None else str(cursor_or_422(cursor, str)[0])
    async with st.pool.connection() as conn:
        found = await queries.edge_states_after(conn, after, limit + 1)
    items = [
        schemas.EdgeOut(
            edge_id=e.edge_id,
            state=e.state,  # type: ignore[arg-type]  # the table's CHECK
            last_seen=e.last_seen,
            changed_at=e.changed_at,
            spool=_spool_out(e.spool),
        )
        for e in found[:limit]
    ]
    more = len(found) > limit
    return Page(items=items, next=encode_cursor(items[-1].edge_id) if more else None)


def _reader_event_out(e: ReaderEventRecord) -> schemas.ReaderEventOut:
    return schemas.ReaderEventOut(
        id=e.id,
        time=e.time,
        edge_id=e.edge_id,
        reader_id=e.reader_id,
        kind=e.kind,
        fault=e.kind in _FAULTS,
        antenna=e.antenna,
        detail=e.detail,
        stored_at=e.stored_at,
    )


_FAULTS = frozenset(k.value for k in FAULT_KINDS)
_TIMES: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad parameter, kind or cursor, or a time without a time zone"}
}


def _zoned(name: str, t: datetime | None) -> datetime | None:
    if t is not None and t.tzinfo is None:
        raise HTTPException(422, detail=f"{name} {t.isoformat()!r} has no time zone (add Z)")
    return t


@router.get("/reader-events", response_model=Page[schemas.ReaderEventOut], responses=_TIMES)
async def reader_events(
    st: State,
    edge: Annotated[str | None, Query(max_length=63, description="one edge only")] = None,
    reader: Annotated[str | None, Query(max_length=63, description="one reader only")] = None,
    kind: Annotated[
        list[str] | None,
        Query(description="only these kinds (repeatable), e.g. antenna_disconnected"),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="only events at or after this time (ISO-8601, zoned)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="only events before this time (ISO-8601, zoned)")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[schemas.ReaderEventOut]:
    """The readers' faults and antenna events, newest first, as the edges' health messages
    reported them (``time`` on the edge's clock): of one edge or reader, of some kinds,
    in a time range."""
    known = {k.value for k in ReaderEventKind}
    for k in kind or ():
        if k not in known:
            raise HTTPException(
                422, detail=f"kind {k!r:.80} is not one of: {', '.join(sorted(known))}"
            )
    which = queries.ReaderEventFilter(
        edge_id=edge,
        reader_id=reader,
        kinds=tuple(kind) if kind else None,
        since=_zoned("since", since),
        until=_zoned("until", until),
    )
    before: tuple[datetime, int] | None = None
    if cursor is not None:
        iso, row_id = cursor_or_422(cursor, str, int)
        try:
            before = datetime.fromisoformat(str(iso)), int(row_id)
        except ValueError:
            raise HTTPException(
                422, detail=f"cursor {cursor!r} is not a cursor this list gave out"
            ) from None
    async with st.pool.connection() as conn:
        found = await queries.reader_events(conn, which, limit + 1, before)
    items = [_reader_event_out(e) for e in found[:limit]]
    more = len(found) > limit
    last = found[limit - 1] if more else None
    return Page(
        items=items,
        next=encode_cursor(last.time.isoformat(), last.id) if last is not None else None,
    )


@router.get(
    "/tags/{epc}",
    response_model=schemas.TagOut,
    responses={404: {"description": "the EPC was never read"}, 422: {"description": "bad EPC"}},
)
async def tag(
    st: State,
    epc: Annotated[str, Path(description="EPC as hex, e.g. 3034257BF7194E4000001A85")],
    limit: Annotated[int, Query(ge=1, le=1000, description="history rows, newest first")] = 50,
) -> schemas.TagOut:
    """Where a tag is now (its newest read point), and its recent reads."""
    try:
        key = parse_epc(epc)
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from None
    async with st.pool.connection() as conn:
        here = await queries.tag_location(conn, key)
        if here is None:
            raise HTTPException(
                404,
                detail=f"EPC {key} has never been read at site "
                f"{', '.join(repr(s) for s in st.sites.ids)}",
            )
        history = await queries.tag_history(conn, key, limit)
        own, pallet = await events_db.tag_place(conn, key)
    place = place_of(own, pallet) if own is not None else None
    try:
        uri: str | None = decode_hex(key).uri
    except (EPCError, ValueError):
        uri = None
    return schemas.TagOut(
        epc=key,
        uri=uri,
        read_point=here.read_point,
        reader_id=here.reader_id,
        antenna=here.antenna,
        edge_id=here.edge_id,
        rssi_dbm=here.rssi_dbm,
        last_seen=here.last_seen,
        arrived_at=here.arrived_at,
        zone=place.zone if place is not None else None,
        state=place.state if place is not None else None,  # type: ignore[arg-type]
        door=place.door if place is not None else None,
        pallet=own.pallet if own is not None else None,
        place_since=place.changed_at if place is not None else None,
        history=history,
    )
