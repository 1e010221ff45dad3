"""Score the edge event core against the simulated world's ground truth, offline.

Drives the pure world and radio model (no TCP, no sllurp): every inventory round
each reader asks the world what each antenna hears, reads what its throughput allows
(:class:`~firmware_sim.llrp_inventory.Singulation`), folds the sightings into report
entries the way a reader does (per tag and antenna: first and last seen, peak RSSI,
count) and every report interval hands them to the :class:`~edge.events.EventCore`
as :class:`~edge.reads.TagRead`; the core is ticked every ``--tick-ms``. Reader
phases are staggered. ``silent``/``drop`` faults mute a reader; the core is told
after ``--detect`` seconds, as the agent would. Then it compares with the truth:
passages found, direction, wrong door, false passages (each put down to its cause:
a turn-back, a staged pallet, a case not grouped with its pallet ...), pallet cases
grouped, zone right 2 s after put-away, departure time error, event latency.

    .venv/bin/python bench/bench_events_replay.py --scenario dock-rush --minutes 60 \\
        --miss 0.1 --stray 0.5 --seeds 1 2 3 --report-ms 100

The cadence is given in wall time at ``--speed`` (default 10), as the simulated
readers and the edge run it: a round every ``--round-ms`` (the simulated readers'
100 ms), a report every ``--report-ms`` (the edge's LLRP report interval, 250 ms
unless set), a tick every ``--tick-ms``; each is that times the speed in simulated
time. Passage latency is split into what the reads needed (the last read the core
had when it decided, after the true crossing), what the report cadence added (that
read waiting for its report) and what the core's own timers added (the decision
after the report came).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.events import EventCore, EventRules, Passage, ReaderStatus, ZoneEvent, ZoneEventKind
from edge.reads import TagRead
from firmware_sim.llrp_inventory import Singulation
from firmware_sim.world import WarehouseWorld, load_scenario
from firmware_sim.world.faults import FaultAction, FaultKind
from firmware_sim.world.truth import TruthEvent
from protocols.layout import Layout, load_layout

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC).timestamp()
MATCH_S = 5.0
"""A passage matches a truth crossing of its EPC and door this close in time."""
TAIL_S = 15.0
"""Crossings, turn-backs and stays in the last this much of a run are not counted: the
core may decide them after the run's end (a track's last word waits for the door to
fall quiet). Passages are counted up to ``MATCH_S`` earlier still."""
EPS = 1e-9


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass(frozen=True)
class Cadence:
    """Reader rounds, reader reports and core ticks, in wall milliseconds at ``speed``."""

    speed: float = 10.0
    round_ms: float = 100.0
    report_ms: float = 250.0
    tick_ms: float = 100.0

    @property
    def round_s(self) -> float:
        return self.round_ms / 1000.0 * self.speed

    @property
    def rounds_per_report(self) -> int:
        """A reader reports at the end of the round that completes the report interval
        (sllurp's report timeout is an AISpec stop trigger, checked after each round)."""
        return max(1, math.ceil(self.report_ms / self.round_ms - 1e-9))

    @property
    def report_s(self) -> float:
        """Simulated seconds between a reader's reports."""
        return self.rounds_per_report * self.round_s

    @property
    def tick_s(self) -> float:
        return self.tick_ms / 1000.0 * self.speed

    def describe(self) -> str:
        return (
            f"speed {self.speed:g}: round {self.round_ms:g} ms, report {self.report_ms:g} ms "
            f"(every {self.rounds_per_report} rounds), tick {self.tick_ms:g} ms wall "
            f"(simulated {self.round_s:g} / {self.report_s:g} / {self.tick_s:g} s)"
        )


@dataclass
class Decided:
    event: ZoneEvent | Passage
    at: float
    """Simulated time the core decided it."""
    via: str
    """What call decided it: ``feed`` (a report), ``tick`` or ``status``."""


@dataclass
class Run:
    truth: list[TruthEvent] = field(default_factory=list)
    decided: list[Decided] = field(default_factory=list)
    reads: int = 0
    core_s: float = 0.0
    """CPU time spent in the core (feed and tick)."""


def replay(
    layout: Layout,
    scenario_name: str,
    seed: int,
    seconds: float,
    cadence: Cadence,
    detect_s: float,
    rules: EventRules,
    radio: dict[str, float],
) -> Run:
    scenario = load_scenario(scenario_name)
    if radio:
        scenario = scenario.model_copy(update={"radio": scenario.radio.model_copy(update=radio)})
    run = Run()
    muted: dict[str, bool] = {}
    tell: list[tuple[float, str, ReaderStatus]] = []
    reconnect: list[tuple[float, str]] = []
    clock = {"now": T0}

    def on_fault(action: FaultAction) -> None:
        f = action.fault
        if f.kind in (FaultKind.SILENT, FaultKind.DROP):
            muted[f.target] = action.active
            status = ReaderStatus.SILENT if action.active else ReaderStatus.UP
            delay = detect_s if action.active else 0.0
            if f.kind is FaultKind.DROP and action.active:
                # a drop is reconnected by the edge within a few seconds
                tell.append((clock["now"] + delay, f.target, ReaderStatus.DOWN))
                tell.append((clock["now"] + 3.0, f.target, ReaderStatus.UP))
                muted[f.target] = True
                reconnect.append((clock["now"] + 3.0, f.target))
                return
            tell.append((clock["now"] + delay, f.target, status))

    world = WarehouseWorld(
        layout, scenario, start=T0, seed=seed, truth=run.truth.append, on_fault=on_fault
    )
    core = EventCore(layout, rules)
    round_s, tick_s, per_report = cadence.round_s, cadence.tick_s, cadence.rounds_per_report
    readers = [(r.id, [a.id for a in r.antennas]) for r in layout.readers]
    tallies: dict[str, dict[tuple[str, int], list[float]]] = {r: {} for r, _ in readers}
    singulation = {r: Singulation(world.radio.reader_reads_per_s) for r, _ in readers}
    """Each reader reads at most the radio's reads a second, as the simulated ones do."""
    phase = {r: (i * 0.37 % 1.0) * round_s for i, (r, _) in enumerate(readers)}
    rounds = dict.fromkeys(phase, 1)
    """Per reader: the number of its next round (rounds are staggered between readers)."""
    ticks = 1
    end = T0 + seconds

    def note(events: Iterable[ZoneEvent | Passage], now: float, via: str) -> None:
        run.decided.extend(Decided(e, now, via) for e in events)

    while True:
        next_round = {r: T0 + phase[r] + k * round_s for r, k in rounds.items()}
        now = min(T0 + ticks * tick_s, *next_round.values())
        if now > end + EPS:
            break
        clock["now"] = now
        world.advance(now)
        for at, reader_id in list(reconnect):
            if now >= at:
                muted[reader_id] = False
                reconnect.remove((at, reader_id))
        for at, reader_id, status in list(tell):
            if now >= at:
                tell.remove((at, reader_id, status))
                note(core.reader_status(reader_id, status, _dt(now)), now, "status")
        for reader_id, antennas in readers:
            if now + EPS < next_round[reader_id]:
                continue
            rounds[reader_id] += 1
            tally = tallies[reader_id]
            if muted.get(reader_id):
                tally.clear()
                continue
            heard = [
                (ant, bytes.fromhex(s.epc_hex), s.rssi_dbm)
                for ant in antennas
                for s in world.sightings(reader_id, ant, now)
            ]
            for ant, epc_bytes, rssi in singulation[reader_id].select(heard, now):
                epc_hex = epc_bytes.hex().upper()
                entry = tally.get((epc_hex, ant))
                if entry is None:
                    tally[(epc_hex, ant)] = [now, now, rssi, 1]
                else:
                    entry[1] = now
                    entry[2] = max(entry[2], rssi)
                    entry[3] += 1
            if (rounds[reader_id] - 1) % per_report:
                continue
            # the report interval is over at the end of this round: the reader reports
            reads = [
                TagRead(reader_id, ant, epc, float(round(v[2])), _dt(v[0]), _dt(v[1]), int(v[3]))
                for (epc, ant), v in tally.items()
            ]
            tally.clear()
            run.reads += len(reads)
            started = time.process_time()
            decided = core.feed(reads, _dt(now))
            run.core_s += time.process_time() - started
            note(decided, now, "feed")
        if now + EPS >= T0 + ticks * tick_s:
            ticks += 1
            started = time.process_time()
            decided = core.tick(_dt(now))
            run.core_s += time.process_time() - started
            note(decided, now, "tick")
    return run


@dataclass
class Truths:
    """The ground truth, indexed for scoring."""

    crossings: list[TruthEvent]
    turnbacks: list[TruthEvent]
    stages: list[TruthEvent]
    pallet_of: dict[str, str]
    """Every EPC (pallet or case) -> its pallet's EPC."""
    crossed: dict[str, list[TruthEvent]]
    """Pallet EPC -> its true crossings."""

    @classmethod
    def index(cls, truth: list[TruthEvent], end: float) -> Truths:
        pallet_of: dict[str, str] = {}
        crossed: dict[str, list[TruthEvent]] = defaultdict(list)
        for t in truth:
            if t.epc is None:
                continue  # the radio line, trucks, orders, faults
            pallet_of[t.epc] = t.epc
            for case in t.extra.get("cases", ()):
                pallet_of[case] = t.epc
            if t.event in ("arrival", "outbound"):
                crossed[t.epc].append(t)
        return cls(
            crossings=[
                t for t in truth if t.event in ("arrival", "outbound") and t.t < end - TAIL_S
            ],
            turnbacks=[t for t in truth if t.event == "turnback" and _until(t) < end - TAIL_S],
            stages=[t for t in truth if t.event == "stage" and _until(t) < end - TAIL_S],
            pallet_of=pallet_of,
            crossed=crossed,
        )


def _until(t: TruthEvent) -> float:
    """A stage's or a turn-back's end (simulated Unix time)."""
    return T0 + float(t.extra["until_s"])


@dataclass
class Score:
    crossings: int = 0
    found: int = 0
    direction_right: int = 0
    wrong_door: int = 0
    passages: int = 0
    false_passages: int = 0
    false_by: Counter[str] = field(default_factory=Counter)
    turnbacks: int = 0
    turnbacks_passed: int = 0
    staged: int = 0
    staged_passed: int = 0
    cases_true: int = 0
    cases_grouped: int = 0
    cases_wrong: int = 0
    """Cases a found passage carried that were not on its pallet."""
    time_err: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    latency_by: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    putaways: int = 0
    zone_right: int = 0
    picks: int = 0
    departed_ok: int = 0
    depart_err: list[float] = field(default_factory=list)
    depart_latency: list[float] = field(default_factory=list)
    arrive_latency: list[float] = field(default_factory=list)
    spurious_departures: int = 0
    misses: list[str] = field(default_factory=list)


def _why_false(p: Passage, truths: Truths, found: set[int]) -> str:
    """What in the truth a passage that matches no true crossing came from (``found``:
    the ids of the true crossings some passage matched)."""
    t = p.time.timestamp()
    pallet = truths.pallet_of.get(p.epc)
    if pallet is None:
        return "unknown tag"
    for tb in truths.turnbacks:
        if tb.epc == pallet and tb.door == p.door and T0 + tb.extra["from_s"] - 1 <= t:
            if t <= _until(tb) + 1:
                return "turn-back"
    for st in truths.stages:
        if st.epc == pallet and st.door == p.door and st.t <= t <= _until(st) + 5:
            return "staged"
    near = [c for c in truths.crossed.get(pallet, ()) if abs(c.t - t) <= MATCH_S]
    if any(c.door != p.door for c in near):
        return "wrong door"
    near = [c for c in near if c.door == p.door]
    if any(c.direction != p.direction for c in near):
        return "backwards"
    near = [c for c in near if c.direction == p.direction]
    if not near:
        return "other"
    if pallet == p.epc:
        return "twice"
    if any(id(c) in found for c in near):
        return "case not grouped"
    return "case of a missed pallet"


def score(run: Run, seconds: float, read_zones: set[str]) -> Score:
    sc = Score()
    end = T0 + seconds
    truths = Truths.index(run.truth, end)
    passages = [(i, d, d.event) for i, d in enumerate(run.decided) if isinstance(d.event, Passage)]
    by_epc: dict[str, list[tuple[int, Decided, Passage]]] = defaultdict(list)
    for i, d, p in passages:
        by_epc[p.epc].append((i, d, p))
    used: set[int] = set()
    found: set[int] = set()
    for truth in truths.crossings:
        sc.crossings += 1
        assert truth.epc is not None
        near = [
            (abs(p.time.timestamp() - truth.t), i, d, p)
            for i, d, p in by_epc.get(truth.epc, ())
            if i not in used and p.door == truth.door
            if abs(p.time.timestamp() - truth.t) <= MATCH_S
        ]
        if not near:
            sc.misses.append(f"missed {truth.event} {truth.epc} {truth.door} at {truth.sim_s:.1f}")
            continue
        _, i, d, p = min(near, key=lambda m: m[0])
        used.add(i)
        found.add(id(truth))
        sc.found += 1
        sc.direction_right += p.direction == truth.direction
        sc.time_err.append(p.time.timestamp() - truth.t)
        sc.latency.append(d.at - truth.t)
        sc.latency_by[d.via].append(d.at - truth.t)
        true_cases = set(truth.extra.get("cases", ()))
        sc.cases_true += len(true_cases)
        sc.cases_grouped += len(true_cases & set(p.cases))
        wrong = set(p.cases) - true_cases
        sc.cases_wrong += len(wrong)
        for case in sorted(wrong)[:1]:
            pallet = truths.pallet_of.get(case)
            crossed = truths.crossed.get(pallet or "", ())
            crossings = [f"{c.door} {c.direction} {c.sim_s:.1f}" for c in crossed]
            sc.misses.append(
                f"case {case} of {pallet} (crossed {crossings}) in {p.epc}'s passage "
                f"{p.door} {p.direction} at {p.time.timestamp() - T0:.1f} (+{len(wrong) - 1})"
            )
    counted = [
        (i, p) for i, _d, p in passages if p.time.timestamp() <= end - TAIL_S - MATCH_S
    ]  # (a passage later than that may match a truth past the end crossings are counted to)
    for i, p in counted:
        sc.passages += 1
        if i in used:
            continue
        sc.false_passages += 1
        why = _why_false(p, truths, found)
        sc.false_by[why] += 1
        sc.wrong_door += why == "wrong door"
        if len(sc.misses) < 80:
            sc.misses.append(
                f"false ({why}) {p.direction} {p.epc} {p.door} at {p.time.timestamp() - T0:.1f} "
                f"conf {p.confidence} ev {p.evidence.outside.reads}/{p.evidence.inside.reads} "
                f"{p.evidence.outside.peak_rssi_dbm}/{p.evidence.inside.peak_rssi_dbm}"
            )
    for tb in truths.turnbacks:
        sc.turnbacks += 1
        lo, hi = T0 + tb.extra["from_s"] - 1, _until(tb) + 1
        sc.turnbacks_passed += any(
            truths.pallet_of.get(p.epc) == tb.epc and p.door == tb.door
            for _i, p in counted
            if lo <= p.time.timestamp() <= hi
        )
    for st in truths.stages:
        sc.staged += 1
        lo, hi = st.t, _until(st) + 5
        sc.staged_passed += any(
            truths.pallet_of.get(p.epc) == st.epc and p.door == st.door
            for _i, p in counted
            if lo <= p.time.timestamp() <= hi
        )
    _score_zones(sc, run, end, read_zones)
    return sc


def _score_zones(sc: Score, run: Run, end: float, read_zones: set[str]) -> None:
    # timeline of each pallet's zone by decision time
    timeline: dict[str, list[tuple[float, str | None, ZoneEvent]]] = defaultdict(list)
    for d in run.decided:
        e = d.event
        if isinstance(e, ZoneEvent) and e.epc.startswith("31"):
            zone = (
                e.zone
                if e.kind in (ZoneEventKind.ARRIVED, ZoneEventKind.MOVED, ZoneEventKind.PRESENT)
                else None
            )
            timeline[e.epc].append((d.at, zone, e))

    def zone_at(epc: str, t: float) -> str | None:
        zone = None
        for at, z, _ in timeline.get(epc, ()):
            if at > t:
                break
            zone = z
        return zone

    for truth in run.truth:
        if truth.epc is None or truth.t > end - 5:
            continue
        if truth.event in ("putaway", "pack") and truth.zone in read_zones:
            sc.putaways += 1
            ok = zone_at(truth.epc, truth.t + 2.0) == truth.zone
            sc.zone_right += ok
            if not ok and len(sc.misses) < 100:
                sc.misses.append(
                    f"zone {truth.event} {truth.epc} {truth.zone} at {truth.sim_s:.1f}: "
                    f"{[(round(a - T0, 1), z) for a, z, _ in timeline.get(truth.epc, ())]}"
                )
            for at, _z, e in timeline.get(truth.epc, ()):
                if e.kind is ZoneEventKind.ARRIVED and abs(e.time.timestamp() - truth.t) < 5:
                    sc.arrive_latency.append(at - truth.t)
                    break
        if truth.event == "pick":
            sc.picks += 1
            for at, _z, e in timeline.get(truth.epc, ()):
                if e.kind is ZoneEventKind.DEPARTED and e.zone == truth.zone:
                    if abs(e.time.timestamp() - truth.t) <= 5:
                        sc.departed_ok += 1
                        sc.depart_err.append(e.time.timestamp() - truth.t)
                        sc.depart_latency.append(at - truth.t)
                        break
    picks = defaultdict(list)
    for truth in run.truth:
        if truth.event == "pick" and truth.epc:
            picks[truth.epc].append(truth.t)
    for epc, events in timeline.items():
        for _at, _z, e in events:
            if e.kind is ZoneEventKind.DEPARTED:
                if not any(abs(e.time.timestamp() - t) <= 5 for t in picks.get(epc, ())):
                    sc.spurious_departures += 1


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.2f}% ({a}/{b})" if b else "n/a"


def _quantile(xs: list[float], q: float) -> float:
    """The nearest-rank quantile: the smallest value with at least ``q`` of them at or below."""
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def _p95(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"p50 {_quantile(xs, 0.5):+.2f} s, p95 {_quantile(xs, 0.95):+.2f} s"


def report(sc: Score, verbose: bool) -> list[str]:
    causes = ", ".join(f"{why} {n}" for why, n in sc.false_by.most_common()) or "none"
    via = "; ".join(f"{what} {len(xs)}: {_p95(xs)}" for what, xs in sorted(sc.latency_by.items()))
    lines = [
        f"passages found        {_pct(sc.found, sc.crossings)}",
        f"direction right       {_pct(sc.direction_right, sc.found)}",
        f"wrong-door passages   {sc.wrong_door}",
        f"false passages        {_pct(sc.false_passages, sc.passages)}",
        f"  of them             {causes}",
        f"turn-backs passed     {_pct(sc.turnbacks_passed, sc.turnbacks)}",
        f"staged, passed again  {_pct(sc.staged_passed, sc.staged)}",
        f"cases grouped         {_pct(sc.cases_grouped, sc.cases_true)}",
        f"  not its cases       {sc.cases_wrong}",
        f"passage time error    {_p95([abs(x) for x in sc.time_err])}",
        f"passage latency       {_p95(sc.latency)}",
        f"  decided by          {via}",
        f"zone right +2 s       {_pct(sc.zone_right, sc.putaways)}",
        f"arrival latency       {_p95(sc.arrive_latency)}",
        f"picks departed        {_pct(sc.departed_ok, sc.picks)}",
        f"departure time error  {_p95([abs(x) for x in sc.depart_err])}",
        f"departure latency     {_p95(sc.depart_latency)}",
        f"spurious departures   {sc.spurious_departures}",
    ]
    if verbose:
        lines += sc.misses[:100]
    return lines


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="dock-rush")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--speed", type=float, default=10.0, help="simulated seconds per wall second")
    ap.add_argument("--round-ms", type=float, default=100.0, help="reader round, wall ms")
    ap.add_argument("--report-ms", type=float, default=250.0, help="report interval, wall ms")
    ap.add_argument("--tick-ms", type=float, default=100.0, help="core tick, wall ms")
    ap.add_argument("--detect", dest="detect_s", type=float, default=15.0)
    ap.add_argument("--miss", type=float, default=None, help="radio miss_rate")
    ap.add_argument("--stray", type=float, default=None, help="radio stray_read_rate")
    ap.add_argument("--rule", action="append", default=[], help="EventRules field=value")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(list(argv) if argv is not None else None)
    radio: dict[str, Any] = {}
    if args.miss is not None:
        radio["miss_rate"] = args.miss
    if args.stray is not None:
        radio["stray_read_rate"] = args.stray
    changes: dict[str, Any] = {}
    for item in args.rule:
        name, _, value = item.partition("=")
        changes[name] = float(value)
    rules = dataclasses.replace(EventRules(), **changes)
    cadence = Cadence(args.speed, args.round_ms, args.report_ms, args.tick_ms)
    layout = load_layout(None)
    print(f"cadence: {cadence.describe()}")
    for seed in args.seeds:
        run = replay(
            layout,
            args.scenario,
            seed,
            args.minutes * 60,
            cadence,
            args.detect_s,
            rules,
            radio,
        )
        print(f"== {args.scenario} seed {seed}: {args.minutes:g} min, {run.reads} tag reads")
        per_read = 1e6 * run.core_s / max(1, run.reads)
        print(f"  core CPU              {run.core_s:.1f} s, {per_read:.1f} us per report entry")
        read_zones = {r.zone for r in layout.readers if r.zone is not None}
        for line in report(score(run, args.minutes * 60, read_zones), args.verbose):
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
