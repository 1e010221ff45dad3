"""Goods: the item master and advance ship notices (ASNs).

Routes, and the roles meant to be allowed on each (the central role policy wires it):

| route | roles |
|---|---|
| ``POST /api/items`` | admin, erp |
| ``GET /api/items``, ``GET /api/items/{sku}`` | admin, operator, erp |
| ``POST /api/asns`` | admin, erp |
| ``GET /api/asns``, ``GET /api/asns/{asn}`` | admin, operator, erp |

A notice announces pallets (SSCC or SSCC-96 EPC, item, lot, expiry, case EPCs or a
count); the warehouse feed receives them as they come through a door
(:mod:`cloud.operations.inbound`) and ``GET /api/asns/{asn}`` says where each stands.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import SiteFilter, State
from cloud.db import goods as db
from cloud.warehouse.ledger import LedgerError, check_gtin14
from cloud.warehouse.notices import StoredPallet, notice_status
from protocols.epc import EPCError, Sgtin96, Sscc96, check_digit, decode_hex
from protocols.types import ID_PATTERN, EpcHex

router = APIRouter(prefix="/api", tags=["goods"])

Sku = Annotated[str, Field(pattern=r"^[0-9]{14}$", description="GTIN-14 (check digit checked)")]
SkuPath = Annotated[str, Path(pattern=r"^[0-9]{14}$", description="GTIN-14")]


def _gtin(field: str, sku: str) -> str:
    try:
        return check_gtin14(field, sku)
    except LedgerError as e:
        raise ValueError(str(e)) from None


# -- items ----------------------------------------------------------------------------


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    case_weight_kg: float = Field(gt=0, le=10_000, allow_inf_nan=False)
    shelf_life_days: int | None = Field(default=None, ge=1, le=36_500)
    pallet_tare_kg: float = Field(default=25.0, ge=0, le=10_000, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check_digit(self) -> ItemIn:
        _gtin("sku", self.sku)
        return self


class ItemOut(BaseModel):
    sku: str
    name: str
    case_weight_kg: float
    shelf_life_days: int | None
    pallet_tare_kg: float
    created_at: datetime
    updated_at: datetime


def _item_out(i: db.Item) -> ItemOut:
    assert i.created_at is not None and i.updated_at is not None
    return ItemOut(
        sku=i.sku,
        name=i.name,
        case_weight_kg=i.case_weight_kg,
        shelf_life_days=i.shelf_life_days,
        pallet_tare_kg=i.pallet_tare_kg,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


@router.post(
    "/items",
    response_model=ItemOut,
    status_code=201,
    responses={200: {"description": "an existing item updated"}, 422: {"description": "bad item"}},
)
async def put_item(body: ItemIn, st: State, response: Response) -> ItemOut:
    """Create an item of the master (201), or update the item of that SKU (200)."""
    item = db.Item(
        body.sku, body.name, body.case_weight_kg, body.shelf_life_days, body.pallet_tare_kg
    )
    async with st.pool.connection() as conn, conn.transaction():
        stored, new = await db.upsert_item(conn, item, now=st.settings.now_clock()())
    if not new:
        response.status_code = 200
    return _item_out(stored)


@router.get("/items", response_model=Page[ItemOut], responses={422: {"description": "bad cursor"}})
async def list_items(
    st: State, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ItemOut]:
    """The item master, by SKU."""
    after = None if cursor is None else str(cursor_or_422(cursor, str)[0])
    async with st.pool.connection() as conn:
        rows = await db.items(conn, after=after, limit=limit + 1)
    more = len(rows) > limit
    return Page(
        items=[_item_out(i) for i in rows[:limit]],
        next=encode_cursor(rows[limit - 1].sku) if more else None,
    )


@router.get("/items/{sku}", response_model=ItemOut, responses={404: {"description": "no such"}})
async def get_item(sku: SkuPath, st: State) -> ItemOut:
    async with st.pool.connection() as conn:
        found = await db.item(conn, sku)
    if found is None:
        raise HTTPException(404, detail=f"sku: {sku} is not in the item master")
    return _item_out(found)


# -- notices --------------------------------------------------------------------------


class AsnPalletIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sscc: str | None = Field(
        default=None, pattern=r"^[0-9]{18}$", description="18-digit SSCC (check digit checked)"
    )
    epc: EpcHex | None = Field(default=None, description="the pallet's SSCC-96 EPC (hex)")
    sku: Sku
    lot: str = Field(min_length=1, max_length=20)
    expiry: date | None = None
    cases: list[EpcHex] | int = Field(
        description="the SGTIN-96 EPCs (hex) of its cases, or how many cases it holds"
    )

    @model_validator(mode="after")
    def _identity(self) -> AsnPalletIn:
        _gtin("sku", self.sku)
        if self.sscc is None and self.epc is None:
            raise ValueError("a pallet needs its sscc or its epc")
        if self.epc is not None:
            try:
                decoded = decode_hex(self.epc)
            except EPCError as e:
                raise ValueError(f"epc: {self.epc!r} is not an EPC: {e}") from None
            if not isinstance(decoded, Sscc96):
                raise ValueError(f"epc: {self.epc!r} is a {decoded.scheme}, not an SSCC-96")
            if self.sscc is not None and self.sscc != decoded.sscc:
                raise ValueError(f"sscc: {self.sscc} is not the SSCC of epc {self.epc}")
            self.sscc = decoded.sscc
        assert self.sscc is not None
        _sscc(self.sscc)
        if isinstance(self.cases, int):
            if not 1 <= self.cases <= 10_000:
                raise ValueError(f"cases: a count is 1 to 10000, got {self.cases}")
        else:
            if not 1 <= len(self.cases) <= 10_000:
                raise ValueError(f"cases: list 1 to 10000 case EPCs, got {len(self.cases)}")
            if len(set(self.cases)) != len(self.cases):
                raise ValueError("cases: a case EPC is listed twice")
            for epc in self.cases:
                try:
                    case = decode_hex(epc)
                except EPCError as e:
                    raise ValueError(f"cases: {epc!r} is not an EPC: {e}") from None
                if not isinstance(case, Sgtin96):
                    raise ValueError(f"cases: {epc!r} is a {case.scheme}, not an SGTIN-96")
                if case.gtin != self.sku:
                    raise ValueError(f"cases: {epc} is an item {case.gtin}, not {self.sku}")
        return self


def _sscc(sscc: str) -> None:
    if int(sscc[-1]) != check_digit(sscc[:-1]):
        raise ValueError(
            f"sscc: {sscc!r} has check digit {sscc[-1]}, expected {check_digit(sscc[:-1])}"
        )


class AsnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asn: str | None = Field(
        default=None, pattern=ID_PATTERN, description="the notice's id; one is made if absent"
    )
    site: str | None = Field(
        default=None,
        max_length=63,
        description="the receiving site (GET /api/sites); may be left out when the cloud "
        "serves one",
    )
    supplier: str = Field(min_length=1, max_length=200)
    expected_at: AwareDatetime
    door: str | None = Field(default=None, max_length=63, description="a dock door of the site")
    pallets: list[AsnPalletIn] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _unique(self) -> AsnIn:
        seen: dict[str, int] = {}
        cases: dict[str, int] = {}
        for i, p in enumerate(self.pallets):
            assert p.sscc is not None
            if p.sscc in seen:
                raise ValueError(f"pallets[{i}].sscc: {p.sscc} is announced twice")
            seen[p.sscc] = i
            for c in p.cases if isinstance(p.cases, list) else ():
                if c in cases:
                    raise ValueError(f"pallets[{i}].cases: {c} is on pallets[{cases[c]}] too")
                cases[c] = i
        return self


class AsnReportOut(BaseModel):
    pallets_expected: int
    pallets_received: int
    pallets_short: int
    pallets_pending: int
    cases_expected: int
    cases_received: int
    cases_short: int = Field(description="missing from pallets that came, and of short pallets")
    cases_over: int = Field(description="heard or counted beyond the notice (not booked)")
    complete: bool


class AsnPalletOut(BaseModel):
    sscc: str
    epc: str | None
    sku: str
    lot: str
    expiry: date | None
    cases: int = Field(description="cases announced")
    case_epcs: list[str] = Field(description="the announced case EPCs (empty: a count only)")
    status: Literal["pending", "received", "missing_cases", "short"]
    received_at: datetime | None
    received_by: str | None = Field(description="passage:<id> or scan:<id>")
    door: str | None
    cases_received: int
    cases_missing: int
    cases_over: int
    missing: list[str] = Field(description="announced case EPCs not heard (when listed)")
    late: bool
    shipped: bool


class AsnOut(BaseModel):
    asn: str
    site: str
    supplier: str
    expected_at: datetime
    door: str | None
    created_at: datetime
    report: AsnReportOut
    pallets: list[AsnPalletOut] | None = Field(
        default=None, description="per pallet (in GET /api/asns/{asn} and POST; not in lists)"
    )


async def _asn_out(conn: Any, st: State, header: db.AsnHeader, *, with_pallets: bool) -> AsnOut:
    pallets = await db.pallets_of_asn(conn, header.id)
    now = st.settings.now_clock()()
    deadline = header.expected_at + st.settings.short_receipt_grace
    stored = [
        StoredPallet(p.sscc, p.announced_cases or 0, p.received_at, p.received_cases, p.over_cases)
        for p in pallets
    ]
    statuses, report = notice_status(header.id, stored, deadline=deadline, now=now)
    out = AsnOut(
        asn=header.id,
        site=header.site,
        supplier=header.supplier,
        expected_at=header.expected_at,
        door=header.door,
        created_at=header.created_at,
        report=AsnReportOut(
            pallets_expected=report.pallets_expected,
            pallets_received=report.pallets_received,
            pallets_short=report.pallets_short,
            pallets_pending=report.pallets_pending,
            cases_expected=report.cases_expected,
            cases_received=report.cases_received,
            cases_short=report.cases_short,
            cases_over=report.cases_over,
            complete=report.complete,
        ),
    )
    if not with_pallets:
        return out
    listed: dict[str, list[db.PalletCase]] = {}
    cur = await conn.execute(
        "SELECT pallet, epc, announced, heard_at FROM pallet_cases"
        " WHERE site = %s AND pallet = ANY(%s) AND announced ORDER BY pallet, epc",
        [header.site, [p.sscc for p in pallets]],
    )
    for r in await cur.fetchall():
        listed.setdefault(r[0], []).append(db.PalletCase(r[1], r[2], r[3]))
    out.pallets = []
    for p, s in zip(pallets, statuses, strict=True):
        assert p.sku is not None and p.lot is not None
        cases = listed.get(p.sscc, [])
        out.pallets.append(
            AsnPalletOut(
                sscc=p.sscc,
                epc=p.epc,
                sku=p.sku,
                lot=p.lot,
                expiry=p.expiry,
                cases=p.announced_cases or 0,
                case_epcs=[c.epc for c in cases],
                status=s.outcome.value,  # type: ignore[arg-type]
                received_at=p.received_at,
                received_by=p.received_cause,
                door=p.received_door,
                cases_received=s.received_cases,
                cases_missing=s.missing_cases,
                cases_over=s.over_cases,
                missing=[c.epc for c in cases if c.heard_at is None]
                if p.received_at is not None
                else [],
                late=s.late,
                shipped=p.status == "shipped",
            )
        )
    return out


_ASN_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "the notice id, a pallet or a case is known already"},
    422: {"description": "a bad notice (names the field), or an item not in the master"},
}


@router.post("/asns", response_model=AsnOut, status_code=201, responses=_ASN_ERRORS)
async def post_asn(body: AsnIn, st: State) -> AsnOut:
    """Announce pallets before they come: each with its SSCC (or SSCC-96 EPC), item,
    lot, expiry and its case EPCs or a count. Items must be in the master."""
    site = st.site(body.site)
    doors = {d.id for d in st.layout(site).doors}
    if body.door is not None and body.door not in doors:
        raise HTTPException(
            422,
            detail=f"door: {body.door!r} is not a door of site {site!r} "
            f"({', '.join(sorted(doors))})",
        )
    asn_id = body.asn or f"ASN-{uuid.uuid4().hex[:12].upper()}"
    pallets = []
    for p in body.pallets:
        assert p.sscc is not None
        listed = tuple(p.cases) if isinstance(p.cases, list) else ()
        count = len(p.cases) if isinstance(p.cases, list) else p.cases
        pallets.append(db.AnnouncedPallet(p.sscc, p.epc, p.sku, p.lot, p.expiry, count, listed))
    notice = db.Notice(asn_id, site, body.supplier, body.expected_at, body.door, tuple(pallets))
    async with st.pool.connection() as conn:
        async with conn.transaction():
            unknown = await db.unknown_items(conn, [p.sku for p in pallets])
            if unknown:
                where = [f"pallets[{i}].sku" for i, p in enumerate(pallets) if p.sku in unknown]
                raise HTTPException(
                    422,
                    detail=f"{where[0]}: {', '.join(unknown)} not in the item master "
                    "(add them with POST /api/items)",
                )
            try:
                await db.insert_asn(conn, notice, now=st.settings.now_clock()())
            except db.GoodsError as e:
                raise HTTPException(e.status, detail=str(e)) from None
            except psycopg.errors.UniqueViolation as e:  # a notice stored meanwhile
                detail = e.diag.message_detail or str(e)
                raise HTTPException(409, detail=f"asn: known already: {detail}") from None
        header = await db.asn_header(conn, asn_id)
        assert header is not None
        return await _asn_out(conn, st, header, with_pallets=True)


@router.get("/asns", response_model=Page[AsnOut], responses={422: {"description": "bad cursor"}})
async def list_asns(
    st: State, site: SiteFilter = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[AsnOut]:
    """The notices of one site or all by expected time, each with its report (no
    pallets)."""
    after = None
    if cursor is not None:
        raw = cursor_or_422(cursor, str, str)
        try:
            after = (datetime.fromisoformat(str(raw[0])), str(raw[1]))
        except ValueError:
            raise HTTPException(
                422, detail=f"cursor {cursor!r} is not one this list gave out"
            ) from None
    async with st.pool.connection() as conn:
        headers = await db.asn_headers(
            conn, site=site and st.site(site), after=after, limit=limit + 1
        )
        items = [await _asn_out(conn, st, h, with_pallets=False) for h in headers[:limit]]
    more = len(headers) > limit
    last = headers[limit - 1] if more else None
    return Page(
        items=items,
        next=encode_cursor(last.expected_at.isoformat(), last.id) if last else None,
    )


@router.get(
    "/asns/{asn}", response_model=AsnOut, responses={404: {"description": "no such notice"}}
)
async def get_asn(asn: Annotated[str, Path(max_length=63)], st: State) -> AsnOut:
    """A notice with each pallet's status (pending, received, missing_cases, short) and
    the receipt's over/short figures."""
    async with st.pool.connection() as conn:
        header = await db.asn_header(conn, asn)
        if header is None:
            raise HTTPException(404, detail=f"asn: no notice {asn!r}")
        return await _asn_out(conn, st, header, with_pallets=True)
