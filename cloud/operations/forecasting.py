"""Demand forecasts of items from the database: reads the shipment history, what is
available and on order (:mod:`cloud.db.forecast`), and plans each item
(:func:`cloud.warehouse.forecast.plan_item`) with statsforecast
(:func:`cloud.operations.demand_model.predict`) on a worker thread, so the fitting
never holds the event loop.

The history is the ``history_days`` whole UTC days before ``today``; today's
shipments so far are not in it (the day is not over), and the forecast starts today.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cloud.db import forecast as db
from cloud.operations.demand_model import predict
from cloud.warehouse.forecast import (
    ForecastConfig,
    ItemPlan,
    ReorderPolicy,
    daily_demand,
    plan_item,
)


@dataclass(frozen=True, slots=True)
class ItemForecast:
    site: str
    sku: str
    first_day: date
    """The forecast's first day (today, UTC)."""
    available: int
    on_order: int
    plan: ItemPlan


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def history_start(today: date, config: ForecastConfig) -> datetime:
    """The first instant of the history (UTC midnight ``history_days`` before today)."""
    return _midnight(today - timedelta(days=config.history_days))


async def forecast_items(
    conn: db.Conn,
    items: Sequence[db.Item],
    *,
    today: date,
    config: ForecastConfig,
    horizon_days: int,
    policy: ReorderPolicy | None = None,
) -> list[ItemForecast]:
    """Each item's plan, in the order given; ``policy`` defaults to the config's.
    :class:`~cloud.warehouse.forecast.ForecastError` for a horizon out of range."""
    if not items:
        return []
    first = today - timedelta(days=config.history_days)
    shipped = await db.shipped_per_day(conn, items, since=_midnight(first), until=_midnight(today))
    available = await db.available(conn, items)
    on_order = await db.on_order(conn, items)
    rule = policy or config.policy

    def plan_all() -> list[ItemForecast]:
        return [
            ItemForecast(
                site,
                sku,
                today,
                available.get((site, sku), 0),
                on_order.get((site, sku), 0),
                plan_item(
                    predict,
                    daily_demand(shipped.get((site, sku), {}), first, config.history_days),
                    horizon_days=horizon_days,
                    holdout_days=config.holdout_days,
                    policy=rule,
                    available=available.get((site, sku), 0),
                    on_order=on_order.get((site, sku), 0),
                ),
            )
            for site, sku in items
        ]

    return await asyncio.to_thread(plan_all)
