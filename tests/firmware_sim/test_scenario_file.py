"""The scenario file: defaults, durations and ranges, bundled scenarios, and errors that
name the field and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim.world import (
    FaultKind,
    ScenarioError,
    bundled_scenario_names,
    check_scenario,
    load_scenario,
    parse_scenario,
)
from protocols.layout import load_layout


def test_an_empty_file_is_a_scenario_with_every_default() -> None:
    scenario = parse_scenario("")
    assert scenario.seed == 1 and scenario.speed == 1.0
    assert scenario.start is None and scenario.duration_s is None
    assert scenario.stock.pallets_per_zone == 8
    assert scenario.inbound.truck_every_s == (90.0, 180.0)


def test_times_take_units_and_ranges_take_single_values() -> None:
    scenario = parse_scenario(
        """
        duration_s: 1h30m
        start: 2025-01-06T08:00:00Z
        inbound: {truck_every_s: [1m, 2.5m], pallets_per_truck: 3}
        timing: {weigh_s: 500ms, travel_s: 40}
        faults:
          - reader-door-2:silent@30s+1m
          - {target: scale-1, kind: overload, at: 2m, for: 15s}
        """
    )
    assert scenario.duration_s == 5400.0
    assert scenario.start is not None and scenario.start.isoformat() == "2025-01-06T08:00:00+00:00"
    assert scenario.inbound.truck_every_s == (60.0, 150.0)
    assert scenario.inbound.pallets_per_truck == (3, 3)
    assert scenario.timing.weigh_s == 0.5 and scenario.timing.travel_s == (40.0, 40.0)
    assert [(f.target, f.kind, f.at_s, f.duration_s) for f in scenario.faults] == [
        ("reader-door-2", FaultKind.SILENT, 30.0, 60.0),
        ("scale-1", FaultKind.OVERLOAD, 120.0, 15.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("speed: 0", "speed: Input should be greater than 0 (got 0)"),
        (
            "inbound: {truck_every_s: [3m, 1m]}",
            "inbound.truck_every_s: range min 180.0 is above max 60.0",
        ),
        (
            "inbound: {truck_every_s: [1, 2, 3]}",
            "inbound.truck_every_s: a range is [min, max], got 3",
        ),
        (
            "radio: {miss_rate: 1.5}",
            "radio.miss_rate: Input should be less than or equal to 1 (got 1.5)",
        ),
        ("timing: {passage_s: soon}", "timing.passage_s: 'soon' is not a duration"),
        ("timing: {pasage_s: 3}", "timing.pasage_s: unknown field"),
        ("catalog: {company_prefix: '12'}", "catalog.company_prefix: String should match pattern"),
        ("catalog: {skus: 0}", "skus: 0 SKUs is not 1-1000"),
        ("trucks: [{door: door-1}]", "trucks[0].at: Field required"),
        (
            "faults: ['reader-1:melt@3s']",
            "faults[0]: fault 'reader-1:melt@3s': unknown kind 'melt'",
        ),
        ("start: 2025-01-06T08:00:00", "start: '2025-01-06T08:00:00' needs a time zone"),
        (
            "timing: {stage_share: 1.5}",
            "timing.stage_share: Input should be less than or equal to 1 (got 1.5)",
        ),
        ("timing: {stage_s: [2m, 1m]}", "timing.stage_s: range min 120.0 is above max 60.0"),
        (
            "turnbacks: {per_hour: -1}",
            "turnbacks.per_hour: Input should be greater than or equal to 0 (got -1)",
        ),
        ("turnbacks: {every: 3}", "turnbacks.every: unknown field"),
        (
            "radio: {zone_bleed_m: -2}",
            "radio.zone_bleed_m: Input should be greater than or equal to 0 (got -2)",
        ),
        ("- a list", "a scenario is a YAML mapping, got list"),
        ("speed: [", "not valid YAML"),
    ],
)
def test_a_wrong_file_is_refused_naming_field_and_value(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "test.yaml")
    assert str(err.value).startswith("test.yaml: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stock: {zones: [zone-z]}", "stock.zones[0]: 'zone-z' is not a zone of the layout"),
        ("inbound: {doors: [door-1, door-7]}", "inbound.doors[1]: 'door-7' is not a door"),
        ("orders: [{at: 1, door: gate}]", "orders[0].door: 'gate' is not a door"),
        (
            "faults: ['reader-zone-a:antenna=9']",
            "faults[0] 'reader-zone-a:antenna=9@0s': reader 'reader-zone-a' has no antenna 9",
        ),
        ("faults: ['scale-3:overload']", "'scale-3' is not a scale of the layout"),
    ],
)
def test_names_are_checked_against_the_layout(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match="scenario: ") as err:
        check_scenario(parse_scenario(text), load_layout(None))
    assert message in str(err.value)


def test_the_harder_world_is_off_by_default_but_zone_bleed_is_on() -> None:
    scenario = parse_scenario("")
    assert scenario.timing.stage_share == 0 and scenario.turnbacks.per_hour == 0
    assert scenario.radio.zone_bleed_m > 0 and scenario.radio.zone_bleed_db > 0
    parsed = parse_scenario(
        "timing: {stage_share: 0.3, stage_s: [10s, 1m]}\nturnbacks: {per_hour: 6, pause_s: 2}"
    )
    assert parsed.timing.stage_share == 0.3 and parsed.timing.stage_s == (10.0, 60.0)
    assert parsed.turnbacks.per_hour == 6 and parsed.turnbacks.pause_s == (2.0, 2.0)


def test_bundled_traffic_scenarios_stage_and_turn_back_and_every_one_bleeds() -> None:
    for name in bundled_scenario_names():
        radio = load_scenario(name).radio
        assert radio.zone_bleed_m > 0 and radio.zone_bleed_db > 0, name
    for name in ("demo", "dock-rush", "reader-faults"):
        scenario = load_scenario(name)
        assert scenario.timing.stage_share > 0 and scenario.turnbacks.per_hour > 0, name


def test_every_bundled_scenario_loads_and_fits_the_demo_layout() -> None:
    names = bundled_scenario_names()
    assert {"demo", "dock-rush", "one-truck", "reader-faults", "shelves", "shrinkage"} <= set(names)
    for name in names:
        check_scenario(load_scenario(name), load_layout(None))


def test_the_demo_runs_forever_at_real_time_with_stock_and_traffic() -> None:
    demo = load_scenario(None)
    assert demo.name == "demo"
    assert demo.duration_s is None and demo.speed == 1.0 and demo.start is None
    assert demo.stock.pallets_per_zone > 0 and demo.inbound.enabled and demo.outbound.enabled


def test_a_scenario_file_loads_from_a_path_and_a_missing_one_lists_the_bundled(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nseed: 42\n")
    assert load_scenario(path).seed == 42
    with pytest.raises(ScenarioError, match=r"cannot read scenario file.*bundled scenarios: demo"):
        load_scenario(tmp_path / "missing.yaml")
