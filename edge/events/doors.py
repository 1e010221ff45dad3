"""Dock-door passages from the reads of a door's outside and inside antennas.

Per tag and door a *track* lasts while the door keeps hearing the tag (gaps under
``door_hold_s``). Each read is a sample; at each sample the two sides are
compared by their strongest read close in time (``door_window_s``). The side
that wins by ``door_margin_db`` for ``door_confirm`` comparisons in a row (or
once by ``door_sure_margin_db``) is where the tag *is*; a win over a side that
heard nothing counts once per read time and is never a sure one (both of its
antennas may have missed the tag that round). A passage is the tag being
confirmed on one side and then on the other: direction from the side it was on
first (outside -> inside is inbound), time where the comparison changed sign
(the door's middle), among comparisons with a strong read. So:

- a pallet parked in the field (staged inside, waiting outside) stays on one
  side: no passage; one parked where both sides hear it alike may flip sides by
  noise, but a side that has heard it well, without a break, for over
  ``door_rise_s`` makes no crossing (in a real one the far side's signal is
  new); one that approaches and turns back never gets to the other side: no
  passage (and its close approach does not hide the crossing that follows);
- stray reads from a neighbouring door are weak: a passage needs a peak of
  ``door_min_peak_dbm`` on both sides, and a door that heard the tag
  ``door_rival_margin_db`` weaker than another door meanwhile loses it;
- cases (SGTIN-96) crossing with a pallet (SSCC-96) go into its passage; a case
  crossing waits ``lone_case_wait_s`` of read time for a pallet before it becomes
  a lone passage. A pallet takes no case heard only faintly at its door or much
  better at another, and no case not yet across that its door began hearing long
  before the pallet (one on a pallet staged there).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.events.model import (
    Direction,
    Passage,
    PassageEvidence,
    Side,
    SideEvidence,
    is_case,
    is_pallet,
)
from edge.events.rules import EventRules

__all__ = ["DoorPassages", "passage_confidence"]

_CLAMP_DB = 20.0
"""Level differences are clamped to this for finding the middle (a side not heard at
all sits at the floor, which would pull the estimate toward it)."""


_SAME_TIME_S = 1e-3
"""Comparisons this close in read time are one moment."""


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass(slots=True)
class _SideStats:
    reads: int = 0
    peak: float | None = None
    first: float | None = None
    last: float | None = None
    strong_since: float | None = None
    """When the side's current run of reads at or above ``door_min_peak_dbm`` began (a
    gap over ``door_hold_s`` without one starts a new run)."""
    strong_last: float | None = None
    """The last read at or above ``door_min_peak_dbm``."""

    def add(
        self, t0: float, t1: float, rssi: float | None, count: int, strong: bool, gap: float
    ) -> None:
        self.reads += count
        if strong:
            if self.strong_last is None or t0 > self.strong_last + gap:
                self.strong_since = t0
            elif self.strong_since is not None and t0 < self.strong_since:
                self.strong_since = t0
            self.strong_last = t1 if self.strong_last is None else max(self.strong_last, t1)
        if rssi is not None and (self.peak is None or rssi > self.peak):
            self.peak = rssi
        self.first = t0 if self.first is None else min(self.first, t0)
        self.last = t1 if self.last is None else max(self.last, t1)

    def evidence(self) -> SideEvidence:
        return SideEvidence(
            reads=self.reads,
            peak_rssi_dbm=self.peak,
            first_seen=None if self.first is None else _utc(self.first),
            last_seen=None if self.last is None else _utc(self.last),
        )


@dataclass(slots=True)
class _Crossing:
    """A crossing found on a track, not yet published."""

    track: _Track
    direction: Direction
    time: float
    found_at: float
    """Read time at which it was found (the newest read of the track then)."""
    evidence: PassageEvidence
    confidence: float


@dataclass(slots=True)
class _Track:
    epc: str
    door: str
    first: float
    last: float
    samples: deque[tuple[float, float, Side, float]] = field(default_factory=deque)
    stats: dict[Side, _SideStats] = field(
        default_factory=lambda: {"outside": _SideStats(), "inside": _SideStats()}
    )
    confirmed: Side | None = None
    streak_side: Side | None = None
    streak: int = 0
    """Comparisons in a row won by ``streak_side``. Wins over a side that heard nothing
    count once per read time: two antennas of a side hearing the tag in the same round
    while the other side's antennas both missed it are one piece of evidence."""
    streak_t: float = -math.inf
    favour: Side | None = None
    last_favour_t: float = 0.0
    """Read time of the last comparison."""
    last_diff: float = 0.0
    """Its inside-minus-outside level difference (dB, clamped)."""
    hint: Side | None = None
    """The side a track's first strong comparison favoured (where it came from when the
    side was never clear before the tag was clearly on the other)."""
    flip_t: float | None = None
    """Where the difference last changed sign away from the confirmed side (interpolated)."""
    best_diff: float = 0.0
    claimed: bool = False
    """Its current crossing already went into a pallet's passage."""
    crossed: tuple[Direction, float] | None = None
    """Direction and time of its latest crossing (published or not)."""

    def level(self, side: Side, t: float, window: float, floor: float) -> float:
        best = floor
        for t0, t1, s, rssi in self.samples:
            if s == side and t0 - window <= t <= t1 + window and rssi > best:
                best = rssi
        return best


class DoorPassages:
    """Passages of every door, fed one read at a time; see the module docstring."""

    def __init__(self, rules: EventRules) -> None:
        self.rules = rules
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._by_epc: dict[str, set[str]] = {}
        self._door_time: dict[str, float] = {}
        """Newest read time heard at each door (its reader's own evidence of time)."""
        self._waiting: list[_Crossing] = []
        """Case crossings waiting for a pallet to claim them."""
        self._pending: list[tuple[float, _Track]] = []
        self._recent: deque[tuple[str, Direction, float, str]] = deque()
        """Pallet passages published lately: (door, direction, time, EPC)."""

    # -- reads ---------------------------------------------------------------------------

    def add(
        self,
        epc: str,
        door: str,
        side: Side,
        t0: float,
        t1: float,
        rssi: float | None,
        count: int,
    ) -> None:
        """One read at a door; :meth:`decide` then weighs every read added."""
        rules = self.rules
        if t1 > self._door_time.get(door, -math.inf):
            self._door_time[door] = t1
        key = (epc, door)
        track = self._tracks.get(key)
        if track is not None and t0 > track.last + rules.door_hold_s:
            self._end(track)
            track = None
        if track is None:
            track = _Track(epc, door, t0, t1)
            self._tracks[key] = track
            self._by_epc.setdefault(epc, set()).add(door)
        track.last = max(track.last, t1)
        level = rssi if rssi is not None else rules.door_min_peak_dbm
        track.samples.append((t0, t1, side, level))
        strong = rssi is not None and rssi >= rules.door_min_peak_dbm
        track.stats[side].add(t0, t1, rssi, count, strong, rules.door_hold_s)
        self._pending.append(((t0 + t1) / 2, track))

    def decide(self) -> list[Passage]:
        """Compare the sides at each read added since the last call, in time order; the
        passages that completes. Reads of one report are weighed together, so the order
        of a report's entries does not matter."""
        pending, self._pending = self._pending, []
        pending.sort(key=lambda p: p[0])
        passages: list[Passage] = []
        window = 2 * self.rules.door_window_s + 1.0
        for t, track in pending:
            if self._tracks.get((track.epc, track.door)) is not track:
                continue
            crossing = self._compare(track, t)
            if crossing is not None:
                passages.extend(self._publish(crossing))
        for _, track in pending:
            horizon = track.last - window
            while track.samples and track.samples[0][1] < horizon:
                track.samples.popleft()
        return passages

    def _compare(self, track: _Track, t: float) -> _Crossing | None:
        rules = self.rules
        w, floor = rules.door_window_s, rules.door_floor_dbm
        inside, outside = track.level("inside", t, w, floor), track.level("outside", t, w, floor)
        diff = max(-_CLAMP_DB, min(_CLAMP_DB, inside - outside))
        favour: Side | None = "inside" if diff > 0 else "outside" if diff < 0 else None
        if favour is None:
            return None
        strong = inside if favour == "inside" else outside
        if strong < rules.door_min_peak_dbm:
            # weak reads only (strays, side lobes, a tag far out): no side, and no say in
            # where the middle is
            if favour != track.streak_side:
                track.streak_side, track.streak = None, 0
            return None
        if track.hint is None and track.confirmed is None:
            track.hint = favour
        where = track.confirmed if track.confirmed is not None else track.hint
        if where is not None and favour != track.favour:
            if track.favour == where:
                # the sign changed: the middle lies between the two comparisons
                t0, d0 = track.last_favour_t, track.last_diff
                track.flip_t = t0 + (t - t0) * (-d0 / (diff - d0)) if diff != d0 else t
        track.favour, track.last_favour_t, track.last_diff = favour, t, diff
        if abs(diff) < rules.door_margin_db:
            # too close to call: no side
            if favour != track.streak_side:
                track.streak_side, track.streak = None, 0
            return None
        heard_both = min(inside, outside) > floor
        if favour != track.streak_side:
            track.streak_side, track.streak, track.streak_t = favour, 1, t
        elif heard_both or t > track.streak_t + _SAME_TIME_S:
            track.streak, track.streak_t = track.streak + 1, t
        if favour != track.confirmed:
            track.best_diff = max(track.best_diff, abs(diff))
        if favour == track.confirmed:
            return None
        sure = abs(diff) >= rules.door_sure_margin_db and heard_both
        # (a side not heard at all is no sure loss: both its antennas may have missed)
        if track.streak < rules.door_confirm and not sure:
            return None
        before = track.confirmed
        track.confirmed = favour
        if before is None:
            if track.hint is not None and track.hint != favour:
                # first heard on the other side, though not clearly: where it came from
                return self._crossing(track, track.hint, favour, t)
            track.best_diff = 0.0
            track.flip_t = None
            return None
        return self._crossing(track, before, favour, t)

    def _crossing(self, track: _Track, before: Side, after: Side, t: float) -> _Crossing | None:
        rules = self.rules
        crossed = track.flip_t if track.flip_t is not None else t
        track.flip_t = None
        claimed, track.claimed = track.claimed, False
        best_diff, track.best_diff = track.best_diff, 0.0
        out, ins = track.stats["outside"], track.stats["inside"]
        direction: Direction = "inbound" if before == "outside" else "outbound"
        arrived = track.stats[after].strong_since
        if arrived is not None and t - arrived > rules.door_rise_s:
            # the side it is now on has heard it well, without a break, for long: a tag
            # parked where both sides hear it alike, whose comparison noise flipped; not a
            # crossing (a tag that came close and turned back before crossing has a break)
            track.claimed = claimed
            return None
        evidence = PassageEvidence(out.evidence(), ins.evidence())
        track.stats = {"outside": _SideStats(), "inside": _SideStats()}
        track.crossed = (direction, crossed)
        if claimed:
            return None
        peaks = (out.peak, ins.peak)
        if any(p is None or p < rules.door_min_peak_dbm for p in peaks):
            return None
        peak = max(p for p in peaks if p is not None)
        if self._outshone(track, peak, crossed):
            return None
        weaker = min(p if p is not None else rules.door_floor_dbm for p in peaks)
        confidence = passage_confidence(min(out.reads, ins.reads), weaker, best_diff, rules)
        return _Crossing(track, direction, crossed, t, evidence, confidence)

    def _outshone(self, track: _Track, peak: float, crossed: float) -> bool:
        """Another door heard this tag much more strongly around the same time."""
        rules = self.rules
        for door in self._by_epc.get(track.epc, ()):
            if door == track.door:
                continue
            rival = self._tracks.get((track.epc, door))
            if rival is None or rival.last < crossed - rules.door_hold_s:
                continue
            peaks = [s.peak for s in rival.stats.values() if s.peak is not None]
            peaks.extend(sample[3] for sample in rival.samples)
            if peaks and max(peaks) >= peak + rules.door_rival_margin_db:
                return True
        return False

    # -- grouping ------------------------------------------------------------------------

    def _publish(self, crossing: _Crossing) -> list[Passage]:
        epc = crossing.track.epc
        if is_pallet(epc):
            return [self._pallet_passage(crossing)]
        if is_case(epc):
            if self._pallet_near(crossing) is None:
                self._waiting.append(crossing)
            # else: it crossed with a pallet whose passage is out already (a late case)
            return []
        return [_passage(crossing, ())]

    def _pallet_near(self, case: _Crossing) -> str | None:
        """The pallet whose passage, already published, this case crossed with."""
        for door, direction, t, epc in self._recent:
            if (
                door == case.track.door
                and direction == case.direction
                and abs(t - case.time) <= self.rules.group_window_s
            ):
                return epc
        return None

    def _pallet_passage(self, pallet: _Crossing) -> Passage:
        rules = self.rules
        door, window = pallet.track.door, rules.group_window_s
        origin: Side = "outside" if pallet.direction == "inbound" else "inside"
        cases: list[str] = []
        still: list[_Crossing] = []
        for waiting in self._waiting:
            if (
                waiting.track.door == door
                and waiting.direction == pallet.direction
                and abs(waiting.time - pallet.time) <= window
            ):
                cases.append(waiting.track.epc)
            else:
                still.append(waiting)
        self._waiting = still
        taken = set(cases)
        for (epc, track_door), track in self._tracks.items():
            if track_door != door or epc in taken or not is_case(epc) or track.claimed:
                continue
            if track.last < pallet.time - window or track.first > pallet.time + window:
                continue
            peak = max(
                (st.peak for st in track.stats.values() if st.peak is not None), default=None
            )
            if track.crossed is None and (peak is None or peak < rules.door_min_peak_dbm):
                continue  # only weak reads here: strays of a case at another door
            if peak is not None and self._outshone(track, peak, pallet.time):
                continue  # heard much better at another door meanwhile
            if track.confirmed not in (origin, None):
                crossed = track.crossed
                if crossed is None or crossed[0] != pallet.direction:
                    continue
                if abs(crossed[1] - pallet.time) > window:
                    continue
            else:
                # not across yet: it goes with the pallet if the door began hearing both
                # together (a case parked at the door, on a staged pallet, began long before)
                if abs(track.first - pallet.track.first) > window:
                    continue
                track.claimed = True  # its own crossing, when it comes, is this one
            cases.append(epc)
        self._recent.append((door, pallet.direction, pallet.time, pallet.track.epc))
        return _passage(pallet, tuple(sorted(cases)))

    # -- time ----------------------------------------------------------------------------

    def tick(self, now: float) -> list[Passage]:
        """Lone case passages whose wait is over; tracks the door stopped hearing end."""
        rules = self.rules
        out: list[Passage] = []
        for track in list(self._tracks.values()):
            door_time = self._door_time.get(track.door, -math.inf)
            quiet_since = track.last + rules.door_hold_s
            if door_time > quiet_since or now > quiet_since + rules.report_lag_s:
                crossing = self._last_word(track)
                self._end(track)
                if crossing is not None:
                    out.extend(self._publish(crossing))
        still: list[_Crossing] = []
        for waiting in self._waiting:
            door_time = self._door_time.get(waiting.track.door, -math.inf)
            due = waiting.found_at + rules.lone_case_wait_s
            if door_time >= due or now >= due + rules.report_lag_s:
                out.append(_passage(waiting, ()))
            else:
                still.append(waiting)
        self._waiting = still
        while (
            self._recent
            and self._recent[0][2] < now - 4 * rules.group_window_s - rules.report_lag_s
        ):
            self._recent.popleft()
        return out

    def _last_word(self, track: _Track) -> _Crossing | None:
        """A track that ends with the tag on its way to the other side: the last strong
        reads were the other side's, after the first side's had stopped, and that side
        heard it about as well as the first did. (A tag leaving the field just past the
        middle may give too few comparisons to confirm it; a tag parked well inside one
        side, whose last reads were the other side's back lobe while the near antennas
        missed it, is not on its way: its far side's best is far below its near side's.)"""
        rules = self.rules
        before = track.confirmed
        if before is None or track.favour is None or track.favour == before:
            return None
        after = track.favour
        there, here = track.stats[after].strong_last, track.stats[before].strong_last
        if there is None or (here is not None and there <= here + rules.door_window_s / 2):
            return None
        best_there, best_here = track.stats[after].peak, track.stats[before].peak
        if best_there is None or (
            best_here is not None and best_there < best_here - rules.door_sure_margin_db
        ):
            return None
        track.confirmed = after
        return self._crossing(track, before, after, track.last_favour_t)

    def _end(self, track: _Track) -> None:
        self._tracks.pop((track.epc, track.door), None)
        doors = self._by_epc.get(track.epc)
        if doors is not None:
            doors.discard(track.door)
            if not doors:
                del self._by_epc[track.epc]

    def __len__(self) -> int:
        """Tracks open now (tags some door is hearing)."""
        return len(self._tracks)


def _saturating(x: float, scale: float) -> float:
    return 1.0 - math.exp(-max(0.0, x) / scale)


def passage_confidence(
    fewer_reads: int, weaker_peak_dbm: float, best_margin_db: float, rules: EventRules
) -> float:
    """0..1 from the reads of the side that heard fewer, how far that side's peak clears
    ``door_min_peak_dbm``, and by how much the tag got clear of the other side."""
    reads = _saturating(fewer_reads, 3.0)
    signal = _saturating(weaker_peak_dbm - rules.door_min_peak_dbm + 1.0, 6.0)
    clear = _saturating(best_margin_db - rules.door_margin_db + 1.0, 6.0)
    return round(reads * (0.5 + 0.5 * signal) * (0.5 + 0.5 * clear), 3)


def _passage(crossing: _Crossing, cases: tuple[str, ...]) -> Passage:
    return Passage(
        door=crossing.track.door,
        direction=crossing.direction,
        time=_utc(crossing.time),
        epc=crossing.track.epc,
        cases=cases,
        confidence=crossing.confidence,
        evidence=crossing.evidence,
    )
