"""Fault descriptions: ``TARGET:KIND[=VALUE][@AT][+FOR]``, and errors naming the bad part."""

from __future__ import annotations

import re

import pytest

from firmware_sim.world import (
    Fault,
    FaultError,
    FaultKind,
    check_fault,
    parse_duration,
    parse_fault,
)
from firmware_sim.world.faults import fault_from_mapping
from protocols.layout import load_layout


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), ("30s", 30.0), ("1.5m", 90.0), ("1m30s", 90.0), ("250ms", 0.25), ("2h", 7200.0)],
)
def test_durations_take_units_and_combinations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reader-door-2:drop@30s", Fault("reader-door-2", FaultKind.DROP, 30.0)),
        ("reader-door-2:silent@30s", Fault("reader-door-2", FaultKind.SILENT, 30.0)),
        ("reader-door-2:silent@30s+1m", Fault("reader-door-2", FaultKind.SILENT, 30.0, 60.0)),
        ("reader-zone-a:antenna=3@10+20", Fault("reader-zone-a", FaultKind.ANTENNA, 10, 20, 3)),
        ("reader-door-1:skew=-90s", Fault("reader-door-1", FaultKind.SKEW, 0.0, None, -90.0)),
        ("reader-door-1:skew=+2m@5s", Fault("reader-door-1", FaultKind.SKEW, 5.0, None, 120.0)),
        ("scale-1:overload@2m+15s", Fault("scale-1", FaultKind.OVERLOAD, 120.0, 15.0)),
        ("scale-1:OVERLOAD", Fault("scale-1", FaultKind.OVERLOAD)),
    ],
)
def test_fault_text_parses(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


def test_fault_prints_back_to_text_that_parses_the_same() -> None:
    for text in [
        "reader-zone-a:antenna=3@10s+20s",
        "reader-door-1:skew=-1.5s@0s",
        "scale-1:overload@2s",
    ]:
        fault = parse_fault(text)
        assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("reader-door-2", "expected TARGET:KIND"),
        (":silent@30s", "expected TARGET:KIND"),
        ("reader-door-2:@30s", "missing KIND"),
        ("reader-door-2:silnt@30s", "unknown kind 'silnt'"),
        ("reader-door-2:silent@30x", "time after '@'"),
        ("reader-door-2:silent@30s+", "duration after '+'"),
        ("reader-door-2:silent@30s+abc", "'abc' is not a duration"),
        ("reader-door-2:drop@30s+10s", "'drop' is instantaneous"),
        ("reader-zone-a:antenna@10s", "needs the antenna id"),
        ("reader-zone-a:antenna=x@10s", "needs the antenna id"),
        ("reader-zone-a:antenna=33", "antenna id '33' is not 1-32"),
        ("reader-door-1:skew@0s", "needs the offset"),
        ("reader-door-1:skew=soon", "skew value"),
        ("reader-door-1:silent=3@0s", "takes no value"),
        ("Reader Door:silent", "target 'Reader Door'"),
        ("scale-1:overload@5s+0s", "duration must be positive"),
    ],
)
def test_malformed_fault_names_the_bad_part(text: str, names: str) -> None:
    with pytest.raises(FaultError) as err:
        parse_fault(text)
    assert names in str(err.value)
    assert repr(text) in str(err.value)


def test_scenario_mapping_form_is_the_same_fault() -> None:
    mapping = {"target": "reader-zone-a", "kind": "antenna", "value": 3, "at": "10s", "for": 20}
    assert fault_from_mapping(mapping) == parse_fault("reader-zone-a:antenna=3@10s+20s")
    with pytest.raises(FaultError, match=r"fault\.kind: missing"):
        fault_from_mapping({"target": "scale-1"})
    with pytest.raises(FaultError, match="unknown field"):
        fault_from_mapping({"target": "scale-1", "kind": "overload", "when": 3})


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("reader-door-9:silent", "'reader-door-9' is not a reader of the layout"),
        ("scale-1:silent", "is not a reader of the layout (it is a scale)"),
        ("reader-door-1:overload", "is not a scale of the layout (it is a reader)"),
        ("reader-zone-a:antenna=7", "has no antenna 7 (it has [1, 2, 3, 4])"),
    ],
)
def test_fault_target_is_checked_against_the_layout(text: str, names: str) -> None:
    with pytest.raises(FaultError, match=re.escape(names)):
        check_fault(parse_fault(text), load_layout(None))


def test_good_targets_pass_the_layout_check() -> None:
    layout = load_layout(None)
    for text in ["reader-door-4:drop@1s", "reader-zone-c:antenna=4", "scale-2:overload"]:
        check_fault(parse_fault(text), layout)
