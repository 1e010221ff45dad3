"""``/api/returns``: a customer's return (RMA) of a shipped order, what came back through
the door (in quarantine), and the inspection that restocks or writes it off.

A customer asks back goods of its own orders only (another's order or return is a
404, as if it did not exist); the ERP, operators and admins for any customer. Only
operators and admins inspect. The rules: :mod:`cloud.warehouse.returns`; the SQL:
:mod:`cloud.db.returns`; the goods at the door: :mod:`cloud.operations.returns_feed`.
A POST sent with ``Idempotency-Key`` runs once (:mod:`cloud.api.integration`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cloud.api.auth import CallerDep
from cloud.api.orders import CallerCustomer, LineIn
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import SiteFilter, State
from cloud.db import returns as db
from cloud.warehouse.ledger import LedgerError, check_gtin14
from cloud.warehouse.returns import (
    Decision,
    RequestLine,
    ReturnConflict,
    ReturnError,
    ReturnStatus,
    Verdict,
)

router = APIRouter(prefix="/api", tags=["returns"])

_ORDER_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
_RETURN_ID = r"^RMA-[0-9]{1,18}$"
_CASE_EPC = r"^30[0-9A-Fa-f]{22}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _epc(v: str) -> str:
    return v.upper()


class ReturnIn(_Body):
    order_id: str = Field(pattern=_ORDER_ID, description="the shipped order, SO-000123")
    lines: list[LineIn] | None = Field(
        default=None, min_length=1, max_length=500, description="cases per item to send back"
    )
    epcs: list[Annotated[str, Field(pattern=_CASE_EPC)]] | None = Field(
        default=None,
        min_length=1,
        max_length=5000,
        description="or the cases themselves: their SGTIN-96 EPCs (hex)",
    )
    reason: str | None = Field(default=None, max_length=2000, description="why it comes back")

    @field_validator("epcs")
    @classmethod
    def _upper(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [_epc(x) for x in v]

    @model_validator(mode="after")
    def _one_of(self) -> ReturnIn:
        if (self.lines is None) == (self.epcs is None):
            raise ValueError("give lines or epcs, one of them")
        return self


RETURN_EXAMPLES = {
    "lines": {
        "summary": "cases of an item back",
        "value": {
            "order_id": "SO-000042",
            "lines": [{"sku": "00614141123452", "qty": 2}],
            "reason": "damaged in transport",
        },
    },
    "epcs": {
        "summary": "the cases by their EPCs",
        "value": {"order_id": "SO-000042", "epcs": ["3074257BF7194E4000001A85"]},
    },
}


class DecisionIn(_Body):
    decision: Verdict = Field(description="restock (to available) or write_off")
    epc: str | None = Field(default=None, pattern=_CASE_EPC, description="one case, by EPC")
    sku: str | None = Field(default=None, description="or cases of an item (GTIN-14) ...")
    qty: int | None = Field(default=None, ge=1, le=1_000_000, description="... this many")

    @field_validator("sku")
    @classmethod
    def _gtin(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return check_gtin14("sku", v)
        except LedgerError as e:
            raise ValueError(str(e)) from None

    @field_validator("epc")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return None if v is None else _epc(v)

    @model_validator(mode="after")
    def _one_of(self) -> DecisionIn:
        if (self.epc is None) == (self.sku is None):
            raise ValueError("name an epc, or a sku and a qty, one of them")
        if self.sku is not None and self.qty is None:
            raise ValueError("qty: a decision on a sku needs the number of cases")
        if self.epc is not None and self.qty not in (None, 1):
            raise ValueError("qty: a decision on an epc is one case")
        return self


class InspectIn(_Body):
    decisions: list[DecisionIn] = Field(min_length=1, max_length=5000)
    by: str | None = Field(default=None, max_length=128, description="on whose behalf")


INSPECT_EXAMPLES = {
    "mixed": {
        "summary": "one case written off by EPC, the rest of the item restocked",
        "value": {
            "decisions": [
                {"epc": "3074257BF7194E4000001A85", "decision": "write_off"},
                {"sku": "00614141123452", "qty": 1, "decision": "restock"},
            ]
        },
    }
}


class ReturnLineOut(BaseModel):
    line: int
    sku: str
    qty: int = Field(description="cases asked back")
    received: int = Field(description="came back (quarantine until inspected)")
    quarantined: int = Field(description="came back and not inspected yet")
    restocked: int
    written_off: int


class ReceiptOut(BaseModel):
    id: int
    sku: str
    lot: str
    pallet: str | None = Field(description="SSCC it came back on; null: a lone case")
    qty: int
    restocked: int
    written_off: int
    door: str
    time: datetime
    cause: str = Field(description="what saw it: passage:<id>")


class CaseOut(BaseModel):
    epc: str
    sku: str
    listed: bool = Field(description="named by the request")
    received: bool
    decision: Verdict | None
    decided_at: datetime | None


class ReturnSummaryOut(BaseModel):
    id: str
    order_id: str
    site: str
    customer: str
    status: ReturnStatus
    reason: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    lines: list[ReturnLineOut]


class ReturnOut(ReturnSummaryOut):
    receipts: list[ReceiptOut]
    cases: list[CaseOut]


def _lines(d: db.ReturnDetail) -> list[ReturnLineOut]:
    return [
        ReturnLineOut(
            line=x.line,
            sku=x.sku,
            qty=x.qty,
            received=x.received,
            quarantined=x.received - x.restocked - x.written_off,
            restocked=x.restocked,
            written_off=x.written_off,
        )
        for x in d.lines
    ]


def _summary(d: db.ReturnDetail) -> dict[str, Any]:
    r = d.ret
    return {
        "id": r.id,
        "order_id": r.order_id,
        "site": r.site,
        "customer": r.customer,
        "status": ReturnStatus(r.status),
        "reason": r.reason,
        "requested_by": r.requested_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "lines": _lines(d),
    }


def return_out(d: db.ReturnDetail) -> ReturnOut:
    return ReturnOut(
        **_summary(d),
        receipts=[
            ReceiptOut(**{n: getattr(x, n) for n in ReceiptOut.model_fields}) for x in d.receipts
        ],
        cases=[
            CaseOut(
                epc=c.epc,
                sku=c.sku,
                listed=c.listed,
                received=c.receipt_id is not None,
                decision=Verdict(c.decision) if c.decision else None,
                decided_at=c.decided_at,
            )
            for c in d.cases
        ],
    )


def _http(e: ReturnError) -> HTTPException:
    if isinstance(e, db.ReturnNotFound):
        return HTTPException(404, detail=str(e))
    return HTTPException(409 if isinstance(e, ReturnConflict) else 422, detail=str(e))


_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such return (or another customer's)"}
}
ReturnId = Annotated[str, Path(pattern=_RETURN_ID, description="the return's id, RMA-000123")]


@router.post(
    "/returns",
    response_model=ReturnOut,
    status_code=201,
    responses={
        404: {"description": "no such order (or another customer's)"},
        409: {"description": "the order has shipped nothing"},
        422: {"description": "a bad field: more cases than shipped, an EPC not shipped ..."},
    },
)
async def create_return(
    body: Annotated[ReturnIn, Body(openapi_examples=RETURN_EXAMPLES)],
    st: State,
    scope: CallerCustomer,
    caller: CallerDep,
) -> ReturnOut:
    """Ask to send back goods of a shipped order, by lines (cases per item) or by the
    cases' EPCs: at most what the order shipped, less what its other returns ask. The
    goods are then expected at a dock door: what comes back is received into
    quarantine (not available) until inspected. The order's timeline says
    ``return_requested``."""
    lines = None if body.lines is None else [RequestLine(x.sku, x.qty) for x in body.lines]
    try:
        async with st.pool.connection() as conn:
            found = await db.create_return(
                conn,
                order_id=body.order_id,
                customer=scope,
                lines=lines,
                epcs=body.epcs,
                reason=body.reason,
                by=caller.user,
                now=st.settings.now_clock()(),
            )
    except ReturnError as e:
        raise _http(e) from None
    return return_out(found)


@router.get(
    "/returns",
    response_model=Page[ReturnSummaryOut],
    responses={422: {"description": "bad status, limit or cursor"}},
)
async def list_returns(
    st: State,
    scope: CallerCustomer,
    site: SiteFilter = None,
    status: Annotated[ReturnStatus | None, Query(description="only returns in this status")] = None,
    order_id: Annotated[
        str | None, Query(pattern=_ORDER_ID, description="only this order's returns")
    ] = None,
    customer: Annotated[
        str | None, Query(max_length=128, description="only this customer's returns")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReturnSummaryOut]:
    """Returns of one site or all, newest first, with their lines and status."""
    if scope is not None:
        if customer is not None and customer != scope:
            return Page(items=[], next=None)
        customer = scope
    before = None if cursor is None else int(cursor_or_422(cursor, int)[0])
    async with st.pool.connection() as conn:
        found = await db.list_returns(
            conn,
            site=site and st.site(site),
            customer=customer,
            order_id=order_id,
            status=status.value if status else None,
            before=before,
            limit=limit + 1,
        )
    items = [ReturnSummaryOut(**_summary(d)) for d in found[:limit]]
    more = len(found) > limit
    return Page(items=items, next=encode_cursor(found[limit - 1].ret.seq) if more else None)


@router.get("/returns/{return_id}", response_model=ReturnOut, responses=_404)
async def get_return(return_id: ReturnId, st: State, scope: CallerCustomer) -> ReturnOut:
    """A return with its lines (asked, received, in quarantine, restocked, written off),
    what came back on each arrival (door, pallet, lot, cause) and its case EPCs."""
    async with st.pool.connection() as conn:
        found = await db.get_return(conn, return_id, customer=scope)
    if found is None:
        raise HTTPException(404, detail=f"return: {return_id!r} does not exist")
    return return_out(found)


@router.post(
    "/returns/{return_id}/inspect",
    response_model=ReturnOut,
    responses={
        **_404,
        409: {"description": "cases decided already, or not come back (or not in quarantine)"},
        422: {"description": "a bad decision: an EPC that did not come back on it ..."},
    },
)
async def inspect_return(
    return_id: ReturnId,
    body: Annotated[InspectIn, Body(openapi_examples=INSPECT_EXAMPLES)],
    st: State,
    caller: CallerDep,
) -> ReturnOut:
    """Decide on cases that came back, per EPC or per item and number of cases:
    ``restock`` releases them from quarantine to available where they are,
    ``write_off`` takes them out of the books (an adjustment), both through the ledger
    with the return as cause, all or nothing. The order's timeline says
    ``return_restocked`` / ``return_written_off``; the return is ``closed`` once all of
    it came and was decided."""
    decisions = [Decision(d.decision, epc=d.epc, sku=d.sku, qty=d.qty) for d in body.decisions]
    by = caller.user if not body.by else f"{caller.user} (for {body.by})"
    now = st.settings.now_clock()()
    try:
        async with st.pool.connection() as conn:
            found = await db.inspect(
                conn,
                return_id,
                customer=None,
                decisions=decisions,
                by=by,
                time=now,
                now=now,
            )
    except ReturnError as e:
        raise _http(e) from None
    except LedgerError as e:  # the quarantine changed under the inspection
        raise HTTPException(409, detail=str(e)) from None
    return return_out(found)
