"""Summarising raw tag reads into observations: the edge's first cleaning step.

A reader reports the same tag many times a second. Between two flushes the
:class:`ObservationWindow` folds every read of one tag by one antenna into one
observation (first and last seen, peak RSSI, summed seen count), drops reads
below the RSSI floor and reads from antennas the layout does not map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from edge.reads import TagRead
from protocols.mqtt import Observation

ReadPointOf = Callable[[str, int], str | None]


@dataclass(slots=True)
class _Acc:
    read_point: str
    first_seen: datetime
    last_seen: datetime
    rssi: float | None
    count: int


@dataclass(frozen=True, slots=True)
class WindowStats:
    reads: int
    below_floor: int
    unmapped: int


class ObservationWindow:
    """Reads collected since the last flush, keyed by (EPC, reader, antenna)."""

    def __init__(self, read_point_of: ReadPointOf, rssi_floor_dbm: float) -> None:
        self._read_point_of = read_point_of
        self._floor = rssi_floor_dbm
        self._acc: dict[tuple[str, str, int], _Acc] = {}
        self._reads = 0
        self._below_floor = 0
        self._unmapped = 0

    def __len__(self) -> int:
        return len(self._acc)

    def add(self, read: TagRead) -> None:
        self._reads += 1
        if read.rssi_dbm is not None and read.rssi_dbm < self._floor:
            self._below_floor += 1
            return
        key = (read.epc, read.reader_id, read.antenna)
        acc = self._acc.get(key)
        if acc is None:
            read_point = self._read_point_of(read.reader_id, read.antenna)
            if read_point is None:
                self._unmapped += 1
                return
            self._acc[key] = _Acc(
                read_point, read.first_seen, read.last_seen, read.rssi_dbm, read.seen_count
            )
            return
        acc.first_seen = min(acc.first_seen, read.first_seen)
        acc.last_seen = max(acc.last_seen, read.last_seen)
        if read.rssi_dbm is not None and (acc.rssi is None or read.rssi_dbm > acc.rssi):
            acc.rssi = read.rssi_dbm
        acc.count += read.seen_count

    def take(self) -> Taken:
        """What the window holds, handed over as it is (no observation built yet: that
        can be done off the event loop, :meth:`Taken.observations`); then empty."""
        taken = Taken(self._acc, WindowStats(self._reads, self._below_floor, self._unmapped))
        self._acc = {}
        self._reads = self._below_floor = self._unmapped = 0
        return taken

    def flush(self) -> tuple[list[Observation], WindowStats]:
        """The window's observations in first-seen order, and what was dropped; then empty."""
        taken = self.take()
        return taken.observations(), taken.stats


@dataclass(frozen=True, slots=True)
class Taken:
    """A window's contents (:meth:`ObservationWindow.take`)."""

    accumulated: dict[tuple[str, str, int], _Acc]
    stats: WindowStats

    def __len__(self) -> int:
        return len(self.accumulated)

    def observations(self) -> list[Observation]:
        """One observation per (EPC, reader, antenna), in first-seen order (validated:
        a value a reader made up fails here, naming the field, not in the cloud)."""
        observations = [
            Observation(
                epc=epc,
                reader_id=reader_id,
                antenna=antenna,
                read_point=acc.read_point,
                rssi_dbm=acc.rssi,
                first_seen=acc.first_seen,
                last_seen=acc.last_seen,
                seen_count=acc.count,
            )
            for (epc, reader_id, antenna), acc in self.accumulated.items()
        ]
        observations.sort(key=lambda o: (o.first_seen, o.epc))
        return observations
