"""Which zone each tag is in: arrived, moved, departed, unknown, present again.

A zone's *claim* on a tag is its strongest read of the tag over the last
``zone_window_s`` (read time). Rules, per tag:

- **arrived**: a tag in no zone is heard: it arrives at once in the zone of its
  strongest claim, at its first read there. It then *settles* until every live zone
  reader has reported past the reads that placed it (or ``zone_settle_s`` passed):
  while it settles, a zone with a stronger claim takes it (``moved``, without the
  margin). So a weak read from a neighbouring zone's antennas that happens to be
  reported first is put right within a report round, and no arrival waits for the
  slowest reader (at one inventory round per simulated second, waiting for every
  zone reader cost about a second on each arrival).
- **a pallet and its cases**: a pallet whose passage named its cases
  (:meth:`ZonePresence.group`) is placed, while it arrives and settles, in the zone
  most of its tags (its own and its cases') are heard strongest in, the strongest claim
  breaking a tie. A crowded zone reader reads each tag once in a while, so one read of
  the pallet's own tag from an antenna far off, or missed, against a neighbouring
  zone's bleed, decided the zone by a dB of noise; a dozen cases read in the same round
  do not. Only zones that heard its own tag compete. Once it settled, its own tag's
  margin (below) moves it only where most of its group is heard strongest too.
- **moved**: once settled, another zone's claim beats the current zone's by
  ``zone_margin_db`` (hysteresis: edge-of-zone bleed never makes a tag flap).
- **departed**: the zone's live readers reported reads the zone's *hold* past the
  tag's last read there, without it. The hold is ``zone_hold_s``, or
  ``zone_cycle_factor`` times the zone's *cycle* when that is longer (at most
  ``zone_hold_max_s``; :meth:`ZonePresence.hold_s`): a reader with more tags in its
  field than it reads in a round reads them in turns, and a tag waiting for its turn
  has not left. The cycle is the longer of the 99th percentile of the zone's recent
  re-read gaps and its present tags over its pace of reads (which knows the cycle
  before a tag is read a second time). Departures are decided only on the readers'
  own evidence, never on the clock alone: a reader that says nothing cannot make
  stock vanish. ``time`` is the tag's last read in the zone. A reader's *heartbeat*
  (:meth:`ZonePresence.heard_through`: it has reported every read it made before a
  time, told by an empty report or a keepalive) counts like a report, so the last
  tag to leave a zone departs although its reader then has nothing to report.
- **unknown**: every reader of the zone is down or silent (told by the caller, or
  holding tags yet its reports stopped moving on for ``reader_silent_s`` while the
  edge's other readers report on, or for twice that when every reader is quiet:
  reports that keep coming, however late, are an edge behind on them on a busy
  machine, not a silent reader). The tag stays where
  it was, unknown; reads elsewhere do not move it (a neighbouring zone's bleed is no
  evidence while its own reader is out).
- **present**: after the reader is back, the tag is heard in its zone again. Not
  heard within ``recovery_hold_s`` of the recovery (while the reader reports):
  departed, at its last read before the outage.

Cost: a call judges the tags it can change, not every tag in every zone. Those are the
tags with new reads (or settling); the tags whose last judgement changed them
(judged once more, as a full scan would); the unknown tags of live zones (time rules);
and, of the tags present in a zone, those due to depart: the zone's evidence reached
their last read there plus ``zone_hold_s`` (a heap per zone by that time). A present tag
with no new read and not due is left alone: judging it again would decide nothing, its
claims are the same and only the evidence gates a departure. A zone whose readers'
evidence went missing or back (a reader down, up) has every tag judged.
:attr:`ZonePresence.judgements` counts judgements.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from edge.events.model import ZoneEvent, ZoneEventKind
from edge.events.rules import EventRules

__all__ = ["ZonePresence"]

_NONE = -math.inf


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class _Status(Enum):
    NOWHERE = 0
    PRESENT = 1
    UNKNOWN = 2


@dataclass(slots=True)
class _ReaderLive:
    zones: tuple[str, ...]
    up: bool = True
    silent: bool = False
    heard_t: float = _NONE
    """The newest read time this reader reported (its own evidence of time)."""
    checked_t: float = _NONE
    """``heard_t`` when the outages were last looked at ..."""
    advanced_at: float | None = None
    """... and the edge's ``now`` when it last moved on: a reader whose reports keep
    coming, however late, is not silent."""

    @property
    def live(self) -> bool:
        return self.up and not self.silent


@dataclass(slots=True)
class _Cycle:
    """How long a zone's readers take to read a present tag again, two ways: the 99th
    percentile of recent re-read gaps (read time; recomputed every ``_CYCLE_EVERY``),
    and the tags present over the pace of reads (reads a second over the last
    ``_PACE_S``), which knows the cycle before a first tag is read again."""

    gaps: deque[float] = field(default_factory=lambda: deque(maxlen=_CYCLE_GAPS))
    added: int = 0
    p99: float = 0.0
    reads: int = 0
    marks: deque[tuple[float, int]] = field(default_factory=deque)
    """(read time, ``reads`` then), about one a second over the last ``_PACE_S``."""
    next_mark: float = _NONE

    def add(self, gap: float) -> None:
        self.gaps.append(gap)
        self.added += 1
        if self.added % _CYCLE_EVERY == 0 or self.added < _CYCLE_EVERY:
            ordered = sorted(self.gaps)
            self.p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    def read(self, t: float) -> None:
        self.reads += 1
        if t >= self.next_mark:
            self.marks.append((t, self.reads))
            self.next_mark = t + 1.0
            while len(self.marks) > 2 and self.marks[1][0] <= t - _PACE_S:
                self.marks.popleft()

    def seconds(self, present: int) -> float:
        """The cycle: the longer of the two ways (0 while neither knows)."""
        by_pace = 0.0
        if len(self.marks) >= 2:
            (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
            if n1 > n0 and t1 - t0 >= 1.0:
                by_pace = present / ((n1 - n0) / (t1 - t0))
        return max(self.p99, by_pace)


_CYCLE_GAPS = 1024
_CYCLE_EVERY = 128
_PACE_S = 10.0
MAX_GROUPS = 100_000
"""The most pallets whose cases :meth:`ZonePresence.group` keeps (the oldest go)."""


@dataclass(slots=True)
class _Tag:
    epc: str
    status: _Status = _Status.NOWHERE
    zone: str | None = None
    reads: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    """Per zone: (read time, RSSI) over the last window."""
    last_seen: dict[str, float] = field(default_factory=dict)
    left_at: float = _NONE
    """Reads at or before this time are spent (the tag departed after them)."""
    settle_from: float | None = None
    """While it settles after arriving: the read time every live zone reader must
    report past (None: settled)."""
    settle_until: float = _NONE
    """``now`` at which it settles whatever the readers said (``zone_settle_s``)."""
    settle_since: float = _NONE
    """While it settles: reads from this time on make the zones' claims (the arrival's
    window, so a read made before the one that placed it but reported after it counts)."""
    due_t: float = _NONE
    """The time of its live entry in its zone's due heap (older entries are stale)."""
    recovered_at: float | None = None
    back_t: float | None = None
    """While unknown: its first read in its zone since a reader of the zone is live."""
    placed_t: float = _NONE
    """Time of the event that put it in its zone: only reads after it can move it on."""
    left_zone: str | None = None
    """The zone it departed from, until it is heard anywhere again."""

    def claim(self, zone: str, since: float) -> float:
        best = _NONE
        for t, rssi in self.reads.get(zone, ()):
            if t >= since and rssi > best:
                best = rssi
        return best

    def newest(self) -> float:
        return max(self.last_seen.values(), default=_NONE)


class ZonePresence:
    """Zone state of every tag heard by zone antennas; see the module docstring."""

    def __init__(self, rules: EventRules, readers_of_zone: Mapping[str, Iterable[str]]) -> None:
        self.rules = rules
        self._zone_readers = {z: tuple(rs) for z, rs in readers_of_zone.items()}
        zones_of: dict[str, list[str]] = {}
        for zone, readers in self._zone_readers.items():
            for r in readers:
                zones_of.setdefault(r, []).append(zone)
        self._readers = {r: _ReaderLive(tuple(zs)) for r, zs in zones_of.items()}
        self._tags: dict[str, _Tag] = {}
        self._in_zone: dict[str, set[str]] = {z: set() for z in self._zone_readers}
        self._dirty: set[str] = set()
        self._purge_at = _NONE
        self._unknown_in: dict[str, set[str]] = {z: set() for z in self._zone_readers}
        """Per zone: its tags whose status is unknown."""
        self._recheck: dict[str, set[str]] = {}
        """Per zone: tags a judgement changed, judged again at the zone's next turn."""
        self._due: dict[str, list[tuple[float, str]]] = {}
        """Per zone: heap of (last read there + hold, EPC) of its present tags."""
        self._judged_evidence: dict[str, float | None] = {}
        """Per zone: its evidence at its last turn (None: no live reader then)."""
        self._newest_t = _NONE
        """The newest read time any reader reported (zone or door, reads or heartbeats):
        how far the edge has got through its readers' reports."""
        self.judgements = 0
        """How many tag judgements were made (the cost of the calls; for tests)."""
        self._cycles: dict[str, _Cycle] = {}
        """Per zone: how long its readers take to read a present tag again."""
        self._windows: dict[str, float] = {}
        """Per zone: its claim window (:meth:`window_s`), as of the last evaluation."""
        self._cases_of: dict[str, tuple[str, ...]] = {}
        """Pallet -> the cases its passage named (:meth:`group`); oldest first."""
        self._pallet_of: dict[str, str] = {}
        """Case -> its pallet."""

    # -- pallets and their cases ---------------------------------------------------------

    def group(self, pallet: str, cases: Iterable[str]) -> None:
        """The cases that travel with ``pallet`` (a passage heard them cross with it);
        replaces what was known of it. At most ``MAX_GROUPS`` pallets are kept."""
        self.ungroup(pallet)
        members = tuple(c for c in cases if c != pallet)
        if not members:
            return
        self._cases_of[pallet] = members
        for case in members:
            previous = self._pallet_of.get(case)
            if previous is not None and previous != pallet:
                self._cases_of[previous] = tuple(c for c in self._cases_of[previous] if c != case)
            self._pallet_of[case] = pallet
        while len(self._cases_of) > MAX_GROUPS:
            self.ungroup(next(iter(self._cases_of)))

    def ungroup(self, pallet: str) -> None:
        """Forget ``pallet``'s cases (it left through a door)."""
        for case in self._cases_of.pop(pallet, ()):
            if self._pallet_of.get(case) == pallet:
                del self._pallet_of[case]

    def _group_votes(self, tag: _Tag, since: float) -> dict[str, int]:
        """Per zone: how many of the tag's group (itself and its cases) are heard
        strongest there since ``since``."""
        votes: dict[str, int] = {}
        for epc in (tag.epc, *self._cases_of.get(tag.epc, ())):
            member = tag if epc == tag.epc else self._tags.get(epc)
            if member is None:
                continue
            best, strongest = None, _NONE
            for zone in member.reads:
                claim = member.claim(zone, since)
                if claim > strongest:
                    best, strongest = zone, claim
            if best is not None:
                votes[best] = votes.get(best, 0) + 1
        return votes

    def _votes(self, tag: _Tag, since: float) -> dict[str, tuple[int, float]]:
        """Per zone that heard the tag since ``since``: how many of its group are heard
        strongest there, and its own claim there (the tie-break). Only zones that heard
        the pallet's own tag compete (placed where its own tag was never heard, it
        would be moved out again as soon as it settled)."""
        own = {z: c for z in tag.reads if (c := tag.claim(z, since)) != _NONE}
        votes = self._group_votes(tag, since)
        return {z: (votes.get(z, 0), own[z]) for z in own}

    # -- inputs --------------------------------------------------------------------------

    def add(self, epc: str, zone: str, reader_id: str, t: float, rssi: float | None) -> None:
        """One read by a zone antenna (``t``: its last-seen time)."""
        self.saw(t)
        reader = self._readers.get(reader_id)
        if reader is not None:
            reader.heard_t = max(reader.heard_t, t)
            reader.silent = False
        tag = self._tags.get(epc)
        if tag is None:
            tag = self._tags[epc] = _Tag(epc)
        elif t <= tag.left_at:
            return  # reported late, from before the tag departed
        reads = tag.reads.get(zone)
        if reads is None:
            reads = tag.reads[zone] = deque()
        reads.append((t, rssi if rssi is not None else -100.0))
        while reads and reads[0][0] < t - self._windows.get(zone, self.rules.zone_window_s):
            reads.popleft()
        if reader is None or reader.live:
            cycle = self._cycles.get(zone)
            if cycle is None:
                cycle = self._cycles[zone] = _Cycle()
            cycle.read(t)
        previous = tag.last_seen.get(zone, _NONE)
        if tag.status is _Status.PRESENT and tag.zone == zone:
            self._reread(zone, reader, t - previous)
        elif tag.status is _Status.NOWHERE and tag.left_zone == zone:
            # back in the zone it departed from, unmoved: it waited for its turn
            self._reread(zone, reader, t - tag.left_at)
            tag.left_zone = None
        tag.last_seen[zone] = max(previous, t)
        if (
            tag.status is _Status.UNKNOWN
            and zone == tag.zone
            and self._evidence_t(zone) is not None
        ):
            # heard in its zone while a reader of it is live again (not a read in flight)
            tag.back_t = t if tag.back_t is None else min(tag.back_t, t)
        pallet = self._pallet_of.get(epc)
        if pallet is not None:
            ptag = self._tags.get(pallet)
            if ptag is not None and (
                ptag.status is _Status.NOWHERE or ptag.settle_from is not None
            ):
                self._dirty.add(pallet)  # a case's read may place its pallet
        if not (
            tag.status is _Status.PRESENT
            and zone == tag.zone
            and tag.settle_from is None
            and len(tag.reads) == 1
        ):
            # a settled tag heard again in its zone and nowhere else has nothing to
            # decide (its departure is looked at when its hold runs out: _due_by); most
            # reads of a site are such, and judging each was most of the core's work
            self._dirty.add(epc)

    def _reread(self, zone: str, reader: _ReaderLive | None, gap: float) -> None:
        """A tag of ``zone`` read again ``gap`` after its last read there."""
        if 0 < gap <= 2 * self.rules.zone_hold_max_s and (reader is None or reader.live):
            self._cycles.setdefault(zone, _Cycle()).add(gap)

    def heard_through(self, reader_id: str, through: float) -> None:
        """A zone reader's heartbeat: it has reported every read it made before ``through``
        (read time). Evidence of time like a report, without a tag; never moves backward."""
        self.saw(through)
        reader = self._readers.get(reader_id)
        if reader is not None and through > reader.heard_t:
            reader.heard_t = through
            reader.silent = False

    def saw(self, t: float) -> None:
        """Some reader (a door's too) reported a read made at ``t``."""
        if t > self._newest_t:
            self._newest_t = t

    def reader_up(self, reader_id: str, up: bool, now: float) -> None:
        """The caller's word on a zone reader: up (inventorying) or down/silent."""
        reader = self._readers.get(reader_id)
        if reader is not None:
            reader.up = up

    # -- decisions -----------------------------------------------------------------------

    def evaluate(self, now: float) -> list[ZoneEvent]:
        """Every decision the reads so far and ``now`` allow."""
        events: list[ZoneEvent] = []
        for zone in self._cycles:
            self._windows[zone] = max(self.rules.zone_window_s, self.hold_s(zone))
        self._outages(now, events)
        dirty, self._dirty = self._dirty, set()
        for epc in dirty:
            self._judge(self._tags[epc], now, events)
        for zone, epcs in self._in_zone.items():
            evidence = self._evidence_t(zone)
            judged_at = self._judged_evidence.get(zone)
            self._judged_evidence[zone] = evidence
            if evidence is None:
                continue
            pending = self._recheck.pop(zone, set())
            if judged_at is None or evidence < judged_at:
                todo: Iterable[str] = list(epcs)  # its readers changed: judge every tag
            else:
                todo = pending | self._unknown_in.get(zone, set()) | self._due_by(zone, evidence)
            for epc in todo:
                if epc in dirty:
                    if epc in pending:  # judged already in this call; again at the next
                        self._recheck.setdefault(zone, set()).add(epc)
                elif epc in epcs:
                    self._judge(self._tags[epc], now, events)
        if now >= self._purge_at:
            self._purge(now)
        return events

    def hold_s(self, zone: str) -> float:
        """How long ``zone``'s readers must report on without a present tag before it
        departs: ``zone_hold_s``, or ``zone_cycle_factor`` times the time they now take
        to read a tag again if that is longer (at most ``zone_hold_max_s``)."""
        rules = self.rules
        cycle = self._cycles.get(zone)
        if cycle is None:
            return rules.zone_hold_s
        slow = rules.zone_cycle_factor * cycle.seconds(len(self._in_zone.get(zone, ())))
        return max(rules.zone_hold_s, min(rules.zone_hold_max_s, slow))

    def window_s(self, zone: str) -> float:
        """How far back a zone's claim on a tag looks: ``zone_window_s``, or the zone's
        hold when longer (a tag a slow reader has not read again yet still stands
        there: its claim must not lapse before its hold does)."""
        return self._windows.get(zone, self.rules.zone_window_s)

    def _due_by(self, zone: str, evidence: float) -> set[str]:
        """The present tags of ``zone`` whose departure the evidence now allows."""
        heap = self._due.get(zone)
        due: set[str] = set()
        hold = self.hold_s(zone)
        while heap and heap[0][0] <= evidence:
            at, epc = heapq.heappop(heap)
            tag = self._tags.get(epc)
            if (
                tag is None
                or tag.zone != zone
                or tag.status is not _Status.PRESENT
                or at != tag.due_t  # stale: a later entry stands for it
            ):
                continue
            next_due = tag.last_seen.get(zone, _NONE) + hold
            if next_due <= evidence:
                due.add(epc)
                tag.due_t = _NONE  # its judgement keeps it in the heap if it stays
            else:
                # heard since: due later (a tag heard only in its zone is not judged on
                # each read, so this is where its next due time is kept)
                tag.due_t = next_due
                heapq.heappush(heap, (next_due, epc))
        return due

    def _purge(self, now: float) -> None:
        """Forget tags gone from every zone for a while (their late reads are stale)."""
        keep_s = 10 * (self.rules.zone_window_s + self.rules.zone_hold_s + self.rules.report_lag_s)
        for epc in [
            e
            for e, tag in self._tags.items()
            if tag.status is _Status.NOWHERE and not tag.reads and tag.left_at < now - keep_s
        ]:
            del self._tags[epc]
        self._purge_at = now + keep_s

    def _outages(self, now: float, events: list[ZoneEvent]) -> None:
        rules = self.rules
        silent_s = rules.reader_silent_s
        all_quiet = now - self._newest_t > 2 * silent_s
        for reader in self._readers.values():
            if reader.heard_t > reader.checked_t or reader.advanced_at is None:
                reader.checked_t = reader.heard_t
                reader.advanced_at = now
            if reader.live and any(self._in_zone.get(z) for z in reader.zones):
                if (
                    reader.heard_t != _NONE
                    and now - reader.heard_t > silent_s
                    and now - reader.advanced_at > silent_s
                    and (self._newest_t - reader.heard_t > silent_s or all_quiet)
                ):
                    # its reports stopped moving on while other readers report on:
                    # silent. Reports that keep coming, however late, are an edge behind
                    # on them (a busy machine), not a silent reader; and quiet like
                    # every reader, the edge may be behind on all: only after twice as
                    # long.
                    reader.silent = True
        for zone, readers in self._zone_readers.items():
            live = any(self._readers[r].live for r in readers)
            in_zone, unknown = self._in_zone[zone], self._unknown_in[zone]
            if not live and len(in_zone) > len(unknown):  # a tag present in a dead zone
                for epc in list(in_zone):
                    tag = self._tags[epc]
                    if tag.status is _Status.PRESENT:
                        tag.status = _Status.UNKNOWN
                        unknown.add(epc)
                        tag.recovered_at = None
                        tag.back_t = None
                        heard = max((self._readers[r].heard_t for r in readers), default=_NONE)
                        at = heard if heard != _NONE else now
                        events.append(ZoneEvent(ZoneEventKind.UNKNOWN, epc, zone, _utc(at)))
            elif live:
                for epc in unknown:
                    tag = self._tags[epc]
                    if tag.recovered_at is None:
                        tag.recovered_at = now

    def _evidence_t(self, zone: str) -> float | None:
        """The newest read time a live reader of ``zone`` reported; None if none is live."""
        times = [
            self._readers[r].heard_t
            for r in self._zone_readers.get(zone, ())
            if self._readers[r].live
        ]
        return max(times) if times else None

    def _judge(self, tag: _Tag, now: float, events: list[ZoneEvent]) -> None:
        self.judgements += 1
        decided = len(events)
        if tag.status is _Status.NOWHERE:
            self._maybe_arrive(tag, now, events)
        elif tag.status is _Status.PRESENT:
            self._maybe_move_or_depart(tag, now, events)
        else:
            self._maybe_recover(tag, now, events)
        zone = tag.zone
        if zone is None:
            return
        if len(events) > decided:  # changed: a full scan would judge it again
            self._recheck.setdefault(zone, set()).add(tag.epc)
        if tag.status is _Status.PRESENT:
            due = tag.last_seen.get(zone, _NONE) + self.hold_s(zone)
            if due != tag.due_t:
                tag.due_t = due
                heapq.heappush(self._due.setdefault(zone, []), (due, tag.epc))

    def _maybe_arrive(self, tag: _Tag, now: float, events: list[ZoneEvent]) -> None:
        rules = self.rules
        newest = tag.newest()
        if newest <= tag.left_at:
            return
        since = {z: max(tag.left_at + 1e-6, newest - self.window_s(z)) for z in tag.reads}
        claims = {z: tag.claim(z, since[z]) for z in tag.reads}
        zone = max(claims, key=lambda z: claims[z])
        if claims[zone] == _NONE:
            return
        if tag.epc in self._cases_of:  # the zone most of the pallet's tags are heard in
            earliest = min(since.values())
            votes = self._votes(tag, earliest)
            zone = max(votes, key=lambda z: votes[z])
            since[zone] = earliest
        first = min(t for t, _ in tag.reads[zone] if t >= since[zone])
        self._place(tag, zone, first)
        tag.settle_from = min(
            t for z, reads in tag.reads.items() for t, _ in reads if t >= since[z]
        )
        tag.settle_since = min(since.values())
        tag.settle_until = now + rules.zone_settle_s
        events.append(ZoneEvent(ZoneEventKind.ARRIVED, tag.epc, zone, _utc(first)))

    def _settled(self, tag: _Tag, now: float) -> bool:
        """Whether every live zone reader has had its say about the tag's arrival."""
        first = tag.settle_from
        if first is None:
            return True
        if now < tag.settle_until:
            for reader in self._readers.values():
                if reader.live and reader.heard_t < first:
                    return False
        tag.settle_from = None
        return True

    def _settle_move(self, tag: _Tag, events: list[ZoneEvent]) -> bool:
        """While settling: a zone with a stronger claim over the arrival's window takes
        the tag. Readers report in their own rhythm: the strongest read may have been
        made before the read that placed the tag and reported after it."""
        zone = tag.zone
        since = tag.settle_since
        assert zone is not None and tag.settle_from is not None
        if tag.epc in self._cases_of:  # a pallet: the zone most of its tags are heard in
            votes = self._votes(tag, since)
            best = max(votes, key=lambda z: votes[z])
            if best == zone or votes[best] <= votes.get(zone, (0, _NONE)):
                return False
        else:
            claims = {z: tag.claim(z, since) for z in tag.reads}
            best = max(claims, key=lambda z: claims[z])
            if best == zone or claims[best] <= claims[zone]:
                return False
        # not dated before the arrival it corrects: events of a tag keep their order
        at = max(tag.placed_t, min(t for t, _ in tag.reads[best] if t >= since))
        self._place(tag, best, at)
        events.append(ZoneEvent(ZoneEventKind.MOVED, tag.epc, best, _utc(at), zone))
        return True

    def _maybe_move_or_depart(self, tag: _Tag, now: float, events: list[ZoneEvent]) -> None:
        rules = self.rules
        zone = tag.zone
        assert zone is not None
        if tag.settle_from is not None:
            # settling: the strongest claim takes it, also in the call whose report ends
            # the settling (that report may hold the read that decides)
            if self._settle_move(tag, events):
                return
            self._settled(tag, now)
        newest = tag.newest()
        here = tag.claim(zone, newest - self.window_s(zone))
        for other in tag.reads:
            if other == zone:
                continue
            # another zone's reads count only from when the tag was placed here: the
            # reads that placed it cannot also move it back (no flip-flop on the same
            # evidence)
            after = max(newest - self.window_s(other), tag.placed_t)
            there = tag.claim(other, after)
            if there != _NONE and there >= here + rules.zone_margin_db:
                if tag.epc in self._cases_of:
                    # a pallet's own tag stronger elsewhere does not move it while most
                    # of its group is heard strongest where it is
                    votes = self._group_votes(tag, after)
                    if votes.get(other, 0) <= votes.get(zone, 0):
                        continue
                first = min(t for t, r in tag.reads[other] if t >= after and r >= here)
                self._place(tag, other, first)
                events.append(ZoneEvent(ZoneEventKind.MOVED, tag.epc, other, _utc(first), zone))
                return
        evidence = self._evidence_t(zone)
        last = tag.last_seen.get(zone, _NONE)
        if evidence is not None and evidence >= last + self.hold_s(zone):
            since_last = max(last, tag.placed_t)
            later = {
                z: [t for t, _ in reads if t > since_last]
                for z, reads in tag.reads.items()
                if z != zone
            }
            later = {z: ts for z, ts in later.items() if len(ts) >= 2}
            if later:
                # gone from here, and heard since (more than a stray read) in another zone
                other = max(later, key=lambda z: tag.claim(z, since_last + 1e-6))
                first = min(later[other])
                self._place(tag, other, first)
                events.append(ZoneEvent(ZoneEventKind.MOVED, tag.epc, other, _utc(first), zone))
                return
            self._depart(tag, zone, last, events)

    def _maybe_recover(self, tag: _Tag, now: float, events: list[ZoneEvent]) -> None:
        zone = tag.zone
        assert zone is not None
        last = tag.last_seen.get(zone, _NONE)
        if tag.back_t is not None:
            tag.status = _Status.PRESENT
            self._unknown_in.setdefault(zone, set()).discard(tag.epc)
            tag.recovered_at = None
            heard_again, tag.back_t = tag.back_t, None
            events.append(ZoneEvent(ZoneEventKind.PRESENT, tag.epc, zone, _utc(heard_again)))
            self._maybe_move_or_depart(tag, now, events)
            return
        if tag.recovered_at is None:
            return
        evidence = self._evidence_t(zone)
        due = tag.recovered_at + self.rules.recovery_hold_s
        if evidence is not None and evidence >= due and now >= due:
            self._depart(tag, zone, last, events)

    def _place(self, tag: _Tag, zone: str, t: float) -> None:
        tag.placed_t = t
        if tag.zone is not None:
            self._in_zone[tag.zone].discard(tag.epc)
            self._unknown_in.setdefault(tag.zone, set()).discard(tag.epc)
        tag.zone = zone
        tag.status = _Status.PRESENT
        self._in_zone.setdefault(zone, set()).add(tag.epc)

    def _depart(self, tag: _Tag, zone: str, last: float, events: list[ZoneEvent]) -> None:
        self._in_zone[zone].discard(tag.epc)
        self._unknown_in.setdefault(zone, set()).discard(tag.epc)
        tag.zone = None
        tag.status = _Status.NOWHERE
        tag.recovered_at = None
        tag.left_at = max(tag.newest(), last)
        tag.left_zone = zone
        tag.reads.clear()
        tag.last_seen.clear()  # it keeps ``left_at``: reads older than that are spent
        events.append(ZoneEvent(ZoneEventKind.DEPARTED, tag.epc, zone, _utc(last)))

    # -- inspection ----------------------------------------------------------------------

    def zone_of(self, epc: str) -> str | None:
        """The zone a tag is in now (None: in no zone, or unknown)."""
        tag = self._tags.get(epc)
        return tag.zone if tag is not None and tag.status is _Status.PRESENT else None

    def tags_in(self, zone: str) -> set[str]:
        return {e for e in self._in_zone.get(zone, ()) if self._tags[e].status is _Status.PRESENT}
