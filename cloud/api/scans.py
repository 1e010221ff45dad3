"""Handheld scans: GS1 barcodes of goods without tags, through the same ledger.

Routes, and the roles meant to be allowed (the central role policy wires it):

| route | roles |
|---|---|
| ``POST /api/scans`` | admin, operator |

Actions: ``receive``, ``move``, ``count``, ``ship`` (:mod:`cloud.operations.scans`;
``ship`` is the orders' door check at the scan's door).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.state import State
from cloud.api.stock import EntryOut, entry_out
from cloud.db import stock as stock_db
from cloud.operations.scans import Scan, ScanError, ScanResult, apply_scan

router = APIRouter(prefix="/api", tags=["scans"])


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


class ElementsOut(BaseModel):
    sscc: str | None
    gtin: str | None
    content: str | None = Field(description="(02): the GTIN a pallet label says it holds")
    lot: str | None
    expiry: date | None
    count: int | None
    serial: str | None
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
    scan = Scan(body.barcode, body.action, body.location, body.qty)
    now = st.settings.now_clock()()
    async with st.pool.connection() as conn:
        try:
            async with conn.transaction():
                result = await apply_scan(
                    conn, scan, site=st.settings.site, layout=st.layout, now=now
                )
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
        elements=ElementsOut(
            sscc=d.sscc,
            gtin=d.gtin,
            content=d.content,
            lot=d.lot,
            expiry=d.expiry,
            count=d.count,
            serial=d.serial,
            raw=dict(d.elements),
        ),
        variance=result.variance,
        entries=[entry_out(e) for e in entries],
        door_check=door_check_out(result),
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
