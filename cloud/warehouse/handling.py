"""What the floor's events and scans do to stock: the ledger operations. Pure.

- :func:`moves_to`: a pallet (or loose cases) seen at, or scanned into, a place: each
  on-hand position elsewhere is transferred there; ``putaway`` from a door,
  ``pick`` for reserved stock, ``move`` otherwise (each keeps its state);
- :func:`unexpected_receipts`: a pallet nobody announced came through a door: its
  cases (SGTIN-96) are received into ``quarantine`` on the pallet at the door, one
  receipt per item, under the lot :data:`UNKNOWN_LOT` (someone looks, then releases
  or writes off);
- :func:`count_adjustments`: a count of a pallet or of loose cases at a place: the
  variance against the book as ``adjust`` operations (a surplus into a given
  position, a shortage taken from available stock first and from reserved last).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cloud.warehouse.ledger import (
    ON_HAND_STATES,
    Bucket,
    Cause,
    EntryKind,
    LedgerError,
    Operation,
    Position,
    StockState,
    adjust,
    receipt,
    transfer,
)
from protocols.epc import EPCError, Sgtin96, decode_hex

UNKNOWN_LOT = "unknown"
"""The lot of cases received without a notice saying which lot they are."""

Held = Sequence[tuple[Position, int]]
"""Positions and the cases they hold (the book), e.g. a pallet's."""


def moves_to(
    held: Held, location: str, *, doors: Collection[str], cause: Cause, time: datetime
) -> list[Operation]:
    """Transfers of every on-hand position in ``held`` not at ``location`` to it (same
    item, lot, pallet and state): ``putaway`` from one of ``doors`` (available or
    quarantined stock), ``pick`` for reserved stock, ``move`` otherwise. Stock in
    transit and empty positions are left alone. In position order."""
    if not location:
        raise LedgerError("location: must not be empty")
    ops: list[Operation] = []
    for pos, qty in sorted(held, key=lambda h: h[0].sort_key()):
        b = pos.bucket
        if qty <= 0 or b.state not in ON_HAND_STATES or b.location == location:
            continue
        if b.state is StockState.RESERVED:
            kind = EntryKind.PICK
        elif b.location in doors and b.state in (StockState.AVAILABLE, StockState.QUARANTINE):
            kind = EntryKind.PUTAWAY
        else:
            kind = EntryKind.MOVE
        target = Position(
            Bucket(b.site, b.item, b.lot, location, b.state),
            pos.pallet,
        )
        ops.append(transfer(kind, pos, target, qty, cause=cause, time=time))
    return ops


@dataclass(frozen=True, slots=True)
class UnexpectedReceipt:
    operations: tuple[Operation, ...]
    """One quarantine receipt per item found on the pallet."""
    items: tuple[str, ...]
    """The GTINs of the cases, in order."""
    not_cases: tuple[str, ...]
    """EPCs heard with the pallet that are not SGTIN-96 cases (not booked)."""


def cases_by_item(cases: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """How many of the (distinct) case EPCs are of each item (the GTIN of an SGTIN-96),
    and the EPCs that are not SGTIN-96 at all, sorted."""
    per_item: dict[str, int] = {}
    other: list[str] = []
    for epc in sorted(set(cases)):
        try:
            decoded = decode_hex(epc)
        except EPCError:
            other.append(epc)
            continue
        if isinstance(decoded, Sgtin96):
            per_item[decoded.gtin] = per_item.get(decoded.gtin, 0) + 1
        else:
            other.append(epc)
    return per_item, other


def unexpected_receipts(
    *, site: str, door: str, pallet: str, cases: Iterable[str], cause: Cause, time: datetime
) -> UnexpectedReceipt:
    """Receipts of an unannounced pallet's cases into quarantine at ``door``, on the
    pallet (SSCC), one per item (GTIN of the SGTIN-96 EPCs), lot :data:`UNKNOWN_LOT`."""
    per_item, other = cases_by_item(cases)
    ops = tuple(
        receipt(
            Position(Bucket(site, item, UNKNOWN_LOT, door, StockState.QUARANTINE), pallet),
            n,
            cause=cause,
            time=time,
        )
        for item, n in sorted(per_item.items())
    )
    return UnexpectedReceipt(ops, tuple(sorted(per_item)), tuple(other))


_TAKE_ORDER = {
    StockState.AVAILABLE: 0,
    StockState.QUARANTINE: 1,
    StockState.DAMAGED: 2,
    StockState.RESERVED: 3,
}


def count_adjustments(
    held: Held, counted: int, *, surplus_to: Position, cause: Cause, time: datetime
) -> list[Operation]:
    """The ``adjust`` operations that make ``held`` (the book of what was counted: a
    pallet, or loose cases of one item and lot at one place) hold ``counted`` cases.

    A surplus goes into ``surplus_to``; a shortage is taken from the on-hand positions,
    available first, then quarantine, damaged, reserved (held for an order: last).
    Nothing when the count agrees with the book."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise LedgerError(f"counted: must be a whole number of cases, 0 or more, got {counted!r}")
    on_hand = [(p, q) for p, q in held if q > 0 and p.bucket.state in ON_HAND_STATES]
    variance = counted - sum(q for _, q in on_hand)
    if variance == 0:
        return []
    if variance > 0:
        return [adjust(surplus_to, variance, cause=cause, time=time)]
    ops: list[Operation] = []
    short = -variance
    order = sorted(on_hand, key=lambda h: (_TAKE_ORDER[h[0].bucket.state], h[0].sort_key()))
    for pos, qty in order:
        take = min(qty, short)
        ops.append(adjust(pos, -take, cause=cause, time=time))
        short -= take
        if short == 0:
            break
    return ops
