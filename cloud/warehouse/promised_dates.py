"""The promised date of an order that is short, and when it changed. Pure.

An open order whose cases are not all reserved (``backordered`` /
``partially_allocated``) is promised for the day its short lines can be had: each line's
cases not reserved are promised as ``GET /api/availability`` promises them
(:func:`cloud.warehouse.availability.promise`: available stock today, then announced
inbound by its expected day), one line at a time as the customer portal shows them; the
order's date is the latest of its lines', and None when one of them cannot be promised.

:func:`promised_date_change` says whether that date moved since it was last recorded,
and makes the timeline entry (``promised_date_changed``) the customers are told of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from types import MappingProxyType

from cloud.warehouse.availability import Inbound, promise
from cloud.warehouse.orders import OrderStatus, TimelineEntry

SHORT: frozenset[OrderStatus] = frozenset(
    {OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_ALLOCATED}
)
"""The statuses of an open order that has cases not reserved."""

PROMISED_DATE_CHANGED = "promised_date_changed"
"""The timeline event of a promised date that moved."""


@dataclass(frozen=True, slots=True)
class ShortLine:
    sku: str
    qty: int
    """Cases of the line not reserved."""


def order_promised_date(
    lines: Sequence[ShortLine],
    *,
    available: Mapping[str, int],
    inbound: Mapping[str, Sequence[Inbound]],
    now: datetime,
    tz: timezone | None = None,
) -> date | None:
    """The day every short line of an order can be had (module doc); None when one of
    them cannot be promised or there is no short line."""
    days: list[date] = []
    for line in lines:
        if line.qty <= 0:
            continue
        p = promise(
            line.qty,
            available_now=available.get(line.sku, 0),
            inbound=inbound.get(line.sku, ()),
            now=now,
            tz=tz,
        )
        if p.promised_date is None:
            return None
        days.append(p.promised_date)
    return max(days) if days else None


def promised_date_change(
    status: OrderStatus, was: date | None, promised: date | None, *, now: datetime
) -> TimelineEntry | None:
    """The timeline entry telling that an order's promised date went from ``was`` (None:
    none was known) to ``promised``, or None when it did not move."""
    if promised == was:
        return None
    detail = {
        "promised_date": promised.isoformat() if promised else None,
        "was": was.isoformat() if was else None,
    }
    return TimelineEntry(now, status, PROMISED_DATE_CHANGED, None, MappingProxyType(detail))
