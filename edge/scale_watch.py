"""Scale readings into weights of loads, and the pallet each load is: pure, clock-injected.

:class:`LoadWatch` takes one scale's readings (``SI``: weight, at rest or not) and
says once per load when its weight is known: the platform goes from empty (under
``min_load_kg``) to a weight at rest, and two readings at rest in a row agree
within a division. A load swapped for another without the platform emptying (the
next pallet rolled on as the last rolled off) is a new load once it settles more
than ``min_load_kg`` away from the last, or, after the platform was in motion (a
swap makes it swing), more than two divisions away: two pallets of nearly the same
weight are two loads. A reading that is not a weight (offline,
overload) interrupts the wait but never ends a load: the same pallet is not weighed
twice because the scale was briefly unreachable.

:func:`pallet_on_scale` picks the pallet a weight belongs to: of the SSCCs the scale's
read point heard once the weight settled, one heard stronger than before the load rolled
on, the strongest on average. :func:`cases_on_scale` names the cases that came onto the
platform with it by the same rise: a case taken off the pallet and left nearby is heard
as before, never stronger. Where scales stand side by side, each with its own antenna
over its platform, both also take the reads of the other scales' read points
(``elsewhere``): a tag heard louder over another platform than over this one is on or
beside that one (the pallet just weighed there, rolling off past this one), not here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.events import is_case, is_pallet

__all__ = [
    "MAX_CANDIDATES",
    "RISE_DB",
    "SETTLING_S",
    "LoadWatch",
    "ReadPointLog",
    "ScaleRead",
    "ScaleWindows",
    "StableLoad",
    "cases_on_scale",
    "louder_elsewhere",
    "pallet_on_scale",
    "pallets_on_scale",
    "scale_windows",
]


@dataclass(frozen=True, slots=True)
class StableLoad:
    scale: str
    weight_kg: float
    time: datetime
    """When the load came to rest (the first of the readings that agreed)."""


class LoadWatch:
    """One scale: readings in, each load's weight out once (see the module docstring)."""

    def __init__(self, scale: str, min_load_kg: float, resolution_kg: float) -> None:
        self.scale = scale
        self._min = min_load_kg
        self._tolerance = resolution_kg * 1.01  # one division, whatever the rounding
        self._weighed: float | None = None
        """The weight published for the load on the platform now; None while empty."""
        self._candidate: tuple[float, datetime] | None = None
        self._moved = False
        """The platform was in motion since the load on it was weighed."""

    def reading(self, weight_kg: float, at_rest: bool, at: datetime) -> StableLoad | None:
        """One reading; the load's weight when this reading settles a new load."""
        if weight_kg < self._min:
            self._weighed = None
            self._candidate = None
            return None
        if not at_rest:
            self._candidate = None
            self._moved = self._weighed is not None
            return None
        same = 2 * self._tolerance if self._moved else self._min
        if self._weighed is not None and abs(weight_kg - self._weighed) <= same:
            self._candidate = None
            return None  # the load already weighed
        candidate = self._candidate
        if candidate is None or abs(weight_kg - candidate[0]) > self._tolerance:
            self._candidate = (weight_kg, at)
            return None
        self._candidate = None
        self._weighed = weight_kg
        self._moved = False
        return StableLoad(self.scale, weight_kg, candidate[1])

    def interrupted(self) -> None:
        """No usable reading (offline, overload): the readings before do not count on."""
        self._candidate = None


@dataclass(frozen=True, slots=True)
class ScaleRead:
    """A read at a scale's read point: a reader's report entry, the tag heard ``count``
    times from ``first`` to ``time`` (its last read) at best ``rssi_dbm``."""

    time: datetime
    epc: str
    rssi_dbm: float | None
    count: int = 1
    first: datetime | None = None
    """When the entry's first read was; None: at ``time`` (a single read)."""

    def heard_within(self, start: datetime, end: datetime) -> bool:
        """Whether the tag was heard between ``start`` and ``end``: its span overlaps
        them. A report entry stands for every read from its first to its last; a reader
        reporting every few seconds would otherwise place a tag read as the load
        settled only at the end of the report, after it."""
        first = self.time if self.first is None else self.first
        return first <= end and self.time >= start


@dataclass(frozen=True, slots=True)
class ScaleWindows:
    """The windows a weight's pallet and cases are looked for in (seconds around the
    time the weight settled; see :func:`scale_windows`)."""

    after_s: float
    settling_s: float
    earlier_s: tuple[float, float]


BASELINE_S = 8.0
"""The shortest window before a load rolled on that tags are compared with."""
BASELINE_GAP_S = 4.0
"""How long before the settling window the baseline ends (the load rolling on)."""


def scale_windows(cycle_s: float, *, after_s: float = 2.0, max_s: float = 6.0) -> ScaleWindows:
    """The windows for a read point whose reader reads a tag again every ``cycle_s``
    (:meth:`ReadPointLog.cycle_s`). A crowded reader reads its tags in turns: the
    windows after and while the weight settled widen to 1.5 turns (at most ``max_s``),
    and the baseline before the load rolled on is as long as both together (at least
    :data:`BASELINE_S`): a tag standing nearby that the reader reads once a turn is read
    in it as surely as after, so not heard before is evidence of coming closer, not of
    a slow turn. (An 8 s baseline against 12 s after took a fifth of a crowded packing
    area's cases for ones that came onto the platform: hundreds per weight.)"""
    turn = min(max_s, 1.5 * cycle_s)
    after, settling = max(after_s, turn), max(SETTLING_S, turn)
    ends = BASELINE_GAP_S + settling - SETTLING_S
    return ScaleWindows(after, settling, (ends + max(BASELINE_S, settling + after), ends))


RISE_DB = 3.0
"""A pallet heard this much stronger after the weight settled than before the load
rolled on is one that came onto the platform."""


def pallet_on_scale(
    reads: Iterable[ScaleRead],
    at: datetime,
    before_s: float = 0.5,
    after_s: float = 2.0,
    earlier_s: tuple[float, float] = (12.0, 4.0),
    settling_s: float | None = None,
    *,
    elsewhere: Iterable[Iterable[ScaleRead]] = (),
) -> str | None:
    """The pallet that came onto the platform with the load that settled at ``at``:
    the first of :func:`pallets_on_scale`, None when no pallet was heard at all."""
    ranked = pallets_on_scale(
        reads, at, before_s, after_s, earlier_s, settling_s, elsewhere=elsewhere
    )
    return ranked[0] if ranked else None


MAX_CANDIDATES = 8
"""The most pallets :func:`pallets_on_scale` names for one weight."""


def pallets_on_scale(
    reads: Iterable[ScaleRead],
    at: datetime,
    before_s: float = 0.5,
    after_s: float = 2.0,
    earlier_s: tuple[float, float] = (12.0, 4.0),
    settling_s: float | None = None,
    *,
    elsewhere: Iterable[Iterable[ScaleRead]] = (),
) -> tuple[str, ...]:
    """The pallets that may have come onto the platform with the load that settled at
    ``at``, the likeliest first (at most :data:`MAX_CANDIDATES`).

    Of the SSCCs heard from ``at`` to ``after_s`` after it, those whose average RSSI
    rose by :data:`RISE_DB` or more against ``earlier_s`` (from 12 s to 4 s before
    ``at``: before the load rolled on; not heard then counts as the floor) came onto
    the platform: they come first, the strongest on average first (then the most often
    heard). Only pallets also heard in the ``settling_s`` (:data:`SETTLING_S` unless
    given) up to ``at`` count, when there are any: a pallet first heard after the
    weight settled was set down nearby later. Then the rest of those heard after ``at``
    that did not rise, then the ones heard after ``at`` only, each by strength. When
    none was heard after ``at``, the ones heard from ``before_s`` before it.
    The rise tells the pallet on the platform from its neighbours: the pallet just
    rolled off and pallets parked beside the scale are heard as well as it is (one of
    their tags may even be heard better), but none of them got closer. It is fragile
    (a pallet parked at the platform's edge is heard as well as the one on it), which
    is why the others follow it: whoever knows which pallets still await a weight
    check (the cloud, from its orders) can tell them apart.
    A pallet heard louder at one of the ``elsewhere`` read points (other scales')
    from the settling window to ``after_s`` is never this weight's: it is over the
    other platform. Rather no pallet than that one."""
    reads = list(reads)
    settle = SETTLING_S if settling_s is None else settling_s
    away = louder_elsewhere(
        reads, elsewhere, at - timedelta(seconds=settle), at + timedelta(seconds=after_s)
    )
    heard_after = _without(_average(reads, at, at + timedelta(seconds=after_s)), away)
    if not heard_after:
        return _ranked(_without(_average(reads, at - timedelta(seconds=before_s), at), away))
    # the load settled at ``at``: its pallet was on the platform then, so a pallet heard
    # after ``at`` but not in the moments up to it was set down nearby later
    settling = _without(_average(reads, at - timedelta(seconds=settle), at), away)
    after = {epc: h for epc, h in heard_after.items() if epc in settling} or heard_after
    earlier = _average(
        reads,
        at - timedelta(seconds=earlier_s[0]),
        at - timedelta(seconds=earlier_s[1]),
        whole=True,
    )
    rose = {
        epc: heard
        for epc, heard in after.items()
        if heard[0] - earlier.get(epc, (_FLOOR_DBM, 0))[0] >= RISE_DB
    }
    ranked: list[str] = []
    for group in (rose, after, heard_after):
        ranked.extend(epc for epc in _ranked(group) if epc not in ranked)
    return tuple(ranked[:MAX_CANDIDATES])


_FLOOR_DBM = -128.0
SETTLING_S = 3.0
"""A weight's pallet was heard in the last this long before the weight settled (the
platform needs a moment to settle; readers report once a round)."""


def cases_on_scale(
    reads: Iterable[ScaleRead],
    at: datetime,
    after_s: float = 2.0,
    earlier_s: tuple[float, float] = (12.0, 4.0),
    settling_s: float | None = None,
    *,
    elsewhere: Iterable[Iterable[ScaleRead]] = (),
) -> tuple[str, ...]:
    """The cases (SGTINs) that came onto the platform with the load that settled at
    ``at``: heard from :data:`SETTLING_S` before ``at`` to ``after_s`` after it, on
    average :data:`RISE_DB` stronger than from 12 s to 4 s before ``at`` (not heard then
    counts as the floor). Sorted. A case left beside the scale is heard as well as
    before, so it is not among them; nor is a case on the platform that no read caught,
    so a case missing here is evidence, not proof. Nor a case heard louder at one of the
    ``elsewhere`` read points over those windows (on the platform of another scale)."""
    reads = list(reads)
    settle = SETTLING_S if settling_s is None else settling_s
    start, end = at - timedelta(seconds=settle), at + timedelta(seconds=after_s)
    after = _without(
        _average(reads, start, end, is_case),
        louder_elsewhere(reads, elsewhere, start, end, is_case),
    )
    earlier = _average(
        reads,
        at - timedelta(seconds=earlier_s[0]),
        at - timedelta(seconds=earlier_s[1]),
        is_case,
        whole=True,
    )
    return tuple(
        sorted(
            epc
            for epc, heard in after.items()
            if heard[0] - earlier.get(epc, (_FLOOR_DBM, 0))[0] >= RISE_DB
        )
    )


def _average(
    reads: Iterable[ScaleRead],
    start: datetime,
    end: datetime,
    kind: Callable[[str], bool] = is_pallet,
    *,
    whole: bool = False,
) -> dict[str, tuple[float, int]]:
    """Per EPC of ``kind`` (SSCCs unless told) heard from ``start`` to ``end``: (average
    RSSI, times heard). A report entry counts when its span overlaps the window; with
    ``whole``, only when its last read is in it (the baseline before a load rolled on:
    an entry running on past the window may have its best RSSI from the platform)."""
    total: dict[str, tuple[float, int]] = {}
    for r in reads:
        heard = start <= r.time <= end if whole else r.heard_within(start, end)
        if heard and kind(r.epc):
            rssi = r.rssi_dbm if r.rssi_dbm is not None else _FLOOR_DBM
            sum_, count = total.get(r.epc, (0.0, 0))
            total[r.epc] = (sum_ + rssi * r.count, count + r.count)
    return {epc: (sum_ / count, count) for epc, (sum_, count) in total.items()}


def louder_elsewhere(
    reads: Iterable[ScaleRead],
    elsewhere: Iterable[Iterable[ScaleRead]],
    start: datetime,
    end: datetime,
    kind: Callable[[str], bool] = is_pallet,
) -> frozenset[str]:
    """The EPCs of ``kind`` heard from ``start`` to ``end`` both here (``reads``) and at
    one of the ``elsewhere`` read points, louder there on average: nearer that antenna
    than this one. A tag heard only here is not among them."""
    here = _average(reads, start, end, kind)
    away: set[str] = set()
    for other in elsewhere:
        there = _average(other, start, end, kind)
        away.update(epc for epc, (rssi, _) in here.items() if epc in there and there[epc][0] > rssi)
    return frozenset(away)


def _without(
    heard: dict[str, tuple[float, int]], away: frozenset[str]
) -> dict[str, tuple[float, int]]:
    return {epc: h for epc, h in heard.items() if epc not in away} if away else heard


def _ranked(heard: dict[str, tuple[float, int]]) -> tuple[str, ...]:
    """The EPCs strongest on average first, then the most often heard (then by EPC)."""
    return tuple(sorted(heard, key=lambda epc: (-heard[epc][0], -heard[epc][1], epc)))


class ReadPointLog:
    """Recent reads at one read point, kept for ``keep_s`` (read time), and how long
    its reader now takes to read a tag again (:meth:`cycle_s`)."""

    def __init__(self, keep_s: float = 30.0) -> None:
        self._keep = timedelta(seconds=keep_s)
        self._reads: deque[ScaleRead] = deque()
        self._last: dict[str, datetime] = {}
        self._gaps: deque[float] = deque(maxlen=256)
        self.newest: datetime | None = None
        """The latest read time added: how far this read point's reports have come."""

    def add(self, read: ScaleRead) -> None:
        self._reads.append(read)
        newest = read.time
        if self.newest is None or newest > self.newest:
            self.newest = newest
        previous = self._last.get(read.epc)
        if previous is not None and newest > previous:
            gap = (newest - previous).total_seconds()
            if gap <= self._keep.total_seconds():
                self._gaps.append(gap)
        self._last[read.epc] = newest
        while self._reads and self._reads[0].time < newest - self._keep:
            self._reads.popleft()
        if len(self._last) > 4 * len(self._reads) + 1024:  # forget tags long gone
            self._last = {r.epc: r.time for r in self._reads}

    def cycle_s(self) -> float:
        """The 90th percentile of the recent gaps between two reads of one tag here (0
        before any): a reader with more tags than it reads in a round reads them in
        turns, and the windows that find the pallet on the scale must span a turn."""
        if not self._gaps:
            return 0.0
        ordered = sorted(self._gaps)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]

    def pallets_and_cases_around(
        self, start: datetime, end: datetime
    ) -> tuple[list[ScaleRead], list[ScaleRead]]:
        """The entries heard between ``start`` and ``end`` (:meth:`ScaleRead.heard_within`),
        the pallets' and the cases' apart, in one pass: what every window of one weight
        looks at, so its many windows each go over a few seconds of reads, not the whole
        log (a crowded packing reader's 45 s are tens of thousands of entries), and its
        pallet is looked for among a few pallets' entries, not the thousands of cases'."""
        pallets: list[ScaleRead] = []
        cases: list[ScaleRead] = []
        for r in self._reads:
            if r.heard_within(start, end):
                if is_pallet(r.epc):
                    pallets.append(r)
                elif is_case(r.epc):
                    cases.append(r)
        return pallets, cases

    def __iter__(self) -> Iterator[ScaleRead]:
        return iter(self._reads)
