"""Warehouse KPIs of a period: ``GET /api/kpis?site=&from=&to=`` (admin, operator, erp).

Every KPI of ``docs/kpis.md`` with its value, unit, numerator and denominator, for one
site or (``site`` left out) all sites together, over ``[from, to)``: ``to`` defaults to
now (the cloud's clock), ``from`` to 30 days before ``to``.

``GET /api/kpis/series?site=&from=&to=&step=day|hour``: the same KPIs for each period
of ``step`` from ``from`` to ``to`` (the last one ends at ``to``), for charts; ``from``
defaults to 30 steps before ``to``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.state import State
from cloud.db import kpis as db
from cloud.warehouse.kpis import DEFINITIONS, KpiError, Period, Step, compute, periods

router = APIRouter(prefix="/api", tags=["kpis"])

DEFAULT_PERIOD = timedelta(days=30)


class KpiOut(BaseModel):
    name: str
    value: float | None = Field(description="null when not defined (nothing to divide by)")
    unit: str = Field(description="%, turns, days, minutes or hours")
    numerator: float | None
    denominator: float | None


class KpisOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    site: str | None = Field(description="null: all sites")
    from_: datetime = Field(alias="from")
    to: datetime
    kpis: list[KpiOut]


class PointOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    value: float | None = Field(description="null when not defined (nothing to divide by)")
    numerator: float | None
    denominator: float | None


class SeriesOut(BaseModel):
    name: str
    unit: str = Field(description="%, turns, days, minutes or hours")
    definition: str = Field(description="what the KPI is, in a sentence (docs/kpis.md)")
    points: list[PointOut] = Field(description="one per period, oldest first")


class KpiSeriesOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    site: str | None = Field(description="null: all sites")
    from_: datetime = Field(alias="from")
    to: datetime
    step: Step
    kpis: list[SeriesOut]


def _period(start: datetime, end: datetime) -> Period:
    try:
        return Period(start, end)
    except KpiError as e:
        raise HTTPException(422, detail=str(e).replace("period: ", "from: ", 1)) from None


def _aware(field: str, t: datetime | None) -> datetime | None:
    if t is not None and t.tzinfo is None:
        raise HTTPException(422, detail=f"{field}: {t.isoformat()!r} has no time zone (add Z)")
    return t


@router.get(
    "/kpis",
    response_model=KpisOut,
    response_model_by_alias=True,
    responses={422: {"description": "a bad site or period, named"}},
)
async def kpis(
    st: State,
    site: Annotated[
        str | None, Query(max_length=63, description="one site; all if left out")
    ] = None,
    from_: Annotated[
        datetime | None, Query(alias="from", description="start (default: 30 days before to)")
    ] = None,
    to: Annotated[datetime | None, Query(description="end, excluded (default: now)")] = None,
) -> KpisOut:
    """The warehouse KPIs of a period: turnover, days of supply, stockout rate, fill
    rate, on-time shipment, mis-shipment rate, inventory record accuracy, dock-to-stock
    time, order cycle time, alert response time (definitions: docs/kpis.md)."""
    end = _aware("to", to) or st.settings.now_clock()()
    start = _aware("from", from_) or end - DEFAULT_PERIOD
    period = _period(start, end)
    async with st.pool.connection() as conn:
        facts = await db.facts(conn, period, site=site)
    return KpisOut(
        site=site,
        **{"from": start},  # the field is from_, named "from" on the wire
        to=end,
        kpis=[
            KpiOut(
                name=k.name,
                value=k.value,
                unit=k.unit,
                numerator=k.numerator,
                denominator=k.denominator,
            )
            for k in compute(period, facts)
        ],
    )


SERIES_STEPS = 30
"""Periods in a series whose ``from`` is left out."""


@router.get(
    "/kpis/series",
    response_model=KpiSeriesOut,
    response_model_by_alias=True,
    responses={422: {"description": "a bad site, period or step, named"}},
)
async def kpi_series(
    st: State,
    site: Annotated[
        str | None, Query(max_length=63, description="one site; all if left out")
    ] = None,
    from_: Annotated[
        datetime | None,
        Query(alias="from", description=f"start (default: {SERIES_STEPS} steps before to)"),
    ] = None,
    to: Annotated[datetime | None, Query(description="end, excluded (default: now)")] = None,
    step: Annotated[Step, Query(description="the length of each period")] = Step.DAY,
) -> KpiSeriesOut:
    """Every KPI of ``GET /api/kpis`` for each period of ``step`` (a day or an hour)
    from ``from`` to ``to``, oldest first, with each KPI's definition; at most 400
    periods (``cloud.warehouse.kpis.MAX_PERIODS``), more is a 422."""
    end = _aware("to", to) or st.settings.now_clock()()
    start = _aware("from", from_) or end - SERIES_STEPS * step.length
    try:
        cuts = periods(_period(start, end), step)
    except KpiError as e:
        raise HTTPException(422, detail=str(e)) from None
    rows = []
    async with st.pool.connection() as conn:
        for period in cuts:
            rows.append((period, compute(period, await db.facts(conn, period, site=site))))
    names = [k.name for k in rows[0][1]]
    return KpiSeriesOut(
        site=site,
        **{"from": start},
        to=end,
        step=step,
        kpis=[
            SeriesOut(
                name=name,
                unit=rows[0][1][i].unit,
                definition=DEFINITIONS[name],
                points=[
                    PointOut(
                        **{"from": period.start},
                        to=period.end,
                        value=figures[i].value,
                        numerator=figures[i].numerator,
                        denominator=figures[i].denominator,
                    )
                    for period, figures in rows
                ],
            )
            for i, name in enumerate(names)
        ],
    )
