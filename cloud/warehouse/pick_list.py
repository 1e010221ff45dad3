"""An order's pick list: what to take from where, in a short walking order. Pure.

:func:`pick_list` turns an order's reservations into **pick tasks**, one per pallet to
take (a pallet may carry cases of several of the order's lines) and one per place of
loose cases, each from its location to the packing area. The tasks' order is the
route :func:`cloud.warehouse.pick_route.plan_route` finds over the floor plan, from
packing back to packing; the list keeps that walk's length and the length of the
**naive** walk (the tasks in the order the reservations were made: line by line,
FEFO), so the saving can be reported.

:func:`ship_door` chooses the door an order loads at when it names none: the one
given by configuration, else the door of the layout nearest the packing area.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from cloud.warehouse.ledger import LedgerError, Position
from cloud.warehouse.pick_route import Point, Stop, manhattan, place_points, plan_route
from protocols.layout import Layout


class PickListError(LedgerError):
    """Reservations that cannot be picked; names the field and value."""


@dataclass(frozen=True, slots=True)
class Reserved:
    """Cases reserved for one line of an order at one position."""

    line: int
    position: Position
    qty: int
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class PickTask:
    seq: int
    """Where it comes in the walk, from 1."""
    pallet: str | None
    """SSCC of the pallet to take; None for loose cases."""
    from_location: str
    to_location: str
    lines: tuple[Reserved, ...]
    """The reservations it serves."""

    @property
    def qty(self) -> int:
        return sum(r.qty for r in self.lines)


@dataclass(frozen=True, slots=True)
class PickList:
    tasks: tuple[PickTask, ...]
    route_m: float
    """The walk in the tasks' order, from packing back to packing."""
    naive_route_m: float
    """The walk in the reservations' own order."""

    @property
    def saving(self) -> float:
        return 1 - self.route_m / self.naive_route_m if self.naive_route_m > 0 else 0.0


def packing_zone(layout: Layout) -> str:
    """The layout's packing area (its first zone of kind ``packing``)."""
    for z in layout.zones:
        if z.kind == "packing":
            return z.id
    raise PickListError("layout: no zone of kind 'packing' to take picked pallets to")


def pick_list(
    reservations: Iterable[Reserved],
    *,
    points: Mapping[str, Point],
    to_location: str,
) -> PickList:
    """The pick tasks of an order's ``reservations`` (in the order they were made), the
    walk starting and ending at ``to_location``; ``points`` are the places of the
    floor plan (:func:`cloud.warehouse.pick_route.place_points`)."""
    groups: dict[tuple[str, str], list[Reserved]] = {}
    for r in reservations:
        if r.qty <= 0:
            raise PickListError(f"qty: a reservation holds cases, got {r.qty!r}")
        b = r.position.bucket
        if r.position.pallet is not None:
            key = (b.location, r.position.pallet)
        else:
            key = (b.location, f"loose:{b.item}:{b.lot}")
        groups.setdefault(key, []).append(r)
    for location, _ in groups:
        if location not in points:
            raise PickListError(
                f"location: {location!r} is not a place of the floor plan to pick from"
            )
    if to_location not in points:
        raise PickListError(f"to_location: {to_location!r} is not a place of the floor plan")
    keys = list(groups)
    stops = [Stop(str(i), points[loc]) for i, (loc, _) in enumerate(keys)]
    route = plan_route(stops, start=points[to_location])
    tasks = []
    for seq, stop in enumerate(route.stops, start=1):
        key = keys[int(stop.id)]
        location, lines = key[0], groups[key]
        tasks.append(PickTask(seq, lines[0].position.pallet, location, to_location, tuple(lines)))
    return PickList(tuple(tasks), route.length, route.naive_length)


def ship_door(layout: Layout, *, configured: str | None = None) -> str:
    """The door an order loads at when it names none (module doc)."""
    doors = [d.id for d in layout.doors]
    if configured is not None:
        if configured not in doors:
            raise PickListError(f"ship_door: {configured!r} is not a door of the layout")
        return configured
    if not doors:
        raise PickListError("layout: no dock door to ship through")
    points = place_points(layout)
    here = points[packing_zone(layout)]
    return min(doors, key=lambda d: (manhattan(here, points[d]), doors.index(d)))
