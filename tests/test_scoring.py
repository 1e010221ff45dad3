"""The scorer on constructed truth and API data: matching, causes, zones, outages, figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rfidwms.scoring import (
    CloudPassage,
    Crossing,
    Report,
    ScoreInputError,
    ScoreOptions,
    Truth,
    ZoneEvent,
    false_cause,
    match_crossings,
    parse_passages,
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


def run_truth() -> list[dict[str, Any]]:
    return [
        line(0, "stock", P4, zone="zone-a"),
        line(0, "stock", P5, zone="zone-a"),
        line(30, "arrival", P3, door="door-1", direction="inbound"),  # during the warm-up
        line(200, "arrival", P1, door="door-1", direction="inbound", cases=[C1]),
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
    }
    assert report.truth_kinds["arrival"] == 5 and report.truth_kinds["fault"] == 2
    assert report.cloud_counts == {
        "passages": 8,
        "passages in window": 6,
        "zone events": 8,
        "weights": 1,
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
    report = score(truth, passages, zones, parse_weights(run_weights()), ScoreOptions())
    assert report.failures() == []
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
