"""Warehouse KPIs over a period, from plain facts of the ledger, orders, counts and
alerts. Pure: the facts come in as typed records (``cloud/db/kpis.py`` reads them), the
period is given, nothing is read from a clock. Definitions: ``docs/kpis.md``.

Each KPI is a :class:`Kpi`: a value (None when it is not defined for the period, e.g.
nothing to divide by), its unit, and the numerator and denominator it is the ratio of
(for a mean time: the total and the number of things timed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

SECONDS_PER_DAY: Final = 86_400.0


class KpiError(ValueError):
    """A period or fact that makes no sense; the message names it."""


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise KpiError("period: times need a time zone")
        if self.end <= self.start:
            raise KpiError(
                f"period: to ({self.end.isoformat()}) is not after from ({self.start.isoformat()})"
            )

    def __contains__(self, t: datetime) -> bool:
        return self.start <= t < self.end

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / SECONDS_PER_DAY


class Step(StrEnum):
    """The length of each period of a series."""

    DAY = "day"
    HOUR = "hour"

    @property
    def length(self) -> timedelta:
        return timedelta(days=1) if self is Step.DAY else timedelta(hours=1)


MAX_PERIODS: Final = 400
"""The most periods one series may have (a year and a month of days, 16 days of hours):
each period is its own reading of the facts."""


def periods(span: Period, step: Step) -> list[Period]:
    """``span`` cut into periods of ``step`` from its start, the last one ending at
    ``span.end`` (shorter when the span is not a whole number of steps).
    :class:`KpiError` when that makes more than :data:`MAX_PERIODS`."""
    count = -(-(span.end - span.start) // step.length)  # ceiling
    if count > MAX_PERIODS:
        raise KpiError(
            f"step: {count} periods of one {step.value} from {span.start.isoformat()} to "
            f"{span.end.isoformat()}; at most {MAX_PERIODS} (a longer step or a shorter span)"
        )
    starts = [span.start + i * step.length for i in range(count)]
    return [Period(s, min(s + step.length, span.end)) for s in starts]


@dataclass(frozen=True, slots=True)
class StockHistory:
    """On hand (cases, every state but in transit) at the period's start, and every
    change of it (time, signed cases) during the period."""

    opening: int
    changes: tuple[tuple[datetime, int], ...] = ()


@dataclass(frozen=True, slots=True)
class OrderFacts:
    created_at: datetime
    requested_at: datetime | None
    """When the customer wanted it shipped."""
    shipped_at: datetime | None
    cases_ordered: int
    cases_shipped: int
    lines: int
    lines_short: int
    """Lines that stock could not fully cover when the order was allocated."""


@dataclass(frozen=True, slots=True)
class PalletReceipt:
    received_at: datetime
    """The receipt (the inbound door passage)."""
    stored_at: datetime | None
    """The first put-away into a storage zone; None: not put away yet."""


@dataclass(frozen=True, slots=True)
class AlertFacts:
    raised_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolved_by_system: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """What the KPIs of a period are computed from. Orders, receipts, alerts and counts
    may include records outside the period: each KPI keeps those of its own rule."""

    stock: StockHistory
    shipped_cases: int
    """Cases shipped (ledger ``ship``) in the period."""
    shipping_passages: int
    """Door passages (or scans) in the period that shipped stock."""
    mis_shipments: int
    """``mis_shipment`` alerts raised in the period."""
    orders: tuple[OrderFacts, ...] = ()
    receipts: tuple[PalletReceipt, ...] = ()
    alerts: tuple[AlertFacts, ...] = ()
    counts: tuple[tuple[datetime, bool], ...] = ()
    """Handheld counts (time, whether the book was right: the count posted nothing)."""


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    value: float | None
    unit: str
    numerator: float | None
    denominator: float | None


DEFINITIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "inventory_turnover": "Cases shipped in the period ÷ average on hand over the period"
        " (time-weighted; per period, not annualised).",
        "days_of_supply": "On hand at the end of the period ÷ cases shipped a day on average"
        " in the period.",
        "stockout_rate": "Order lines of the orders made in the period that stock could not"
        " fully cover when the order was allocated.",
        "fill_rate": "Of the orders shipped (the last pallet out) in the period, cases"
        " shipped ÷ cases ordered.",
        "on_time_shipment": "Orders shipped in the period at or before their requested time;"
        " orders without one are not counted.",
        "mis_shipment_rate": "Mis-shipment alerts raised in the period ÷ the door decisions of"
        " the period (passages or ship scans that shipped stock, plus the mis-shipments).",
        "inventory_record_accuracy": "Handheld counts in the period that found the book right"
        " (the count posted nothing) ÷ counts.",
        "dock_to_stock_time": "Mean time from receipt (the inbound passage or scan) to the"
        " first put-away into a storage zone, over pallets received in the period.",
        "order_cycle_time": "Mean time from an order being made to its last pallet shipped,"
        " over orders shipped in the period.",
        "alert_response_time": "Mean time from an alert being raised to a person acknowledging"
        " (or resolving) it, over alerts raised in the period; those the system resolved are"
        " not counted.",
    }
)
"""Each KPI's definition in a sentence, as ``docs/kpis.md`` gives it (the pages show it)."""


def _ratio(name: str, num: float, den: float, *, unit: str = "%") -> Kpi:
    scale = 100.0 if unit == "%" else 1.0
    return Kpi(name, None if den == 0 else scale * num / den, unit, num, den)


def _mean_time(name: str, spans: Sequence[timedelta], unit: str) -> Kpi:
    per = {"minutes": 60.0, "hours": 3600.0}[unit]
    total = sum(s.total_seconds() for s in spans) / per
    return Kpi(name, None if not spans else total / len(spans), unit, total, float(len(spans)))


def average_on_hand(period: Period, stock: StockHistory) -> float:
    """Time-weighted average on hand over the period."""
    level, since, area = float(stock.opening), period.start, 0.0
    for t, delta in sorted(stock.changes):
        if t >= period.end:
            break
        if t > since:
            area += level * (t - since).total_seconds()
            since = t
        level += delta
    area += level * (period.end - since).total_seconds()
    return area / (period.end - period.start).total_seconds()


def closing_on_hand(period: Period, stock: StockHistory) -> int:
    return stock.opening + sum(d for t, d in stock.changes if t < period.end)


def compute(period: Period, facts: Facts) -> list[Kpi]:
    """Every KPI of ``period`` from ``facts``, in the order of ``docs/kpis.md``."""
    average = average_on_hand(period, facts.stock)
    turnover = _ratio("inventory_turnover", facts.shipped_cases, average, unit="turns")
    daily = facts.shipped_cases / period.days
    closing = closing_on_hand(period, facts.stock)
    supply = Kpi("days_of_supply", None if daily == 0 else closing / daily, "days", closing, daily)
    created = [o for o in facts.orders if o.created_at in period]
    shipped = [o for o in facts.orders if o.shipped_at is not None and o.shipped_at in period]
    dated = [o for o in shipped if o.requested_at is not None]
    on_time = [o for o in dated if o.shipped_at is not None and o.requested_at is not None
               and o.shipped_at <= o.requested_at]  # fmt: skip
    counts = [right for t, right in facts.counts if t in period]
    stored = [
        r.stored_at - r.received_at
        for r in facts.receipts
        if r.received_at in period and r.stored_at is not None
    ]
    answered = []
    for a in facts.alerts:
        if a.raised_at not in period:
            continue
        if a.acknowledged_at is not None:
            answered.append(a.acknowledged_at - a.raised_at)
        elif a.resolved_at is not None and not a.resolved_by_system:
            answered.append(a.resolved_at - a.raised_at)
    return [
        turnover,
        supply,
        _ratio("stockout_rate", sum(o.lines_short for o in created), sum(o.lines for o in created)),
        _ratio(
            "fill_rate",
            sum(o.cases_shipped for o in shipped),
            sum(o.cases_ordered for o in shipped),
        ),
        _ratio("on_time_shipment", len(on_time), len(dated)),
        _ratio(
            "mis_shipment_rate",
            facts.mis_shipments,
            facts.shipping_passages + facts.mis_shipments,
        ),
        _ratio("inventory_record_accuracy", sum(counts), len(counts)),
        _mean_time("dock_to_stock_time", stored, "minutes"),
        _mean_time(
            "order_cycle_time",
            [o.shipped_at - o.created_at for o in shipped if o.shipped_at is not None],
            "hours",
        ),
        _mean_time("alert_response_time", answered, "minutes"),
    ]
