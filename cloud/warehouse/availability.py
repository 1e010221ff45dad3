"""Availability and the promised date of a quantity of an item. Pure.

:func:`promise` covers the quantity asked from the available stock first (it can go
today), then from announced inbound in the order it is expected (each notice's cases
can go on the day it is expected). The promised date is the day the last case needed
is there; None when stock and everything announced together fall short.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal


@dataclass(frozen=True, slots=True)
class Inbound:
    asn: str
    expected_at: datetime
    qty: int


@dataclass(frozen=True, slots=True)
class Source:
    kind: Literal["stock", "asn"]
    ref: str | None
    """The notice's id for inbound."""
    qty: int
    """Cases taken from it toward the quantity asked."""
    date: date


@dataclass(frozen=True, slots=True)
class Promise:
    qty: int
    available_now: int
    promised_date: date | None
    sources: tuple[Source, ...]


def promise(
    qty: int,
    *,
    available_now: int,
    inbound: Iterable[Inbound],
    now: datetime,
    tz: timezone | None = None,
) -> Promise:
    """When ``qty`` cases can be had (module doc); dates in ``tz`` (default UTC).
    ``inbound`` must not hold notices already overdue (they are short)."""
    if qty <= 0:
        raise ValueError(f"qty: must be above 0, got {qty}")
    zone = tz or timezone(timedelta(0))
    today = now.astimezone(zone).date()
    need = qty
    sources: list[Source] = []
    if available_now > 0:
        take = min(available_now, need)
        sources.append(Source("stock", None, take, today))
        need -= take
    for inc in sorted(inbound, key=lambda i: (i.expected_at, i.asn)):
        if need == 0:
            break
        if inc.qty <= 0:
            continue
        take = min(inc.qty, need)
        sources.append(
            Source("asn", inc.asn, take, max(today, inc.expected_at.astimezone(zone).date()))
        )
        need -= take
    return Promise(
        qty=qty,
        available_now=max(available_now, 0),
        promised_date=None if need else max(s.date for s in sources),
        sources=tuple(sources),
    )
