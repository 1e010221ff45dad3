"""``/api/transfers``: stock moved from one site of this cloud to another.

The ERP, operators and admins ask for one and read them (customers do not see them).
The rules: :mod:`cloud.warehouse.transfers`; the SQL: :mod:`cloud.db.transfers`; the
source's door check: :mod:`cloud.db.order_flow`; the destination's door:
:mod:`cloud.operations.transfers_feed`. A POST sent with ``Idempotency-Key`` runs once
(:mod:`cloud.api.integration`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.auth import CallerDep
from cloud.api.orders import ActionIn, LineIn, actor, floor_of
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import SiteFilter, State
from cloud.db import orders as orders_db
from cloud.db import transfers as db
from cloud.db.transfer_cancel import cancel_transfer as cancel_in_db
from cloud.warehouse.transfers import (
    Outcome,
    TransferConflict,
    TransferError,
    TransferLine,
    TransferStatus,
    check_request,
)

router = APIRouter(prefix="/api", tags=["transfers"])

_TRANSFER_ID = r"^TR-[0-9]{1,18}$"


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_site: str = Field(max_length=63, description="the site the stock leaves (GET /api/sites)")
    to_site: str = Field(max_length=63, description="the site it goes to")
    lines: list[LineIn] = Field(min_length=1, max_length=500, description="cases per item")
    transit_min: float | None = Field(
        default=None,
        gt=0,
        le=60 * 24 * 60,
        description="minutes on the road; left out: the cloud's transit time for the two "
        "sites (RFIDWMS_TRANSIT_TIMES)",
    )


TRANSFER_EXAMPLES = {
    "two items": {
        "summary": "two items from dc-1 to dc-2",
        "value": {
            "from_site": "dc-1",
            "to_site": "dc-2",
            "lines": [
                {"sku": "00614141123452", "qty": 20},
                {"sku": "10614141123459", "qty": 5},
            ],
        },
    },
    "transit time": {
        "summary": "with its own time on the road",
        "value": {
            "from_site": "dc-1",
            "to_site": "dc-2",
            "lines": [{"sku": "00614141123452", "qty": 10}],
            "transit_min": 90,
        },
    },
}


class TransferLineOut(BaseModel):
    line: int
    sku: str
    qty: int = Field(description="cases asked for")
    allocated: int = Field(description="reserved at the source")
    picked: int
    shipped: int = Field(description="left the source's door")
    received: int = Field(description="came in at the destination")
    missing: int = Field(
        description="left on a pallet that came without them (short; in transit in the books)"
    )


class TransferPalletOut(BaseModel):
    sscc: str
    epc: str | None
    cases: int = Field(description="cases that left on it")
    door: str = Field(description="the source's door it left through")
    dispatched_at: datetime
    arrived_at: datetime | None
    arrival_door: str | None
    arrival_cause: str | None = Field(
        description="what booked its arrival: passage:<id> (the destination's door passage)"
    )
    received: int
    missing_cases: list[str] = Field(description="case EPCs that left on it and did not come")
    extra_cases: list[str] = Field(description="case EPCs that came on it and had not left")


class TransferSummaryOut(BaseModel):
    id: str
    status: TransferStatus = Field(description="open, in_transit, received or cancelled")
    outcomes: list[Outcome] = Field(description="short, over, late: each raised its alert")
    from_site: str
    to_site: str
    order_id: str = Field(description="its order at the source (customer site:<to_site>)")
    order_status: str
    transit_min: float
    requested_by: str
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    expected_at: datetime | None = Field(description="shipped_at + transit_min")
    received_at: datetime | None
    late_at: datetime | None = Field(description="when it was found late")
    cancelled_at: datetime | None = Field(description="when it was cancelled")
    cancelled_by: str | None = Field(description="who cancelled it")
    lines: list[TransferLineOut]


class TransferOut(TransferSummaryOut):
    pallets: list[TransferPalletOut]


def _summary(d: db.TransferDetail) -> dict[str, Any]:
    return d.summary()


def transfer_out(d: db.TransferDetail) -> TransferOut:
    return TransferOut(
        **_summary(d),
        pallets=[
            TransferPalletOut(
                sscc=p.sscc,
                epc=p.epc,
                cases=p.cases,
                door=p.door,
                dispatched_at=p.dispatched_at,
                arrived_at=p.arrived_at,
                arrival_door=p.arrival_door,
                arrival_cause=p.arrival_cause,
                received=p.received,
                missing_cases=p.missing_epcs,
                extra_cases=p.extra_epcs,
            )
            for p in d.pallets
        ],
    )


@router.post(
    "/transfers",
    response_model=TransferOut,
    status_code=201,
    responses={422: {"description": "a bad field: a site not served, the same site, a sku ..."}},
)
async def create_transfer(
    body: Annotated[TransferIn, Body(openapi_examples=TRANSFER_EXAMPLES)],
    st: State,
    caller: CallerDep,
) -> TransferOut:
    """Move stock from one site to another: its cases are reserved at ``from_site``
    FEFO (an order of the internal customer ``site:<to_site>``, ``order_id``), picked,
    weighed and shipped through that site's door, verified like any order. Then it is
    ``in_transit`` (in the stock lists as state ``in_transit`` at ``to_site``), expected
    at the shipping time plus ``transit_min``, and ``received`` once every pallet that
    left came in through a door of ``to_site``. Short, over and late raise alerts."""
    lines = [TransferLine(x.sku, x.qty) for x in body.lines]
    try:
        check_request(body.from_site, body.to_site, lines, st.sites.ids)
    except TransferError as e:
        raise HTTPException(422, detail=str(e)) from None
    floor = floor_of(st, body.from_site)
    transit = (
        timedelta(minutes=body.transit_min)
        if body.transit_min is not None
        else st.settings.transit_time(body.from_site, body.to_site)
    )
    try:
        async with st.pool.connection() as conn:
            made = await db.create_transfer(
                conn,
                from_site=body.from_site,
                to_site=body.to_site,
                floor=floor,
                lines=lines,
                transit=transit,
                by=caller.user,
                now=st.settings.now_clock()(),
            )
    except orders_db.UnknownItems as e:
        raise HTTPException(422, detail=str(e)) from None
    return transfer_out(made)


@router.get(
    "/transfers",
    response_model=Page[TransferSummaryOut],
    responses={422: {"description": "bad site, status, limit or cursor"}},
)
async def list_transfers(
    st: State,
    site: SiteFilter = None,
    status: Annotated[
        TransferStatus | None, Query(description="only transfers in this status")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TransferSummaryOut]:
    """Transfers newest first, with their lines; ``site``: those leaving or coming to it."""
    sites = None if site is None else st.sites_of(site)
    before = None if cursor is None else int(cursor_or_422(cursor, int)[0])
    async with st.pool.connection() as conn:
        found = await db.list_transfers(
            conn,
            sites=sites,
            status=status.value if status else None,
            before=before,
            limit=limit + 1,
        )
    items = [TransferSummaryOut(**_summary(d)) for d in found[:limit]]
    more = len(found) > limit
    return Page(items=items, next=encode_cursor(found[limit - 1].transfer.seq) if more else None)


@router.get(
    "/transfers/{transfer_id}",
    response_model=TransferOut,
    responses={404: {"description": "no such transfer"}},
)
async def get_transfer(
    transfer_id: Annotated[str, Path(pattern=_TRANSFER_ID, description="TR-000123")],
    st: State,
) -> TransferOut:
    """A transfer with its lines (asked, reserved, picked, shipped, received, missing),
    its pallets (left when and through which door, came when, through which door, with
    which cases short or over), its status and outcomes."""
    async with st.pool.connection() as conn:
        found = await db.get_transfer(conn, transfer_id)
    if found is None:
        raise HTTPException(404, detail=f"transfer: {transfer_id!r} does not exist")
    return transfer_out(found)


@router.post(
    "/transfers/{transfer_id}/cancel",
    response_model=TransferOut,
    responses={
        404: {"description": "no such transfer"},
        409: {"description": "something of it left (in transit, received, loading) or cancelled"},
    },
)
async def cancel_transfer(
    transfer_id: Annotated[str, Path(pattern=_TRANSFER_ID, description="TR-000123")],
    st: State,
    caller: CallerDep,
    body: ActionIn | None = None,
) -> TransferOut:
    """Cancel a transfer before anything of it left the source: its order there is
    cancelled (its reserved cases given back to available stock through the ledger,
    ``unreserve``; its open pick and ship tasks cancelled; its pallets already off
    their shelves sent back to storage on put-away tasks) and the transfer is
    ``cancelled``. 409 once a pallet of it went through the door (``in_transit``,
    ``received``), while it is being loaded (its order ``loading``), or when it was
    cancelled already."""
    body = body or ActionIn()
    try:
        async with st.pool.connection() as conn:
            row = await db.get_row(conn, transfer_id)
            done = await cancel_in_db(
                conn,
                transfer_id,
                floor=floor_of(st, row.from_site),
                now=st.settings.now_clock()(),
                by=actor(caller, body),
                note=body.note,
            )
    except db.TransferNotFound as e:
        raise HTTPException(404, detail=str(e)) from None
    except (TransferConflict, orders_db.OrderConflict) as e:
        raise HTTPException(409, detail=str(e)) from None
    return transfer_out(done)
