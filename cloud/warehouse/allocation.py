"""Reserving order lines from available stock, FEFO. Pure.

:func:`allocate` takes an order line (site, item, cases) and the available stock of
that item as :class:`Candidate` positions (a pallet's cases or loose cases, with their
lot's expiry and when they were received) and says which cases to reserve:

1. **Earliest expiry first** (FEFO): stock of an earlier expiry is used up before any
   of a later one is touched; stock without an expiry comes after all that has one.
2. Within one expiry, **whole pallets first**: each pallet whose cases all fit into
   what is still needed is taken whole, first received first (then by SSCC, so the
   order is stable);
3. then **cases**: loose cases before breaking a pallet, first received first, then
   by SSCC, then location.
4. What the stock cannot cover is the **shortfall**; nothing is ever over-allocated.

:func:`reservations` turns an allocation into ledger ``reserve`` operations.

Race safety is the database layer's job; this is how it is meant to call this module
(for the engineer writing ``cloud/db``). Two orders racing for the last cases must
never both get them:

- In one transaction, lock the candidate rows before reading their quantities:
  ``SELECT … FROM stock_positions WHERE site = %s AND item = %s AND state = 'available'
  AND qty > 0 ORDER BY <the position's primary key> FOR UPDATE``. The fixed order
  keeps two transactions from deadlocking on each other's rows; an order of several
  lines locks its items in GTIN order, for the same reason.
- Call :func:`allocate` on the locked rows (with expiry and received time joined
  from lots and pallets), then :func:`cloud.warehouse.ledger.check` with the same rows
  for every reserve operation, insert the entries and update the positions, commit.
- A second order blocks on the first one's locks; under READ COMMITTED, PostgreSQL
  re-reads each locked row once the first commits, so it sees what is left, and a row
  the first one emptied is skipped by ``qty > 0``. Stock received meanwhile may be
  missed (an under-allocation that a retry fixes), never counted twice.
- Backstop: ``CHECK (qty >= 0)`` on the positions table, so a bug fails the
  transaction instead of over-reserving. (Instead of row locks, SERIALIZABLE with a
  retry on SQLSTATE 40001 also works, at the cost of retries under contention.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from cloud.warehouse.ledger import (
    Cause,
    CauseKind,
    EntryKind,
    LedgerError,
    Operation,
    Position,
    StockState,
    check_gtin14,
    transfer,
)


class AllocationError(LedgerError):
    """An order line or a candidate that cannot be allocated from; names field and value."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """Available cases at one position, with their lot's expiry and receipt time."""

    position: Position
    qty: int
    expiry: date | None
    """None for goods that do not expire."""
    received_at: datetime

    @property
    def pallet(self) -> str | None:
        return self.position.pallet


@dataclass(frozen=True, slots=True)
class OrderLine:
    order: str
    line: int
    site: str
    item: str
    """GTIN-14."""
    qty: int
    """Cases wanted."""

    def __post_init__(self) -> None:
        if not self.order:
            raise AllocationError(f"order: must not be empty, got {self.order!r}")
        check_gtin14("item", self.item)
        if isinstance(self.qty, bool) or not isinstance(self.qty, int) or self.qty <= 0:
            raise AllocationError(f"qty: must be a whole number of cases above 0, got {self.qty!r}")


@dataclass(frozen=True, slots=True)
class Pick:
    """Cases to reserve from one candidate."""

    candidate: Candidate
    qty: int

    @property
    def whole_pallet(self) -> bool:
        return self.candidate.pallet is not None and self.qty == self.candidate.qty


@dataclass(frozen=True, slots=True)
class Allocation:
    line: OrderLine
    picks: tuple[Pick, ...]

    @property
    def allocated(self) -> int:
        return sum(p.qty for p in self.picks)

    @property
    def shortfall(self) -> int:
        return self.line.qty - self.allocated


def _expiry_rank(c: Candidate) -> tuple[bool, date]:
    return (c.expiry is None, c.expiry or date.min)


def _fifo(c: Candidate) -> tuple[datetime, str, str, str]:
    return (c.received_at, c.pallet or "", c.position.bucket.location, c.position.bucket.lot)


def candidates_for(line: OrderLine, stock: Iterable[Candidate]) -> list[Candidate]:
    """The candidates that can serve ``line``: its site and item, available, not empty.

    A position offered twice is an :class:`AllocationError` (it would be counted twice).
    """
    seen: set[Position] = set()
    out: list[Candidate] = []
    for c in stock:
        if c.position in seen:
            raise AllocationError(f"candidates: position {c.position} is offered twice")
        seen.add(c.position)
        b = c.position.bucket
        if c.qty < 0:
            raise AllocationError(f"candidate.qty: must not be negative, got {c.qty}")
        if (
            b.site == line.site
            and b.item == line.item
            and b.state is StockState.AVAILABLE
            and c.qty > 0
        ):
            out.append(c)
    return out


def allocate(line: OrderLine, stock: Iterable[Candidate]) -> Allocation:
    """Which cases to reserve for ``line``, FEFO, whole pallets first (module doc)."""
    need = line.qty
    picks: list[Pick] = []
    ordered = sorted(candidates_for(line, stock), key=lambda c: (_expiry_rank(c), _fifo(c)))
    for _, group in groupby(ordered, key=_expiry_rank):
        if need == 0:
            break
        rest: list[Candidate] = []
        for c in group:  # whole pallets that fit, first received first
            if c.pallet is not None and c.qty <= need:
                picks.append(Pick(c, c.qty))
                need -= c.qty
            else:
                rest.append(c)
        for c in sorted(rest, key=lambda c: (c.pallet is not None, _fifo(c))):
            if need == 0:
                break
            take = min(c.qty, need)
            picks.append(Pick(c, take))
            need -= take
    return Allocation(line, tuple(picks))


def allocate_order(lines: Sequence[OrderLine], stock: Iterable[Candidate]) -> list[Allocation]:
    """Allocate the lines one after the other, each from what the earlier ones left."""
    left = {c.position: c for c in stock}
    out: list[Allocation] = []
    for line in lines:
        a = allocate(line, left.values())
        for p in a.picks:
            c = left[p.candidate.position]
            left[c.position] = dataclasses.replace(c, qty=c.qty - p.qty)
        out.append(a)
    return out


def reservations(allocation: Allocation, *, time: datetime) -> list[Operation]:
    """The ledger operations that reserve an allocation's picks (same position, state
    ``reserved``), caused by the order."""
    cause = Cause(CauseKind.ORDER, allocation.line.order)
    ops: list[Operation] = []
    for p in allocation.picks:
        source = p.candidate.position
        target = Position(
            dataclasses.replace(source.bucket, state=StockState.RESERVED), source.pallet
        )
        ops.append(transfer(EntryKind.RESERVE, source, target, p.qty, cause=cause, time=time))
    return ops
