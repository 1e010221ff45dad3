"""``/api/tasks``: what the workers are asked to do (put-away, pick, ship, weigh), and their
word that they did it. Stock moves only on what the RFID events say happened."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from cloud.api.orders import floor_of
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import CloudState, SiteParam, State
from cloud.db import tasks as db

router = APIRouter(prefix="/api", tags=["tasks"])

Kind = Literal["putaway", "pick", "ship", "weigh"]
Status = Literal["open", "done", "cancelled"]


class TaskPalletOut(BaseModel):
    sscc: str
    epc: str | None = Field(description="its SSCC-96 EPC (hex), once known")
    shipped: bool


class TaskOut(BaseModel):
    id: str = Field(description="<kind>-<n>, e.g. pick-12")
    kind: Kind
    status: Status
    order: str | None = Field(description="the order (pick, ship and weigh tasks)")
    pallet: str | None = Field(description="the pallet's SSCC (put-away, pick and weigh tasks)")
    pallet_epc: str | None
    from_location: str = Field(description="where to take it from")
    to_location: str = Field(
        description="where to take it: a zone, packing (pick; weigh: onto its scale) or the door"
    )
    qty: int | None = Field(description="cases (pick tasks)")
    seq: int | None = Field(description="its place in the order's pick route (pick tasks)")
    rule: str | None = Field(description="why that zone (put-away: same_item or emptiest)")
    pallets: list[TaskPalletOut] = Field(description="the order's pallets (ship tasks)")
    created_at: datetime
    reported_at: datetime | None = Field(description="a worker said done")
    confirmed_at: datetime | None = Field(description="the RFID events say it happened")


def task_out(t: db.TaskRow) -> TaskOut:
    return TaskOut(
        id=t.id,
        kind=t.kind,  # type: ignore[arg-type]
        status=t.status,  # type: ignore[arg-type]
        order=t.order_id,
        pallet=t.pallet,
        pallet_epc=t.pallet_epc,
        from_location=t.from_location,
        to_location=t.to_location,
        qty=t.qty,
        seq=t.seq,
        rule=t.rule,
        pallets=[TaskPalletOut(sscc=p.sscc, epc=p.epc, shipped=p.shipped) for p in t.pallets],
        created_at=t.created_at,
        reported_at=t.reported_at,
        confirmed_at=t.confirmed_at,
    )


@router.get(
    "/tasks",
    response_model=Page[TaskOut],
    responses={422: {"description": "bad kind, status, limit or cursor"}},
)
async def list_tasks(
    st: State,
    site: SiteParam = None,
    kind: Annotated[Kind | None, Query(description="putaway, pick, ship or weigh")] = None,
    status: Annotated[Status | None, Query(description="open, done or cancelled")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TaskOut]:
    """Tasks, oldest first: a put-away task (a received pallet, from its door to a
    storage zone), a pick task (a pallet, from its zone to packing, in route order), a
    ship task (an order's pallets, from packing through its door), a weigh task (a
    pallet in packing whose weight check never came, onto the scale again). Of one
    site: the one named, which may be left out when the cloud serves one."""
    where = st.site(site)
    after: db.Cursor | None = None
    if cursor is not None:
        iso, k, n = cursor_or_422(cursor, str, str, int)
        try:
            after = (datetime.fromisoformat(str(iso)), str(k), int(n))
        except ValueError:
            raise HTTPException(
                422, detail=f"cursor {cursor!r} is not one this list gave out"
            ) from None
    async with st.pool.connection() as conn:
        found = await db.list_tasks(
            conn,
            site=where,
            floor=floor_of(st, where),
            kind=kind,
            status=status,
            after=after,
            limit=limit + 1,
        )
    items = [task_out(t) for t in found[:limit]]
    nxt = None
    if len(found) > limit:
        last = found[limit - 1]
        nxt = encode_cursor(last.created_at.isoformat(), last.kind, last.number)
    return Page(items=items, next=nxt)


TaskId = Annotated[str, Path(max_length=40, description="pick-12, ship-3, putaway-7, weigh-2")]
_404: dict[int | str, dict[str, Any]] = {404: {"description": "no such task"}}


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=_404)
async def get_task(task_id: TaskId, st: State, site: SiteParam = None) -> TaskOut:
    """One task (of the site named, else of whichever site has it)."""
    try:
        async with st.pool.connection() as conn:
            where = await _task_site(st, conn, task_id, site)
            return task_out(await db.get_task(conn, task_id, site=where, floor=floor_of(st, where)))
    except db.TaskNotFound as e:
        raise HTTPException(404, detail=str(e)) from None


async def _task_site(
    st: CloudState, conn: AsyncConnection[Any], task_id: str, site: str | None
) -> str:
    """The site of a task: the one named; else the only one served; else the one that
    has it (TaskNotFound when none has)."""
    if site is not None or len(st.sites.ids) == 1:
        return st.site(site)
    for where in st.sites.ids:
        try:
            await db.get_task(conn, task_id, site=where, floor=floor_of(st, where))
        except db.TaskNotFound:
            continue
        return where
    raise db.TaskNotFound(f"task: {task_id!r} does not exist at any site")


@router.post(
    "/tasks/{task_id}/done",
    response_model=TaskOut,
    responses={**_404, 409: {"description": "the task was cancelled"}},
)
async def task_done(task_id: TaskId, st: State, site: SiteParam = None) -> TaskOut:
    """A worker says the task is done: it leaves the open list (again: no change). What
    happened physically, and so the stock, still comes from the RFID events."""
    try:
        async with st.pool.connection() as conn:
            where = await _task_site(st, conn, task_id, site)
            task, _ = await db.report_task_done(
                conn,
                task_id,
                site=where,
                floor=floor_of(st, where),
                now=st.settings.now_clock()(),
            )
    except db.TaskNotFound as e:
        raise HTTPException(404, detail=str(e)) from None
    except db.TaskConflict as e:
        raise HTTPException(409, detail=str(e)) from None
    return task_out(task)
