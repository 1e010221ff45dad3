"""Shipping verified at the door: an outbound passage against the orders. Pure.

An order's **pallets** are the SSCCs picked for it; once it is released to a dock door
it is **loading** there. An outbound passage of a pallet at a door is:

- ``ship``: the pallet is on an order loading at that door. It ships on that order
  (:func:`ship_operations` takes its reserved stock out through the ledger); cases the
  books hold on it beyond the order's leave with it (:func:`over_shipment_operations`);
- ``mis_shipment`` otherwise, with the reason:

  - ``not_on_an_order``: no order has the pallet;
  - ``wrong_door``: its order is loading at another door;
  - ``not_loading``: its order is not released to any door yet.

  A mis-shipment names the door, the pallet, the orders loading at that door and the
  pallet's own order, and puts on **hold** the orders loading at that door (a wrong
  pallet is on their truck) and the pallet's own order (its pallet is leaving wrong).

A pallet on two orders is a data error (:class:`DoorCheckError`), refused before any
passage is judged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cloud.warehouse.ledger import (
    Cause,
    CauseKind,
    EntryKind,
    LedgerError,
    Operation,
    Position,
    StockState,
    ship,
    transfer,
)
from cloud.warehouse.receiving import pallet_sscc
from protocols.mqtt import PassageMessage


class DoorCheckError(LedgerError):
    """Orders or a passage that cannot be checked; the message names field and value."""


@dataclass(frozen=True, slots=True)
class OrderPallets:
    order: str
    site: str
    pallets: frozenset[str]
    """SSCCs picked for the order."""
    door: str | None
    """The door it is loading at; None when not released to a door yet."""


@dataclass(frozen=True, slots=True)
class OutboundPassage:
    id: str
    """The passage's reference, the cause of what it ships."""
    site: str
    door: str
    time: datetime
    pallet: str
    """SSCC."""


def outbound_passage(msg: PassageMessage, *, site: str, ref: str) -> OutboundPassage:
    """An edge's outbound passage, its EPC decoded to the pallet's SSCC."""
    if msg.direction != "outbound":
        raise DoorCheckError(
            f"direction: the door check takes outbound passages, got {msg.direction!r}"
        )
    return OutboundPassage(ref, site, msg.door, msg.time, pallet_sscc(msg.epc))


class Verdict(StrEnum):
    SHIP = "ship"
    MIS_SHIPMENT = "mis_shipment"


class Reason(StrEnum):
    NOT_ON_AN_ORDER = "not_on_an_order"
    WRONG_DOOR = "wrong_door"
    NOT_LOADING = "not_loading"


@dataclass(frozen=True, slots=True)
class DoorCheck:
    verdict: Verdict
    passage: OutboundPassage
    order: str | None
    """The pallet's own order, if it has one."""
    order_door: str | None
    """The door the pallet's order is loading at, if any."""
    reason: Reason | None
    """Why it is a mis-shipment; None when it ships."""
    loading_here: tuple[str, ...]
    """The orders loading at the passage's door."""
    hold: tuple[str, ...]
    """The orders to put on hold (none when it ships)."""

    @property
    def message(self) -> str:
        p = self.passage
        if self.verdict is Verdict.SHIP:
            return f"pallet {p.pallet} ships on order {self.order} through {p.door}"
        here = (
            f"orders loading at {p.door}: {', '.join(self.loading_here)}"
            if self.loading_here
            else f"no order is loading at {p.door}"
        )
        if self.reason is Reason.WRONG_DOOR:
            why = f"it is on order {self.order}, loading at {self.order_door}"
        elif self.reason is Reason.NOT_LOADING:
            why = f"it is on order {self.order}, not released to a door"
        else:
            why = "it is on no order"
        return f"mis_shipment at {p.door}: pallet {p.pallet} left, {why}; {here}"


def index_orders(orders: Iterable[OrderPallets]) -> dict[tuple[str, str], OrderPallets]:
    """Each (site, pallet) to its order; a pallet on two orders is a :class:`DoorCheckError`."""
    by_pallet: dict[tuple[str, str], OrderPallets] = {}
    for o in sorted(orders, key=lambda o: o.order):
        for sscc in sorted(o.pallets):
            other = by_pallet.get((o.site, sscc))
            if other is not None:
                raise DoorCheckError(
                    f"pallets: {sscc} is on orders {other.order!r} and {o.order!r} "
                    f"at site {o.site!r}"
                )
            by_pallet[(o.site, sscc)] = o
    return by_pallet


def check_passage(passage: OutboundPassage, orders: Iterable[OrderPallets]) -> DoorCheck:
    """Ship or mis-shipment for an outbound passage, given the site's orders (module doc)."""
    orders = list(orders)
    owner = index_orders(orders).get((passage.site, passage.pallet))
    loading_here = tuple(
        sorted(o.order for o in orders if o.site == passage.site and o.door == passage.door)
    )
    if owner is not None and owner.door == passage.door:
        return DoorCheck(Verdict.SHIP, passage, owner.order, owner.door, None, loading_here, ())
    if owner is None:
        reason = Reason.NOT_ON_AN_ORDER
    elif owner.door is None:
        reason = Reason.NOT_LOADING
    else:
        reason = Reason.WRONG_DOOR
    hold = set(loading_here) | ({owner.order} if owner is not None else set())
    return DoorCheck(
        Verdict.MIS_SHIPMENT,
        passage,
        owner.order if owner is not None else None,
        owner.door if owner is not None else None,
        reason,
        loading_here,
        tuple(sorted(hold)),
    )


def ship_operations(check: DoorCheck, positions: Mapping[Position, int]) -> list[Operation]:
    """For a ``ship`` verdict, the ledger operations taking the pallet's reserved stock
    out (every reserved position on that pallet at the site); none for a mis-shipment."""
    if check.verdict is not Verdict.SHIP:
        return []
    p = check.passage
    cause = Cause(CauseKind.PASSAGE, p.id)
    return [
        ship(pos, qty, cause=cause, time=p.time)
        for pos, qty in sorted(positions.items(), key=lambda kv: kv[0].sort_key())
        if pos.pallet == p.pallet
        and pos.bucket.site == p.site
        and pos.bucket.state is StockState.RESERVED
        and qty > 0
    ]


def over_shipment_operations(
    check: DoorCheck, positions: Mapping[Position, int]
) -> list[Operation]:
    """For a ``ship`` verdict, the cases the books hold on the pallet beyond its order's
    (available there: the order took part of the pallet) leave with it: each reserved
    then shipped, so they go out through the ledger as the order's do (an over-shipment,
    for a person to settle with the customer). None for a mis-shipment; quarantined or
    damaged cases stay on the books, for a person."""
    if check.verdict is not Verdict.SHIP:
        return []
    p = check.passage
    cause = Cause(CauseKind.PASSAGE, p.id)
    ops: list[Operation] = []
    for pos, qty in sorted(positions.items(), key=lambda kv: kv[0].sort_key()):
        if pos.pallet != p.pallet or pos.bucket.site != p.site or qty <= 0:
            continue
        if pos.bucket.state is not StockState.AVAILABLE:
            continue
        held = Position(dataclasses.replace(pos.bucket, state=StockState.RESERVED), pos.pallet)
        ops.append(transfer(EntryKind.RESERVE, pos, held, qty, cause=cause, time=p.time))
        ops.append(ship(held, qty, cause=cause, time=p.time))
    return ops
