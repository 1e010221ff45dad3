"""The figures of a scored run: the cloud's conclusions against the ground truth. Pure.

``docs/accuracy.md`` states the method; the rules in short:

- Only truth events inside the *scored window* count: after a warm-up from the
  run's start (while the parts connect) and before the run's end minus a margin
  (a crossing cut off by the end cannot be concluded). Cloud passages count when
  their ``time`` is inside the window too.
- A door crossing (truth ``arrival`` or ``outbound``) is *found* by the cloud
  passage of the same EPC at the same door nearest in time within ``window_s``;
  each passage finds at most one crossing. Direction right: of the found, those
  with the truth's direction.
- Every other cloud passage is *false*, with a cause: ``wrong-door`` (the pallet
  truly crossed another door then), ``turn-back`` (it approached this door and
  turned back), ``staged`` (it stood staged inside this door), ``duplicate`` (a
  second passage of one crossing), ``case`` (the EPC is a case, not a pallet),
  ``unknown-epc`` (in no truth line), ``other``.
- Zone right, per ``putaway``: replay the pallet's zone events stored
  (``stored_at``) up to the put-away + ``zone_after_s``, in time order; right when
  they leave the pallet in the truth's zone.
- Latency: ``stored_at`` minus the true time, for found crossings (the true time
  is the door's middle) and for put-aways (the first zone event placing the
  pallet in its zone).
- Departures: a ``departed`` of a pallet the truth still has in that zone
  ``window_s`` later is false; those stamped during a zone-reader outage (truth
  ``fault`` of a zone's reader: ``silent`` and ``antenna`` from start to end,
  ``drop`` for ``drop_down_s``), or up to ``window_s`` after it, must be none.
- The warehouse figures (the WMS's pallets and alerts against the truth's pallets
  and the workers' mistakes) are decided in :mod:`rfidwms.scoring.warehouse`; the
  pick routes against the naive order are reported as the WMS states them.
- The cycle count figures (the WMS's count variances against the truth's shrinkage
  and reader outages) are decided in :mod:`rfidwms.scoring.variances`, when the
  variances were read.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rfidwms.scoring.inputs import (
    MOVES,
    AlertItem,
    CloudPassage,
    Crossing,
    Outage,
    RouteStats,
    StockPallet,
    Truth,
    VarianceItem,
    Weight,
    ZoneEvent,
)
from rfidwms.scoring.variances import VarianceScore, score_variances
from rfidwms.scoring.warehouse import FIELDS, WarehouseScore, score_warehouse

PLACING = ("arrived", "moved", "present")
"""Zone event kinds that put a tag in their ``zone``; the others take it out of any."""


@dataclass(frozen=True, slots=True)
class ScoreOptions:
    window_s: float = 5.0
    """A cloud passage finds a crossing of its EPC and door this close in time."""
    warmup_s: float = 120.0
    """Truth events this soon after the run's start are not scored."""
    margin_s: float = 60.0
    """Nor those this close to the run's end."""
    zone_after_s: float = 2.0
    """Zone right is judged this long after each put-away."""
    drop_down_s: float = 60.0
    """A dropped reader counts as down this long (a drop has no end line)."""
    end: float | None = None
    """The run's end (simulated Unix time); default: the truth's last line."""
    examples: int = 5
    """Misses listed per kind."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure: ``value`` (None when nothing was scored) over ``n`` events."""

    name: str
    value: float | None
    unit: str
    n: int
    need: str | None = None
    """The issue's requirement (``>= 99.9``, ``<= 2``, ``== 0``); None: for information."""

    def ok(self) -> bool | None:
        """Whether the requirement holds (None without one; False when nothing was scored)."""
        if self.need is None:
            return None
        if self.value is None:
            return False
        op, limit = self.need.split()
        bound = float(limit)
        if op == ">=":
            return self.value >= bound
        if op == "<=":
            return self.value <= bound
        return self.value == bound


@dataclass(frozen=True, slots=True)
class Miss:
    """One thing the cloud got wrong, with what an engineer needs to look it up."""

    what: str
    epc: str
    t: float
    door: str | None = None
    zone: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    start: float
    end: float
    window: tuple[float, float]
    options: ScoreOptions
    truth_kinds: dict[str, int]
    """Every truth event kind in the file, with its count."""
    scored_kinds: dict[str, int]
    """Truth events of each scored kind inside the window (``fault``: outages)."""
    cloud_counts: dict[str, int]
    figures: list[Figure]
    false_causes: dict[str, int]
    miss_counts: dict[str, int]
    misses: list[Miss]
    """The first ``options.examples`` misses of each kind, in the order found."""
    replayed_kinds: dict[str, int] = field(default_factory=dict)
    """Truth event kinds replayed for the pallets at the end, with their count."""
    pallets: dict[str, int] = field(default_factory=dict)
    """The pallets at the end: in the warehouse, judged, moving, shipped ..."""
    mistakes: dict[str, dict[str, int]] = field(default_factory=dict)
    """The truth's mistakes by kind: ``scored``, ``not scored`` (their pallet reached
    no door or scale in the window) and ``unknown`` (kinds the scorer does not know)."""
    route: RouteStats | None = None
    """The WMS's pick routes against the naive order (None: not served)."""

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)

    def failures(self) -> list[Figure]:
        """The figures whose requirement does not hold."""
        return [f for f in self.figures if f.ok() is False]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile by nearest rank (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def match_crossings(
    crossings: Sequence[Crossing], passages: Sequence[CloudPassage], window_s: float
) -> dict[int, int]:
    """Crossing index -> passage index: same EPC and door within ``window_s``, the
    pairs nearest in time first, each crossing and each passage at most once."""
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for j, p in enumerate(passages):
        by_key[(p.epc, p.door)].append(j)
    pairs: list[tuple[float, int, int]] = []
    for i, c in enumerate(crossings):
        for j in by_key.get((c.epc, c.door), ()):
            dt = abs(passages[j].time - c.t)
            if dt <= window_s:
                pairs.append((dt, i, j))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in matched and j not in used:
            matched[i] = j
            used.add(j)
    return matched


def false_cause(p: CloudPassage, truth: Truth, window_s: float) -> str:
    """Why a passage that found no crossing is there (see the module docstring)."""
    w = window_s
    near = [c for c in truth.crossings if c.epc == p.epc and abs(c.t - p.time) <= w]
    if any(c.door != p.door for c in near):
        return "wrong-door"
    for s in truth.stays:
        if s.epc == p.epc and s.door == p.door and s.begin - w <= p.time <= s.end + w:
            return "turn-back" if s.kind == "turnback" else "staged"
    if near:
        return "duplicate"
    if p.epc in truth.case_epcs:
        return "case"
    if p.epc not in truth.places:
        return "unknown-epc"
    return "other"


def zone_after(events: Sequence[ZoneEvent], deadline: float) -> str | None:
    """The zone that the events stored by ``deadline`` leave a tag in (time order)."""
    zone: str | None = None
    for e in sorted((e for e in events if e.stored_at <= deadline), key=lambda e: e.time):
        zone = e.zone if e.kind in PLACING else None
    return zone


class _Misses:
    def __init__(self, examples: int) -> None:
        self.examples = examples
        self.counts: Counter[str] = Counter()
        self.listed: list[Miss] = []

    def add(self, m: Miss) -> None:
        self.counts[m.what] += 1
        if self.counts[m.what] <= self.examples:
            self.listed.append(m)


def score(
    truth: Truth,
    passages: Sequence[CloudPassage],
    zone_events: Sequence[ZoneEvent],
    weights: Sequence[Weight],
    options: ScoreOptions | None = None,
    *,
    pallets: Sequence[StockPallet] = (),
    alerts: Sequence[AlertItem] = (),
    route: RouteStats | None = None,
    variances: Sequence[VarianceItem] | None = None,
) -> Report:
    """Compare the cloud's conclusions with the truth (see the module docstring):
    ``pallets`` are the WMS's stock read after the run, ``alerts`` its
    ``mis_shipment`` and ``weight_mismatch`` alerts, ``route`` its route stats,
    ``variances`` its count variances (None: not read, no cycle count figures)."""
    o = options or ScoreOptions()
    w = o.window_s
    end = truth.end if o.end is None else o.end
    lo, hi = truth.start + o.warmup_s, end - o.margin_s
    misses = _Misses(o.examples)

    def inside(t: float) -> bool:
        return lo <= t <= hi

    # Passages: found, direction, cases, latency; the false ones by cause.
    matched = match_crossings(truth.crossings, passages, w)
    scored = [i for i, c in enumerate(truth.crossings) if inside(c.t)]
    found = [i for i in scored if i in matched]
    right_way = [i for i in found if passages[matched[i]].direction == truth.crossings[i].direction]
    cases_right = [i for i in found if passages[matched[i]].cases == truth.crossings[i].cases]
    latency = [passages[matched[i]].stored_at - truth.crossings[i].t for i in found]
    for i in scored:
        c = truth.crossings[i]
        if i not in matched:
            misses.add(Miss("missed passage", c.epc, c.t, door=c.door, detail=c.direction))
        elif (said := passages[matched[i]].direction) != c.direction:
            detail = f"cloud: {said}, true: {c.direction}"
            misses.add(Miss("wrong direction", c.epc, c.t, door=c.door, detail=detail))
    used = set(matched.values())
    considered = [j for j, p in enumerate(passages) if inside(p.time)]
    causes: Counter[str] = Counter()
    for j in (j for j in considered if j not in used):
        p = passages[j]
        cause = false_cause(p, truth, w)
        causes[cause] += 1
        detail = f"{cause}, {p.direction}"
        misses.add(Miss("false passage", p.epc, p.time, door=p.door, detail=detail))

    # Zones: right zone_after_s after each put-away; latency to the event placing it.
    by_epc: dict[str, list[ZoneEvent]] = defaultdict(list)
    for e in zone_events:
        by_epc[e.epc].append(e)
    puts = [p for p in truth.putaways if inside(p.t)]
    zone_right = 0
    put_latency: list[float] = []
    for put in puts:
        events = by_epc.get(put.epc, [])
        concluded = zone_after(events, put.t + o.zone_after_s)
        if concluded == put.zone:
            zone_right += 1
        else:
            detail = f"cloud: {concluded}"
            misses.add(Miss("zone wrong", put.epc, put.t, zone=put.zone, detail=detail))
        placing = [
            e for e in events if e.kind in PLACING and e.zone == put.zone and e.time >= put.t - w
        ]
        if placing:
            put_latency.append(min(placing, key=lambda e: e.time).stored_at - put.t)

    # Departures of pallets the truth still has there; those during reader outages.
    outages = [x for x in truth.outages(o.drop_down_s) if x.end + w >= lo and x.begin <= hi]

    def down(zone: str | None, t: float) -> Outage | None:
        return next((x for x in outages if x.zone == zone and x.begin <= t <= x.end + w), None)

    departures = [e for e in zone_events if e.kind == "departed" and inside(e.time)]
    went_unknown = {
        (e.epc, e.zone or e.from_zone, e.time) for e in zone_events if e.kind == "unknown"
    }
    false_departures = 0
    while_down: set[str] = set()
    for e in departures:
        zone = e.zone or e.from_zone
        if zone is None or truth.zone_at(e.epc, e.time + w) != zone:
            continue
        outage = down(zone, e.time)
        if (
            outage is not None
            and (e.epc, zone, e.time) in went_unknown
            and truth.zone_at(e.epc, outage.end + w) != zone
        ):
            # unknown since its last read before the outage, and departed at that read
            # once the reader was back: right if it left meanwhile
            continue
        false_departures += 1
        if outage is not None:
            while_down.add(e.epc)
            what, detail = "departed while reader down", f"{outage.target} {outage.fault}"
        else:
            what, detail = "false departure", ""
        misses.add(Miss(what, e.epc, e.time, zone=zone, detail=detail))
    unknown_while_down = sum(
        1 for e in zone_events if e.kind == "unknown" and down(e.zone or e.from_zone, e.time)
    )

    # Weights: the cloud's weight of each pallet put on a scale.
    weighs = [x for x in truth.weighs if inside(x.t)]
    weight_errors: list[float] = []
    for x in weighs:
        near = [
            abs(g.weight_kg - x.weight_kg)
            for g in weights
            if g.scale == x.scale and g.epc == x.epc and x.t - w <= g.time <= x.until + w
        ]
        if near:
            weight_errors.append(min(near))
        else:
            misses.add(Miss("weight missing", x.epc, x.t, detail=x.scale))

    def add_miss(
        what: str, epc: str, t: float, door: str | None, zone: str | None, detail: str
    ) -> None:
        misses.add(Miss(what, epc, t, door, zone, detail))

    wms = score_warehouse(
        truth,
        pallets,
        alerts,
        end=end,
        window=(lo, hi),
        margin_s=o.margin_s,
        window_s=w,
        miss=add_miss,
    )

    counted = (
        None
        if variances is None
        else score_variances(truth, variances, outages, window=(lo, hi), grace_s=w, miss=add_miss)
    )

    shrinkage_kinds = {
        k: sum(1 for e in truth.shrinkage if e.kind == k and inside(e.t))
        for k in ("vanish", "misplace")
    }

    n_false = sum(causes.values())
    figures = [
        Figure("passages found", _share(len(found), len(scored)), "%", len(scored), ">= 99.9"),
        Figure("direction right", _share(len(right_way), len(found)), "%", len(found), ">= 99.9"),
        Figure("wrong-door passages", causes["wrong-door"], "", len(considered), "== 0"),
        Figure("false passages", _share(n_false, len(considered)), "%", len(considered), "<= 0.1"),
        Figure("cases right", _share(len(cases_right), len(found)), "%", len(found)),
        Figure("zone right", _share(zone_right, len(puts)), "%", len(puts), ">= 99.5"),
        Figure("p95 passage latency", percentile(latency, 95), "s", len(latency), "<= 2"),
        Figure("p95 put-away latency", percentile(put_latency, 95), "s", len(put_latency), "<= 2"),
        Figure("false departures", false_departures, "", len(departures)),
        Figure(
            "pallets departed, reader down",
            len(while_down),
            "",
            len(outages),
            "== 0" if outages else None,
        ),
        Figure("unknown events, reader down", unknown_while_down, "", len(outages)),
        Figure("weights found", _share(len(weight_errors), len(weighs)), "%", len(weighs)),
        Figure("p95 weight error", percentile(weight_errors, 95), "kg", len(weight_errors)),
        *warehouse_figures(wms, route, len(pallets)),
        *([] if counted is None else variance_figures(counted, len(outages))),
    ]
    crossings = [truth.crossings[i] for i in scored]
    return Report(
        start=truth.start,
        end=end,
        window=(lo, hi),
        options=o,
        truth_kinds=dict(sorted(truth.kinds.items())),
        scored_kinds={
            "arrival": sum(1 for c in crossings if c.direction == "inbound"),
            "outbound": sum(1 for c in crossings if c.direction == "outbound"),
            "putaway": len(puts),
            "stage": sum(1 for s in truth.stays if s.kind == "stage" and inside(s.t)),
            "turnback": sum(1 for s in truth.stays if s.kind == "turnback" and inside(s.t)),
            "weigh": len(weighs),
            "fault": len(outages),
            "mistake": sum(wms.mistakes.values()),
            **({} if counted is None else shrinkage_kinds),
        },
        cloud_counts={
            "passages": len(passages),
            "passages in window": len(considered),
            "zone events": len(zone_events),
            "weights": len(weights),
            "pallets": len(pallets),
            "alerts": len(alerts),
            **({} if variances is None else {"variances": len(variances)}),
        },
        figures=figures,
        false_causes=dict(sorted(causes.items())),
        miss_counts=dict(sorted(misses.counts.items())),
        misses=misses.listed,
        replayed_kinds={k: n for k, n in sorted(truth.kinds.items()) if k in MOVES},
        pallets={"judged": wms.judged, **dict(sorted(wms.pallets.items()))},
        mistakes={
            "scored": dict(sorted(wms.mistakes.items())),
            "not scored": dict(sorted(wms.mistakes_unscored.items())),
            "unknown": dict(sorted(wms.unknown_kinds.items())),
        },
        route=route,
    )


def warehouse_figures(wms: WarehouseScore, route: RouteStats | None, listed: int) -> list[Figure]:
    """The warehouse figures from what :func:`score_warehouse` counted; ``listed``: the
    pallets the WMS listed. The mistakes' requirements apply when there were some."""
    ms, mc = wms.mis_shipments, wms.missing_cases
    figures = [
        Figure("pallets right", _share(wms.right, wms.judged), "%", wms.judged, ">= 99.9"),
        *(
            Figure(f"pallets: {f} right", _share(wms.field_right[f], wms.judged), "%", wms.judged)
            for f in FIELDS
        ),
        Figure("shipped pallets in stock", wms.shipped_in_stock, "", wms.shipped, "== 0"),
        Figure("mis-shipped pallets in stock", wms.mis_shipped_in_stock, "", wms.mis_shipped),
        Figure("pallets unknown to the truth", wms.unknown_in_stock, "", listed),
        Figure("vanished pallets in stock", wms.vanished_in_stock, "", wms.vanished),
        Figure(
            "mis-shipments alerted",
            _share(wms.mis_shipments_alerted, ms),
            "%",
            ms,
            "== 100" if ms else None,
        ),
        Figure(
            "right shipments alerted",
            wms.right_shipments_alerted,
            "",
            wms.right_shipments,
            "== 0",
        ),
        Figure("other mis_shipment alerts", wms.other_mis_shipment_alerts, "", wms.mis_alerts),
        Figure(
            "missing cases alerted",
            _share(wms.missing_cases_alerted, mc),
            "%",
            mc,
            "== 100" if mc else None,
        ),
    ]
    orders = route.orders if route is not None else 0
    ratio = (
        100.0 * route.route_m / route.naive_route_m
        if route is not None and route.naive_route_m > 0
        else None
    )
    saving = 100.0 * route.mean_saving if route is not None and route.orders else None
    figures += [
        Figure("pick route vs naive", ratio, "%", orders),
        Figure("mean route saving", saving, "%", orders),
    ]
    return figures


def variance_figures(counted: VarianceScore, outages: int) -> list[Figure]:
    """The cycle count figures from what :func:`score_variances` counted; ``outages``:
    the zone-reader outages scored. Their requirements apply when there were some."""
    n = counted.shrinkage
    return [
        Figure(
            "shrinkage found as variance within 5 min",
            _share(counted.found, n),
            "%",
            n,
            "== 100" if n else None,
        ),
        Figure(
            "variances in zones whose reader was down",
            counted.while_down,
            "",
            counted.variances,
            "== 0" if outages else None,
        ),
        Figure("false variances", counted.false, "", counted.variances),
    ]
