"""One order loads at a dock door at a time. Pure.

The door check (:mod:`cloud.warehouse.door_check`) ships a pallet on the order loading
at the door it went out through. Two orders loading at one door at once cannot be told
apart there: a pallet of one, taken onto the other's truck by mistake, passes the door
as its own order's and ships on it, while it left on the wrong truck. So a packed
order is released to its door only when no other order is loading there
(:func:`may_load`); until then it waits, ``packed``. When the door frees (the order
loading there has shipped, or is put on hold, its truck to be dealt with by a person)
the order packed longest ago goes next (:func:`queue`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Waiting:
    """A packed order waiting for its door."""

    order: str
    packed_at: datetime
    """When its last pallet was packed (weighed right)."""


def may_load(order: str, loading_here: Iterable[str]) -> bool:
    """Whether ``order`` may be released to its door, given the orders loading there."""
    return all(o == order for o in loading_here)


def queue(waiting: Iterable[Waiting]) -> list[str]:
    """The orders waiting for a door, in the turn they get it: packed longest ago first,
    then by id (the order they were placed in)."""
    return [w.order for w in sorted(waiting, key=lambda w: (w.packed_at, w.order))]
