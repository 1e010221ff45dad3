"""Handheld scans: GS1 barcodes of goods without tags, through the same ledger.

Routes, and the roles meant to be allowed (the central role policy wires it):

| route | roles |
|---|---|
| ``POST /api/scans`` | admin, operator |
| ``POST /api/scans/decode`` | admin, operator |

Actions: ``receive``, ``move``, ``count``, ``ship`` (:mod:`cloud.operations.scans`;
``ship`` is the orders' door check at the scan's door). ``decode`` says what a barcode
is (a location, a pallet or an item) without applying anything: the handheld page
(``/scan``) asks it before it sends a scan, so a scanned location label sets the place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cloud.api.state import State
from cloud.api.stock import EntryOut, entry_out
from cloud.db import stock as stock_db
from cloud.operations.scans import Scan, ScanError, ScanResult, apply_scan, layout_places
from cloud.warehouse.gs1 import Gs1Data, Gs1Error, LabelKind, read_label
from protocols.types import EpcHex

router = APIRouter(prefix="/api", tags=["scans"])


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(
        default=None,
        max_length=63,
        description="the site scanned at (GET /api/sites); may be left out when the cloud "
        "serves one",
    )
    barcode: str = Field(
        min_length=1,
        max_length=400,
        description="GS1 element strings as scanned: raw with FNC1 (GS, \\u001d) separators "
        'and an optional symbology identifier ("]C1", "]d2"), or "(01)...(10)..." form',
    )
    action: Literal["receive", "move", "count", "ship"]
    location: str | None = Field(
        default=None, max_length=63, description="a zone or door of the site"
    )
    qty: int | None = Field(
        default=None, ge=0, le=1_000_000, description="cases (else the label's (37) count)"
    )
    cases: list[EpcHex] | None = Field(
        default=None,
        max_length=10_000,
        description="count of a pallet (its SSCC scanned): the SGTIN-96 EPCs (hex) of the "
        "cases found on it, as a handheld RFID reader lists them; its booked cases not "
        "among them come off it (and off its order), and qty, if given, must be their number",
    )

    @field_validator("cases")
    @classmethod
    def _distinct(cls, cases: list[str] | None) -> list[str] | None:
        if cases is not None and len(set(cases)) != len(cases):
            raise ValueError("cases: a case EPC is listed twice")
        return cases


class ElementsOut(BaseModel):
    sscc: str | None
    gtin: str | None
    content: str | None = Field(description="(02): the GTIN a pallet label says it holds")
    lot: str | None
    expiry: date | None
    count: int | None
    serial: str | None
    epc: str | None = Field(default=None, description="the EPC the scan was (24 hex digits)")
    gln: str | None = Field(default=None, description="(414): a location's GLN")
    place: str | None = Field(default=None, description="(254): a location's place id")
    raw: dict[str, str] = Field(description="every application identifier read, and its value")


class DoorCheckOut(BaseModel):
    verdict: Literal["ship", "mis_shipment"]
    reason: str | None = Field(description="not_on_an_order, wrong_door or not_loading")
    order: str | None = Field(description="the pallet's order")
    message: str
    alert: int | None = Field(description="the mis_shipment alert raised")
    held: list[str] = Field(description="orders put on hold")


class ScanOut(BaseModel):
    id: int
    action: str
    time: datetime
    location: str | None
    qty: int | None
    elements: ElementsOut
    variance: int | None = Field(description="count: counted minus the book")
    entries: list[EntryOut] = Field(description="the ledger entries the scan posted")
    door_check: DoorCheckOut | None = Field(default=None, description="ship: the verdict")


@router.post(
    "/scans",
    response_model=ScanOut,
    status_code=201,
    responses={
        409: {"description": "the stock or the pallet is not as the scan needs"},
        422: {"description": "a bad barcode, location or qty (names it)"},
    },
)
async def post_scan(body: ScanIn, st: State) -> ScanOut:
    """Apply a handheld scan: receive (a pallet's SSCC, or loose cases by GTIN and
    lot), move (to ``location``), count (the variance against the book is posted as
    an adjustment) or ship (a pallet's SSCC at the door ``location``: the door check,
    as for an outbound passage). Every posting's cause is the scan."""
    cases = tuple(body.cases) if body.cases is not None else None
    scan = Scan(body.barcode, body.action, body.location, body.qty, cases)
    site = st.site(body.site)
    now = st.settings.now_clock()()
    async with st.pool.connection() as conn:
        try:
            async with conn.transaction():
                result = await apply_scan(conn, scan, site=site, layout=st.layout(site), now=now)
        except ScanError as e:
            raise HTTPException(e.status, detail=str(e)) from None
        entries = []
        for posting in result.postings:
            entries.extend(await stock_db.posting_entries(conn, posting))
    d = result.data
    return ScanOut(
        id=result.id,
        action=body.action,
        time=result.time,
        location=body.location,
        qty=body.qty,
        elements=elements_out(d),
        variance=result.variance,
        entries=[entry_out(e) for e in entries],
        door_check=door_check_out(result),
    )


class DecodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(
        default=None,
        max_length=63,
        description="the site whose places a location label may name; every site's if left out",
    )
    barcode: str = Field(min_length=1, max_length=400, description="as for POST /api/scans")


class DecodeOut(BaseModel):
    kind: LabelKind = Field(description="location, pallet or item")
    location: str | None = Field(description="location: the zone or door it names")
    elements: ElementsOut


@router.post(
    "/scans/decode",
    response_model=DecodeOut,
    responses={422: {"description": "not a barcode this reads, or a place not in the layout"}},
)
async def decode_barcode(body: DecodeIn, st: State) -> DecodeOut:
    """What a barcode says, applying nothing: a location (a location label
    ``(414)<GLN>(254)<zone or door>``, or a label that is the place's id), a pallet
    (SSCC, or an SSCC-96 EPC's 24 hex digits) or an item (GTIN, or an SGTIN-96 EPC)."""
    today = st.settings.now_clock()().date()
    try:
        places = frozenset().union(*(layout_places(st.layout(s)) for s in st.sites_of(body.site)))
        label = read_label(body.barcode, places, today=today)
    except Gs1Error as e:
        detail = str(e) if str(e).startswith("barcode:") else f"barcode: {e}"
        raise HTTPException(422, detail=detail) from None
    return DecodeOut(kind=label.kind, location=label.place, elements=elements_out(label.data))


def elements_out(d: Gs1Data) -> ElementsOut:
    return ElementsOut(
        sscc=d.sscc,
        gtin=d.gtin,
        content=d.content,
        lot=d.lot,
        expiry=d.expiry,
        count=d.count,
        serial=d.serial,
        epc=d.epc,
        gln=d.gln,
        place=d.place,
        raw=dict(d.elements),
    )


def door_check_out(result: ScanResult) -> DoorCheckOut | None:
    passed = result.door_check
    if passed is None:
        return None
    c = passed.check
    return DoorCheckOut(
        verdict=c.verdict.value,
        reason=c.reason.value if c.reason else None,
        order=c.order,
        message=c.message,
        alert=passed.alert,
        held=passed.held,
    )
