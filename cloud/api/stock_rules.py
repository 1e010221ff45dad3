"""Stock rules per site and item: reorder point, max on hand, expiry warning horizon.

The stock rules job (:mod:`cloud.operations.stock_alerts_job`) raises and resolves
``low_stock``, ``overstock`` and ``expiry`` alerts from them
(:mod:`cloud.warehouse.stock_alerts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import stock_rules as db
from cloud.warehouse.stock_alerts import MAX_EXPIRY_WARNING_DAYS, StockRule, StockRuleError
from protocols.types import ID_PATTERN

router = APIRouter(prefix="/api", tags=["alerts"])

Sku = Annotated[str, Path(min_length=14, max_length=14, description="the item's GTIN-14")]


class StockRuleIn(BaseModel):
    """A rule, whole: a field left out or null has no rule."""

    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="the site (any, served here or not); may be left out when the cloud serves one",
    )
    reorder_point: int | None = Field(
        default=None, ge=0, le=10**9, description="low_stock while available is below it"
    )
    max_on_hand: int | None = Field(
        default=None, ge=1, le=10**9, description="overstock while on hand is above it"
    )
    expiry_warning_days: int | None = Field(
        default=None,
        ge=0,
        le=MAX_EXPIRY_WARNING_DAYS,
        description="expiry for a lot with stock expiring within this many days",
    )


class StockRuleOut(BaseModel):
    site: str
    sku: str
    reorder_point: int | None
    max_on_hand: int | None
    expiry_warning_days: int | None
    updated_at: datetime


def _out(stored: db.StoredRule) -> StockRuleOut:
    r = stored.rule
    return StockRuleOut(
        site=r.site,
        sku=r.sku,
        reorder_point=r.reorder_point,
        max_on_hand=r.max_on_hand,
        expiry_warning_days=r.expiry_warning_days,
        updated_at=stored.updated_at,
    )


@router.get(
    "/stock-rules",
    response_model=Page[StockRuleOut],
    responses={422: {"description": "a bad filter or cursor"}},
)
async def list_stock_rules(
    st: State,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    sku: Annotated[str | None, Query(min_length=14, max_length=14)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[StockRuleOut]:
    """The stock rules, by site and SKU."""
    after = None
    if cursor is not None:
        s, k = cursor_or_422(cursor, str, str)
        after = (str(s), str(k))
    async with st.pool.connection() as conn:
        found = await db.list_rules(conn, site=site, sku=sku, after=after, limit=limit + 1)
    more = len(found) > limit
    last = found[limit - 1].rule if more else None
    return Page(
        items=[_out(r) for r in found[:limit]],
        next=encode_cursor(last.site, last.sku) if last is not None else None,
    )


_PUT: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad GTIN, a field out of range, or max_on_hand below reorder_point"}
}


@router.put("/stock-rules/{sku}", response_model=StockRuleOut, responses=_PUT)
async def put_stock_rule(st: State, sku: Sku, body: StockRuleIn) -> StockRuleOut:
    """Set the rule of an item at a site, replacing the one before. The alerts follow
    at the stock rules job's next look."""
    try:
        rule = StockRule(
            body.site or st.site(None),
            sku,
            body.reorder_point,
            body.max_on_hand,
            body.expiry_warning_days,
        )
    except StockRuleError as e:
        raise HTTPException(422, detail=str(e)) from None
    async with st.pool.connection() as conn:
        stored = await db.put_rule(conn, rule, at=st.settings.now_clock()())
    return _out(stored)
