"""Stock: pallets and where they are, balances, availability, the ledger.

Routes, and the roles meant to be allowed on each (the central role policy wires it):

| route | roles |
|---|---|
| ``GET /api/pallets``, ``GET /api/pallets/{epc}`` | admin, operator, erp |
| ``GET /api/stock`` | admin, operator, erp |
| ``GET /api/availability`` | admin, operator, erp, customer |
| ``GET /api/ledger`` | admin, operator, erp |

Everything here is read from the ledger's positions (``stock_positions``, the sum of
``ledger_entries``): a pallet's zone and state are where its cases are booked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import SiteParam, State
from cloud.db import goods as goods_db
from cloud.db import stock as db
from cloud.warehouse.availability import Inbound, promise
from cloud.warehouse.ledger import IN_TRANSIT, LedgerError, StockState, check_gtin14
from protocols.epc import EPCError, Sscc96, check_digit, decode_hex

router = APIRouter(prefix="/api", tags=["stock"])

SiteQ = Annotated[str | None, Query(max_length=63, description="one site only")]
SkuQ = Annotated[str | None, Query(pattern=r"^[0-9]{14}$", description="one item only (GTIN-14)")]


def _sku(sku: str | None) -> str | None:
    if sku is not None:
        try:
            check_gtin14("sku", sku)
        except LedgerError as e:
            raise HTTPException(422, detail=str(e)) from None
    return sku


def pallet_key(text: str) -> tuple[str | None, str]:
    """(EPC or None, SSCC) of a pallet named by its SSCC-96 EPC (hex) or 18-digit SSCC;
    HTTPException 422 naming it otherwise."""
    t = text.strip().upper()
    if len(t) == 18 and t.isdigit():
        if int(t[-1]) != check_digit(t[:-1]):
            raise HTTPException(
                422,
                detail=f"pallet: SSCC {t} has check digit {t[-1]}, expected {check_digit(t[:-1])}",
            )
        return None, t
    try:
        decoded = decode_hex(t)
    except EPCError as e:
        raise HTTPException(
            422, detail=f"pallet: {text!r} is neither an 18-digit SSCC nor an EPC: {e}"
        ) from None
    if not isinstance(decoded, Sscc96):
        raise HTTPException(422, detail=f"pallet: {text!r} is a {decoded.scheme}, not an SSCC-96")
    return t, decoded.sscc


# -- pallets --------------------------------------------------------------------------


class PalletOut(BaseModel):
    epc: str | None = Field(description="SSCC-96 EPC (hex); null when only the SSCC is known")
    sscc: str
    sku: str
    lot: str
    expiry: date | None
    zone: str = Field(description="where its cases are booked: a zone, a door or in_transit")
    state: str = Field(description="available, reserved, quarantine, damaged or in_transit")
    cases: int = Field(description="cases on the pallet by the ledger")


def _pallets(rows: list[goods_db.PalletStock]) -> list[tuple[str, str, PalletOut]]:
    """One per pallet: its cases in all, the zone, state, item and lot of most of them."""
    by: dict[tuple[str, str], list[goods_db.PalletStock]] = defaultdict(list)
    for r in rows:
        by[(r.site, r.sscc)].append(r)
    out = []
    for (site, sscc), group in by.items():
        main = max(group, key=lambda r: r.cases)  # first of the largest, in key order
        assert main.sku and main.lot and main.location and main.state
        out.append(
            (
                site,
                sscc,
                PalletOut(
                    epc=main.epc,
                    sscc=sscc,
                    sku=main.sku,
                    lot=main.lot,
                    expiry=main.expiry,
                    zone=main.location,
                    state=main.state,
                    cases=sum(r.cases for r in group),
                ),
            )
        )
    return out


@router.get("/pallets", response_model=Page[PalletOut], responses={422: {"description": "bad"}})
async def list_pallets(
    st: State,
    site: SiteQ = None,
    zone: Annotated[str | None, Query(max_length=63, description="where they are")] = None,
    sku: SkuQ = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PalletOut]:
    """Pallets holding stock, by site and SSCC: item, lot, expiry, where (zone) and in
    which state most of their cases are, and how many cases by the ledger."""
    after = None
    if cursor is not None:
        raw = cursor_or_422(cursor, str, str)
        after = (str(raw[0]), str(raw[1]))
    async with st.pool.connection() as conn:
        rows = await goods_db.pallet_stock(
            conn, site=site, location=zone, sku=_sku(sku), after=after, limit=limit + 1
        )
    pallets = _pallets(rows)
    more = len(pallets) > limit
    page = pallets[:limit]
    items = [
        p for _, _, p in page if (zone is None or p.zone == zone) and (sku is None or p.sku == sku)
    ]
    return Page(items=items, next=encode_cursor(page[-1][0], page[-1][1]) if more else None)


class PalletCaseOut(BaseModel):
    epc: str
    announced: bool
    heard_at: datetime | None


class StockLineOut(BaseModel):
    sku: str
    lot: str
    zone: str
    state: str
    qty: int


class CauseOut(BaseModel):
    kind: str
    id: str


class EntryOut(BaseModel):
    id: int
    posting: int
    time: datetime
    kind: str
    cause: CauseOut
    site: str
    sku: str
    lot: str
    location: str
    state: str
    pallet: str | None = Field(description="SSCC; null for loose cases")
    qty: int
    recorded_at: datetime


class PalletDetailOut(BaseModel):
    site: str
    epc: str | None
    sscc: str
    sku: str | None
    lot: str | None
    expiry: date | None
    status: str = Field(description="announced, received or shipped")
    asn: str | None
    received_at: datetime | None
    received_by: str | None
    zone: str | None = Field(description="where most of its cases are booked")
    state: str | None
    cases: int = Field(description="cases on the pallet by the ledger")
    stock: list[StockLineOut]
    case_epcs: list[PalletCaseOut]
    history: list[EntryOut] = Field(description="its ledger entries, oldest first (at most 1000)")


def entry_out(e: db.EntryRow) -> EntryOut:
    b = e.position.bucket
    return EntryOut(
        id=e.id,
        posting=e.posting,
        time=e.time,
        kind=e.kind.value,
        cause=CauseOut(kind=e.cause.kind.value, id=e.cause.ref),
        site=b.site,
        sku=b.item,
        lot=b.lot,
        location=b.location,
        state=b.state.value,
        pallet=e.position.pallet,
        qty=e.qty,
        recorded_at=e.recorded_at,
    )


@router.get(
    "/pallets/{epc}",
    response_model=PalletDetailOut,
    responses={404: {"description": "no such pallet"}, 422: {"description": "not a pallet"}},
)
async def get_pallet(
    epc: Annotated[str, Path(max_length=124, description="SSCC-96 EPC (hex) or 18-digit SSCC")],
    st: State,
    site: SiteQ = None,
) -> PalletDetailOut:
    """A pallet: what it is, where its cases are by the ledger, its case EPCs and its
    ledger history, at the site named, else at the first served site that knows it."""
    _, sscc = pallet_key(epc)
    candidates = st.sites_of(site)
    async with st.pool.connection() as conn:
        for where in candidates:
            p = await goods_db.pallet_with_cases(conn, where, sscc)
            held = await db.pallet_positions(conn, where, sscc)
            if p is not None or held:
                break
        history = await db.entries(conn, site=where, pallet=sscc, limit=1000)
    if p is None and not held:
        at = f"site {where!r}" if len(candidates) == 1 else "any site"
        raise HTTPException(404, detail=f"pallet: {sscc} is not known at {at}")
    main = max(held, key=lambda r: r.qty).bucket if held else None
    return PalletDetailOut(
        site=where,
        epc=p.epc if p else None,
        sscc=sscc,
        sku=p.sku if p and p.sku else (main.item if main else None),
        lot=p.lot if p and p.lot else (main.lot if main else None),
        expiry=(p.expiry if p else None) or (held[0].expiry if held else None),
        status=p.status if p else "received",
        asn=p.asn if p else None,
        received_at=p.received_at if p else None,
        received_by=p.received_cause if p else None,
        zone=main.location if main else None,
        state=main.state.value if main else None,
        cases=sum(r.qty for r in held if r.bucket.state is not StockState.IN_TRANSIT),
        stock=[
            StockLineOut(
                sku=r.bucket.item,
                lot=r.bucket.lot,
                zone=r.bucket.location,
                state=r.bucket.state.value,
                qty=r.qty,
            )
            for r in held
        ],
        case_epcs=[
            PalletCaseOut(epc=c.epc, announced=c.announced, heard_at=c.heard_at)
            for c in (p.cases if p else ())
        ],
        history=[entry_out(e) for e in history],
    )


# -- stock ----------------------------------------------------------------------------


class BalanceOut(BaseModel):
    site: str
    sku: str
    lot: str
    expiry: date | None
    zone: str = Field(description="a zone, a door, or in_transit")
    state: str = Field(description="available, reserved, quarantine, damaged or in_transit")
    qty: int = Field(description="cases")


@router.get("/stock", response_model=Page[BalanceOut], responses={422: {"description": "bad"}})
async def list_stock(
    st: State,
    site: SiteQ = None,
    sku: SkuQ = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[BalanceOut]:
    """Balances by site, item, lot, zone and state (non-zero), in that order."""
    after: tuple[str, ...] | None = None
    if cursor is not None:
        after = tuple(str(v) for v in cursor_or_422(cursor, str, str, str, str, str))
    async with st.pool.connection() as conn:
        rows = await _balances(conn, site=site, sku=_sku(sku), after=after, limit=limit + 1)
    more = len(rows) > limit
    items = [
        BalanceOut(site=r[0], sku=r[1], lot=r[2], zone=r[3], state=r[4], qty=r[5], expiry=r[6])
        for r in rows[:limit]
    ]
    last = rows[limit - 1] if more else None
    return Page(items=items, next=encode_cursor(*last[:5]) if last else None)


async def _balances(
    conn: Any,
    *,
    site: str | None,
    sku: str | None,
    after: tuple[str, ...] | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    parts = ["sp.qty > 0"]
    params: list[Any] = []
    if site is not None:
        parts.append("sp.site = %s")
        params.append(site)
    if sku is not None:
        parts.append("sp.sku = %s")
        params.append(sku)
    if after is not None:
        parts.append("(sp.site, sp.sku, sp.lot, sp.location, sp.state) > (%s, %s, %s, %s, %s)")
        params.extend(after)
    # the page is grouped in the primary key's order and limited before each line's lot
    # is looked up (one row of lots, by its key: the lots' key has the default collation
    # and the positions' "C", so only with COLLATE can its index serve)
    cur = await conn.execute(
        "SELECT b.site, b.sku, b.lot, b.location, b.state, b.qty,"
        ' (SELECT l.expiry FROM lots l WHERE l.sku = b.sku COLLATE "default"'
        ' AND l.lot = b.lot COLLATE "default") FROM ('
        "SELECT sp.site, sp.sku, sp.lot, sp.location, sp.state, sum(sp.qty)::int AS qty"
        f" FROM stock_positions sp WHERE {' AND '.join(parts)}"
        " GROUP BY sp.site, sp.sku, sp.lot, sp.location, sp.state"
        " ORDER BY sp.site, sp.sku, sp.lot, sp.location, sp.state LIMIT %s) b"
        " ORDER BY b.site, b.sku, b.lot, b.location, b.state",
        [*params, limit],
    )
    rows: list[tuple[Any, ...]] = await cur.fetchall()
    return rows


# -- availability ---------------------------------------------------------------------


class SourceOut(BaseModel):
    kind: str = Field(description="stock (available now) or asn (announced inbound)")
    asn: str | None
    qty: int = Field(description="cases it gives toward the quantity asked")
    date: date


class AvailabilityOut(BaseModel):
    sku: str
    qty: int
    available_now: int = Field(description="cases available (not reserved nor blocked) now")
    promised_date: date | None = Field(
        description="the day the quantity can be had; null when stock and announced "
        "inbound together fall short"
    )
    sources: list[SourceOut]


@router.get(
    "/availability",
    response_model=AvailabilityOut,
    responses={404: {"description": "no such item"}, 422: {"description": "bad sku or qty"}},
)
async def availability(
    st: State,
    sku: Annotated[str, Query(pattern=r"^[0-9]{14}$", description="GTIN-14")],
    qty: Annotated[int, Query(ge=1, le=10_000_000, description="cases wanted")] = 1,
    site: SiteParam = None,
) -> AvailabilityOut:
    """What is available now of an item at a site, and when ``qty`` cases can be
    promised: from available stock today, then from notices not yet received, by their
    expected date (overdue notices are not counted on)."""
    _sku(sku)
    now = st.settings.now_clock()()
    site = st.site(site)
    async with st.pool.connection() as conn:
        if await goods_db.item(conn, sku) is None:
            raise HTTPException(404, detail=f"sku: {sku} is not in the item master")
        balances = await db.balances(conn, site=site, sku=sku, state=StockState.AVAILABLE)
        inbound = await goods_db.inbound_pending(
            conn, site=site, sku=sku, due_after=now - st.settings.short_receipt_grace
        )
    now_qty = sum(b.qty for b in balances if b.bucket.location != IN_TRANSIT)
    p = promise(
        qty,
        available_now=now_qty,
        inbound=[Inbound(a, t, n) for a, t, n in inbound],
        now=now,
    )
    return AvailabilityOut(
        sku=sku,
        qty=qty,
        available_now=p.available_now,
        promised_date=p.promised_date,
        sources=[SourceOut(kind=s.kind, asn=s.ref, qty=s.qty, date=s.date) for s in p.sources],
    )


# -- the ledger -----------------------------------------------------------------------


@router.get("/ledger", response_model=Page[EntryOut], responses={422: {"description": "bad"}})
async def ledger(
    st: State,
    sku: SkuQ = None,
    pallet: Annotated[
        str | None, Query(max_length=124, description="SSCC-96 EPC (hex) or 18-digit SSCC")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="entries at or after this time (with a time zone)")
    ] = None,
    site: SiteQ = None,
    lot: Annotated[str | None, Query(min_length=1, max_length=128, description="one lot")] = None,
    zone: Annotated[
        str | None, Query(min_length=1, max_length=63, description="one zone, door or in_transit")
    ] = None,
    state: Annotated[StockState | None, Query(description="one stock state")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[EntryOut]:
    """Ledger entries in the order they were posted: every change of stock, with its
    kind, cause (the passage, zone event, scan, order or user behind it) and signed
    quantity. ``sku``, ``lot``, ``zone`` and ``state`` together (with ``site``) give
    the entries of one balance of ``GET /api/stock``: they sum to its quantity."""
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, detail=f"since: {since.isoformat()!r} has no time zone (add Z)")
    after = 0 if cursor is None else int(cursor_or_422(cursor, int)[0])
    sscc = pallet_key(pallet)[1] if pallet is not None else None
    async with st.pool.connection() as conn:
        rows = await db.entries(
            conn,
            site=site,
            sku=_sku(sku),
            pallet=sscc,
            lot=lot,
            location=zone,
            state=state,
            since=since,
            after_id=after,
            limit=limit + 1,
        )
    more = len(rows) > limit
    return Page(
        items=[entry_out(e) for e in rows[:limit]],
        next=encode_cursor(rows[limit - 1].id) if more else None,
    )
