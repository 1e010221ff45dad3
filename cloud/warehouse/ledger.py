"""The stock ledger: every change of quantity is an immutable entry. Pure.

Words (see ``docs/warehouse.md``):

- a **bucket** is (site, item, lot, location, state): where stock is and what may be
  done with it; a **balance** is the quantity of a bucket, in cases;
- a **position** is a bucket and the pallet (SSCC) holding the cases, or ``None`` for
  loose cases; a bucket's balance is the sum of its positions;
- an **operation** is what happened (kind, cause, time) as lines of signed quantity.
  Posting it appends one :class:`LedgerEntry` per line, all or nothing;
- a **flow** is an operation of one line that changes what the site holds: a
  ``receipt`` (+), a ``ship`` (-), an ``adjust`` (+/-, a count variance or a write-off);
- a **transfer** is an operation of two lines, ``-q`` out of one position and ``+q``
  into another (its entries sum to zero): put-away, move, pick, reserve, unreserve,
  quarantine, release, damage, dispatch (to another site, in transit) and arrive.

Rules: no position's quantity goes below zero (an operation that would make one do so
is refused with :class:`InsufficientStock` naming item, lot, location, state, pallet,
the quantity asked and the quantity there, and nothing is posted); a transfer keeps
item and lot and follows the state and location rules of its kind (:data:`TRANSFERS`);
stock in state ``in_transit`` is always at location :data:`IN_TRANSIT` and nowhere
else. On hand is the sum of the ledger outside ``in_transit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from protocols.epc import check_digit

IN_TRANSIT = "in_transit"
"""The location of stock on its way between two sites."""


class LedgerError(ValueError):
    """An operation the ledger refuses; the message names the field and the value."""


class InsufficientStock(LedgerError):
    """An operation would take more from a position than it holds."""

    def __init__(self, position: Position, asked: int, there: int) -> None:
        self.position = position
        self.asked = asked
        self.there = there
        b = position.bucket
        pallet = f", pallet {position.pallet}" if position.pallet is not None else ""
        super().__init__(
            f"not enough stock: item {b.item}, lot {b.lot}, location {b.location}, "
            f"state {b.state.value}{pallet} at site {b.site}: asked {asked}, there {there}"
        )


class StockState(StrEnum):
    """What may be done with stock.

    ``available`` may be promised; ``reserved`` is held for an order (picking moves it,
    shipping takes it out); ``quarantine`` is blocked until released (inspection,
    recall, a receipt nobody announced); ``damaged`` is not sellable and waits for a
    write-off; ``in_transit`` has left one site for another and is not on hand at any.
    """

    AVAILABLE = "available"
    RESERVED = "reserved"
    QUARANTINE = "quarantine"
    DAMAGED = "damaged"
    IN_TRANSIT = "in_transit"


ON_HAND_STATES = frozenset(
    {StockState.AVAILABLE, StockState.RESERVED, StockState.QUARANTINE, StockState.DAMAGED}
)


class EntryKind(StrEnum):
    RECEIPT = "receipt"
    SHIP = "ship"
    ADJUST = "adjust"
    PUTAWAY = "putaway"
    MOVE = "move"
    PICK = "pick"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    QUARANTINE = "quarantine"
    RELEASE = "release"
    DAMAGE = "damage"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"


FLOWS = frozenset({EntryKind.RECEIPT, EntryKind.SHIP, EntryKind.ADJUST})


class CauseKind(StrEnum):
    """What caused an operation; :attr:`Cause.ref` is that thing's id."""

    PASSAGE = "passage"
    ZONE_EVENT = "zone_event"
    WEIGHT = "weight"
    SCAN = "scan"
    ASN = "asn"
    ORDER = "order"
    COUNT = "count"
    USER = "user"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class Cause:
    """A small typed reference to what was behind an operation (who, what, why)."""

    kind: CauseKind
    ref: str

    def __post_init__(self) -> None:
        if not self.ref:
            raise LedgerError(f"cause.ref: must name the {self.kind.value}, got {self.ref!r}")


def check_gtin14(field: str, gtin: str) -> str:
    """``gtin`` when it is 14 digits with a right GS1 check digit, else :class:`LedgerError`."""
    if len(gtin) != 14 or not (gtin.isascii() and gtin.isdigit()):
        raise LedgerError(f"{field}: a GTIN-14 is 14 digits, got {gtin!r}")
    if int(gtin[-1]) != check_digit(gtin[:-1]):
        raise LedgerError(
            f"{field}: {gtin!r} has check digit {gtin[-1]}, expected {check_digit(gtin[:-1])}"
        )
    return gtin


@dataclass(frozen=True, slots=True, order=True)
class Bucket:
    site: str
    item: str
    """GTIN-14."""
    lot: str
    location: str
    """A zone or a door of the site's layout, or :data:`IN_TRANSIT`."""
    state: StockState

    def __post_init__(self) -> None:
        for name in ("site", "lot", "location"):
            if not getattr(self, name):
                raise LedgerError(f"{name}: must not be empty")
        check_gtin14("item", self.item)
        if (self.state is StockState.IN_TRANSIT) != (self.location == IN_TRANSIT):
            raise LedgerError(
                f"location: {self.location!r} with state {self.state.value!r}: stock in "
                f"transit is at location {IN_TRANSIT!r} and nothing else is"
            )


@dataclass(frozen=True, slots=True)
class Position:
    bucket: Bucket
    pallet: str | None = None
    """The pallet's SSCC, or None for loose cases."""

    def __post_init__(self) -> None:
        if self.pallet is not None and (
            len(self.pallet) != 18 or not (self.pallet.isascii() and self.pallet.isdigit())
        ):
            raise LedgerError(f"pallet: an SSCC is 18 digits, got {self.pallet!r}")

    def sort_key(self) -> tuple[Bucket, str]:
        return (self.bucket, self.pallet or "")


@dataclass(frozen=True, slots=True)
class Line:
    """One leg of an operation: a signed quantity of cases at a position."""

    position: Position
    qty: int


@dataclass(frozen=True, slots=True)
class Operation:
    """What happened, before it is posted. Build one with :func:`receipt`,
    :func:`ship`, :func:`adjust` or :func:`transfer`, which check its shape."""

    kind: EntryKind
    cause: Cause
    time: datetime
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One immutable line of the ledger."""

    seq: int
    """Position in the ledger, from 1, strictly increasing."""
    posting: int
    """The operation it belongs to: a transfer's two entries share it."""
    time: datetime
    kind: EntryKind
    cause: Cause
    position: Position
    qty: int
    """Signed, in cases."""

    @property
    def bucket(self) -> Bucket:
        return self.position.bucket


@dataclass(frozen=True, slots=True)
class Balance:
    bucket: Bucket
    qty: int


@dataclass(frozen=True, slots=True)
class Book:
    """The ledger's current positions (non-zero only) and its next numbers.

    ``positions`` is read-only; :func:`post` returns a new book."""

    positions: Mapping[Position, int]
    next_seq: int = 1
    next_posting: int = 1

    @classmethod
    def empty(cls) -> Book:
        return cls(MappingProxyType({}))

    def qty(self, position: Position) -> int:
        return self.positions.get(position, 0)


# -- building operations ---------------------------------------------------------------


def _positive(qty: int) -> int:
    if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
        raise LedgerError(f"qty: must be a whole number of cases above 0, got {qty!r}")
    return qty


def receipt(position: Position, qty: int, *, cause: Cause, time: datetime) -> Operation:
    """Goods come in: ``+qty`` into an ``available`` or ``quarantine`` position."""
    _positive(qty)
    state = position.bucket.state
    if state not in (StockState.AVAILABLE, StockState.QUARANTINE):
        raise LedgerError(
            f"state: a receipt books into available or quarantine, got {state.value!r}"
        )
    return Operation(EntryKind.RECEIPT, cause, time, (Line(position, qty),))


def ship(position: Position, qty: int, *, cause: Cause, time: datetime) -> Operation:
    """Goods leave to a customer: ``-qty`` out of a ``reserved`` position."""
    _positive(qty)
    state = position.bucket.state
    if state is not StockState.RESERVED:
        raise LedgerError(f"state: only reserved stock ships, got {state.value!r}")
    return Operation(EntryKind.SHIP, cause, time, (Line(position, -qty),))


def adjust(position: Position, delta: int, *, cause: Cause, time: datetime) -> Operation:
    """A count variance or a write-off: ``delta`` cases (not 0) at an on-hand position."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise LedgerError(f"delta: must be a whole number of cases other than 0, got {delta!r}")
    state = position.bucket.state
    if state not in ON_HAND_STATES:
        raise LedgerError(f"state: only stock on hand is adjusted, got {state.value!r}")
    return Operation(EntryKind.ADJUST, cause, time, (Line(position, delta),))


@dataclass(frozen=True, slots=True)
class TransferRule:
    states: frozenset[tuple[StockState, StockState]]
    location: Literal["same", "differs", "any"]


_S = StockState
_SAME_STATE = frozenset((s, s) for s in ON_HAND_STATES)
TRANSFERS: Mapping[EntryKind, TransferRule] = MappingProxyType(
    {
        EntryKind.PUTAWAY: TransferRule(
            frozenset({(_S.AVAILABLE, _S.AVAILABLE), (_S.QUARANTINE, _S.QUARANTINE)}), "differs"
        ),
        EntryKind.MOVE: TransferRule(_SAME_STATE, "differs"),
        EntryKind.PICK: TransferRule(frozenset({(_S.RESERVED, _S.RESERVED)}), "differs"),
        EntryKind.RESERVE: TransferRule(frozenset({(_S.AVAILABLE, _S.RESERVED)}), "same"),
        EntryKind.UNRESERVE: TransferRule(frozenset({(_S.RESERVED, _S.AVAILABLE)}), "same"),
        EntryKind.QUARANTINE: TransferRule(frozenset({(_S.AVAILABLE, _S.QUARANTINE)}), "any"),
        EntryKind.RELEASE: TransferRule(frozenset({(_S.QUARANTINE, _S.AVAILABLE)}), "any"),
        EntryKind.DAMAGE: TransferRule(
            frozenset((s, _S.DAMAGED) for s in ON_HAND_STATES - {_S.DAMAGED}), "any"
        ),
        EntryKind.DISPATCH: TransferRule(frozenset({(_S.RESERVED, _S.IN_TRANSIT)}), "any"),
        EntryKind.ARRIVE: TransferRule(
            frozenset({(_S.IN_TRANSIT, _S.AVAILABLE), (_S.IN_TRANSIT, _S.QUARANTINE)}), "any"
        ),
    }
)
"""Which (from, to) states each transfer kind joins, and whether the location must
stay the same, must differ, or may do either. Only ``dispatch`` may change the site
(the in-transit stock is booked at the receiving site)."""


def transfer(
    kind: EntryKind,
    source: Position,
    target: Position,
    qty: int,
    *,
    cause: Cause,
    time: datetime,
) -> Operation:
    """Move ``qty`` cases from ``source`` to ``target``: two lines that sum to zero."""
    _positive(qty)
    rule = TRANSFERS.get(kind)
    if rule is None:
        raise LedgerError(f"kind: {kind.value!r} is not a transfer (one of {_names(TRANSFERS)})")
    a, b = source.bucket, target.bucket
    if (a.item, a.lot) != (b.item, b.lot):
        raise LedgerError(
            f"target: a {kind.value} keeps item and lot, got {a.item}/{a.lot} -> {b.item}/{b.lot}"
        )
    if a.site != b.site and kind is not EntryKind.DISPATCH:
        raise LedgerError(f"target.site: a {kind.value} stays at site {a.site!r}, got {b.site!r}")
    if (a.state, b.state) not in rule.states:
        allowed = ", ".join(sorted(f"{x.value}->{y.value}" for x, y in rule.states))
        raise LedgerError(
            f"state: a {kind.value} goes {allowed}, got {a.state.value}->{b.state.value}"
        )
    if rule.location == "same" and a.location != b.location:
        raise LedgerError(
            f"target.location: a {kind.value} stays at {a.location!r}, got {b.location!r}"
        )
    if rule.location == "differs" and a.location == b.location:
        raise LedgerError(f"target.location: a {kind.value} goes elsewhere, got {b.location!r}")
    return Operation(kind, cause, time, (Line(source, -qty), Line(target, qty)))


def _names(kinds: Iterable[EntryKind]) -> str:
    return ", ".join(sorted(k.value for k in kinds))


# -- posting and reading ---------------------------------------------------------------


def check(positions: Mapping[Position, int], op: Operation) -> dict[Position, int]:
    """The positions ``op`` touches and their quantities after it, or
    :class:`InsufficientStock` for the first (in position order) it would take below
    zero. ``positions`` needs only the positions the operation touches: this is what the
    database layer calls with the rows it has locked."""
    delta: dict[Position, int] = {}
    for line in op.lines:
        delta[line.position] = delta.get(line.position, 0) + line.qty
    after: dict[Position, int] = {}
    for pos in sorted(delta, key=Position.sort_key):
        there = positions.get(pos, 0)
        if there + delta[pos] < 0:
            raise InsufficientStock(pos, -delta[pos], there)
        after[pos] = there + delta[pos]
    return after


def post(book: Book, op: Operation) -> tuple[Book, tuple[LedgerEntry, ...]]:
    """Post ``op``: the new book and the entries appended, or :class:`InsufficientStock`
    with nothing posted."""
    after = check(book.positions, op)
    positions = dict(book.positions)
    for pos, qty in after.items():
        if qty == 0:
            positions.pop(pos, None)
        else:
            positions[pos] = qty
    entries = tuple(
        LedgerEntry(
            seq=book.next_seq + i,
            posting=book.next_posting,
            time=op.time,
            kind=op.kind,
            cause=op.cause,
            position=line.position,
            qty=line.qty,
        )
        for i, line in enumerate(op.lines)
    )
    new = Book(MappingProxyType(positions), book.next_seq + len(entries), book.next_posting + 1)
    return new, entries


def positions_of(entries: Iterable[LedgerEntry]) -> dict[Position, int]:
    """The sum of the ledger per position (non-zero only)."""
    total: dict[Position, int] = {}
    for e in entries:
        total[e.position] = total.get(e.position, 0) + e.qty
    return {p: q for p, q in total.items() if q != 0}


def balances(entries: Iterable[LedgerEntry]) -> list[Balance]:
    """The sum of the ledger per bucket (non-zero only), in bucket order."""
    return balances_of(positions_of(entries))


def balances_of(positions: Mapping[Position, int]) -> list[Balance]:
    """Positions summed per bucket (non-zero only), in bucket order."""
    total: dict[Bucket, int] = {}
    for pos, qty in positions.items():
        total[pos.bucket] = total.get(pos.bucket, 0) + qty
    return [Balance(b, total[b]) for b in sorted(total) if total[b] != 0]


def on_hand(balances: Iterable[Balance], *, site: str, item: str, lot: str | None = None) -> int:
    """Cases of ``item`` (of ``lot``, or all lots) on hand at ``site``: every state but
    ``in_transit``."""
    return sum(
        b.qty
        for b in balances
        if b.bucket.site == site
        and b.bucket.item == item
        and (lot is None or b.bucket.lot == lot)
        and b.bucket.state in ON_HAND_STATES
    )
