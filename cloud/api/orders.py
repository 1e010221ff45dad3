"""``/api/orders``: customer orders reserved FEFO, their pick lists, status and timeline.

Who may see what: every route takes the caller's customer as ONE dependency,
:data:`CallerCustomer` (:func:`caller_customer`): the authenticated caller's customer
id for a customer caller and None for staff. These routes show a customer only its
own orders (another's is a 404, as if it did not exist) and let it create orders only
for itself (403).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from cloud.api.auth import CallerDep
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import CloudState, SiteFilter, State
from cloud.db import order_status
from cloud.db import orders as db
from cloud.warehouse.ledger import LedgerError, check_gtin14
from cloud.warehouse.orders import DeliveryError, OrderStatus
from cloud.warehouse.roles import Caller

router = APIRouter(prefix="/api", tags=["orders"])

_ORDER_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
"""A client's own order id, and ours (``SO-000123``)."""
_CUSTOMER = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$"


async def caller_customer(caller: CallerDep) -> str | None:
    """The customer whose orders the caller may see: the authenticated caller's customer
    id for a customer, None (every order) for admin, operator and erp."""
    return caller.customer_scope


CallerCustomer = Annotated[str | None, Depends(caller_customer)]


# -- bodies ----------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(_Body):
    sku: str = Field(description="the item's GTIN-14", examples=["00614141123452"])
    qty: int = Field(ge=1, le=1_000_000, description="cases")

    @field_validator("sku")
    @classmethod
    def _gtin(cls, v: str) -> str:
        try:
            return check_gtin14("sku", v)
        except LedgerError as e:
            raise ValueError(str(e)) from None


class OrderIn(_Body):
    site: str | None = Field(
        default=None,
        max_length=63,
        description="the site (GET /api/sites) that ships it; may be left out when the "
        "cloud serves one site",
    )
    customer: str = Field(pattern=_CUSTOMER, description="the customer's id")
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    ship_door: str | None = Field(
        default=None, max_length=63, description="the door to load at (default: the site's)"
    )
    requested_at: AwareDatetime | None = Field(
        default=None, description="when the customer wants it shipped"
    )
    order: str | None = Field(
        default=None,
        pattern=_ORDER_ID,
        description="the caller's own id of the order: sending the same id and body again "
        "returns the order (200) instead of making another; another body is a 409",
    )


def actor(caller: Caller, body: ActionIn) -> str:
    """Who did it: the token's user, and on whose behalf when the body says."""
    return caller.user if not body.by else f"{caller.user} (for {body.by})"


ORDER_EXAMPLES = {
    "erp": {
        "summary": "an ERP's order with its own id (send it with an Idempotency-Key too)",
        "value": {
            "customer": "acme",
            "order": "PO-4711",
            "lines": [{"sku": "00614141123452", "qty": 10}, {"sku": "00614141123469", "qty": 4}],
            "requested_at": "2025-03-02T14:00:00Z",
        },
    },
    "minimal": {
        "summary": "the least an order needs",
        "value": {"customer": "acme", "lines": [{"sku": "00614141123452", "qty": 1}]},
    },
}


class ActionIn(_Body):
    by: str | None = Field(
        default=None,
        max_length=128,
        description="on whose behalf (the timeline names the token's user, and this after "
        "it: `ops (for dock lead)`)",
    )
    note: str | None = Field(default=None, max_length=2000)


class DeliveredIn(ActionIn):
    at: AwareDatetime | None = Field(
        default=None,
        description="when the customer got it (default: now); not before it shipped, "
        "not in the future",
    )


# -- responses -------------------------------------------------------------------------


class LineOut(BaseModel):
    line: int
    sku: str
    qty: int = Field(description="cases ordered")
    allocated: int = Field(description="cases reserved")
    picked: int
    shipped: int


class ReservationOut(BaseModel):
    line: int
    sku: str
    lot: str
    expiry: str | None = Field(description="the lot's expiry date (ISO), null if none")
    location: str = Field(description="where the reserved cases are now")
    pallet: str | None = Field(description="SSCC")
    qty: int
    picked: int
    shipped: int
    released: int = Field(description="given back (order cancelled)")


class WeightOut(BaseModel):
    verdict: Literal["ok", "mismatch"]
    measured_kg: float
    expected_kg: float
    difference_kg: float
    tolerance_kg: float
    cases: int
    cases_off: float | None
    scale: str | None = None
    time: str | None = None


class PickTaskOut(BaseModel):
    id: str = Field(description="pick-<n>: POST /api/tasks/{id}/done")
    seq: int = Field(description="its place in the route")
    pallet: str | None = Field(description="SSCC")
    pallet_epc: str | None
    from_location: str
    to_location: str
    qty: int
    status: Literal["open", "done", "cancelled"]
    reported_at: datetime | None = Field(description="a worker said done")
    picked_at: datetime | None = Field(description="the pallet reached packing (RFID)")
    packed_at: datetime | None = Field(description="weighed right")
    shipped_at: datetime | None = Field(description="left through the order's door")
    weight: WeightOut | None = Field(description="the last weight check")


class CauseOut(BaseModel):
    kind: str
    id: str


class TimelineOut(BaseModel):
    time: datetime
    status: OrderStatus = Field(description="the order's status after this entry")
    event: str = Field(description="what happened: a status reached, or pallet_picked, ...")
    cause: CauseOut | None
    detail: dict[str, Any]


class PickListOut(BaseModel):
    route_m: float = Field(description="the walk in route order, packing to packing")
    naive_route_m: float = Field(description="the walk in the order the lines were reserved")
    saving: float = Field(description="1 - route / naive")


class OrderSummaryOut(BaseModel):
    id: str
    order: str | None = Field(description="the caller's own id, if it gave one")
    site: str
    customer: str
    status: OrderStatus
    ship_door: str | None
    hold_reason: str | None
    requested_at: datetime | None
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None = Field(
        description="when the customer got it, as the ERP or carrier confirmed "
        "(POST /api/orders/{id}/delivered)"
    )
    promised_date: date | None = Field(
        description="for an order with cases not reserved: the day they can be had from "
        "stock and announced inbound, as last judged (a change is told as "
        "order.promised_date_changed); null when not known"
    )
    lines: list[LineOut]


class OrderOut(OrderSummaryOut):
    reservations: list[ReservationOut]
    pick_list: PickListOut | None
    pick_tasks: list[PickTaskOut]
    timeline: list[TimelineOut]


class RouteStatsOut(BaseModel):
    orders: int = Field(description="orders whose pick list walks somewhere")
    route_m: float = Field(description="all their routes, metres")
    naive_route_m: float = Field(description="all their naive walks, metres")
    saving: float = Field(description="1 - route_m / naive_route_m")
    mean_saving: float = Field(description="the mean over orders of 1 - route / naive")


def _summary(d: db.OrderDetail) -> dict[str, Any]:
    o = d.order
    return {
        "id": o.id,
        "order": o.client_id,
        "site": o.site,
        "customer": o.customer,
        "status": o.status,
        "ship_door": o.ship_door,
        "hold_reason": o.hold_reason,
        "requested_at": o.requested_at,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "shipped_at": o.shipped_at,
        "delivered_at": o.delivered_at,
        "promised_date": o.promised_date,
        "lines": [LineOut(**vars_of(x)) for x in d.lines],
    }


def vars_of(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


def order_out(d: db.OrderDetail) -> OrderOut:
    o = d.order
    pick_list = None
    if o.route_m is not None and o.naive_route_m is not None:
        saving = 1 - o.route_m / o.naive_route_m if o.naive_route_m > 0 else 0.0
        pick_list = PickListOut(route_m=o.route_m, naive_route_m=o.naive_route_m, saving=saving)
    return OrderOut(
        **_summary(d),
        reservations=[
            ReservationOut(
                line=r.line,
                sku=r.sku,
                lot=r.lot,
                expiry=r.expiry.isoformat() if r.expiry else None,
                location=r.location,
                pallet=r.pallet,
                qty=r.qty,
                picked=r.picked,
                shipped=r.shipped,
                released=r.released,
            )
            for r in d.reservations
        ],
        pick_list=pick_list,
        pick_tasks=[
            PickTaskOut(
                id=f"pick-{t.id}",
                seq=t.seq,
                pallet=t.pallet,
                pallet_epc=t.pallet_epc,
                from_location=t.from_location,
                to_location=t.to_location,
                qty=t.qty,
                status=t.status,  # type: ignore[arg-type]
                reported_at=t.reported_at,
                picked_at=t.picked_at,
                packed_at=t.packed_at,
                shipped_at=t.shipped_at,
                weight=WeightOut.model_validate(
                    {k: t.weight.get(k) for k in WeightOut.model_fields}
                )
                if t.weight
                else None,
            )
            for t in d.pick_tasks
        ],
        timeline=[
            TimelineOut(
                time=e.time,
                status=OrderStatus(e.status),
                event=e.event,
                cause=CauseOut(kind=e.cause_kind, id=e.cause_id)
                if e.cause_kind is not None and e.cause_id is not None
                else None,
                detail=e.detail,
            )
            for e in d.timeline
        ],
    )


def floor_of(st: CloudState, site: str) -> db.Floor:
    """The site's floor for orders; 503 naming what the layout lacks (a packing zone,
    a dock door, or the configured default ship door)."""
    try:
        return db.Floor.of(st.layout(site), ship_door_setting=st.settings.default_ship_door)
    except LedgerError as e:
        raise HTTPException(503, detail=f"orders cannot run on this site's layout: {e}") from None


async def order_floor(st: CloudState, conn: db.Conn, order_id: str) -> db.Floor:
    """The floor of the order's site (of the default site for an order that does not
    exist: the caller answers 404 for it)."""
    site = await db.order_site(conn, order_id)
    return floor_of(st, site if site is not None and site in st.sites else st.sites.first)


_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such order (or another customer's)"}
}


# -- routes ----------------------------------------------------------------------------


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    responses={
        200: {"model": OrderOut, "description": "the same order id and body again: the order"},
        403: {"description": "a customer caller ordering for another customer"},
        409: {"description": "the order id was used with another body"},
        422: {"description": "a bad field (an unknown sku, a qty below 1, a door ...)"},
    },
)
async def create_order(
    body: Annotated[OrderIn, Body(openapi_examples=ORDER_EXAMPLES)],
    st: State,
    response: Response,
    scope: CallerCustomer,
) -> OrderOut:
    """Take an order: validate it, reserve its cases FEFO (earliest expiry first, then
    first received) race-safely in one transaction, and make its pick list. Lines the
    stock cannot cover are short: the order is ``partially_allocated`` or
    ``backordered``. Returns the order with its reservations, pick tasks and timeline."""
    if scope is not None and body.customer != scope:
        raise HTTPException(403, detail=f"customer: you order as {scope!r}, not {body.customer!r}")
    site = st.site(body.site)
    floor = floor_of(st, site)
    if body.ship_door is not None and body.ship_door not in floor.doors:
        raise HTTPException(
            422,
            detail=f"ship_door: {body.ship_door!r} is not a door of site {site!r} "
            f"(one of {', '.join(sorted(floor.doors))})",
        )
    new = db.NewOrder(
        customer=body.customer,
        lines=tuple(db.NewLine(x.sku, x.qty) for x in body.lines),
        ship_door=body.ship_door,
        requested_at=body.requested_at,
        client_id=body.order,
    )
    now = st.settings.now_clock()()
    try:
        async with st.pool.connection() as conn:
            created = await db.create_order(conn, site=site, floor=floor, new=new, now=now)
    except db.UnknownItems as e:
        raise HTTPException(422, detail=str(e)) from None
    except db.ClientIdConflict as e:
        raise HTTPException(409, detail=str(e)) from None
    if not created.new:
        response.status_code = 200
    return order_out(created.detail)


@router.get(
    "/orders",
    response_model=Page[OrderSummaryOut],
    responses={422: {"description": "bad status, limit or cursor"}},
)
async def list_orders(
    st: State,
    scope: CallerCustomer,
    site: SiteFilter = None,
    status: Annotated[OrderStatus | None, Query(description="only orders in this status")] = None,
    customer: Annotated[
        str | None, Query(max_length=128, description="only this customer's orders")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[OrderSummaryOut]:
    """Orders, newest first, with their lines and status; of one site or all."""
    if scope is not None:
        if customer is not None and customer != scope:
            return Page(items=[], next=None)
        customer = scope
    before = None if cursor is None else int(cursor_or_422(cursor, int)[0])
    async with st.pool.connection() as conn:
        found = await db.list_orders(
            conn,
            site=site and st.site(site),
            status=status.value if status else None,
            customer=customer,
            before=before,
            limit=limit + 1,
        )
    items = [OrderSummaryOut(**_summary(d)) for d in found[:limit]]
    more = len(found) > limit
    return Page(items=items, next=encode_cursor(found[limit - 1].order.seq) if more else None)


@router.get("/orders/route-stats", response_model=RouteStatsOut)
async def route_stats(st: State, scope: CallerCustomer, site: SiteFilter = None) -> RouteStatsOut:
    """Pick routes against the naive order, over every order with a pick list (of one
    site or all): total metres both ways and the saving (overall, and the mean per
    order)."""
    async with st.pool.connection() as conn:
        s = await db.route_stats(conn, site=site and st.site(site), customer=scope)
    return RouteStatsOut(
        orders=s.orders,
        route_m=s.route_m,
        naive_route_m=s.naive_route_m,
        saving=s.saving,
        mean_saving=s.mean_saving,
    )


OrderId = Annotated[str, Path(pattern=_ORDER_ID, description="the order's id, SO-000123")]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=_404)
async def get_order(order_id: OrderId, st: State, scope: CallerCustomer) -> OrderOut:
    """An order with its lines, reservations (lot, expiry, where), pick list and tasks,
    and its timeline (time, status, event, cause, detail)."""
    async with st.pool.connection() as conn:
        found = await db.get_order(conn, order_id, customer=scope)
    if found is None:
        raise HTTPException(404, detail=f"order: {order_id!r} does not exist")
    return order_out(found)


@router.post(
    "/orders/{order_id}/release",
    response_model=OrderOut,
    responses={**_404, 409: {"description": "the order is not on hold"}},
)
async def release_order(
    order_id: OrderId,
    st: State,
    scope: CallerCustomer,
    caller: CallerDep,
    body: ActionIn | None = None,
) -> OrderOut:
    """Release an order from hold (after a mis-shipment or a weight mismatch was dealt
    with): it goes back to the status its goods have reached (a pallet that failed its
    weight check is weighed again before the order is packed)."""
    body = body or ActionIn()
    try:
        async with st.pool.connection() as conn:
            detail = await order_status.release_order(
                conn,
                order_id,
                floor=await order_floor(st, conn, order_id),
                now=st.settings.now_clock()(),
                by=actor(caller, body),
                note=body.note,
                customer=scope,
            )
    except db.OrderNotFound as e:
        raise HTTPException(404, detail=str(e)) from None
    except db.OrderConflict as e:
        raise HTTPException(409, detail=str(e)) from None
    return order_out(detail)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    responses={**_404, 409: {"description": "loading, shipped or cancelled already"}},
)
async def cancel_order(
    order_id: OrderId,
    st: State,
    scope: CallerCustomer,
    caller: CallerDep,
    body: ActionIn | None = None,
) -> OrderOut:
    """Cancel an order before anything of it left: its reserved cases are given back
    to available stock where they are (``unreserve``), its open tasks cancelled."""
    body = body or ActionIn()
    try:
        async with st.pool.connection() as conn:
            detail = await order_status.cancel_order(
                conn,
                order_id,
                floor=await order_floor(st, conn, order_id),
                now=st.settings.now_clock()(),
                by=actor(caller, body),
                note=body.note,
                customer=scope,
            )
    except db.OrderNotFound as e:
        raise HTTPException(404, detail=str(e)) from None
    except db.OrderConflict as e:
        raise HTTPException(409, detail=str(e)) from None
    return order_out(detail)


@router.post(
    "/orders/{order_id}/delivered",
    response_model=OrderOut,
    responses={
        **_404,
        409: {"description": "the order is not shipped, or was delivered already"},
        422: {"description": "at is in the future or before the order shipped"},
    },
)
async def order_delivered(
    order_id: OrderId,
    st: State,
    caller: CallerDep,
    body: DeliveredIn | None = None,
) -> OrderOut:
    """An ERP or carrier confirms that a shipped order reached the customer: its
    ``delivered_at`` is set and a ``delivered`` entry added to its timeline (the status
    stays ``shipped``), told as ``order.delivered``. Once only: a second confirmation is
    a 409 naming when it was delivered (send an ``Idempotency-Key`` to retry safely)."""
    body = body or DeliveredIn()
    try:
        async with st.pool.connection() as conn:
            detail = await order_status.deliver_order(
                conn,
                order_id,
                at=body.at,
                now=st.settings.now_clock()(),
                by=actor(caller, body),
                note_text=body.note,
            )
    except db.OrderNotFound as e:
        raise HTTPException(404, detail=str(e)) from None
    except db.OrderConflict as e:
        raise HTTPException(409, detail=str(e)) from None
    except DeliveryError as e:
        raise HTTPException(422, detail=str(e)) from None
    return order_out(detail)
