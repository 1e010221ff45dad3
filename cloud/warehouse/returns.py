"""Returns (RMA): what a customer may send back, what a door passage brings back, and
what an inspection posts to the ledger. Pure.

Words (see ``docs/warehouse.md``, *Returns*):

- a **return** (RMA, ``RMA-000123``) names one shipped order and what of it comes back:
  **lines** of item and cases, or the case **EPCs** themselves (then its lines are
  those EPCs counted per item). :func:`plan_return` checks it against what the order
  shipped (:class:`ShippedPallet`) less what its other returns ask already;
- an **arrival** is an inbound door passage of a pallet the order shipped, or of a lone
  case of one: :func:`receive_arrival` says what of it the open returns take back, each
  into **quarantine** at the door (a ``receipt`` with the return as its cause): nothing
  returned is available for allocation before an inspection;
- an **inspection** decides, per case EPC or per line (item and cases), ``restock``
  (a ``release`` quarantine -> available where the cases are) or ``write_off`` (an
  ``adjust`` of minus the cases): :func:`plan_inspection` then
  :func:`inspection_operations`.

A return is ``requested`` until something of it came, ``receiving`` while part of it
is still to come, ``received`` when all of it came, and ``closed`` once all of it came
and was inspected (:func:`return_status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Operation,
    Position,
    StockState,
    adjust,
    receipt,
    transfer,
)


class ReturnError(ValueError):
    """A return request or an inspection that cannot be served; the message names the
    field and the value."""


class ReturnConflict(ReturnError):
    """What was asked does not fit the order's or the return's state (HTTP 409)."""


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVING = "receiving"
    RECEIVED = "received"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({ReturnStatus.REQUESTED, ReturnStatus.RECEIVING})
"""A return whose goods may still come through a door."""


class Verdict(StrEnum):
    """An inspection's decision on returned cases."""

    RESTOCK = "restock"
    WRITE_OFF = "write_off"


TIMELINE_EVENTS: Mapping[str, str] = {
    "requested": "return_requested",
    "received": "return_received",
    Verdict.RESTOCK.value: "return_restocked",
    Verdict.WRITE_OFF.value: "return_written_off",
}
"""The order timeline's event for each step of a return."""


# -- what the order shipped, and the request -------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippedLot:
    sku: str
    lot: str
    qty: int
    """Cases of this item and lot the order shipped on the pallet."""


@dataclass(frozen=True, slots=True)
class ShippedPallet:
    """A pallet an order shipped: its items and lots, and its case EPCs (SGTIN-96 hex)
    with the item (GTIN-14) of each."""

    sscc: str
    lots: tuple[ShippedLot, ...]
    cases: Mapping[str, str] = field(default_factory=dict)

    def lot_of(self, sku: str) -> str | None:
        """The lot of ``sku`` the pallet shipped (the largest, when several)."""
        found = [x for x in self.lots if x.sku == sku]
        return max(found, key=lambda x: (x.qty, x.lot)).lot if found else None


def shipped_per_item(pallets: Iterable[ShippedPallet]) -> dict[str, int]:
    total: dict[str, int] = {}
    for p in pallets:
        for x in p.lots:
            total[x.sku] = total.get(x.sku, 0) + x.qty
    return total


@dataclass(frozen=True, slots=True)
class RequestLine:
    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class ReturnPlan:
    """A valid request: its lines (item, cases; in item order) and the EPCs it names."""

    lines: tuple[RequestLine, ...]
    epcs: Mapping[str, str]
    """EPC -> item; empty for a request by lines."""


def plan_return(
    *,
    order: str,
    shipped: Sequence[ShippedPallet],
    lines: Sequence[RequestLine] | None,
    epcs: Sequence[str] | None,
    requested_before: Mapping[str, int],
    epcs_before: frozenset[str] = frozenset(),
) -> ReturnPlan:
    """Check a return request of ``order`` against what it ``shipped``, less what its
    other returns ask already (``requested_before``: cases per item;
    ``epcs_before``: EPCs they name). Exactly one of ``lines`` and ``epcs`` is given."""
    if (lines is None) == (epcs is None):
        raise ReturnError("lines, epcs: give the lines {sku, qty} or the case epcs, one of them")
    sent = shipped_per_item(shipped)
    if not sent:
        raise ReturnConflict(f"order: {order} has shipped nothing, so nothing can come back")
    named: dict[str, str] = {}
    if epcs is not None:
        if not epcs:
            raise ReturnError("epcs: name at least one case EPC")
        of_order = {epc: sku for p in shipped for epc, sku in p.cases.items()}
        for i, epc in enumerate(epcs):
            if epc in named:
                raise ReturnError(f"epcs[{i}]: {epc} is named twice")
            if epc not in of_order:
                raise ReturnError(f"epcs[{i}]: {epc} is not a case order {order} shipped")
            if epc in epcs_before:
                raise ReturnError(f"epcs[{i}]: {epc} is on another return of order {order}")
            named[epc] = of_order[epc]
        wanted: dict[str, int] = {}
        for sku in named.values():
            wanted[sku] = wanted.get(sku, 0) + 1
        field_of = {sku: "epcs" for sku in wanted}
    else:
        assert lines is not None
        if not lines:
            raise ReturnError("lines: give at least one line")
        wanted = {}
        field_of = {}
        for i, line in enumerate(lines):
            if line.qty < 1:
                raise ReturnError(f"lines[{i}].qty: must be 1 or more, got {line.qty}")
            if line.sku in wanted:
                raise ReturnError(f"lines[{i}].sku: {line.sku} is on two lines")
            if line.sku not in sent:
                raise ReturnError(f"lines[{i}].sku: order {order} shipped no {line.sku}")
            wanted[line.sku] = line.qty
            field_of[line.sku] = f"lines[{i}].qty"
    for sku, qty in wanted.items():
        left = sent.get(sku, 0) - requested_before.get(sku, 0)
        if qty > left:
            before = requested_before.get(sku, 0)
            also = f", {before} of them on other returns" if before else ""
            raise ReturnError(
                f"{field_of[sku]}: {qty} cases of {sku} asked back, order {order} shipped "
                f"{sent.get(sku, 0)}{also}: at most {max(left, 0)}"
            )
    return ReturnPlan(tuple(RequestLine(s, q) for s, q in sorted(wanted.items())), named)


# -- arrivals --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenReturn:
    """An open return as an arrival needs it."""

    id: str
    site: str
    remaining: Mapping[str, int]
    """Cases per item still to come."""
    listed: frozenset[str]
    """The case EPCs it names and that have not come yet (empty: a return by lines)."""
    came: frozenset[str]
    """The case EPCs that came already on it."""
    pallets_came: frozenset[str]
    """The SSCCs of the pallets that came back already on it."""
    shipped: tuple[ShippedPallet, ...]
    """What its order shipped."""

    def pallet(self, sscc: str) -> ShippedPallet | None:
        return next((p for p in self.shipped if p.sscc == sscc), None)


@dataclass(frozen=True, slots=True)
class Arrival:
    """An inbound passage: of a pallet (``pallet`` its SSCC, ``cases`` heard with it), or
    of a lone case (``pallet`` None, ``cases`` that one EPC)."""

    cause: str
    """What saw it (``passage:<id>``), kept with what is booked."""
    site: str
    door: str
    time: datetime
    pallet: str | None
    cases: frozenset[str]


@dataclass(frozen=True, slots=True)
class ReturnReceipt:
    """Cases of one item and lot a return takes back, into quarantine at the door."""

    return_id: str
    sku: str
    lot: str
    pallet: str | None
    """The SSCC they came back on; None for a lone case (booked loose)."""
    qty: int
    epcs: frozenset[str]
    """The case EPCs heard among them (may be fewer than ``qty``: cases not heard)."""

    def operation(self, arrival: Arrival) -> Operation:
        position = Position(
            Bucket(arrival.site, self.sku, self.lot, arrival.door, StockState.QUARANTINE),
            self.pallet,
        )
        cause = Cause(CauseKind.RETURN, self.return_id)
        return receipt(position, self.qty, cause=cause, time=arrival.time)


def receive_arrival(returns: Sequence[OpenReturn], arrival: Arrival) -> list[ReturnReceipt]:
    """What the open ``returns`` (oldest first) take back of ``arrival``.

    A **pallet** is taken back by the first return whose order shipped it and that
    waits for its items and has not had it back already: per item, the cases of a
    return by EPCs are the named ones heard with it (all named ones of the pallet when
    none was heard: its cases are not always heard); of a return by lines, the cases of
    the item heard with it (what the pallet shipped when none was heard), at most what
    the return still waits for. A **lone case** is taken back by the first return that
    waits for it (named, or one of an item it waits for, not come yet, and its pallet
    not back already: then it came with its pallet), loose. Nothing else is a return."""
    if arrival.pallet is not None:
        for r in returns:
            if arrival.site != r.site or arrival.pallet in r.pallets_came:
                continue
            pallet = r.pallet(arrival.pallet)
            if pallet is not None:
                found = _pallet_back(r, pallet, arrival)
                if found:
                    return found
        return []
    for epc in sorted(arrival.cases):
        for r in returns:
            if arrival.site != r.site or epc in r.came:
                continue
            home = next((p for p in r.shipped if epc in p.cases), None)
            if home is None or home.sscc in r.pallets_came:
                continue
            sku = home.cases[epc]
            lot = home.lot_of(sku)
            if lot is None or r.remaining.get(sku, 0) < 1:
                continue
            if r.listed and epc not in r.listed:
                continue
            return [ReturnReceipt(r.id, sku, lot, None, 1, frozenset({epc}))]
    return []


def _pallet_back(r: OpenReturn, pallet: ShippedPallet, arrival: Arrival) -> list[ReturnReceipt]:
    out: list[ReturnReceipt] = []
    heard = {epc: sku for epc, sku in pallet.cases.items() if epc in arrival.cases}
    for item in sorted({x.sku for x in pallet.lots}):
        left = r.remaining.get(item, 0)
        lot = pallet.lot_of(item)
        if left < 1 or lot is None:
            continue
        mine = {e for e, s in pallet.cases.items() if s == item and e not in r.came}
        heard_here = {e for e, s in heard.items() if s == item and e not in r.came}
        if r.listed:
            named = mine & r.listed
            epcs = (heard_here & named) or (named if not heard_here else frozenset())
            qty = min(len(epcs), left)
            epcs = set(sorted(epcs)[:qty])
        else:
            shipped = sum(x.qty for x in pallet.lots if x.sku == item)
            qty = min(len(heard_here) if heard_here else shipped, left)
            epcs = set(sorted(heard_here)[:qty])
        if qty > 0:
            out.append(ReturnReceipt(r.id, item, lot, pallet.sscc, qty, frozenset(epcs)))
    return out


# -- inspection ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """Cases a return booked on one arrival, and how many of them are not decided yet."""

    receipt: int
    sku: str
    lot: str
    pallet: str | None
    undecided: int


@dataclass(frozen=True, slots=True)
class Decision:
    """An inspection's decision: on one case (``epc``) or on ``qty`` cases of ``sku``."""

    verdict: Verdict
    epc: str | None = None
    sku: str | None = None
    qty: int | None = None


@dataclass(frozen=True, slots=True)
class Inspected:
    """Cases of one receipt decided on."""

    receipt: int
    sku: str
    lot: str
    pallet: str | None
    qty: int
    verdict: Verdict
    epcs: tuple[str, ...] = ()


def plan_inspection(
    return_id: str,
    received: Sequence[Received],
    cases: Mapping[str, tuple[int, bool]],
    decisions: Sequence[Decision],
) -> list[Inspected]:
    """What each decision takes: an EPC decision the case's own receipt (``cases``: EPC
    -> (receipt, decided already)); a line decision the oldest receipts of the item
    with cases not decided. Everything decided must have come and not been decided
    before, in this inspection or an earlier one."""
    if not decisions:
        raise ReturnError("decisions: give at least one decision")
    left = {r.receipt: r.undecided for r in received}
    by_id = {r.receipt: r for r in received}
    out: list[Inspected] = []
    seen: set[str] = set()
    for i, d in enumerate(decisions):
        if (d.epc is None) == (d.sku is None):
            raise ReturnError(f"decisions[{i}]: name an epc, or a sku and a qty, one of them")
        if d.epc is not None:
            if d.qty not in (None, 1):
                raise ReturnError(f"decisions[{i}].qty: a decision on an epc is one case")
            known = cases.get(d.epc)
            if known is None:
                raise ReturnError(f"decisions[{i}].epc: {d.epc} has not come back on {return_id}")
            rid, decided = known
            if decided or d.epc in seen or left.get(rid, 0) < 1:
                raise ReturnConflict(f"decisions[{i}].epc: {d.epc} is decided already")
            seen.add(d.epc)
            left[rid] -= 1
            r = by_id[rid]
            out.append(Inspected(rid, r.sku, r.lot, r.pallet, 1, d.verdict, (d.epc,)))
            continue
        if d.qty is None or d.qty < 1:
            raise ReturnError(f"decisions[{i}].qty: a line decision needs a qty of 1 or more")
        want = d.qty
        pool = [r for r in received if r.sku == d.sku and left[r.receipt] > 0]
        have = sum(left[r.receipt] for r in pool)
        if have < want:
            raise ReturnConflict(
                f"decisions[{i}].qty: {want} cases of {d.sku} to decide, {have} of them "
                f"came back on {return_id} and wait for a decision"
            )
        for r in pool:
            take = min(want, left[r.receipt])
            if take:
                left[r.receipt] -= take
                want -= take
                out.append(Inspected(r.receipt, r.sku, r.lot, r.pallet, take, d.verdict))
    return out


def inspection_operations(
    inspected: Sequence[Inspected],
    quarantined: Mapping[tuple[str, str, str | None], Sequence[tuple[Position, int]]],
    *,
    return_id: str,
    time: datetime,
) -> list[Operation]:
    """The ledger operations of ``inspected``: taken from the quarantined positions of
    each (item, lot, pallet) (``quarantined``: where those cases are now, wherever the
    pallet went since), a ``release`` to available in place for ``restock``, an
    ``adjust`` of minus the cases for ``write_off``. :class:`ReturnConflict` when the
    quarantine holds fewer than decided (the cases were moved out another way)."""
    cause = Cause(CauseKind.RETURN, return_id)
    left: dict[Position, int] = {}
    for held in quarantined.values():
        for pos, qty in held:
            left[pos] = left.get(pos, 0) + qty
    ops: list[Operation] = []
    for x in inspected:
        spots = sorted(
            {p for p, _ in quarantined.get((x.sku, x.lot, x.pallet), ())}, key=Position.sort_key
        )
        there = sum(left[p] for p in spots)
        if there < x.qty:
            where = f"pallet {x.pallet}" if x.pallet else "loose"
            raise ReturnConflict(
                f"{x.qty} cases of {x.sku} lot {x.lot} ({where}) to {x.verdict.value}, "
                f"{there} of them are in quarantine"
            )
        want = x.qty
        for pos in spots:
            take = min(want, left[pos])
            if not take:
                continue
            left[pos] -= take
            want -= take
            if x.verdict is Verdict.RESTOCK:
                b = pos.bucket
                target = Position(
                    Bucket(b.site, b.item, b.lot, b.location, StockState.AVAILABLE), pos.pallet
                )
                ops.append(transfer(EntryKind.RELEASE, pos, target, take, cause=cause, time=time))
            else:
                ops.append(adjust(pos, -take, cause=cause, time=time))
    return ops


# -- status ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineCounts:
    qty: int
    received: int
    restocked: int
    written_off: int


def return_status(lines: Iterable[LineCounts]) -> ReturnStatus:
    """``requested`` (nothing came), ``receiving`` (part came), ``received`` (all came),
    ``closed`` (all came and all of it was inspected)."""
    ls = list(lines)
    if not ls or all(x.received == 0 for x in ls):
        return ReturnStatus.REQUESTED
    if any(x.received < x.qty for x in ls):
        return ReturnStatus.RECEIVING
    if all(x.restocked + x.written_off >= x.received for x in ls):
        return ReturnStatus.CLOSED
    return ReturnStatus.RECEIVED


def add_received(remaining: Mapping[str, int], receipts: Iterable[ReturnReceipt]) -> dict[str, int]:
    """``remaining`` less what ``receipts`` took."""
    out = dict(remaining)
    for r in receipts:
        out[r.sku] = out.get(r.sku, 0) - r.qty
    return out
