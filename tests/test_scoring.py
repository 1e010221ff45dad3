"""The scorer on constructed truth and API data: matching, causes, zones, outages, figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from protocols.epc import Sscc96
from rfidwms.scoring import (
    CloudPassage,
    Crossing,
    Miss,
    Report,
    ScoreInputError,
    ScoreOptions,
    Truth,
    ZoneEvent,
    false_cause,
    match_crossings,
    pallet_at,
    parse_alerts,
    parse_pallets,
    parse_passages,
    parse_route_stats,
    parse_truth,
    parse_weights,
    parse_zone_events,
    percentile,
    score,
    zone_after,
)

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
START = T0.timestamp()
P1, P2, P3, P4, P5 = (f"3074257BF7194E4000000{i:03X}" for i in range(1, 6))
C1 = "3034257BF7194E4000000A01"


def iso(sim_s: float) -> str:
    return (T0 + timedelta(seconds=sim_s)).isoformat().replace("+00:00", "Z")


def line(sim_s: float, event: str, epc: str | None = None, **fields: Any) -> dict[str, Any]:
    core = {k: fields.pop(k, None) for k in ("door", "direction", "zone")}
    return {"t": iso(sim_s), "sim_s": sim_s, "event": event, "epc": epc, **core, **fields}


def passage(
    sim_s: float, door: str, direction: str, epc: str, *, delay: float = 1.0, cases: Any = ()
) -> dict[str, Any]:
    return {
        "time": iso(sim_s),
        "door": door,
        "direction": direction,
        "epc": epc,
        "cases": list(cases),
        "confidence": 0.9,
        "stored_at": iso(sim_s + delay),
        "edge_id": "edge-1",
    }


def zone_event(
    sim_s: float, kind: str, epc: str, zone: str | None, *, delay: float = 0.5, **more: Any
) -> dict[str, Any]:
    return {
        "time": iso(sim_s),
        "kind": kind,
        "epc": epc,
        "zone": zone,
        "from_zone": more.get("from_zone"),
        "stored_at": iso(sim_s + delay),
    }


def crossing_pass(
    sim_s: float, epc: str, door: str = "door-1", direction: str = "inbound"
) -> CloudPassage:
    return CloudPassage(START + sim_s, door, direction, epc, START + sim_s + 1, frozenset())


# ---------------------------------------------------------------------- truth


def test_truth_gives_start_end_crossings_stays_putaways_and_places() -> None:
    truth = parse_truth(
        [
            line(0, "radio", stray_doors={}, zone_bleed={}),
            line(0, "stock", P1, zone="zone-a", cases=[C1]),
            line(50, "arrival", P2, door="door-1", direction="inbound", cases=[]),
            line(54, "stage", P2, door="door-1", zone="staging", until_s=90),
            line(70, "turnback", P3, door="door-2", direction="outbound", from_s=66, until_s=74),
            line(120, "putaway", P2, zone="zone-b"),
            line(130, "pick", P1, zone="zone-a", order="order-0001"),
            line(160, "pack", P1, zone="packing", order="order-0001"),
        ]
    )
    assert truth.start == START and truth.end == START + 160
    assert truth.kinds["stock"] == 1 and sum(truth.kinds.values()) == 8
    assert truth.crossings == [Crossing(START + 50, P2, "door-1", "inbound", frozenset())]
    assert [(s.kind, s.begin - START, s.end - START) for s in truth.stays] == [
        ("stage", 54, 90),
        ("turnback", 66, 74),
    ]
    assert [(p.epc, p.zone) for p in truth.putaways] == [(P2, "zone-b")]
    assert C1 in truth.case_epcs
    # where P1 and P2 are: on the shelf, then moving, then packing; door, staging, shelf
    at = truth.zone_at
    assert [at(P1, START + s) for s in (0, 129, 130, 159, 160)] == [
        "zone-a",
        "zone-a",
        None,
        None,
        "packing",
    ]
    assert [at(P2, START + s) for s in (10, 50, 60, 119, 120)] == [
        None,
        None,
        "staging",
        "staging",
        "zone-b",
    ]


def test_truth_that_starts_mid_file_takes_its_start_from_sim_s() -> None:
    truth = parse_truth([line(600, "putaway", P1, zone="zone-a")])
    assert truth.start == START


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"sim_s": 0, "event": "stock"}, r"truth line 1\.t: None is not an ISO-8601 time"),
        ({"t": "noon", "sim_s": 0, "event": "x"}, r"truth line 1\.t: 'noon' is not an ISO"),
        ({"t": "2025-01-06T08:00:00", "sim_s": 0, "event": "x"}, "has no time zone"),
        ({"t": iso(0), "sim_s": "0", "event": "x"}, r"truth line 1\.sim_s: '0' is not a number"),
        (line(5, "arrival", P1, direction="inbound"), r"truth line 1\.door: missing"),
        (line(5, "putaway", None, zone="zone-a"), r"truth line 1\.epc: missing"),
        (line(5, "weigh", P1, scale="scale-1", weight_kg="heavy"), r"weight_kg: 'heavy'"),
        (line(5, "arrival", P1, door="door-1", direction="inbound", cases=[1]), r"\.cases"),
    ],
)
def test_a_truth_line_that_cannot_be_read_is_refused_naming_line_and_field(
    record: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScoreInputError, match=message):
        parse_truth([record])


def test_an_empty_truth_is_refused() -> None:
    with pytest.raises(ScoreInputError, match="no lines"):
        parse_truth([])


def fault(
    sim_s: float, target: str, kind: str, phase: str, zone: str | None, spec: str
) -> dict[str, Any]:
    door = None if zone else "door-2"
    return line(sim_s, "fault", target=target, fault=kind, phase=phase, spec=spec, value=None,
                zone=zone, door=door)  # fmt: skip


def test_outages_are_zone_reader_faults_that_silence_it_with_their_spans() -> None:
    truth = parse_truth(
        [
            line(0, "stock", P1, zone="zone-a"),
            fault(60, "reader-zone-a", "silent", "start", "zone-a", "reader-zone-a:silent@1m+90s"),
            fault(150, "reader-zone-a", "silent", "end", "zone-a", "reader-zone-a:silent@1m+90s"),
            fault(180, "reader-door-2", "drop", "start", None, "reader-door-2:drop@3m"),  # door
            fault(
                200, "reader-zone-b", "antenna", "start", "zone-b", "reader-zone-b:antenna=2@200s"
            ),
            fault(300, "reader-zone-b", "skew", "start", "zone-b", "reader-zone-b:skew=-9s@300s"),
            fault(480, "reader-zone-c", "drop", "start", "zone-c", "reader-zone-c:drop@8m"),
            line(600, "pick", P1, zone="zone-a"),
        ]
    )
    spans = [(o.target, o.fault, o.begin - START, o.end - START) for o in truth.outages(60)]
    assert spans == [
        ("reader-zone-a", "silent", 60, 150),
        ("reader-zone-b", "antenna", 200, 600),  # no end line: to the end of the run
        ("reader-zone-c", "drop", 480, 540),
    ]


# ---------------------------------------------------------------------- cloud items


def test_api_items_are_read_with_upper_case_epcs() -> None:
    (p,) = parse_passages([passage(50, "door-1", "inbound", P1.lower(), cases=[C1.lower()])])
    assert (p.epc, p.cases, p.time, p.stored_at) == (P1, {C1}, START + 50, START + 51)
    (z,) = parse_zone_events([zone_event(60, "departed", P1, None, from_zone="zone-a")])
    assert (z.kind, z.zone, z.from_zone) == ("departed", None, "zone-a")
    (w,) = parse_weights(
        [{"time": iso(7), "scale": "scale-1", "weight_kg": 412.5, "epc": None, "stored_at": iso(8)}]
    )
    assert (w.weight_kg, w.epc) == (412.5, None)


@pytest.mark.parametrize(
    ("parse", "item", "message"),
    [
        (parse_passages, {**passage(1, "door-1", "in", P1)}, r"passages\[0\]\.direction: 'in'"),
        (parse_passages, {**passage(1, "door-1", "inbound", P1), "time": 5}, r"\.time: 5"),
        (parse_passages, {**passage(1, "door-1", "inbound", P1), "door": ""}, r"\.door: ''"),
        (parse_passages, {**passage(1, "door-1", "inbound", P1), "cases": "x"}, r"\.cases"),
        (parse_zone_events, zone_event(1, "left", P1, "zone-a"), r"zone-events\[0\]\.kind"),
        (parse_zone_events, {**zone_event(1, "moved", P1, "z"), "stored_at": None}, "stored_at"),
        (parse_weights, {"time": iso(1), "scale": "s", "weight_kg": None}, r"weights\[0\]\.w"),
    ],
)
def test_an_api_item_that_cannot_be_read_is_refused_naming_item_and_field(
    parse: Any, item: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScoreInputError, match=message):
        parse([item])


# ---------------------------------------------------------------------- rules


def test_percentile_is_by_nearest_rank() -> None:
    assert percentile([], 95) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([2.0, 1.0], 95) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([float(i) for i in range(1, 21)], 95) == 19.0


CROSSINGS = [
    Crossing(START + 100, P1, "door-1", "inbound", frozenset()),
    Crossing(START + 400, P1, "door-1", "outbound", frozenset()),
    Crossing(START + 100, P2, "door-2", "inbound", frozenset()),
]


@pytest.mark.parametrize(
    ("passages", "expected"),
    [
        ([crossing_pass(101, P1)], {0: 0}),
        ([crossing_pass(105, P1)], {0: 0}),  # the window's edge is in
        ([crossing_pass(105.1, P1)], {}),  # just beyond it is out
        ([crossing_pass(101, P1, door="door-2")], {}),  # another door
        ([crossing_pass(101, P2, door="door-2")], {2: 0}),
        ([crossing_pass(103, P1), crossing_pass(100.5, P1)], {0: 1}),  # the nearer one
        ([crossing_pass(99, P1), crossing_pass(401, P1, direction="outbound")], {0: 0, 1: 1}),
        ([crossing_pass(101, P1, direction="outbound")], {0: 0}),  # direction is judged later
    ],
)
def test_a_crossing_is_found_by_the_nearest_passage_of_its_epc_and_door(
    passages: list[CloudPassage], expected: dict[int, int]
) -> None:
    assert match_crossings(CROSSINGS, passages, 5.0) == expected


CAUSE_TRUTH = parse_truth(
    [
        line(0, "stock", P4, zone="zone-a", cases=[C1]),
        line(100, "arrival", P1, door="door-1", direction="inbound"),
        line(104, "stage", P1, door="door-1", zone="staging", until_s=200),
        line(300, "turnback", P2, door="door-3", direction="outbound", from_s=296, until_s=304),
        line(320, "outbound", P2, door="door-3", direction="outbound"),
    ]
)


@pytest.mark.parametrize(
    ("p", "cause"),
    [
        (crossing_pass(101, P1, door="door-2"), "wrong-door"),
        (crossing_pass(150, P1, door="door-1"), "staged"),  # parked inside the door
        (crossing_pass(204, P1, door="door-1", direction="outbound"), "staged"),
        (crossing_pass(299, P2, door="door-3", direction="outbound"), "turn-back"),
        (crossing_pass(322, P2, door="door-3", direction="outbound"), "duplicate"),
        (crossing_pass(50, C1, door="door-4"), "case"),
        (crossing_pass(50, P5, door="door-4"), "unknown-epc"),
        (crossing_pass(500, P4, door="door-4"), "other"),
    ],
)
def test_a_false_passage_gets_its_cause(p: CloudPassage, cause: str) -> None:
    assert false_cause(p, CAUSE_TRUTH, 5.0) == cause


def ev(sim_s: float, kind: str, zone: str | None, stored: float | None = None) -> ZoneEvent:
    stored_at = START + (sim_s + 0.5 if stored is None else stored)
    return ZoneEvent(START + sim_s, kind, P1, zone, None, stored_at)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        ([ev(10, "arrived", "zone-a")], "zone-a"),
        ([ev(10, "arrived", "zone-a"), ev(20, "moved", "zone-b")], "zone-b"),
        ([ev(10, "arrived", "zone-a"), ev(20, "departed", "zone-a")], None),
        ([ev(10, "arrived", "zone-a"), ev(20, "unknown", "zone-a")], None),
        ([ev(10, "present", "zone-c")], "zone-c"),
        ([ev(10, "arrived", "zone-a"), ev(20, "moved", "zone-b", stored=31)], "zone-a"),  # late
        ([ev(20, "moved", "zone-b", stored=21), ev(10, "arrived", "zone-a", stored=29)], "zone-b"),
    ],
)
def test_a_tags_zone_is_the_replay_of_its_events_stored_by_then(
    events: list[ZoneEvent], expected: str | None
) -> None:
    assert zone_after(events, START + 30) == expected


# ---------------------------------------------------------------------- a whole run


ITEM = "00614141000012"
C2, C3 = "3034257BF7194E4000000A02", "3034257BF7194E4000000A03"


def run_truth() -> list[dict[str, Any]]:
    return [
        line(0, "stock", P4, zone="zone-a"),
        line(0, "stock", P5, zone="zone-a", sku=ITEM, lot="L5", cases=[C2, C3]),
        line(30, "arrival", P3, door="door-1", direction="inbound"),  # during the warm-up
        line(
            200, "arrival", P1, door="door-1", direction="inbound", cases=[C1], sku=ITEM, lot="L1"
        ),
        line(204, "stage", P1, door="door-1", zone="staging", until_s=240),
        line(210, "arrival", P2, door="door-2", direction="inbound"),
        line(260, "putaway", P1, zone="zone-b"),
        line(270, "putaway", P2, zone="zone-c"),
        line(300, "turnback", P3, door="door-3", direction="outbound", from_s=296, until_s=304),
        line(320, "outbound", P3, door="door-3", direction="outbound"),
        line(330, "arrival", P2, door="door-4", direction="inbound"),  # P2 again (made up)
        fault(400, "reader-zone-a", "silent", "start", "zone-a", "reader-zone-a:silent@400s+60s"),
        fault(460, "reader-zone-a", "silent", "end", "zone-a", "reader-zone-a:silent@400s+60s"),
        line(500, "pick", P5, zone="zone-a"),
        line(700, "weigh", P5, zone="packing", scale="scale-1", weight_kg=400.0, until_s=712),
        line(1000, "arrival", P4, door="door-1", direction="inbound"),  # within the end margin
        line(1030, "putaway", P4, zone="zone-a"),
    ]


def run_passages() -> list[dict[str, Any]]:
    return [
        passage(31, "door-1", "inbound", P3),  # warm-up: neither found nor false
        passage(200.5, "door-1", "inbound", P1, delay=1.5, cases=[C1]),
        passage(230, "door-1", "outbound", P1),  # false: staged
        passage(211, "door-2", "outbound", P2, delay=3.0),  # found, wrong direction
        passage(211, "door-1", "inbound", P2),  # wrong door
        passage(299, "door-3", "outbound", P3),  # false: turn-back
        passage(321, "door-3", "outbound", P3, delay=0.5),  # found
        # P2's door-4 crossing at 330 is missed
        passage(1001, "door-1", "inbound", P4),  # end margin: not counted
    ]


def run_zone_events() -> list[dict[str, Any]]:
    return [
        zone_event(1, "present", P4, "zone-a"),
        zone_event(1, "present", P5, "zone-a"),
        zone_event(260.5, "arrived", P1, "zone-b", delay=0.5),  # right, latency 1.0
        zone_event(270.5, "arrived", P2, "zone-b", delay=0.5),  # wrong zone
        zone_event(405, "unknown", P4, "zone-a"),  # reader down: unknown, as it should be
        zone_event(420, "departed", P5, "zone-a"),  # reader down: a false departure
        zone_event(502, "departed", P5, "zone-a"),  # truly picked at 500: right
        zone_event(600, "departed", P4, "zone-a"),  # still there, reader up: false departure
    ]


def run_weights() -> list[dict[str, Any]]:
    return [
        {"time": iso(706), "scale": "scale-1", "weight_kg": 401.5, "epc": P5, "stored_at": iso(707)}
    ]


def scored_run(**options: Any) -> Report:
    return score(
        parse_truth(run_truth()),
        parse_passages(run_passages()),
        parse_zone_events(run_zone_events()),
        parse_weights(run_weights()),
        ScoreOptions(**{"warmup_s": 120, "margin_s": 60, **options}),
    )


def test_a_run_is_scored_inside_its_window_with_every_figure() -> None:
    report = scored_run()
    assert report.window == (START + 120, START + 1030 - 60)
    figures = {f.name: (f.value, f.n) for f in report.figures}
    assert figures["passages found"] == (pytest.approx(100 * 3 / 4), 4)
    assert figures["direction right"] == (pytest.approx(100 * 2 / 3), 3)
    assert figures["wrong-door passages"] == (1, 6)
    assert figures["false passages"] == (pytest.approx(100 * 3 / 6), 6)
    assert figures["cases right"] == (pytest.approx(100), 3)
    assert figures["zone right"] == (pytest.approx(50), 2)
    assert figures["p95 passage latency"] == (pytest.approx(4.0), 3)  # 2.0, 4.0, 1.5
    assert figures["p95 put-away latency"] == (pytest.approx(1.0), 1)
    assert figures["false departures"] == (2, 3)
    assert figures["pallets departed, reader down"] == (1, 1)
    assert figures["unknown events, reader down"] == (1, 1)
    assert figures["weights found"] == (pytest.approx(100), 1)
    assert figures["p95 weight error"] == (pytest.approx(1.5), 1)
    assert report.false_causes == {"staged": 1, "turn-back": 1, "wrong-door": 1}
    assert report.scored_kinds == {
        "arrival": 3,
        "outbound": 1,
        "putaway": 2,
        "stage": 1,
        "turnback": 1,
        "weigh": 1,
        "fault": 1,
        "mistake": 0,
    }
    assert report.truth_kinds["arrival"] == 5 and report.truth_kinds["fault"] == 2
    assert report.cloud_counts == {
        "passages": 8,
        "passages in window": 6,
        "zone events": 8,
        "weights": 1,
        "pallets": 0,
        "alerts": 0,
    }
    failing = {f.name for f in report.failures()}
    assert failing == {
        "passages found",
        "direction right",
        "wrong-door passages",
        "false passages",
        "zone right",
        "p95 passage latency",
        "pallets departed, reader down",
        "pallets right",  # the WMS listed no pallet
    }


def test_misses_name_epc_door_zone_and_time() -> None:
    report = scored_run()
    listed = {(m.what, m.epc, m.t - START, m.door, m.zone, m.detail) for m in report.misses}
    assert ("missed passage", P2, 330, "door-4", None, "inbound") in listed
    assert ("wrong direction", P2, 210, "door-2", None, "cloud: outbound, true: inbound") in listed
    assert ("false passage", P2, 211, "door-1", None, "wrong-door, inbound") in listed
    assert ("zone wrong", P2, 270, None, "zone-c", "cloud: zone-b") in listed
    assert ("departed while reader down", P5, 420, None, "zone-a", "reader-zone-a silent") in listed
    assert ("false departure", P4, 600, None, "zone-a", "") in listed
    assert report.miss_counts["false passage"] == 3


def test_only_the_first_misses_of_each_kind_are_listed_but_all_are_counted() -> None:
    report = scored_run(examples=1)
    assert report.miss_counts["false passage"] == 3
    assert sum(1 for m in report.misses if m.what == "false passage") == 1


def test_a_longer_warm_up_leaves_early_events_unscored() -> None:
    report = scored_run(warmup_s=250)
    assert (report.scored_kinds["arrival"], report.scored_kinds["outbound"]) == (1, 1)
    assert report.figure("passages found").value == 50.0  # P3 at door-3 found, P2 missed


def test_zone_right_is_judged_two_seconds_after_the_put_away() -> None:
    # P1's arrival stored 1.0 s after the put-away: right; with only 0.5 s allowed: wrong
    assert scored_run().figure("zone right").value == pytest.approx(50)
    assert scored_run(zone_after_s=0.5).figure("zone right").value == 0.0


def test_a_cloud_that_concluded_the_truth_meets_every_requirement() -> None:
    truth = parse_truth(run_truth())
    passages = parse_passages(
        [
            passage((c.t - START) + 0.2, c.door, c.direction, c.epc, cases=c.cases)
            for c in truth.crossings
        ]
    )
    zones = parse_zone_events(
        [zone_event(p.t - START + 0.3, "arrived", p.epc, p.zone) for p in truth.putaways]
        + [zone_event(405, "unknown", P4, "zone-a"), zone_event(502, "departed", P5, "zone-a")]
    )
    # the WMS's stock at the end: P1 put away in zone-b, P5 on the scale in packing
    # (P2 and P4 moved, P3 shipped)
    stock = parse_pallets(
        [
            {"epc": epc, "sscc": sscc, "sku": ITEM, "lot": lot, "expiry": None, "zone": zone,
             "state": "available", "cases": cases}
            for epc, sscc, lot, zone, cases in [
                (P1, "006141410000000011", "L1", "zone-b", 1),
                (P5, "006141410000000059", "L5", "packing", 2),
            ]
        ]
    )  # fmt: skip
    report = score(
        truth, passages, zones, parse_weights(run_weights()), ScoreOptions(), pallets=stock
    )
    assert report.failures() == []
    assert report.figure("pallets right").value == 100.0
    assert report.figure("passages found").value == 100.0
    assert report.figure("false passages").value == 0.0
    assert report.figure("pallets departed, reader down").value == 0
    assert report.figure("p95 passage latency").value == pytest.approx(1.2)


def test_nothing_scored_fails_the_requirements_rather_than_passing_them() -> None:
    truth = parse_truth(
        [line(0, "stock", P1, zone="zone-a"), line(3600, "pick", P1, zone="zone-a")]
    )
    report = score(truth, [], [], [], ScoreOptions())
    assert report.figure("passages found").value is None
    names = {f.name for f in report.failures()}
    assert {"passages found", "zone right", "p95 passage latency"} <= names
    # no outage in the run: that requirement does not apply
    assert report.figure("pallets departed, reader down").ok() is None


def test_the_end_of_the_run_can_be_given() -> None:
    truth = parse_truth(run_truth())
    report = score(truth, [], [], [], ScoreOptions(end=START + 3600))
    assert report.window[1] == START + 3540
    assert report.scored_kinds["putaway"] == 3


def test_truth_epcs_match_api_epcs_whatever_their_case() -> None:
    truth: Truth = parse_truth(
        [line(200, "arrival", P1.lower(), door="door-1", direction="inbound")]
    )
    passages = parse_passages([passage(200, "door-1", "inbound", P1)])
    report = score(truth, passages, [], [], ScoreOptions(warmup_s=0, margin_s=0))
    assert report.figure("passages found").value == 100.0


# ---------------------------------------------------------------------- the warehouse


def pallet_ids(n: int) -> tuple[str, str]:
    """(SSCC-96 EPC, SSCC) of warehouse test pallet ``n``."""
    epc = Sscc96(company_prefix="0614141", serial_reference=f"0{n:09d}")
    return epc.to_hex(), epc.sscc


ITEM_1, ITEM_2 = "00614141000012", "00614141000029"
# name -> (n, item, lot, case EPCs)
GOODS = {
    name: (n, ITEM_2 if n % 2 else ITEM_1, f"LOT-{n}",
           [f"3034257BF7194E40{n:02X}0000{i:02X}" for i in range(12)])
    for n, name in enumerate("ABCDEFGHI", start=1)
}  # fmt: skip
EPC = {name: pallet_ids(n)[0] for name, (n, *_) in GOODS.items()}
SSCC = {name: pallet_ids(n)[1] for name, (n, *_) in GOODS.items()}


def pl(sim_s: float, event: str, name: str, *, drop: int = 0, **fields: Any) -> dict[str, Any]:
    """A truth line of pallet ``name`` with its goods (less its first ``drop`` cases)."""
    _, sku, lot, cases = GOODS[name]
    more = {"sscc": SSCC[name], "sku": sku, "lot": lot, "cases": cases[drop:]}
    return line(sim_s, event, EPC[name], **fields, **more)


def mistake(sim_s: float, kind: str, name: str, **fields: Any) -> dict[str, Any]:
    return line(sim_s, "mistake", EPC[name], kind=kind, **fields)


def warehouse_truth() -> list[dict[str, Any]]:
    """A run with a WMS, 3600 s: what happens to pallets A-I (see each line)."""
    return [
        pl(0, "stock", "A", zone="zone-a"),  # stays: judged in zone-a
        pl(0, "stock", "B", zone="zone-a"),  # rightly shipped at door-2
        pl(0, "stock", "C", zone="zone-b"),  # picked instead of another: mis-shipped
        pl(0, "stock", "D", zone="zone-b"),  # a case left behind: weight mismatch, held
        pl(0, "stock", "G", zone="zone-c"),  # picked just before the end
        pl(0, "stock", "H", zone="zone-a"),  # taken to the wrong door
        pl(0, "stock", "I", zone="zone-a"),  # picked instead of another, never shipped
        mistake(100, "dropped", "A", order="SO-000009"),  # a kind the scorer does not know
        pl(1000, "pick", "B", zone="zone-a", order="SO-000001"),
        pl(1030, "pack", "B", zone="packing", order="SO-000001"),
        pl(1050, "weigh", "B", zone="packing", scale="scale-1", weight_kg=400.0, until_s=1058),
        pl(1200, "outbound", "B", door="door-2", direction="outbound", order="SO-000001"),
        mistake(1500, "wrong_pallet", "C", order="SO-000002", door="door-3"),
        pl(1500, "pick", "C", zone="zone-b", order="SO-000002"),
        pl(1530, "pack", "C", zone="packing", order="SO-000002"),
        pl(1700, "outbound", "C", door="door-3", direction="outbound", order="SO-000002"),
        pl(2000, "pick", "D", zone="zone-b", order="SO-000003"),
        mistake(2000, "missing_case", "D", order="SO-000003", case=GOODS["D"][3][0]),
        pl(2030, "pack", "D", drop=1, zone="packing", order="SO-000003"),
        pl(2050, "weigh", "D", drop=1, zone="packing", scale="scale-1", weight_kg=380.0,
           until_s=2058),
        pl(2500, "pick", "H", zone="zone-a", order="SO-000004"),
        pl(2530, "pack", "H", zone="packing", order="SO-000004"),
        mistake(2600, "wrong_door", "H", order="SO-000004", door="door-4"),
        pl(2700, "outbound", "H", door="door-4", direction="outbound", order="SO-000004"),
        pl(3000, "arrival", "E", door="door-1", direction="inbound", truck="truck-0001"),
        mistake(3000, "wrong_pallet", "I", order="SO-000005", door="door-2"),
        pl(3000, "pick", "I", zone="zone-a", order="SO-000005"),
        pl(3020, "putaway", "E", zone="zone-c"),
        pl(3030, "pack", "I", zone="packing", order="SO-000005"),
        pl(3550, "pick", "G", zone="zone-c", order="SO-000006"),
        pl(3570, "pack", "G", zone="packing", order="SO-000006"),
        pl(3580, "arrival", "F", door="door-1", direction="inbound", truck="truck-0002"),
        line(3600, "truck", None, door="door-1", direction="inbound", truck="truck-0003"),
    ]  # fmt: skip


def stock_item(name: str, zone: str, *, cases: int = 12, **more: Any) -> dict[str, Any]:
    _, sku, lot, _ = GOODS[name]
    item = {"epc": EPC[name], "sscc": SSCC[name], "sku": sku, "lot": lot, "expiry": None,
            "zone": zone, "state": "available", "cases": cases}  # fmt: skip
    return {**item, **more}


def wms_stock() -> list[dict[str, Any]]:
    """The WMS's pallets after the run, as they should be."""
    return [
        stock_item("A", "zone-a"),
        stock_item("C", "door-3", state="reserved"),  # mis-shipped: kept at the door
        stock_item("D", "packing", cases=11, state="reserved"),
        stock_item("E", "zone-c"),
        stock_item("G", "zone-c", state="reserved"),  # moved 50 s before the end
        stock_item("H", "door-4", state="reserved"),
        stock_item("I", "packing"),
    ]


def alert_item(
    alert_id: int, kind: str, sim_s: float, subject: str, **detail: Any
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "site": "demo",
        "kind": kind,
        "severity": "critical",
        "subject": subject,
        "message": f"{kind} {subject}",
        "detail": detail,
        "cause": {"kind": "passage", "id": str(alert_id)},
        "status": "open",
        "raised_at": iso(sim_s),
    }


def wms_alerts() -> list[dict[str, Any]]:
    """The WMS's alerts, as they should be."""
    return [
        alert_item(1, "mis_shipment", 1701, SSCC["C"], pallet=SSCC["C"], door="door-3"),
        alert_item(2, "mis_shipment", 2702, SSCC["H"], pallet=SSCC["H"], door="door-4"),
        alert_item(3, "weight_mismatch", 2051, SSCC["D"], pallet=SSCC["D"], scale="scale-1"),
    ]


ROUTE = {"orders": 4, "route_m": 300.0, "naive_route_m": 400.0, "saving": 0.25,
         "mean_saving": 0.2}  # fmt: skip


def warehouse_run(
    stock: list[dict[str, Any]] | None = None,
    alerts: list[dict[str, Any]] | None = None,
    truth: list[dict[str, Any]] | None = None,
    route: dict[str, Any] | None = ROUTE,
    **options: Any,
) -> Report:
    return score(
        parse_truth(warehouse_truth() if truth is None else truth),
        [],
        [],
        [],
        ScoreOptions(**{"warmup_s": 120, "margin_s": 60, **options}),
        pallets=parse_pallets(wms_stock() if stock is None else stock),
        alerts=parse_alerts(wms_alerts() if alerts is None else alerts),
        route=None if route is None else parse_route_stats(route),
    )


WAREHOUSE_MISSES = (
    "pallet wrong", "pallet not in stock", "pallet unknown to the truth",
    "shipped, still in stock", "mis-shipment not alerted", "right shipment alerted",
    "missing case not alerted",
)  # fmt: skip


def wms_misses(report: Report) -> list[Miss]:
    """The warehouse figures' misses (no passages or zone events were given)."""
    return [m for m in report.misses if m.what in WAREHOUSE_MISSES]


def warehouse_figures(report: Report) -> dict[str, tuple[Any, int]]:
    names = (
        "pallets right", "pallets: zone right", "pallets: item right", "pallets: lot right",
        "pallets: cases right", "shipped pallets in stock", "mis-shipped pallets in stock",
        "pallets unknown to the truth", "mis-shipments alerted", "right shipments alerted",
        "other mis_shipment alerts", "missing cases alerted", "pick route vs naive",
        "mean route saving",
    )  # fmt: skip
    return {n: (report.figure(n).value, report.figure(n).n) for n in names}


def test_the_truth_gives_each_pallets_goods_and_the_mistakes() -> None:
    truth = parse_truth(warehouse_truth())
    d = truth.goods[EPC["D"]]
    assert (d.sscc, d.sku, d.lot) == (SSCC["D"], ITEM_2 if 4 % 2 else ITEM_1, "LOT-4")
    # 12 cases; from the mistake on, 11 (the mistake says which case)
    assert [d.cases_at(START + s) for s in (0, 1999, 2000, 2030, 3600)] == [12, 12, 11, 11, 11]
    assert [(m.kind, m.t - START, m.order, m.door) for m in truth.mistakes] == [
        ("dropped", 100, "SO-000009", None),
        ("wrong_pallet", 1500, "SO-000002", "door-3"),
        ("missing_case", 2000, "SO-000003", None),
        ("wrong_door", 2600, "SO-000004", "door-4"),
        ("wrong_pallet", 3000, "SO-000005", "door-2"),
    ]
    assert truth.mistakes[2].cases_missing == 1
    assert [e for _, e, _ in truth.moves[EPC["D"]]] == [
        "stock", "pick", "mistake", "pack", "weigh"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mistake_line", "counts"),
    [
        # the line lists what is left on the pallet: that is its count
        ({"cases": GOODS["D"][3][2:]}, [12, 10]),
        # it names the cases taken off: as many fewer
        ({"case": GOODS["D"][3][:3]}, [12, 9]),
        # it names none: one fewer
        ({}, [12, 11]),
    ],
)
def test_a_missing_case_takes_cases_off_the_pallets_count(
    mistake_line: dict[str, Any], counts: list[int]
) -> None:
    truth = parse_truth(
        [pl(0, "stock", "D", zone="zone-b"), mistake(10, "missing_case", "D", **mistake_line)]
    )
    goods = truth.goods[EPC["D"]]
    assert [goods.cases_at(START + s) for s in (5, 10)] == counts


@pytest.mark.parametrize(
    ("moves", "status", "zone", "since"),
    [
        ([(0, "stock", "zone-a")], "in", "zone-a", 0),
        ([(0, "stock", "zone-a"), (10, "pick", "zone-a")], "moving", None, 10),
        ([(0, "stock", "zone-a"), (10, "pick", "zone-a"), (30, "pack", "packing")], "in",
         "packing", 30),
        ([(0, "arrival", None)], "moving", None, 0),
        ([(0, "arrival", None), (5, "stage", "staging")], "in", "staging", 5),
        ([(0, "arrival", None), (5, "stage", "staging"), (40, "putaway", "zone-b")], "in",
         "zone-b", 40),
        ([(0, "weigh", "packing"), (20, "outbound", None)], "shipped", None, 20),
        ([(0, "weigh", "packing"), (20, "outbound", None), (90, "arrival", None)], "moving",
         None, 90),  # it came back
        ([(0, "stock", "zone-a"), (10, "mistake", "zone-a")], "in", "zone-a", 0),  # no move
        ([(0, "stock", "zone-a"), (70, "pick", "zone-a")], "in", "zone-a", 0),  # after the end
    ],
)  # fmt: skip
def test_where_a_pallet_is_at_the_end_is_the_replay_of_its_moves(
    moves: list[tuple[float, str, str | None]], status: str, zone: str | None, since: float
) -> None:
    timeline = [(START + t, e, z) for t, e, z in moves]
    at = pallet_at(P1, timeline, START + 60 if moves[-1][0] == 70 else START + 100)
    assert (at.status, at.zone, at.since - START) == (status, zone, since)


def test_a_wms_that_kept_true_books_and_alerted_every_mistake_meets_every_requirement() -> None:
    report = warehouse_run()
    figures = warehouse_figures(report)
    assert figures == {
        "pallets right": (100.0, 4),  # A, D, E, I; F moving, G moved 50 s before the end
        "pallets: zone right": (100.0, 4),
        "pallets: item right": (100.0, 4),
        "pallets: lot right": (100.0, 4),
        "pallets: cases right": (100.0, 4),
        "shipped pallets in stock": (0, 1),  # B
        "mis-shipped pallets in stock": (2, 2),  # C and H, kept at their doors
        "pallets unknown to the truth": (0, 7),
        "mis-shipments alerted": (100.0, 2),
        "right shipments alerted": (0, 1),
        "other mis_shipment alerts": (0, 2),
        "missing cases alerted": (100.0, 1),
        "pick route vs naive": (75.0, 4),
        "mean route saving": (pytest.approx(20.0), 4),
    }
    assert report.pallets == {
        "judged": 4,
        "in the warehouse": 6,  # A, D, E, F, G, I
        "moved within the end margin": 1,
        "moving at the end": 1,
    }
    assert report.mistakes == {
        "scored": {"missing_case": 1, "wrong_door": 1, "wrong_pallet": 1},
        "not scored": {"wrong_pallet": 1},  # I never reached a door
        "unknown": {"dropped": 1},
    }
    assert report.scored_kinds["mistake"] == 3
    assert report.replayed_kinds == {
        "arrival": 2, "mistake": 5, "outbound": 3, "pack": 6, "pick": 6, "putaway": 1,
        "stock": 7, "weigh": 2,
    }  # fmt: skip
    warehouse = {f.name for f in report.failures()} & set(figures)
    assert warehouse == set()
    assert wms_misses(report) == []


def without(items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [i for i in items if i.get("epc") != EPC[name]]


@pytest.mark.parametrize(
    ("stock", "changed", "miss"),
    [
        (
            [*without(wms_stock(), "A"), stock_item("A", "zone-b")],
            {"pallets right": 75.0, "pallets: zone right": 75.0},
            ("pallet wrong", "A", 0, "zone-a", "zone: true zone-a, WMS zone-b"),
        ),
        (
            [*without(wms_stock(), "D"), stock_item("D", "packing", cases=12)],
            {"pallets right": 75.0, "pallets: cases right": 75.0},
            ("pallet wrong", "D", 2050, "packing",
             "cases: true 11, WMS 12; alerted: weight_mismatch"),
        ),
        (
            [*without(wms_stock(), "E"), stock_item("E", "zone-c", lot="LOT-X", sku=ITEM_1)],
            {"pallets right": 75.0, "pallets: item right": 75.0, "pallets: lot right": 75.0},
            ("pallet wrong", "E", 3020, "zone-c",
             f"item: true {ITEM_2}, WMS {ITEM_1}; lot: true LOT-5, WMS LOT-X"),
        ),
        (
            without(wms_stock(), "I"),
            {"pallets right": 75.0, "pallets: zone right": 75.0, "pallets: item right": 75.0,
             "pallets: lot right": 75.0, "pallets: cases right": 75.0},
            ("pallet not in stock", "I", 3030, "packing",
             f"not in the WMS's stock; true: packing, item {ITEM_2}, lot LOT-9, 12 cases"),
        ),
        (
            [*wms_stock(), stock_item("B", "door-2", state="reserved")],
            {"shipped pallets in stock": 1},
            ("shipped, still in stock", "B", 1200, None,
             f"WMS: door-2, item {ITEM_1}, lot LOT-2, 12 cases"),
        ),
        (
            # the WMS named a pallet by its SSCC alone, and one the truth never had
            [*without(wms_stock(), "A"), {**stock_item("A", "zone-a"), "epc": None},
             {**stock_item("A", "zone-a"), "epc": None, "sscc": "106141410000000993"}],
            {"pallets unknown to the truth": 1},
            ("pallet unknown to the truth", None, 3600, "zone-a",
             f"WMS: zone-a, item {ITEM_2}, lot LOT-1, 12 cases"),
        ),
    ],
)  # fmt: skip
def test_a_pallet_the_wms_has_otherwise_is_a_miss_naming_what_differed(
    stock: list[dict[str, Any]],
    changed: dict[str, float],
    miss: tuple[str, str | None, float, str | None, str],
) -> None:
    figures = {k: v for k, (v, _) in warehouse_figures(warehouse_run(stock=stock)).items()}
    expected = {k: v for k, (v, _) in warehouse_figures(warehouse_run()).items()}
    assert {k: v for k, v in figures.items() if v != expected[k]} == changed
    report = warehouse_run(stock=stock)
    ((what, epc, t, door, zone, detail),) = [
        (m.what, m.epc, m.t - START, m.door, m.zone, m.detail) for m in wms_misses(report)
    ]
    name, at, in_zone, said = miss[1], miss[2], miss[3], miss[4]
    assert (what, epc, t, zone, detail) == (
        miss[0],
        EPC[name] if name else "106141410000000993",
        at,
        in_zone,
        said,
    )
    assert door == ("door-2" if what == "shipped, still in stock" else None)


@pytest.mark.parametrize(
    ("alerts", "alerted", "right_alerted", "other", "miss"),
    [
        (wms_alerts(), 100.0, 0, 0, None),
        # named by detail.epc only, lower case: still that pallet
        ([alert_item(1, "mis_shipment", 1701, "door-3", epc=EPC["C"].lower()), *wms_alerts()[1:]],
         100.0, 0, 0, None),
        # raised 6 s after the crossing: beyond the window, another alert
        ([alert_item(1, "mis_shipment", 1706, SSCC["C"]), *wms_alerts()[1:]], 50.0, 0, 1,
         ("mis-shipment not alerted", "C", 1700, "door-3", "wrong_pallet, order SO-000002")),
        # of another kind: not a mis-shipment alert
        ([alert_item(1, "wrong_pick", 1701, SSCC["C"]), *wms_alerts()[1:]], 50.0, 0, 0,
         ("mis-shipment not alerted", "C", 1700, "door-3", "wrong_pallet, order SO-000002")),
        # naming another pallet
        ([wms_alerts()[0], alert_item(2, "mis_shipment", 2701, SSCC["A"]), wms_alerts()[2]],
         50.0, 0, 1,
         ("mis-shipment not alerted", "H", 2700, "door-4", "wrong_door, order SO-000004")),
        # the right shipment alerted too
        ([*wms_alerts(), alert_item(4, "mis_shipment", 1199, SSCC["B"])], 100.0, 1, 0,
         ("right shipment alerted", "B", 1200, "door-2", "alert 4")),
    ],
)  # fmt: skip
def test_a_mis_shipment_is_alerted_by_a_mis_shipment_alert_naming_its_pallet_at_its_crossing(
    alerts: list[dict[str, Any]],
    alerted: float,
    right_alerted: int,
    other: int,
    miss: tuple[str, str, float, str, str] | None,
) -> None:
    report = warehouse_run(alerts=alerts)
    assert report.figure("mis-shipments alerted").value == alerted
    assert report.figure("right shipments alerted").value == right_alerted
    assert report.figure("other mis_shipment alerts").value == other
    listed = [(m.what, m.epc, m.t - START, m.door, m.detail) for m in wms_misses(report)]
    if miss is None:
        assert listed == []
    else:
        what, name, t, door, detail = miss
        assert listed == [(what, EPC[name], t, door, detail)]
    failing = {f.name for f in report.failures()}
    assert ("mis-shipments alerted" in failing) == (alerted < 100)
    assert ("right shipments alerted" in failing) == (right_alerted > 0)


@pytest.mark.parametrize(
    ("alerts", "alerted"),
    [
        (wms_alerts(), 100.0),
        ([a for a in wms_alerts() if a["kind"] != "weight_mismatch"], 0.0),
        # raised before the mistake (less the window): not for it
        ([*wms_alerts()[:2], alert_item(3, "weight_mismatch", 1990, SSCC["D"])], 0.0),
        ([*wms_alerts()[:2], alert_item(3, "weight_mismatch", 2200, SSCC["D"])], 100.0),
        ([*wms_alerts()[:2], alert_item(3, "mis_shipment", 2051, SSCC["D"])], 0.0),
    ],
)
def test_a_missing_case_is_alerted_by_a_weight_mismatch_alert_for_its_pallet_after_it(
    alerts: list[dict[str, Any]], alerted: float
) -> None:
    report = warehouse_run(alerts=alerts)
    figure = report.figure("missing cases alerted")
    assert (figure.value, figure.n, figure.ok()) == (alerted, 1, alerted == 100)
    if alerted < 100:
        assert [(m.what, m.epc, m.t - START, m.detail) for m in wms_misses(report)] == [
            (
                "missing case not alerted",
                EPC["D"],
                2050,
                "order SO-000003, weighed on scale-1",
            )
        ]


def test_a_run_without_mistakes_has_no_mistake_requirements_to_meet() -> None:
    truth = [r for r in warehouse_truth() if r["event"] != "mistake"]
    report = warehouse_run(truth=truth, alerts=[])
    for name in ("mis-shipments alerted", "missing cases alerted"):
        figure = report.figure(name)
        assert (figure.value, figure.n, figure.need, figure.ok()) == (None, 0, None, None)
    # without a mistake, C and H shipped rightly and the WMS still holds them
    assert report.figure("shipped pallets in stock").value == 2
    assert report.figure("right shipments alerted").n == 3
    assert report.mistakes == {"scored": {}, "not scored": {}, "unknown": {}}


def test_a_wrong_pick_put_back_and_shipped_later_on_its_own_order_is_a_right_shipment():
    # I, picked instead of another for SO-000005 at 3000, is put back (the order was
    # cancelled, seed 110), picked rightly for SO-000007 and shipped: the mistake never
    # reached a door, the shipment is right
    later = [
        pl(3100, "putaway", "I", zone="zone-a"),
        pl(3200, "pick", "I", zone="zone-a", order="SO-000007"),
        pl(3230, "pack", "I", zone="packing", order="SO-000007"),
        pl(3300, "outbound", "I", door="door-2", direction="outbound", order="SO-000007"),
    ]
    truth = sorted([*warehouse_truth(), *later], key=lambda r: r["sim_s"])
    report = warehouse_run(truth=truth)
    assert report.figure("mis-shipments alerted").n == 2  # C and H, as before
    assert report.figure("right shipments alerted").n == 2  # B, and I now
    assert report.mistakes["not scored"]["wrong_pallet"] == 1  # I's, as before


def test_mistakes_whose_pallet_never_reached_a_door_or_scale_in_the_window_are_not_scored() -> None:
    report = warehouse_run(margin_s=1200)  # the window ends at 2400 s
    assert report.figure("mis-shipments alerted").n == 1  # C at 1700; H at 2700 is out
    assert report.figure("missing cases alerted").n == 1  # D weighed at 2050
    assert report.mistakes["not scored"] == {"wrong_door": 1, "wrong_pallet": 1}  # H; I
    report = warehouse_run(margin_s=1600)  # ends at 2000 s: D weighed after it
    assert report.figure("missing cases alerted").n == 0
    assert report.figure("missing cases alerted").ok() is None
    assert report.mistakes["not scored"] == {
        "missing_case": 1,
        "wrong_door": 1,
        "wrong_pallet": 1,
    }


def test_no_pallet_to_judge_fails_pallets_right_rather_than_passing_it() -> None:
    report = warehouse_run(truth=[pl(0, "arrival", "F", door="door-1", direction="inbound"),
                                  line(3600, "truck", None)])  # fmt: skip
    assert report.figure("pallets right").value is None
    assert "pallets right" in {f.name for f in report.failures()}


def test_route_stats_are_information_and_none_when_not_served() -> None:
    report = warehouse_run(route=None)
    assert report.figure("pick route vs naive").value is None
    assert report.figure("pick route vs naive").ok() is None
    report = warehouse_run(route={**ROUTE, "orders": 0, "route_m": 0.0, "naive_route_m": 0.0})
    assert report.figure("mean route saving").value is None


def test_a_case_taken_off_its_pallet_is_not_judged_as_a_pallet() -> None:
    loose = GOODS["D"][3][0]
    truth = [*warehouse_truth()[:-1],
             line(2001, "stock", loose, zone="zone-b", sscc="", cases=[]),
             line(3600, "truck", None)]  # fmt: skip
    report = warehouse_run(truth=truth)
    assert report.figure("pallets right").n == 4


@pytest.mark.parametrize(
    ("parse", "item", "message"),
    [
        (parse_pallets, {**stock_item("A", "zone-a"), "cases": "12"}, r"pallets\[0\]\.cases"),
        (parse_pallets, {**stock_item("A", "zone-a"), "cases": True}, r"pallets\[0\]\.cases"),
        (parse_pallets, {**stock_item("A", "zone-a"), "zone": None}, r"pallets\[0\]\.zone"),
        (parse_pallets, {**stock_item("A", "zone-a"), "sscc": ""}, r"pallets\[0\]\.sscc"),
        (parse_alerts, {**wms_alerts()[0], "raised_at": "soon"}, r"alerts\[0\]\.raised_at"),
        (parse_alerts, {**wms_alerts()[0], "detail": []}, r"alerts\[0\]\.detail"),
        (parse_alerts, {**wms_alerts()[0], "id": "1"}, r"alerts\[0\]\.id"),
        (parse_route_stats, {**ROUTE, "route_m": None}, r"route-stats\.route_m"),
        (parse_route_stats, [ROUTE], r"route-stats: .* is not an object"),
    ],
)
def test_a_wms_item_that_cannot_be_read_is_refused_naming_item_and_field(
    parse: Any, item: Any, message: str
) -> None:
    with pytest.raises(ScoreInputError, match=message):
        parse(item if parse is parse_route_stats else [item])


def test_an_alert_names_the_pallets_in_its_subject_and_detail() -> None:
    (a,) = parse_alerts([alert_item(7, "mis_shipment", 10, SSCC["C"], epc=EPC["C"].lower())])
    assert a.pallets == {SSCC["C"], EPC["C"]}
    assert (a.id, a.kind, a.raised_at) == (7, "mis_shipment", START + 10)


def returned_truth() -> list[dict[str, Any]]:
    """Pallets A and B ship on SO-000007 and come back on RMA-000001 through door-1:
    A is restocked on its shelf, B written off (taken out of the warehouse)."""
    back = [{"epc": EPC[n], "sscc": SSCC[n], "sku": GOODS[n][1], "lot": GOODS[n][2],
             "cases": 12} for n in "AB"]  # fmt: skip
    return [
        pl(0, "stock", "A", zone="zone-a"),
        pl(0, "stock", "B", zone="zone-b"),
        pl(200, "outbound", "A", door="door-2", direction="outbound", order="SO-000007"),
        pl(210, "outbound", "B", door="door-2", direction="outbound", order="SO-000007"),
        line(
            1200,
            "return",
            door="door-1",
            direction="inbound",
            order="SO-000007",
            rma="RMA-000001",
            pallets=back,
        ),
        pl(
            1260,
            "arrival",
            "A",
            door="door-1",
            direction="inbound",
            truck="RMA-000001",
            rma="RMA-000001",
        ),
        pl(
            1275,
            "arrival",
            "B",
            door="door-1",
            direction="inbound",
            truck="RMA-000001",
            rma="RMA-000001",
        ),
        pl(1400, "putaway", "A", zone="zone-c"),
        pl(1420, "putaway", "B", zone="zone-a"),
        pl(1500, "write_off", "B", zone="zone-a", rma="RMA-000001"),
        line(3600, "heartbeat"),
    ]


def test_a_returned_pallet_is_a_new_arrival_and_a_written_off_one_leaves_the_warehouse() -> None:
    truth = parse_truth(returned_truth())
    assert truth.kinds["return"] == 1 and truth.kinds["write_off"] == 1
    # the way back in is a crossing like any arrival
    assert [(c.epc, c.direction, c.door) for c in truth.crossings] == [
        (EPC["A"], "outbound", "door-2"),
        (EPC["B"], "outbound", "door-2"),
        (EPC["A"], "inbound", "door-1"),
        (EPC["B"], "inbound", "door-1"),
    ]
    assert truth.zone_at(EPC["A"], START + 3600) == "zone-c"
    assert truth.zone_at(EPC["B"], START + 1450) == "zone-a"
    assert truth.zone_at(EPC["B"], START + 3600) is None
    end = START + 3600
    a, b = (pallet_at(EPC[n], truth.moves[EPC[n]], end) for n in "AB")
    assert (a.status, a.zone) == ("in", "zone-c")
    assert (b.status, b.zone, b.since - START) == ("written_off", None, 1500)
    # the WMS that restocked A and wrote B off is right; one that still lists B misses it
    right = [stock_item("A", "zone-c")]
    report = warehouse_run(stock=right, alerts=[], truth=returned_truth())
    assert report.figure("pallets right").value == 100.0
    assert [m.what for m in report.misses if "written off" in m.what] == []
    kept = warehouse_run(stock=[*right, stock_item("B", "zone-a")], alerts=[],
                         truth=returned_truth())  # fmt: skip
    assert [(m.what, m.epc) for m in kept.misses if "written off" in m.what] == [
        ("written off, still in stock", EPC["B"])
    ]


def test_a_pallet_that_left_while_its_zone_was_unknown_departs_rightly_at_its_last_read() -> None:
    # zone-a's reader is silent from 400 s to 460 s. The edge makes both pallets unknown
    # at their last read (401 s); once the reader is back it departs them, dated that
    # read. P1 was truly picked meanwhile (430 s): right. P2 never left: stock that
    # vanished because its reader was down.
    spec = "reader-zone-a:silent@400s+60s"
    truth = [
        line(0, "stock", P1, zone="zone-a"),
        line(0, "stock", P2, zone="zone-a"),
        fault(400, "reader-zone-a", "silent", "start", "zone-a", spec),
        line(430, "pick", P1, zone="zone-a"),
        fault(460, "reader-zone-a", "silent", "end", "zone-a", spec),
        line(1000, "putaway", P3, zone="zone-b"),
    ]
    events = [
        zone_event(1, "present", P1, "zone-a"),
        zone_event(1, "present", P2, "zone-a"),
        zone_event(401, "unknown", P1, "zone-a"),
        zone_event(401, "unknown", P2, "zone-a"),
        zone_event(401, "departed", P1, "zone-a", delay=70),
        zone_event(401, "departed", P2, "zone-a", delay=70),
    ]
    report = score(
        parse_truth(truth),
        parse_passages([]),
        parse_zone_events(events),
        parse_weights([]),
        ScoreOptions(warmup_s=120, margin_s=60),
    )
    figures = {f.name: (f.value, f.n) for f in report.figures}
    assert figures["false departures"] == (1, 2)
    assert figures["pallets departed, reader down"] == (1, 1)
    listed = {(m.what, m.epc, m.t - START) for m in report.misses}
    assert ("departed while reader down", P2, 401) in listed
    assert not any(m.epc == P1 for m in report.misses)
