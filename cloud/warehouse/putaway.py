"""Where a received pallet should go: the put-away suggestion. Pure.

A simple rule a worker can follow and a person can check:

1. **The zone holding the same item**: stock of one item stays together. When several
   storage zones hold it, the one holding the most cases of it (then the emptiest,
   then the layout's order).
2. Otherwise **the emptiest storage zone** of the layout: the fewest pallets, then the
   fewest cases, then the layout's order.

Only zones of kind ``storage`` are put-away targets (not packing, not staging).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cloud.warehouse.ledger import LedgerError
from protocols.layout import Layout


class PutawayError(LedgerError):
    """No place to put a pallet away; the message says why."""


@dataclass(frozen=True, slots=True)
class StockAt:
    """Cases of an item in a zone, on a pallet (its SSCC) or loose (None)."""

    zone: str
    item: str
    pallet: str | None
    qty: int


class Rule(StrEnum):
    SAME_ITEM = "same_item"
    EMPTIEST = "emptiest"


@dataclass(frozen=True, slots=True)
class Suggestion:
    zone: str
    rule: Rule
    item_cases: int
    """Cases of the item in that zone already."""
    pallets: int
    """Pallets in that zone already."""


def back_to_storage(held: Mapping[str, int], storage: Collection[str]) -> str | None:
    """Where a pallet of a cancelled order is taken back to a shelf from: of the places
    off the storage shelves that hold its cases (``held``: location -> cases), the one
    holding most (then by name). None when all of it is on a shelf already, or none of
    it is held anywhere: no put-away is due."""
    off_shelf = [(-qty, place) for place, qty in held.items() if qty > 0 and place not in storage]
    return min(off_shelf)[1] if off_shelf else None


def storage_zones(layout: Layout) -> list[str]:
    return [z.id for z in layout.zones if z.kind == "storage"]


def suggest_zone(
    item: str, stock: Iterable[StockAt], zones: Iterable[str], *, pallet: str | None = None
) -> Suggestion:
    """The zone of ``zones`` (storage zones, in layout order) to put a pallet of ``item``
    away to, given the ``stock`` in them (module doc). The pallet itself (``pallet``),
    wherever the stock says it is, does not count."""
    order = {z: i for i, z in enumerate(dict.fromkeys(zones))}
    if not order:
        raise PutawayError("zones: the layout has no storage zone to put a pallet away to")
    pallets: dict[str, set[str]] = {z: set() for z in order}
    cases = dict.fromkeys(order, 0)
    of_item = dict.fromkeys(order, 0)
    for s in stock:
        if s.zone not in order or s.qty <= 0 or (pallet is not None and s.pallet == pallet):
            continue
        cases[s.zone] += s.qty
        if s.pallet is not None:
            pallets[s.zone].add(s.pallet)
        if s.item == item:
            of_item[s.zone] += s.qty

    def emptiness(z: str) -> tuple[int, int, int]:
        return (len(pallets[z]), cases[z], order[z])

    holding = [z for z in order if of_item[z] > 0]
    if holding:
        zone = min(holding, key=lambda z: (-of_item[z], *emptiness(z)))
        rule = Rule.SAME_ITEM
    else:
        zone = min(order, key=emptiness)
        rule = Rule.EMPTIEST
    return Suggestion(zone, rule, of_item[zone], len(pallets[zone]))
