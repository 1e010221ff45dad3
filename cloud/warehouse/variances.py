"""Automatic cycle counts: what the zone readers hear against the book, per zone. Pure.

Zone readers hear shelved pallets all the time, so every storage zone is counted
continuously: the pallets the book holds in it (on hand, on a pallet) against the
pallets the edges' zone events put in it (``tag_places``). A disagreement that lasts
:attr:`CountRules.variance_after` (on the injected clock) opens a **variance**:

- ``missing``: the book has the pallet in zone Z; Z is counted and the pallet is heard
  nowhere (departed, or never heard);
- ``unexpected``: a pallet is heard in a counted zone and the book holds nothing on it
  in any zone (an unknown pallet, or one the book wrote off or never had);
- ``wrong_zone``: the book has it in A (a zone, a door, staging ...), it is heard in
  a counted zone B.

A zone is **counted** only while it has readers, every one of them is up (its state
``inventorying`` or ``connected``, reported within
:attr:`CountRules.reader_stale_after`) and the edge has none of its pallets
``unknown`` (a reader silent with its connection up still says ``inventorying``, and
an outage between two health reports is seen only that way). A zone not counted is
never counted as empty: no variance is opened for it, and its pallets' disagreements
start again from zero when it is counted again. A pallet whose place is ``unknown``
is not judged either. Pallets being received or put away are the caller's to leave
out (``ignore``).

An open variance whose disagreement is over (the pallet heard again where the book has
it, the book moved, or the pallet heard moving on to a third zone: a disagreement is
its kind with the zones booked and heard) is **cleared**, provided its zones are
counted and the pallet is not left out (``ignore``): an uncounted zone says nothing
either way. How long a disagreement has lasted is remembered by :class:`CycleCount`
between looks (a restarted cloud counts again from its first look, as the fleet watch
does).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cloud.warehouse.fleet_alerts import UP_STATES


class VarianceKind(StrEnum):
    MISSING = "missing"
    UNEXPECTED = "unexpected"
    WRONG_ZONE = "wrong_zone"


class VarianceStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLEARED = "cleared"
    """The disagreement ended by itself (the pallet heard again where it is booked)."""


class VarianceError(ValueError):
    """A variance step refused; the message names the variance and its status."""


def decide(variance_id: int, status: VarianceStatus, to: VarianceStatus) -> VarianceStatus:
    """The status after a step from ``status`` to ``to``: only an open variance is
    approved, rejected or cleared."""
    if to is VarianceStatus.OPEN:
        raise VarianceError(f"variance {variance_id}: a variance is never opened again")
    if status is not VarianceStatus.OPEN:
        raise VarianceError(f"variance {variance_id} is {status.value}, not open")
    return to


@dataclass(frozen=True, slots=True)
class CountRules:
    variance_after: timedelta
    """How long the readers and the book must disagree before a variance opens."""
    reader_stale_after: timedelta
    """A reader whose newest health report is older than this is not known to be up
    (the cloud passes ``RFIDWMS_ALERTS_EDGE_OFFLINE_AFTER_S``: edges report health every
    5 real seconds, 50 simulated seconds at ``--speed 10``)."""


@dataclass(frozen=True, slots=True)
class ReaderState:
    reader_id: str
    state: str
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class ZoneCount:
    """Whether a zone is counted now, and why not."""

    zone: str
    counted: bool
    down: tuple[str, ...] = ()
    """Its readers that are down or not known (none reported, or reported too long ago)."""
    unknown: int = 0
    """Pallets the edge has ``unknown`` in it (it judged the zone's readers out)."""

    @property
    def status(self) -> str:
        if self.counted:
            return "counted"
        if self.down:
            return f"not counted: reader {', '.join(self.down)} down or unknown"
        if self.unknown:
            return f"not counted: the edge has {self.unknown} pallets unknown in it (readers out)"
        return "not counted: the zone has no reader"


def zone_counts(
    zone_readers: Mapping[str, Collection[str]],
    readers: Iterable[ReaderState],
    now: datetime,
    rules: CountRules,
    heard: Iterable[HeardPallet] = (),
) -> dict[str, ZoneCount]:
    """Per zone of ``zone_readers`` (zone -> its readers' ids): counted or not. A zone
    in which the edge has pallets ``unknown`` (of ``heard``) is not counted either: a
    reader silent with its connection up still says ``inventorying`` in its health."""
    up = {
        r.reader_id
        for r in readers
        if r.state in UP_STATES and now - r.last_seen <= rules.reader_stale_after
    }
    unknown: dict[str, int] = {}
    for h in heard:
        if h.state == "unknown" and h.zone is not None:
            unknown[h.zone] = unknown.get(h.zone, 0) + 1
    out: dict[str, ZoneCount] = {}
    for zone, ids in zone_readers.items():
        down = tuple(sorted(i for i in ids if i not in up))
        n = unknown.get(zone, 0)
        out[zone] = ZoneCount(zone, bool(ids) and not down and not n, down, n)
    return out


@dataclass(frozen=True, slots=True)
class BookedPallet:
    """A pallet the book holds on hand at ``location`` (a zone or a door)."""

    epc: str
    sscc: str
    location: str


@dataclass(frozen=True, slots=True)
class HeardPallet:
    """A pallet's place by the edges' events (``tag_places``)."""

    epc: str
    state: str
    """present, departed, unknown, received or shipped."""
    zone: str | None
    """The zone it is present (or unknown) in."""


Key = tuple[str, "VarianceKind", str | None, str | None]
"""What a disagreement is: (EPC, kind, book zone, heard zone). A pallet heard moving
on to a third zone is another disagreement (its open variance clears, a new one opens)."""


@dataclass(frozen=True, slots=True)
class Discrepancy:
    epc: str
    kind: VarianceKind
    zone: str
    """The zone counted: where it is booked (missing) or heard (unexpected, wrong zone)."""
    sscc: str | None
    book_zone: str | None
    heard_zone: str | None

    @property
    def key(self) -> Key:
        return (self.epc, self.kind, self.book_zone, self.heard_zone)


@dataclass(frozen=True, slots=True)
class OpenVariance:
    id: int
    epc: str
    kind: VarianceKind
    zone: str
    book_zone: str | None
    heard_zone: str | None

    @property
    def key(self) -> Key:
        return (self.epc, self.kind, self.book_zone, self.heard_zone)


@dataclass(frozen=True, slots=True)
class CountVerdict:
    to_open: list[Discrepancy] = field(default_factory=list)
    """Disagreements that lasted ``variance_after``, with no open variance of the pallet."""
    to_clear: list[int] = field(default_factory=list)
    """Open variances whose disagreement is over."""
    zones: dict[str, ZoneCount] = field(default_factory=dict)
    disagreeing: list[Discrepancy] = field(default_factory=list)
    """Every disagreement now, however young."""


def discrepancies(
    booked: Iterable[BookedPallet],
    heard: Iterable[HeardPallet],
    zones: Mapping[str, ZoneCount],
    *,
    ignore: Collection[str] = (),
) -> list[Discrepancy]:
    """Where book and readers disagree now, in the counted zones of ``zones``; pallets
    (EPCs) in ``ignore`` are left out (being received, put away ...). By EPC."""
    book = {b.epc: b for b in booked if b.epc not in ignore}
    places = {h.epc: h for h in heard if h.epc not in ignore}
    out: list[Discrepancy] = []

    def counted(zone: str | None) -> bool:
        return zone is not None and zone in zones and zones[zone].counted

    for epc in sorted(set(book) | set(places)):
        b, h = book.get(epc), places.get(epc)
        if h is not None and h.state == "unknown":
            continue  # its zone's readers were out: not heard since, not judged
        heard_in = h.zone if h is not None and h.state == "present" else None
        if b is None:
            if heard_in is not None and counted(heard_in):
                out.append(
                    Discrepancy(epc, VarianceKind.UNEXPECTED, heard_in, None, None, heard_in)
                )
            continue
        if heard_in == b.location:
            continue
        if heard_in is not None:
            if counted(heard_in) and (b.location not in zones or counted(b.location)):
                out.append(
                    Discrepancy(
                        epc, VarianceKind.WRONG_ZONE, heard_in, b.sscc, b.location, heard_in
                    )
                )
        elif counted(b.location):
            out.append(Discrepancy(epc, VarianceKind.MISSING, b.location, b.sscc, b.location, None))
    return out


class CycleCount:
    """The continuous count: remembers since when each disagreement holds."""

    def __init__(self, rules: CountRules) -> None:
        self.rules = rules
        self._since: dict[Key, datetime] = {}
        self._reported: set[Key] = set()
        """Disagreements a variance was opened for: not opened again while they last
        (an approved or rejected one the book still disagrees with, e.g. an unknown
        pallet recorded, stays decided)."""

    def opened(self, found: Iterable[Discrepancy]) -> None:
        """Tell it the variances of ``found`` were opened (written)."""
        self._reported.update(d.key for d in found)

    def judge(
        self,
        *,
        zones: Mapping[str, ZoneCount],
        booked: Iterable[BookedPallet],
        heard: Iterable[HeardPallet],
        open_variances: Iterable[OpenVariance],
        now: datetime,
        ignore: Collection[str] = (),
    ) -> CountVerdict:
        """What to open and what to clear at ``now`` (module doc)."""
        now_wrong = discrepancies(booked, heard, zones, ignore=ignore)
        keys = {d.key for d in now_wrong}
        self._since = {k: t for k, t in self._since.items() if k in keys}
        for d in now_wrong:
            self._since.setdefault(d.key, now)
        opened = list(open_variances)
        self._reported = {k for k in self._reported if k in keys}
        self._reported.update(v.key for v in opened if v.key in keys)
        open_epcs = {v.epc for v in opened}
        to_open = [
            d
            for d in now_wrong
            if d.epc not in open_epcs
            and d.key not in self._reported
            and now - self._since[d.key] >= self.rules.variance_after
        ]

        def zones_counted(v: OpenVariance) -> bool:
            places = [z for z in (v.zone, v.book_zone, v.heard_zone) if z is not None]
            return all(zones[z].counted for z in places if z in zones)

        to_clear = sorted(
            v.id for v in opened if v.key not in keys and v.epc not in ignore and zones_counted(v)
        )
        return CountVerdict(to_open, to_clear, dict(zones), now_wrong)
