"""The order of a pick list's stops over the floor plan, to shorten the walk. Pure.

A **stop** is a place to pick from (a zone, or a door for a pallet already staged),
at a point of the floor plan: the centre of the place's area in the layout
(:func:`place_points`). The walk starts at ``start`` (where the picker takes the
list, e.g. the packing area) and ends at ``end`` (by default back at ``start``).
Distances are rectilinear (``|dx| + |dy|``, :func:`manhattan`): a picker walks along
aisles, not through racks; another metric may be passed.

:func:`plan_route` builds a route by **nearest neighbour** (from the start, always
the closest stop not yet visited), then improves it by **2-opt** (reverse a stretch
of the route whenever that shortens it, until no reversal does). It also runs 2-opt
on the list's own (naive) order, and keeps the shorter route; if neither beats the
naive order, the naive order is the route. So a route is never longer than the naive
order, and :class:`Route` reports both lengths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from protocols.layout import Layout, Rect

_IMPROVEMENT = 1e-9
"""A 2-opt reversal must shorten the walk by more than this (metres) to count."""


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Stop:
    id: str
    """What is picked there (a pick task, a pallet, a zone)."""
    point: Point


Metric = Callable[[Point, Point], float]


def manhattan(a: Point, b: Point) -> float:
    return abs(a.x - b.x) + abs(a.y - b.y)


def centre(area: Rect) -> Point:
    return Point(area.x + area.w / 2, area.y + area.h / 2)


def place_points(layout: Layout) -> dict[str, Point]:
    """The centre of every zone and door of the layout, by id."""
    points = {z.id: centre(z.area) for z in layout.zones}
    points.update({d.id: centre(d.area) for d in layout.doors})
    return points


def route_length(
    start: Point, stops: Sequence[Stop], end: Point, metric: Metric = manhattan
) -> float:
    """The walk from ``start`` through ``stops`` in order to ``end``."""
    points = [start, *(s.point for s in stops), end]
    return sum(metric(a, b) for a, b in pairwise(points))


@dataclass(frozen=True, slots=True)
class Route:
    stops: tuple[Stop, ...]
    length: float
    naive_length: float
    """The walk in the list's own order."""

    @property
    def saving(self) -> float:
        """The share of the naive walk the route saves (0 when the naive walk is 0)."""
        return 1 - self.length / self.naive_length if self.naive_length > 0 else 0.0


def nearest_neighbour(
    start: Point, stops: Sequence[Stop], metric: Metric = manhattan
) -> list[Stop]:
    """From ``start``, always the closest stop not yet visited (ties: list order)."""
    left = list(stops)
    out: list[Stop] = []
    here = start
    while left:
        i = min(range(len(left)), key=lambda k: metric(here, left[k].point))
        here = left[i].point
        out.append(left.pop(i))
    return out


def two_opt(
    start: Point, stops: Sequence[Stop], end: Point, metric: Metric = manhattan
) -> list[Stop]:
    """``stops`` improved by reversing stretches while that shortens the walk; the
    walk's ends stay at ``start`` and ``end``."""
    route = list(stops)
    n = len(route)
    improved = True
    while improved:
        improved = False
        for i in range(n - 1):
            before = start if i == 0 else route[i - 1].point
            for j in range(i + 1, n):
                after = end if j == n - 1 else route[j + 1].point
                old = metric(before, route[i].point) + metric(route[j].point, after)
                new = metric(before, route[j].point) + metric(route[i].point, after)
                if new < old - _IMPROVEMENT:
                    route[i : j + 1] = reversed(route[i : j + 1])
                    improved = True
    return route


def plan_route(
    stops: Sequence[Stop],
    *,
    start: Point,
    end: Point | None = None,
    metric: Metric = manhattan,
) -> Route:
    """A short order for ``stops`` from ``start`` to ``end`` (module doc)."""
    finish = start if end is None else end
    naive = list(stops)
    naive_length = route_length(start, naive, finish, metric)
    best, best_length = naive, naive_length
    for seed in (nearest_neighbour(start, naive, metric), naive):
        candidate = two_opt(start, seed, finish, metric)
        length = route_length(start, candidate, finish, metric)
        if length < best_length:
            best, best_length = candidate, length
    return Route(tuple(best), best_length, naive_length)
