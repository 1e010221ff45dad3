"""A customer order's life: statuses, the transitions between them, its timeline. Pure.

An order moves along one line as its goods do::

    received -> allocated | partially_allocated | backordered
             -> picking -> picked -> packed -> loading -> shipped

- ``received``: accepted, nothing reserved yet (the first timeline entry);
- ``allocated``: every line's cases are reserved (FEFO); its pick list is made;
  ``partially_allocated``: some are, the rest is short (the order goes on with what it
  got: ``allocated`` < ``qty`` on the short lines); ``backordered``: nothing could be
  reserved;
- ``picking``: the first of its pallets reached packing; ``picked``: all of them have;
- ``packed``: every pallet weighed right on the packing scale;
- ``loading``: released to its ship door, where the door check lets its pallets out;
- ``shipped``: all its pallets left through that door.

Besides the line: ``on_hold`` (a mis-shipment at the door or a weight mismatch at
packing stops it; an order may be held from any status after ``received`` and before
``shipped``), released by a person back to the status its goods have reached
(:func:`progress_status`), and ``cancelled`` (its reservations are given back; not
once anything shipped). ``shipped`` and ``cancelled`` are final.

Each change is a :class:`TimelineEntry` (time, status after it, what happened, its
cause, detail). :func:`advance` walks an order forward through every status between
the one it is in and the one its goods have reached, so a customer's timeline never
skips a step (one pallet reaching packing makes both ``picking`` and ``picked``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from cloud.warehouse.ledger import Cause, LedgerError


class OrderStateError(LedgerError):
    """A transition the order's status does not allow; names the order, from and to."""


class OrderStatus(StrEnum):
    RECEIVED = "received"
    ALLOCATED = "allocated"
    PARTIALLY_ALLOCATED = "partially_allocated"
    BACKORDERED = "backordered"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    LOADING = "loading"
    SHIPPED = "shipped"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


_S = OrderStatus
FINAL = frozenset({_S.SHIPPED, _S.CANCELLED})
ALLOCATION_STATUSES = frozenset({_S.ALLOCATED, _S.PARTIALLY_ALLOCATED, _S.BACKORDERED})
HOLDABLE = frozenset(set(_S) - FINAL - {_S.RECEIVED, _S.ON_HOLD})
"""Statuses an order may be put on hold from."""
CANCELLABLE = frozenset(
    {_S.RECEIVED, *ALLOCATION_STATUSES, _S.PICKING, _S.PICKED, _S.PACKED, _S.ON_HOLD}
)
"""Statuses an order may be cancelled from (nothing of it has left yet; a ``loading``
order is held first, then cancelled)."""

STAGE: Mapping[OrderStatus, int] = MappingProxyType(
    {
        _S.RECEIVED: 0,
        _S.ALLOCATED: 1,
        _S.PARTIALLY_ALLOCATED: 1,
        _S.BACKORDERED: 1,
        _S.PICKING: 2,
        _S.PICKED: 3,
        _S.PACKED: 4,
        _S.LOADING: 5,
        _S.SHIPPED: 6,
    }
)
"""Where each status of the main line stands; ``on_hold`` and ``cancelled`` are off it."""

_FORWARD: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.RECEIVED: frozenset(ALLOCATION_STATUSES),
        _S.BACKORDERED: frozenset({_S.ALLOCATED, _S.PARTIALLY_ALLOCATED}),
        _S.PARTIALLY_ALLOCATED: frozenset({_S.ALLOCATED, _S.PICKING}),
        _S.ALLOCATED: frozenset({_S.PICKING}),
        _S.PICKING: frozenset({_S.PICKED}),
        _S.PICKED: frozenset({_S.PACKED}),
        _S.PACKED: frozenset({_S.LOADING}),
        _S.LOADING: frozenset({_S.SHIPPED}),
    }
)


def _transitions() -> Mapping[OrderStatus, frozenset[OrderStatus]]:
    out: dict[OrderStatus, set[OrderStatus]] = {s: set(_FORWARD.get(s, ())) for s in _S}
    for s in HOLDABLE:
        out[s].add(_S.ON_HOLD)
    for s in CANCELLABLE:
        out[s].add(_S.CANCELLED)
    # released: back to where the goods are (any status of the line after received)
    out[_S.ON_HOLD] |= {s for s in STAGE if STAGE[s] >= 1}
    return MappingProxyType({s: frozenset(t) for s, t in out.items()})


TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = _transitions()
"""Every status and the statuses it may go to."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    time: datetime
    status: OrderStatus
    """The order's status after this entry."""
    event: str
    """What happened: a status reached (its name), or ``pallet_picked``,
    ``weight_ok``, ``pallet_shipped``, ``released`` ..."""
    cause: Cause | None = None
    detail: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def check_transition(order: str, current: OrderStatus, new: OrderStatus) -> None:
    """Nothing when ``current -> new`` is allowed, else :class:`OrderStateError`."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing (final)"
        raise OrderStateError(
            f"status: order {order} is {current.value} and cannot become {new.value} "
            f"(from {current.value} it may become {allowed})"
        )


def allocation_status(wanted: int, allocated: int) -> OrderStatus:
    """``allocated`` when every case wanted is reserved, ``backordered`` when none is,
    else ``partially_allocated``."""
    if wanted <= 0 or not 0 <= allocated <= wanted:
        raise OrderStateError(
            f"allocated: {allocated} of {wanted} cases is not a quantity an order can have"
        )
    if allocated == wanted:
        return _S.ALLOCATED
    return _S.BACKORDERED if allocated == 0 else _S.PARTIALLY_ALLOCATED


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an order's goods have got, counted in its pallets (pick tasks)."""

    allocation: OrderStatus
    """``allocated``, ``partially_allocated`` or ``backordered``."""
    pallets: int
    """The pallets (and loose positions) reserved for it: its pick tasks."""
    picked: int = 0
    """Of those, reached packing."""
    packed: int = 0
    """Of those, weighed right."""
    shipped: int = 0
    """Of those, left through its door."""
    released: bool = False
    """Released to its ship door."""

    def __post_init__(self) -> None:
        if self.allocation not in ALLOCATION_STATUSES:
            raise OrderStateError(f"allocation: {self.allocation.value!r} is not an allocation")
        counts = (self.pallets, self.picked, self.packed, self.shipped)
        if min(counts) < 0 or max(counts[1:]) > self.pallets:
            raise OrderStateError(
                f"progress: picked {self.picked}, packed {self.packed}, shipped "
                f"{self.shipped} of {self.pallets} pallets is not possible"
            )
        if (self.pallets == 0) != (self.allocation is _S.BACKORDERED):
            raise OrderStateError(
                f"pallets: {self.pallets} pallets with allocation {self.allocation.value}"
            )


def progress_status(p: Progress) -> OrderStatus:
    """The status of the main line an order's goods have reached. A pallet that is
    further on has passed the earlier steps too (a shipped pallet was picked)."""
    if p.pallets == 0:
        return p.allocation
    if p.shipped == p.pallets:
        return _S.SHIPPED
    packed = max(p.packed, p.shipped)
    if packed == p.pallets:
        return _S.LOADING if p.released else _S.PACKED
    picked = max(p.picked, packed)
    if picked == p.pallets:
        return _S.PICKED
    return _S.PICKING if picked > 0 else p.allocation


def advance(
    order: str,
    current: OrderStatus,
    target: OrderStatus,
    *,
    time: datetime,
    cause: Cause | None = None,
    detail: Mapping[str, Any] | None = None,
) -> list[TimelineEntry]:
    """The entries that take an order forward from ``current`` to ``target`` through
    every status between them (none when it is there already, or further on, or on
    hold or final: a held order waits for a person; :func:`release` resumes it)."""
    if current in FINAL or current is _S.ON_HOLD or target not in STAGE:
        return []
    if STAGE[target] < STAGE[current] or (
        STAGE[target] == STAGE[current] and target not in _FORWARD.get(current, frozenset())
    ):
        return []
    path: list[OrderStatus] = []
    here: OrderStatus = current
    while here is not target:
        nxt = _next_towards(here, target)
        if nxt is None:
            raise OrderStateError(
                f"status: order {order} cannot go from {current.value} to {target.value}"
            )
        path.append(nxt)
        here = nxt
    info = MappingProxyType(dict(detail or {}))
    return [TimelineEntry(time, s, s.value, cause, info) for s in path]


def _next_towards(here: OrderStatus, target: OrderStatus) -> OrderStatus | None:
    if target in _FORWARD.get(here, frozenset()):
        return target
    options = [s for s in _FORWARD.get(here, frozenset()) if STAGE[s] <= STAGE[target]]
    if not options:
        return None
    # the furthest step that does not pass the target; allocated before partial
    return max(options, key=lambda s: (STAGE[s], s is _S.ALLOCATED))


def hold(
    order: str,
    current: OrderStatus,
    *,
    time: datetime,
    reason: str,
    cause: Cause | None = None,
    detail: Mapping[str, Any] | None = None,
) -> TimelineEntry | None:
    """The entry putting an order on hold for ``reason`` (``mis_shipment``,
    ``weight_mismatch``, ...); None when it is on hold already (the reason is in the
    alert and the detail of the first hold); :class:`OrderStateError` when final."""
    if current is _S.ON_HOLD:
        return None
    check_transition(order, current, _S.ON_HOLD)
    info = {"reason": reason, "held_from": current.value, **(detail or {})}
    return TimelineEntry(time, _S.ON_HOLD, "on_hold", cause, MappingProxyType(info))


def release(
    order: str,
    current: OrderStatus,
    progress: Progress,
    *,
    time: datetime,
    cause: Cause | None = None,
    detail: Mapping[str, Any] | None = None,
) -> TimelineEntry:
    """The entry releasing a held order to the status its goods have reached."""
    if current is not _S.ON_HOLD:
        raise OrderStateError(f"status: order {order} is {current.value}, not on_hold")
    target = progress_status(progress)
    check_transition(order, current, target)
    return TimelineEntry(
        time, target, "released", cause, MappingProxyType({"to": target.value, **(detail or {})})
    )


def cancel(
    order: str,
    current: OrderStatus,
    *,
    time: datetime,
    cause: Cause | None = None,
    detail: Mapping[str, Any] | None = None,
) -> TimelineEntry:
    """The entry cancelling an order, or :class:`OrderStateError` when it may not be."""
    check_transition(order, current, _S.CANCELLED)
    return TimelineEntry(
        time, _S.CANCELLED, "cancelled", cause, MappingProxyType(dict(detail or {}))
    )


DELIVERED = "delivered"
"""The timeline event of a shipped order's delivery (its status stays ``shipped``)."""


class DeliveryError(LedgerError):
    """A delivery that cannot be recorded for a reason other than the order's status
    (a time before it shipped or in the future); names the field and value."""


def deliver(
    order: str,
    current: OrderStatus,
    *,
    shipped_at: datetime | None,
    delivered_at: datetime | None,
    at: datetime,
    now: datetime,
    cause: Cause | None = None,
    detail: Mapping[str, Any] | None = None,
) -> TimelineEntry:
    """The entry of a shipped order's delivery at ``at``: :class:`OrderStateError` when
    the order is not ``shipped`` or was delivered already (``delivered_at``), and
    :class:`DeliveryError` when ``at`` is after ``now`` or before it shipped."""
    if current is not _S.SHIPPED:
        raise OrderStateError(
            f"status: order {order} is {current.value}; only a shipped order is delivered"
        )
    if delivered_at is not None:
        raise OrderStateError(
            f"delivered_at: order {order} was delivered already at {delivered_at.isoformat()}"
        )
    if at > now:
        raise DeliveryError(f"at: {at.isoformat()} is in the future (now {now.isoformat()})")
    if shipped_at is not None and at < shipped_at:
        raise DeliveryError(
            f"at: {at.isoformat()} is before the order shipped ({shipped_at.isoformat()})"
        )
    return TimelineEntry(at, _S.SHIPPED, DELIVERED, cause, MappingProxyType(dict(detail or {})))
