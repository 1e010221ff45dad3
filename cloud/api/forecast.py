"""Demand forecast and reorder suggestion per item and site:
``GET /api/forecast?site=&sku=&horizon_days=`` (admin, operator, erp).

Items are (site, SKU) pairs shipped in the history window or with a stock rule, by
site then SKU, in pages of ``{"items", "next"}``. Each carries its daily forecast from
today (UTC), the backtest's error figures, and the reorder point and suggested
quantity of the reorder policy: the cloud's (``RFIDWMS_FORECAST_*``) unless the
request names ``lead_time_days``, ``review_days`` or ``service_level``. The formulas
are in ``docs/forecast.md``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import forecast as db
from cloud.operations.forecasting import ItemForecast, forecast_items, history_start
from cloud.warehouse.forecast import MAX_DAYS, ForecastError, ReorderPolicy
from protocols.types import ID_PATTERN

router = APIRouter(prefix="/api", tags=["forecast"])

MAX_PAGE = 200
"""Items a page plans at most (each is a model fit): a larger ``limit`` is cut to it."""


class DayOut(BaseModel):
    date: date
    qty: float = Field(description="cases forecast to ship that day")


class ErrorsOut(BaseModel):
    holdout_days: int = Field(description="the last days of the history the model did not see")
    actual: int = Field(description="cases shipped in the holdout")
    forecast: float = Field(description="cases forecast for the holdout")
    mae: float = Field(description="mean absolute error, cases a day")
    rmse: float = Field(description="root mean squared error, cases a day")
    mape: float | None = Field(description="%, over the days with demand; null: none had any")
    wape: float | None = Field(description="sum |error| / sum actual, %; null: no demand")


class ForecastOut(BaseModel):
    site: str
    sku: str
    model: str = Field(description="none, croston_optimized or auto_ets (statsforecast)")
    season_length: int = Field(description="days in the model's season; 1: none")
    history_days: int
    shipped: int = Field(description="cases shipped over the history")
    forecast: list[DayOut] = Field(description="from today (UTC), one entry a day")
    errors: ErrorsOut | None = Field(
        description="the backtest over the holdout; null: history too short to hold one out"
    )
    sigma: float = Field(description="standard deviation of a day's demand, cases")
    available: int
    on_order: int = Field(description="announced by open notices, or in transit to the site")
    lead_time_days: int
    review_days: int
    service_level: float
    lead_time_demand: float
    safety_stock: int
    reorder_point: int
    order_up_to: int
    position: int = Field(description="available + on order")
    suggested_qty: int = Field(description="cases to order now; 0 above the reorder point")


def _out(f: ItemForecast, policy: ReorderPolicy) -> ForecastOut:
    p, r, e = f.plan, f.plan.reorder, f.plan.errors
    return ForecastOut(
        site=f.site,
        sku=f.sku,
        model=p.model.method.value,
        season_length=p.model.season_length,
        history_days=len(p.history),
        shipped=sum(p.history),
        forecast=[
            DayOut(date=f.first_day + timedelta(days=i), qty=round(q, 3))
            for i, q in enumerate(p.daily)
        ],
        errors=None
        if e is None
        else ErrorsOut(
            holdout_days=e.holdout_days,
            actual=e.actual,
            forecast=round(e.forecast, 3),
            mae=round(e.mae, 3),
            rmse=round(e.rmse, 3),
            mape=None if e.mape is None else round(e.mape, 1),
            wape=None if e.wape is None else round(e.wape, 1),
        ),
        sigma=round(p.sigma, 3),
        available=f.available,
        on_order=f.on_order,
        lead_time_days=policy.lead_time_days,
        review_days=policy.review_days,
        service_level=policy.service_level,
        lead_time_demand=round(r.lead_time_demand, 3),
        safety_stock=r.safety_stock,
        reorder_point=r.reorder_point,
        order_up_to=r.order_up_to,
        position=r.position,
        suggested_qty=r.suggested_qty,
    )


@router.get(
    "/forecast",
    response_model=Page[ForecastOut],
    responses={422: {"description": "a bad filter, horizon, policy or cursor, named"}},
)
async def forecast(
    st: State,
    site: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="one site; all if left out")
    ] = None,
    sku: Annotated[
        str | None, Query(pattern=r"^[0-9]{14}$", description="one item (GTIN-14)")
    ] = None,
    horizon_days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="days of forecast from today")
    ] = 14,
    lead_time_days: Annotated[
        int | None, Query(ge=0, le=MAX_DAYS, description="default: the cloud's")
    ] = None,
    review_days: Annotated[
        int | None, Query(ge=0, le=MAX_DAYS, description="default: the cloud's")
    ] = None,
    service_level: Annotated[
        float | None, Query(ge=0.5, le=0.999, description="default: the cloud's")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ForecastOut]:
    """Per item: the daily forecast, its error against what shipped over a holdout
    (MAE, RMSE, MAPE, WAPE), the reorder point and the suggested quantity. At most
    200 items a page."""
    config = st.settings.forecast_config
    base = config.policy
    try:
        policy = ReorderPolicy(
            base.lead_time_days if lead_time_days is None else lead_time_days,
            base.review_days if review_days is None else review_days,
            base.service_level if service_level is None else service_level,
        )
    except ForecastError as e:
        raise HTTPException(422, detail=str(e)) from None
    after = None
    if cursor is not None:
        s, k = cursor_or_422(cursor, str, str)
        after = (str(s), str(k))
    size = min(limit, MAX_PAGE)
    today = st.settings.now_clock()().date()
    async with st.pool.connection() as conn:
        found = await db.items(
            conn,
            site=site,
            sku=sku,
            shipped_since=history_start(today, config),
            after=after,
            limit=size + 1,
        )
        page = found[:size]
        plans = await forecast_items(
            conn, page, today=today, config=config, horizon_days=horizon_days, policy=policy
        )
    last = page[-1] if len(found) > size else None
    return Page(
        items=[_out(f, policy) for f in plans],
        next=encode_cursor(*last) if last is not None else None,
    )
