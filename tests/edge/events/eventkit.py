"""Constructed read sequences for the event core's tests: door crossings, shelves, strays.

A crossing is modelled the way the simulator's radio makes it: the outside antennas'
signal peaks ``lead_s`` before the door's middle and falls ``slope`` dB per second
either side of its peak, the inside antennas' likewise after the middle (reversed for
outbound); nothing under -70 dBm is heard. Reads come one per antenna every
``round_s`` (first = last seen, count 1) and are fed a report at a time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from edge.events import Event, EventCore, EventRules, Passage, ZoneEvent
from edge.reads import TagRead
from protocols.layout import load_layout

LAYOUT = load_layout(None)
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
SENSITIVITY = -70.0
OUTSIDE, INSIDE = (1, 2), (3, 4)

PALLET = "3114257BF400EBA58A000000"
PALLET_2 = "3114257BF400EBA58B000000"
CASES = ("3074257BF7194E4000001A85", "3074257BF7194E4000001A86", "3074257BF7194E4000001A87")
LONE_CASE = "3074257BF7194E4000009999"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def read(reader: str, antenna: int, epc: str, t: float, rssi: float) -> TagRead:
    return TagRead(reader, antenna, epc, rssi, at(t), at(t), 1)


def door_reads(
    epc: str,
    door: int,
    direction: str,
    middle_s: float,
    *,
    peak: float = -42.0,
    round_s: float = 0.25,
    lead_s: float = 1.5,
    slope: float = 6.0,
    span_s: float = 5.0,
    miss: float = 0.0,
    rng: random.Random | None = None,
) -> list[TagRead]:
    """Every read of one crossing of ``door-<door>`` whose middle is at ``middle_s``."""
    first_side, second_side = (OUTSIDE, INSIDE) if direction == "inbound" else (INSIDE, OUTSIDE)
    peaks = {a: middle_s - lead_s for a in first_side} | {a: middle_s + lead_s for a in second_side}
    return _profile(
        epc, f"reader-door-{door}", peaks, middle_s, peak, round_s, slope, span_s, miss, rng
    )


def _profile(
    epc: str,
    reader: str,
    peaks: dict[int, float],
    middle_s: float,
    peak: float,
    round_s: float,
    slope: float,
    span_s: float,
    miss: float,
    rng: random.Random | None,
) -> list[TagRead]:
    rng = rng or random.Random(0)
    out = []
    steps = int(2 * span_s / round_s)
    for k in range(steps + 1):
        t = round(middle_s - span_s + k * round_s, 6)
        for antenna, peak_t in peaks.items():
            rssi = peak - slope * abs(t - peak_t)
            if rssi >= SENSITIVITY and rng.random() >= miss:
                out.append(read(reader, antenna, epc, t, round(rssi)))
    return out


def one_side_reads(
    epc: str,
    door: int,
    antennas: tuple[int, ...],
    start_s: float,
    end_s: float,
    rssi: float,
    round_s: float = 0.25,
) -> list[TagRead]:
    """A tag that stays put in front of ``antennas`` of a door from ``start_s`` to ``end_s``."""
    return shelf_reads(epc, f"reader-door-{door}", start_s, end_s, rssi, round_s, antennas)


def shelf_reads(
    epc: str,
    reader: str,
    start_s: float,
    end_s: float,
    rssi: float,
    round_s: float = 0.25,
    antennas: tuple[int, ...] = (1,),
    every: int = 1,
) -> list[TagRead]:
    """A tag heard steadily by ``antennas`` of ``reader`` (every ``every``-th round)."""
    out = []
    k = 0
    t = start_s
    while t <= end_s + 1e-9:
        if k % every == 0:
            out.extend(read(reader, a, epc, round(t, 6), rssi) for a in antennas)
        k += 1
        t += round_s
    return out


class Replay:
    """Feeds reads to a core in reports of ``report_s`` (by read time), ticking between."""

    def __init__(
        self,
        rules: EventRules | None = None,
        report_s: float = 0.25,
        late: dict[str, float] | None = None,
    ) -> None:
        self.core = EventCore(LAYOUT, rules)
        self.report_s = report_s
        self.late = late or {}
        """Per reader: how much later than the others its reports arrive."""
        self.events: list[tuple[float, Event]] = []
        self.now = 0.0

    def run(
        self,
        reads: Iterable[TagRead],
        until_s: float,
        at_times: dict[float, Callable[[EventCore, datetime], list[Event]]] | None = None,
    ) -> Replay:
        """Deliver every read by report (a reader's reads of each ``report_s``), in time
        order, with ``now`` at the report's end; call ``at_times`` hooks when due."""
        by_report: dict[int, dict[str, list[TagRead]]] = {}
        for r in reads:
            s = (r.last_seen - T0).total_seconds() + self.late.get(r.reader_id, 0.0)
            slot = by_report.setdefault(int(s // self.report_s), {})
            slot.setdefault(r.reader_id, []).append(r)
        hooks = sorted((at_times or {}).items())
        k = int(self.now // self.report_s)
        end = int(until_s // self.report_s)
        while k <= end:
            now_s = (k + 1) * self.report_s
            while hooks and hooks[0][0] <= now_s:
                when, hook = hooks.pop(0)
                self._note(when, hook(self.core, at(when)))
            for _reader, batch in sorted(by_report.get(k, {}).items()):
                self._note(now_s, self.core.feed(batch, at(now_s)))
            self._note(now_s, self.core.tick(at(now_s)))
            k += 1
        self.now = (end + 1) * self.report_s
        return self

    def _note(self, now_s: float, events: list[Event]) -> None:
        self.events.extend((now_s, e) for e in events)

    @property
    def passages(self) -> list[Passage]:
        return [e for _, e in self.events if isinstance(e, Passage)]

    def zone_events(self, epc: str | None = None) -> list[ZoneEvent]:
        return [
            e for _, e in self.events if isinstance(e, ZoneEvent) and (epc is None or e.epc == epc)
        ]

    def decided_at(self, event: Event) -> float:
        return next(t for t, e in self.events if e is event)


def seconds(t: datetime) -> float:
    return (t - T0).total_seconds()


Entry = tuple[int, int, int, float, float, float]
"""A reader's report entry: (door, antenna, EPC index, first seen, last seen, peak RSSI);
the EPC index is into :data:`EPCS`."""

EPCS = (PALLET, PALLET_2, *CASES)


def feed_reports(
    reports: Iterable[tuple[float, list[Entry]]], until_s: float, rules: EventRules | None = None
) -> list[tuple[float, Event]]:
    """Feed each report (its delivery time, its entries) as a door reader would send it,
    ticking the core every simulated second; every event with when it was decided.
    Reports delivered at the same time are fed in one call.
    Entries keep their spans (first..last seen over a few rounds), as at speed 10."""
    core = EventCore(LAYOUT, rules)
    merged: dict[float, list[Entry]] = {}
    for when, entries in reports:  # reports delivered at the same time: one feed
        merged.setdefault(when, []).extend(entries)
    by_time = sorted(merged.items())
    events: list[tuple[float, Event]] = []
    now = 0.0
    while now <= until_s:
        while by_time and by_time[0][0] <= now:
            when, entries = by_time.pop(0)
            reads = [
                TagRead(
                    f"reader-door-{door}",
                    antenna,
                    EPCS[epc],
                    rssi,
                    at(t0),
                    at(t1),
                    1 + int(t1 - t0),
                )
                for door, antenna, epc, t0, t1, rssi in entries
            ]
            events += [(when, e) for e in core.feed(reads, at(when))]
        events += [(now, e) for e in core.tick(at(now))]
        now += 1.0
    return events
