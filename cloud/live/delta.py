"""What one live delta carries: a committed change cut to what the live view keeps.

A commit of 20,000 observations can touch 20,000 tags; the live view keeps the newest
``tag_locations`` of them, so nothing past that could ever reach a page. :func:`trimmed`
cuts each list of a :class:`~cloud.model.LiveChange` to the caps of the view
(:class:`LiveCaps`) and keeps the count of all. The hub cuts every change it is given
this way, and the ingester cuts each change once before it hands it to its own hub and
to the broker (:mod:`cloud.live.wire`), so what crosses the broker is bounded too.
Pure: no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cloud.model import LiveChange

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class LiveCaps:
    """What the live view keeps (``RFIDWMS_LIVE_RECENT_READS``, ``_TAG_LOCATIONS``,
    ``_MAX_READERS``)."""

    recent_reads: int = 200
    tag_locations: int = 2000
    max_readers: int = 2000


def newest(items: list[V], n: int, *, key: Callable[[V], datetime]) -> list[V]:
    """The ``n`` newest of ``items`` by ``key``, newest first, equal keys in the order
    given (no full sort when there are more than are kept)."""
    if len(items) > n:
        return heapq.nlargest(n, items, key=key)
    return sorted(items, key=key, reverse=True)


def last_per_key(items: list[V], n: int, *, key: Callable[[V], K]) -> list[V]:
    """The last of ``items`` for each key, in the order of those last ones; the last
    ``n`` of them."""
    last: dict[K, V] = {}
    for item in items:
        k = key(item)
        last.pop(k, None)
        last[k] = item
    kept = list(last.values())
    return kept[-n:] if len(kept) > n else kept


def _count(known: int | None, items: list[V]) -> int:
    return len(items) if known is None else known


def trimmed(change: LiveChange, caps: LiveCaps) -> LiveChange:
    """``change`` cut to ``caps``, with the count of each list before the cut.

    Reads, moves, passages, zone events and weights: the newest ``recent_reads``;
    locations and places: the newest ``tag_locations``; all newest first. Readers and
    edges: the last update of each, the last ``max_readers`` of them, in the order
    applied. Reader events (few): the last ``recent_reads``, oldest first. Cutting a cut
    change gives the same change."""
    return LiveChange(
        reads=newest(change.reads, caps.recent_reads, key=lambda r: r.time),
        read_count=change.read_count,
        locations=newest(change.locations, caps.tag_locations, key=lambda t: t.last_seen),
        location_count=_count(change.location_count, change.locations),
        moves=newest(change.moves, caps.recent_reads, key=lambda m: m.at),
        move_count=_count(change.move_count, change.moves),
        readers=last_per_key(change.readers, caps.max_readers, key=lambda r: r.reader_id),
        edges=last_per_key(change.edges, caps.max_readers, key=lambda e: e.edge_id),
        passages=newest(change.passages, caps.recent_reads, key=lambda p: p.time),
        passage_count=_count(change.passage_count, change.passages),
        zone_events=newest(change.zone_events, caps.recent_reads, key=lambda z: z.time),
        zone_event_count=_count(change.zone_event_count, change.zone_events),
        weights=newest(change.weights, caps.recent_reads, key=lambda w: w.time),
        places=newest(change.places, caps.tag_locations, key=lambda p: p.changed_at),
        place_count=_count(change.place_count, change.places),
        reader_events=change.reader_events[-caps.recent_reads :],
    )
