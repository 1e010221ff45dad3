"""Transfers of stock between two sites of one cloud: the decisions. Pure.

A **transfer** moves cases of items from a source site to a destination site. It is
made of two things the warehouse does anyway (``docs/warehouse.md``, Transfers):

- at the source, an **order of an internal customer** (:func:`internal_customer`,
  ``site:<destination>``): its stock is reserved FEFO, picked, weighed at packing,
  released to a door and verified there by the door check, exactly like a customer's
  order. Only the last step differs: a pallet of a transfer that passes its door is
  **dispatched** (:func:`dispatch_operations`: reserved -> ``in_transit``, booked at the
  destination) instead of shipped out of the books;
- at the destination, an **expected arrival** of the very pallets that left (their
  SSCCs and case EPCs are known): the inbound passage of one of them **arrives** it
  (:func:`receive_pallet`: ``in_transit`` -> available at the door), its cases
  compared with those that left on it.

Status (:class:`TransferStatus`): ``open`` (reserved, being picked, packed, loaded)
-> ``in_transit`` (its order shipped: every pallet left the source's door; expected
at ``shipped_at`` + the transit time, :func:`expected_arrival`) -> ``received`` (every
pallet that left came in at the destination); or ``cancelled`` (:func:`cancel_plan`:
its order at the source cancelled before any pallet of it left). Outcomes
(:class:`Outcome`), each with its alert: ``short`` (cases that left on a pallet and
did not come with it), ``over`` (cases that came on a pallet and had not left on it),
``late`` (pallets not come by the expected arrival plus a grace, :func:`is_late`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cloud.warehouse.door_check import DoorCheck, Verdict
from cloud.warehouse.ledger import (
    IN_TRANSIT,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    LedgerError,
    Operation,
    Position,
    StockState,
    transfer,
)
from cloud.warehouse.orders import CANCELLABLE, OrderStatus
from protocols.epc import EPCError, Sgtin96, decode_hex

INTERNAL_PREFIX = "site:"
"""The customer of a transfer's order is ``site:<destination>``: no customer id of the
API can look like it (a customer id has no ``:``)."""


class TransferError(LedgerError):
    """A transfer request or step that cannot be; the message names field and value."""


class TransferConflict(TransferError):
    """A step the transfer's status does not allow now (HTTP 409); names the transfer
    and why."""


class TransferStatus(StrEnum):
    OPEN = "open"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    SHORT = "short"
    OVER = "over"
    LATE = "late"


def internal_customer(to_site: str) -> str:
    """The customer a transfer's order at the source is for: the destination site."""
    return f"{INTERNAL_PREFIX}{to_site}"


def is_internal_customer(customer: str) -> bool:
    return customer.startswith(INTERNAL_PREFIX)


# -- the request -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferLine:
    sku: str
    qty: int


def check_request(
    from_site: str, to_site: str, lines: Sequence[TransferLine], served: Iterable[str]
) -> None:
    """Nothing when the request can be served, else :class:`TransferError` naming the
    field: both sites served by this cloud and different, each item listed once."""
    sites = list(served)
    for field, site in (("from_site", from_site), ("to_site", to_site)):
        if site not in sites:
            names = ", ".join(repr(s) for s in sites)
            raise TransferError(
                f"{field}: {site!r} is not a site of this cloud (it serves {names})"
            )
    if from_site == to_site:
        raise TransferError(f"to_site: {to_site!r} is the source site; a transfer goes elsewhere")
    if not lines:
        raise TransferError("lines: a transfer moves at least one item")
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line.sku in seen:
            raise TransferError(
                f"lines[{i}].sku: {line.sku!r} is listed already (lines[{seen[line.sku]}]);"
                " give each item once with its total"
            )
        seen[line.sku] = i
        if isinstance(line.qty, bool) or not isinstance(line.qty, int) or line.qty <= 0:
            raise TransferError(f"lines[{i}].qty: must be a whole number of cases above 0")


# -- transit time ----------------------------------------------------------------------


def parse_transit_times(text: str) -> dict[tuple[str, str], timedelta]:
    """``RFIDWMS_TRANSIT_TIMES``: comma-separated ``from>to=minutes`` entries, e.g.
    ``dc-1>dc-2=240,dc-2>dc-1=300``; ValueError naming the entry that is wrong."""
    out: dict[tuple[str, str], timedelta] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        pair, eq, minutes = entry.partition("=")
        a, gt, b = (x.strip() for x in pair.partition(">"))
        if not (eq and gt and a and b):
            raise ValueError(
                f"entry {entry!r}: a transit time is from>to=minutes, e.g. dc-1>dc-2=240"
            )
        try:
            value = float(minutes)
        except ValueError:
            raise ValueError(f"entry {entry!r}: {minutes.strip()!r} is not minutes") from None
        if not 0 < value <= 60 * 24 * 60:
            raise ValueError(f"entry {entry!r}: minutes must be above 0 and at most 60 days")
        if (a, b) in out:
            raise ValueError(f"entry {entry!r}: {a}>{b} is given twice")
        out[(a, b)] = timedelta(minutes=value)
    return out


def transit_time(
    times: Mapping[tuple[str, str], timedelta], from_site: str, to_site: str, default: timedelta
) -> timedelta:
    """The time on the road from ``from_site`` to ``to_site``: the pair's own, else the
    pair's the other way round, else ``default``."""
    return times.get((from_site, to_site)) or times.get((to_site, from_site)) or default


def expected_arrival(shipped_at: datetime, transit: timedelta) -> datetime:
    return shipped_at + transit


def is_late(
    expected_at: datetime | None, grace: timedelta, now: datetime, *, all_arrived: bool
) -> bool:
    """Whether a transfer on the road is late at ``now``: pallets still to come after
    its expected arrival plus ``grace``."""
    return expected_at is not None and not all_arrived and now > expected_at + grace


def status_of(*, order_shipped: bool, dispatched: int, arrived: int) -> TransferStatus:
    """Where a transfer stands: ``open`` until its order shipped, then ``in_transit``
    until every pallet that left has come, then ``received``."""
    if not 0 <= arrived <= dispatched:
        raise TransferError(f"pallets: {arrived} arrived of {dispatched} dispatched")
    if not order_shipped:
        return TransferStatus.OPEN
    return TransferStatus.RECEIVED if arrived == dispatched else TransferStatus.IN_TRANSIT


# -- cancelling -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CancelPlan:
    cancel_order: bool
    """Its order at the source is to be cancelled (its reservations given back, its open
    tasks cancelled, its pallets off their shelves sent back to storage); False: the
    order was cancelled already and the transfer is only closed."""


def cancel_plan(
    transfer_id: str, status: TransferStatus, order_status: str, dispatched: int
) -> CancelPlan:
    """Whether transfer ``transfer_id`` may be cancelled now, and how, or
    :class:`TransferConflict` saying why not. ``order_status``: its order's at the
    source; ``dispatched``: its pallets that left the source's door.

    A transfer is cancelled only while nothing of it left: ``open``, no pallet through
    the door, and its order still cancellable (:data:`cloud.warehouse.orders.CANCELLABLE`:
    not ``loading``, whose pallets are at the door) or cancelled already (through
    ``POST /api/orders/{id}/cancel``)."""
    if status is TransferStatus.CANCELLED:
        raise TransferConflict(f"status: transfer {transfer_id} is cancelled already")
    if status is not TransferStatus.OPEN:
        raise TransferConflict(
            f"status: transfer {transfer_id} is {status.value}: its pallets left the source"
            " and are settled at the destination; it cannot be cancelled"
        )
    if dispatched:
        raise TransferConflict(
            f"status: {dispatched} pallet(s) of transfer {transfer_id} left the source's door;"
            " it cannot be cancelled"
        )
    try:
        order = OrderStatus(order_status)
    except ValueError:
        raise TransferConflict(f"order_status: {order_status!r} is no status of an order") from None
    if order is OrderStatus.CANCELLED:
        return CancelPlan(cancel_order=False)
    if order is OrderStatus.LOADING:
        raise TransferConflict(
            f"status: transfer {transfer_id}'s pallets are being loaded at the source's door"
            " (its order is loading); it cannot be cancelled"
        )
    if order not in CANCELLABLE:
        raise TransferConflict(
            f"status: transfer {transfer_id}'s order is {order.value}; it cannot be cancelled"
        )
    return CancelPlan(cancel_order=True)


# -- leaving the source ----------------------------------------------------------------


def dispatch_operations(
    check: DoorCheck, positions: Mapping[Position, int], *, to_site: str
) -> list[Operation]:
    """For a ``ship`` verdict on a transfer's pallet, the ledger operations sending its
    reserved stock on the road: ``dispatch`` of every reserved position on that pallet
    at the source to ``in_transit`` at ``to_site`` (same item, lot and pallet); none
    for a mis-shipment."""
    if check.verdict is not Verdict.SHIP:
        return []
    p = check.passage
    if to_site == p.site:
        raise TransferError(f"to_site: {to_site!r} is the site the pallet leaves")
    cause = Cause(CauseKind.PASSAGE, p.id)
    ops = []
    for pos, qty in sorted(positions.items(), key=lambda kv: kv[0].sort_key()):
        b = pos.bucket
        if pos.pallet != p.pallet or b.site != p.site or b.state is not StockState.RESERVED:
            continue
        if qty <= 0:
            continue
        target = Position(
            Bucket(to_site, b.item, b.lot, IN_TRANSIT, StockState.IN_TRANSIT), pos.pallet
        )
        ops.append(transfer(EntryKind.DISPATCH, pos, target, qty, cause=cause, time=p.time))
    return ops


# -- arriving at the destination -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnTheRoad:
    """A transfer's pallet in transit: what the books hold on it at the destination
    (``in_transit`` positions) and the case EPCs that left on it (empty: not known)."""

    transfer: str
    sscc: str
    positions: Mapping[Position, int]
    cases: frozenset[str]


@dataclass(frozen=True, slots=True)
class PalletArrival:
    operations: tuple[Operation, ...]
    """``arrive`` of the cases that came: in transit -> available at the door."""
    received: int
    """Cases arrived."""
    missing: tuple[str, ...]
    """Case EPCs that left on the pallet and were not heard with it (short)."""
    extra: tuple[str, ...]
    """Case EPCs heard with it that had not left on it (over; not booked)."""


def case_item(epc: str) -> str | None:
    try:
        decoded = decode_hex(epc)
    except EPCError:
        return None
    return decoded.gtin if isinstance(decoded, Sgtin96) else None


def receive_pallet(
    pallet: OnTheRoad,
    *,
    site: str,
    door: str,
    heard: Iterable[str],
    cause: Cause,
    time: datetime,
) -> PalletArrival:
    """The pallet came in through ``door`` at ``site`` with the cases ``heard``.

    When the cases that left on it are known, those heard arrive (per item, at most
    what the books hold of it in transit, lots in position order), the others are
    ``missing``, and cases heard that had not left on it are ``extra``. When they are
    not known, everything it holds in transit arrives."""
    held = sorted(
        (
            (pos, qty)
            for pos, qty in pallet.positions.items()
            if qty > 0 and pos.pallet == pallet.sscc and pos.bucket.site == site
        ),
        key=lambda kv: kv[0].sort_key(),
    )
    if any(pos.bucket.state is not StockState.IN_TRANSIT for pos, _ in held):
        raise TransferError(f"pallet {pallet.sscc}: positions given are not in transit")
    heard_set = frozenset(heard)
    if pallet.cases:
        came = sorted(pallet.cases & heard_set)
        missing = tuple(sorted(pallet.cases - heard_set))
        extra = tuple(sorted(e for e in heard_set - pallet.cases if case_item(e) is not None))
        wanted: dict[str, int] = {}
        for epc in came:
            item = case_item(epc)
            if item is not None:
                wanted[item] = wanted.get(item, 0) + 1
    else:
        missing, extra = (), ()
        wanted = {}
        for pos, qty in held:
            wanted[pos.bucket.item] = wanted.get(pos.bucket.item, 0) + qty
    ops: list[Operation] = []
    received = 0
    for pos, qty in held:
        b = pos.bucket
        take = min(qty, wanted.get(b.item, 0))
        if take <= 0:
            continue
        wanted[b.item] -= take
        target = Position(Bucket(site, b.item, b.lot, door, StockState.AVAILABLE), pos.pallet)
        ops.append(transfer(EntryKind.ARRIVE, pos, target, take, cause=cause, time=time))
        received += take
    return PalletArrival(tuple(ops), received, missing, extra)


def outcomes(*, missing: int, extra: int, late: bool) -> list[Outcome]:
    """The outcomes a transfer has had so far, in a fixed order."""
    out = []
    if missing:
        out.append(Outcome.SHORT)
    if extra:
        out.append(Outcome.OVER)
    if late:
        out.append(Outcome.LATE)
    return out
