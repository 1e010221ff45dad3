"""Score the edge event core against the simulated world's ground truth, offline.

Drives the pure world and radio model (no TCP, no sllurp): every ``--round`` of
simulated time each reader asks the world what each antenna hears, folds the
sightings into report entries the way a reader does (per tag and antenna: first
and last seen, peak RSSI, count) and every ``--report`` hands them to the
:class:`~edge.events.EventCore` as :class:`~edge.reads.TagRead`. Reader phases
are staggered. ``silent``/``drop`` faults mute a reader; the core is told after
``--detect`` seconds, as the agent would. Then it compares with the truth:
passages found, direction, wrong door, false passages, pallet cases grouped,
zone right 2 s after put-away, departure time error, event latency.

    .venv/bin/python bench/bench_events_replay.py --scenario dock-rush --minutes 60 \\
        --miss 0.1 --stray 0.5 --seeds 1 2 3

Defaults model ``--speed 10``: a round each simulated second, a report every 2.5 s
(sllurp's 250 ms report timeout times ten). ``--round 0.1 --report 0.25`` is speed 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.events import EventCore, EventRules, Passage, ReaderStatus, ZoneEvent, ZoneEventKind
from edge.reads import TagRead
from firmware_sim.world import WarehouseWorld, load_scenario
from firmware_sim.world.faults import FaultAction, FaultKind
from firmware_sim.world.truth import TruthEvent
from protocols.layout import Layout, load_layout

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC).timestamp()
MATCH_S = 5.0
"""A passage matches a truth crossing of its EPC and door this close in time."""


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass
class Decided:
    event: ZoneEvent | Passage
    at: float
    """Simulated time the core decided it."""


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
    round_s: float,
    report_s: float,
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

    reconnect: list[tuple[float, str]] = []
    world = WarehouseWorld(
        layout, scenario, start=T0, seed=seed, truth=run.truth.append, on_fault=on_fault
    )
    core = EventCore(layout, rules)
    readers = [(r.id, [a.id for a in r.antennas]) for r in layout.readers]
    tallies: dict[str, dict[tuple[str, int], list[float]]] = {r: {} for r, _ in readers}
    phase = {r: (i * 0.37 * report_s) % report_s for i, (r, _) in enumerate(readers)}
    next_report = {r: T0 + phase[r] + report_s for r, _ in readers}
    steps = int(seconds / round_s)
    for k in range(1, steps + 1):
        now = T0 + k * round_s
        clock["now"] = now
        world.advance(now)
        for at, reader_id in list(reconnect):
            if now >= at:
                muted[reader_id] = False
                reconnect.remove((at, reader_id))
        for reader_id, antennas in readers:
            if muted.get(reader_id):
                tallies[reader_id].clear()
                continue
            tally = tallies[reader_id]
            for ant in antennas:
                for s in world.sightings(reader_id, ant, now):
                    entry = tally.get((s.epc_hex, ant))
                    if entry is None:
                        tally[(s.epc_hex, ant)] = [now, now, s.rssi_dbm, 1]
                    else:
                        entry[1] = now
                        entry[2] = max(entry[2], s.rssi_dbm)
                        entry[3] += 1
        for at, reader_id, status in list(tell):
            if now >= at:
                tell.remove((at, reader_id, status))
                for e in core.reader_status(reader_id, status, _dt(now)):
                    run.decided.append(Decided(e, now))
        for reader_id, _ in readers:
            if now + 1e-9 < next_report[reader_id]:
                continue
            next_report[reader_id] += report_s
            tally = tallies[reader_id]
            reads = [
                TagRead(reader_id, ant, epc, float(round(v[2])), _dt(v[0]), _dt(v[1]), int(v[3]))
                for (epc, ant), v in tally.items()
            ]
            tally.clear()
            run.reads += len(reads)
            started = time.process_time()
            decided = core.feed(reads, _dt(now))
            run.core_s += time.process_time() - started
            run.decided.extend(Decided(e, now) for e in decided)
        started = time.process_time()
        decided = core.tick(_dt(now))
        run.core_s += time.process_time() - started
        run.decided.extend(Decided(e, now) for e in decided)
    return run


@dataclass
class Score:
    crossings: int = 0
    found: int = 0
    direction_right: int = 0
    wrong_door: int = 0
    passages: int = 0
    false_passages: int = 0
    lone_cases: int = 0
    cases_true: int = 0
    cases_grouped: int = 0
    time_err: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    putaways: int = 0
    zone_right: int = 0
    picks: int = 0
    departed_ok: int = 0
    depart_err: list[float] = field(default_factory=list)
    depart_latency: list[float] = field(default_factory=list)
    arrive_latency: list[float] = field(default_factory=list)
    spurious_departures: int = 0
    departed_in_outage: int = 0
    misses: list[str] = field(default_factory=list)


def score(run: Run, seconds: float, read_zones: set[str]) -> Score:
    sc = Score()
    end = T0 + seconds
    crossings = [t for t in run.truth if t.event in ("arrival", "outbound") and t.t < end - MATCH_S]
    passages = [d for d in run.decided if isinstance(d.event, Passage)]
    used: set[int] = set()
    by_epc: dict[str, list[tuple[int, Decided]]] = defaultdict(list)
    for i, d in enumerate(passages):
        assert isinstance(d.event, Passage)
        by_epc[d.event.epc].append((i, d))
    for truth in crossings:
        sc.crossings += 1
        assert truth.epc is not None
        match = None
        for i, d in by_epc.get(truth.epc, ()):
            p = d.event
            assert isinstance(p, Passage)
            if i not in used and abs(p.time.timestamp() - truth.t) <= MATCH_S:
                if p.door != truth.door:
                    sc.wrong_door += 1
                    used.add(i)
                    continue
                match = (i, d)
                break
        if match is None:
            sc.misses.append(f"missed {truth.event} {truth.epc} {truth.door} at {truth.sim_s}")
            continue
        i, d = match
        used.add(i)
        p = d.event
        assert isinstance(p, Passage)
        sc.found += 1
        sc.direction_right += p.direction == truth.direction
        sc.time_err.append(p.time.timestamp() - truth.t)
        sc.latency.append(d.at - truth.t)
        true_cases = set(truth.extra.get("cases", ()))
        sc.cases_true += len(true_cases)
        sc.cases_grouped += len(true_cases & set(p.cases))
    for i, d in enumerate(passages):
        p = d.event
        assert isinstance(p, Passage)
        if p.time.timestamp() > end - 2 * MATCH_S:
            continue  # its truth may lie past the end the crossings are counted to
        sc.passages += 1
        if i not in used:
            sc.false_passages += 1
            sc.lone_cases += not p.epc.startswith("31")
            if len(sc.misses) < 40:
                sc.misses.append(
                    f"false {p.direction} {p.epc} {p.door} at {p.time.timestamp() - T0:.1f} "
                    f"conf {p.confidence} ev {p.evidence.outside.reads}/{p.evidence.inside.reads} "
                    f"{p.evidence.outside.peak_rssi_dbm}/{p.evidence.inside.peak_rssi_dbm}"
                )
    # zones: timeline of each pallet's zone by decision time
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
            if not ok and len(sc.misses) < 60:
                sc.misses.append(
                    f"zone {truth.event} {truth.epc} {truth.zone} at {truth.sim_s}: "
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
    return sc


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.2f}% ({a}/{b})" if b else "n/a"


def _p95(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    xs = sorted(xs)
    return f"p50 {statistics.median(xs):+.2f} s, p95 {xs[int(0.95 * (len(xs) - 1))]:+.2f} s"


def report(sc: Score, verbose: bool) -> list[str]:
    lines = [
        f"passages found        {_pct(sc.found, sc.crossings)}",
        f"direction right       {_pct(sc.direction_right, sc.found)}",
        f"wrong-door passages   {sc.wrong_door}",
        f"false passages        {_pct(sc.false_passages, sc.passages)}",
        f"  of them lone cases  {sc.lone_cases}",
        f"cases grouped         {_pct(sc.cases_grouped, sc.cases_true)}",
        f"passage time error    {_p95([abs(x) for x in sc.time_err])}",
        f"passage latency       {_p95(sc.latency)}",
        f"zone right +2 s       {_pct(sc.zone_right, sc.putaways)}",
        f"arrival latency       {_p95(sc.arrive_latency)}",
        f"picks departed        {_pct(sc.departed_ok, sc.picks)}",
        f"departure time error  {_p95([abs(x) for x in sc.depart_err])}",
        f"departure latency     {_p95(sc.depart_latency)}",
        f"spurious departures   {sc.spurious_departures}",
    ]
    if verbose:
        lines += sc.misses[:60]
    return lines


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="dock-rush")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--round", dest="round_s", type=float, default=1.0)
    ap.add_argument("--report", dest="report_s", type=float, default=2.5)
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
    changes = {}
    for item in args.rule:
        name, _, value = item.partition("=")
        changes[name] = float(value)
    rules = dataclasses.replace(EventRules(), **changes)
    layout = load_layout(None)
    for seed in args.seeds:
        run = replay(
            layout,
            args.scenario,
            seed,
            args.minutes * 60,
            args.round_s,
            args.report_s,
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
