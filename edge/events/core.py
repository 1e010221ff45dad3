"""The edge event core: tag reads and reader health in, zone events and passages out.

::

    core = EventCore(layout)                 # rules: EventRules() unless given
    events = core.feed(reads, now)           # a reader's report (edge.reads.TagRead)
    events += core.reader_status("reader-zone-a", ReaderStatus.DOWN, now)
    events += core.reader_heard_through("reader-zone-a", through, now)  # a heartbeat
    events += core.tick(now)                 # call every few hundred ms: time-based rules

Pure and clock-injected: no I/O, no clock of its own. ``now`` must be on the clock
of the reads' timestamps (the reader clock as the edge corrected it; simulated time
under the simulator). Every call returns the events it decided, in decision order;
the caller publishes them. An antenna the layout does not map is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from edge.events.doors import DoorPassages
from edge.events.model import Event, Passage, Side
from edge.events.rules import EventRules
from edge.events.zones import ZonePresence
from edge.reads import TagRead
from protocols.layout import Layout, ReadPoint

__all__ = ["EventCore", "ReaderStatus"]

log = logging.getLogger(__name__)


class ReaderStatus(StrEnum):
    UP = "up"
    """Connected and inventorying."""
    DOWN = "down"
    """Not connected."""
    SILENT = "silent"
    """Connected but saying nothing (no reports, no keepalives)."""


class EventCore:
    def __init__(self, layout: Layout, rules: EventRules | None = None) -> None:
        self.layout = layout
        self.rules = rules if rules is not None else EventRules()
        self.doors = DoorPassages(self.rules)
        self.zones = ZonePresence(
            self.rules, {z.id: [r.id for r in layout.readers_at(z.id)] for z in layout.zones}
        )
        self._points: dict[tuple[str, int], ReadPoint | None] = {}

    def _point(self, reader_id: str, antenna: int) -> ReadPoint | None:
        key = (reader_id, antenna)
        try:
            return self._points[key]
        except KeyError:
            pass
        try:
            point = self.layout.read_point_of(reader_id, antenna)
        except KeyError:
            log.warning("reads from reader %r, which the layout does not have", reader_id)
            point = None
        self._points[key] = point
        return point

    def feed(self, reads: Iterable[TagRead], now: datetime) -> list[Event]:
        """Reads (one report or more, any readers); the events they and ``now`` decide."""
        events: list[Event] = []
        for read in reads:
            point = self._point(read.reader_id, read.antenna)
            if point is None:
                continue
            t0, t1 = read.first_seen.timestamp(), read.last_seen.timestamp()
            if point.kind == "door":
                side: Side = "outside" if point.spot == "outside" else "inside"
                self.doors.add(read.epc, point.place, side, t0, t1, read.rssi_dbm, read.seen_count)
                self.zones.saw(t1)
            else:
                self.zones.add(read.epc, point.place, read.reader_id, t1, read.rssi_dbm)
        events.extend(self._passed(self.doors.decide()))
        events.extend(self.zones.evaluate(now.timestamp()))
        return events

    def _passed(self, passages: Iterable[Passage]) -> list[Passage]:
        """Passages as decided; the zones learn from each which cases travel with a
        pallet (coming in: placed with them; going out: forgotten)."""
        out = list(passages)
        for p in out:
            if p.direction == "inbound" and p.cases:
                self.zones.group(p.epc, p.cases)
            elif p.direction == "outbound":
                self.zones.ungroup(p.epc)
        return out

    def reader_status(self, reader_id: str, status: ReaderStatus, now: datetime) -> list[Event]:
        """The edge's word on a reader; a zone whose every reader is out makes its tags
        unknown (never departed)."""
        self.zones.reader_up(reader_id, status is ReaderStatus.UP, now.timestamp())
        return list(self.zones.evaluate(now.timestamp()))

    def reader_heard_through(self, reader_id: str, through: datetime, now: datetime) -> list[Event]:
        """A reader's heartbeat: it has reported every read it made before ``through`` (on
        the reads' clock), told by a report or a keepalive that came with nothing to say.
        Counts like a report for departures: the last tag to leave a zone departs although
        its reader has nothing left to report."""
        self.zones.heard_through(reader_id, through.timestamp())
        return list(self.zones.evaluate(now.timestamp()))

    def tick(self, now: datetime) -> list[Event]:
        """Decisions that only time makes: lone-case passages, departures, silences."""
        t = now.timestamp()
        events: list[Event] = list(self._passed(self.doors.tick(t)))
        events.extend(self.zones.evaluate(t))
        return events

    def zone_of(self, epc: str) -> str | None:
        """The zone a tag is in now, or None (in none, or unknown)."""
        return self.zones.zone_of(epc)
