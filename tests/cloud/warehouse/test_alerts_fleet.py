"""The fleet watch: readers and edges gone quiet raise alerts; their return resolves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.fleet_alerts import (
    EdgeSignal,
    FleetRules,
    FleetWatch,
    ReaderSignal,
    edges_last_heard,
)

T = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
RULES = FleetRules(
    reader_offline_after=timedelta(seconds=30), edge_offline_after=timedelta(seconds=120)
)
EDGE, READER = AlertKind.EDGE_OFFLINE, AlertKind.READER_OFFLINE


def s(n: float) -> datetime:
    return T + timedelta(seconds=n)


def reader(state: str, seen: float, reader_id: str = "r-1", edge: str = "edge-1") -> ReaderSignal:
    return ReaderSignal(reader_id, edge, state, s(seen))


def status(state: str, seen: float, edge: str = "edge-1") -> EdgeSignal:
    return EdgeSignal(edge, state, s(seen))


# (case, readers, edges, unresolved, now, raised (kind, subject), resolved)
EDGE_CASES = [
    ("health 10 s old: online", [reader("inventorying", 0)], [], set(), 10, [], []),
    ("health 120 s old: not longer than the setting", [reader("inventorying", 0)], [], set(),
     120, [], []),
    ("health 121 s old: offline", [reader("inventorying", 0)], [], set(), 121,
     [(EDGE, "edge-1")], []),
    ("old health, but an online status just received (a restarted cloud)",
     [reader("inventorying", 0)], [status("online", 195)], set(), 200, [], []),
    ("an offline status does not count as heard", [reader("inventorying", 0)],
     [status("offline", 195)], set(), 200, [(EDGE, "edge-1")], []),
    ("only an offline status, long ago", [], [status("offline", 0)], set(), 121,
     [(EDGE, "edge-1")], []),
    ("only an offline status, just now", [], [status("offline", 0)], set(), 10, [], []),
    ("still offline and alerted: nothing more", [reader("inventorying", 0)], [],
     {(EDGE, "edge-1")}, 500, [], []),
    ("heard again: resolved", [reader("inventorying", 490)], [], {(EDGE, "edge-1")}, 500,
     [], [(EDGE, "edge-1")]),
    ("each edge on its own",
     [reader("inventorying", 0, "r-1", "edge-1"), reader("inventorying", 100, "r-2", "edge-2")],
     [status("online", 0, "edge-3")], set(), 130, [(EDGE, "edge-1"), (EDGE, "edge-3")], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "readers", "edges", "unresolved", "now", "raised", "resolved"), EDGE_CASES
)
def test_an_edge_is_offline_when_nothing_was_heard_of_it_for_longer_than_the_setting(
    case, readers, edges, unresolved, now, raised, resolved
):
    verdict = FleetWatch(RULES).judge(readers, edges, unresolved, s(now))
    assert [(a.kind, a.subject) for a in verdict.to_raise] == raised, case
    assert verdict.to_resolve == resolved, case


def test_the_edge_alert_says_when_it_was_last_heard():
    (alert,) = FleetWatch(RULES).judge([reader("inventorying", 0)], [], set(), s(125)).to_raise
    assert alert.message == "edge edge-1 sent no health for 125 s"
    assert alert.detail == {"edge_id": "edge-1", "last_heard": "2025-01-06T08:00:00Z",
                            "status": None}  # fmt: skip


def test_last_heard_is_the_newest_health_or_online_status():
    heard = edges_last_heard(
        [reader("x", 5, "r-1"), reader("x", 9, "r-2"), reader("x", 1, "r-3", "edge-2")],
        [status("online", 20, "edge-2"), status("offline", 30, "edge-3")],
    )
    assert heard == {"edge-1": s(9), "edge-2": s(20), "edge-3": None}


# Looks in order: (now, reader state, reader's health time, unresolved, raised, resolved).
# The edge sends health at every look, so it stays online.
SCENARIOS = {
    "down for longer than the setting raises once, back up resolves": [
        (0, "disconnected", 0, False, False, False),
        (20, "disconnected", 20, False, False, False),
        (30, "disconnected", 30, False, False, False),  # 30 s: not longer than the setting
        (31, "disconnected", 31, False, True, False),
        (40, "disconnected", 40, True, False, False),
        (50, "inventorying", 50, True, False, True),
    ],
    "connecting counts as down, connected as up": [
        (0, "connecting", 0, False, False, False),
        (31, "connecting", 31, False, True, False),
        (32, "connected", 32, True, False, True),
    ],
    "a reader back up before the setting restarts the count": [
        (0, "disconnected", 0, False, False, False),
        (25, "inventorying", 25, False, False, False),
        (26, "disconnected", 26, False, False, False),
        (40, "disconnected", 40, False, False, False),
        (57, "disconnected", 57, False, True, False),
    ],
    "an alert resolved by hand while the reader is still down is raised again": [
        (0, "disconnected", 0, False, False, False),
        (31, "disconnected", 31, False, True, False),
        (35, "disconnected", 35, False, True, False),
    ],
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_reader_is_offline_when_down_for_longer_than_the_setting(name):
    watch = FleetWatch(RULES)
    for now, state, seen, alerted, raises, resolves in SCENARIOS[name]:
        unresolved = {(READER, "r-1")} if alerted else set()
        verdict = watch.judge([reader(state, seen)], [], unresolved, s(now))
        assert [(a.kind, a.subject) for a in verdict.to_raise] == (
            [(READER, "r-1")] if raises else []
        ), (name, now)
        assert verdict.to_resolve == ([(READER, "r-1")] if resolves else []), (name, now)


def test_the_reader_alert_names_the_state_and_since_when():
    watch = FleetWatch(RULES)
    watch.judge([reader("disconnected", 0)], [], set(), s(0))
    (alert,) = watch.judge([reader("disconnected", 45)], [], set(), s(45)).to_raise
    assert alert.message == "reader r-1 (edge edge-1) disconnected for 45 s"
    assert alert.detail == {
        "reader_id": "r-1",
        "edge_id": "edge-1",
        "state": "disconnected",
        "down_since": "2025-01-06T08:00:00Z",
    }


def test_the_readers_of_an_offline_edge_are_not_judged():
    """Their state is not known: the edge's alert stands for them, theirs stay as they are."""
    watch = FleetWatch(RULES)
    watch.judge([reader("disconnected", 0)], [], set(), s(0))
    verdict = watch.judge([reader("disconnected", 0)], [], {(READER, "r-1")}, s(200))
    assert [(a.kind, a.subject) for a in verdict.to_raise] == [(EDGE, "edge-1")]
    assert verdict.to_resolve == [] and verdict.offline_edges == {"edge-1"}


def test_a_reader_its_edge_stopped_reporting_is_not_judged():
    """The edge is heard through another reader; the first one's last word is too old
    to tell whether it is down (no alert) or up (its alert is not resolved)."""
    fresh = reader("inventorying", 199, "r-2")
    watch = FleetWatch(RULES)
    watch.judge([reader("disconnected", 0)], [], set(), s(0))
    verdict = watch.judge([reader("disconnected", 0), fresh], [], set(), s(200))
    assert verdict.to_raise == [] and verdict.down_readers == frozenset()
    verdict = FleetWatch(RULES).judge(
        [reader("inventorying", 0), fresh], [], {(READER, "r-1")}, s(200)
    )
    assert verdict.to_resolve == []
