"""What the site's layout lets each edge say. Pure.

An edge may speak only for the readers the layout gives it, and an observation
must name the read point the layout maps its (reader, antenna) to. Anything else
is refused with a reason naming the edge, reader, antenna or read point: without
this check any authenticated edge could move another edge's tags or take over its
readers' health.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.layout import Layout
from protocols.mqtt import (
    EdgeHealth,
    EdgeStatus,
    EventBatch,
    PassageMessage,
    WeightMessage,
    ZoneEventMessage,
    shorten,
)
from protocols.observations_in import ObservationBatchIn, ReceivedPayload, schema_name


@dataclass(frozen=True, slots=True)
class SiteDevices:
    """The layout's edges, readers and read points, indexed once."""

    site: str
    edges: frozenset[str]
    reader_edge: dict[str, str]
    """reader id -> the edge that serves it"""
    read_points: dict[tuple[str, int], str]
    """(reader id, antenna) -> read point"""
    places: dict[str, frozenset[str]]
    """edge -> the zones and doors its readers cover (where its events may happen)"""
    scale_edge: dict[str, str]
    """scale id -> the edge that reads it"""

    @classmethod
    def of(cls, layout: Layout, site: str) -> SiteDevices:
        places: dict[str, set[str]] = {}
        for r in layout.readers:
            places.setdefault(r.edge, set()).add(r.door or r.zone or "")
        return cls(
            site=site,
            edges=frozenset([r.edge for r in layout.readers] + [s.edge for s in layout.scales]),
            reader_edge={r.id: r.edge for r in layout.readers},
            read_points={(r.id, a.id): a.read_point for r in layout.readers for a in r.antennas},
            places={e: frozenset(p) for e, p in places.items()},
            scale_edge={s.id: s.edge for s in layout.scales},
        )

    def refusal(self, edge_id: str, payload: ReceivedPayload) -> str | None:
        """Why ``edge_id`` may not send ``payload``, or None when it may."""
        name = schema_name(payload)
        if edge_id not in self.edges:
            known = ", ".join(sorted(self.edges)) or "none"
            return (
                f"edge {edge_id!r} is not an edge in the layout of site {self.site!r} "
                f"(its edges: {shorten(known, 200)})"
            )
        if isinstance(payload, ObservationBatchIn):
            if self._observations_fine(edge_id, payload):
                return None
            for i, o in enumerate(payload.observations):
                why = self._reader_refusal(edge_id, o.reader_id)
                if why is None:
                    expected = self.read_points.get((o.reader_id, o.antenna))
                    if expected is None:
                        why = f"antenna {o.antenna} of reader {o.reader_id!r} is not in the layout"
                    elif expected != o.read_point:
                        why = (
                            f"read point {o.read_point!r} is not where antenna {o.antenna} of "
                            f"reader {o.reader_id!r} reads: the layout says {expected!r}"
                        )
                if why is not None:
                    return f"{name}.observations.{i}: {why}"
        elif isinstance(payload, EventBatch):
            for i, ev in enumerate(payload.events):
                why = self._event_refusal(edge_id, ev)
                if why is not None:
                    return f"{name}.events.{i}: {why}"
        elif isinstance(payload, EdgeHealth):
            for i, r in enumerate(payload.readers):
                why = self._reader_refusal(edge_id, r.reader_id)
                if why is not None:
                    return f"{name}.readers.{i}: {why}"
        else:
            assert isinstance(payload, EdgeStatus)
        return None

    def _observations_fine(self, edge_id: str, batch: ObservationBatchIn) -> bool:
        """Whether every observation's reader is ``edge_id``'s and its read point the
        layout's for its antenna: checked once per distinct (reader, antenna, read point)
        of the batch (a batch names a few); when not, :meth:`refusal` walks the
        observations in order to name the first one refused."""
        read_points, reader_edge = self.read_points, self.reader_edge
        return all(
            reader_edge.get(r) == edge_id and read_points.get((r, a)) == p
            for r, a, p in {(o.reader_id, o.antenna, o.read_point) for o in batch.observations}
        )

    def _event_refusal(
        self, edge_id: str, ev: ZoneEventMessage | PassageMessage | WeightMessage
    ) -> str | None:
        mine = self.places.get(edge_id, frozenset())
        if isinstance(ev, WeightMessage):
            owner = self.scale_edge.get(ev.scale)
            if owner is None:
                return f"scale {ev.scale!r} is not a scale in the layout of site {self.site!r}"
            if owner != edge_id:
                return f"scale {ev.scale!r} belongs to edge {owner!r}, not to edge {edge_id!r}"
            return None
        if isinstance(ev, PassageMessage):
            if ev.door not in mine:
                return f"door {ev.door!r} has no reader of edge {edge_id!r} in the layout"
            return None
        for zone in (ev.zone, ev.from_zone):
            if zone is not None and zone not in mine:
                return f"zone {zone!r} has no reader of edge {edge_id!r} in the layout"
        return None

    def _reader_refusal(self, edge_id: str, reader_id: str) -> str | None:
        owner = self.reader_edge.get(reader_id)
        if owner is None:
            return f"reader {reader_id!r} is not a reader in the layout of site {self.site!r}"
        if owner != edge_id:
            return f"reader {reader_id!r} belongs to edge {owner!r}, not to edge {edge_id!r}"
        return None
