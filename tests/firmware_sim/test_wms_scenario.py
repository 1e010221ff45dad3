"""The scenario's ``workers`` and ``erp`` sections: defaults, and wrong values refused by
name."""

from __future__ import annotations

import pytest

from firmware_sim.world import ScenarioError, load_scenario, parse_scenario


def test_the_defaults_make_no_mistakes_and_order_for_the_demo_s_customers():
    sc = parse_scenario("{}")
    assert sc.workers.mistake_rate == 0.0
    assert sc.workers.mistakes == ["wrong_pallet", "wrong_door", "missing_case"]
    assert sc.workers.task_wait_s == 180.0
    assert sc.erp.customers == ["acme", "globex"]
    assert (sc.erp.notice_wait_s, sc.erp.open_wait_s) == (60.0, 300.0)
    assert sc.erp.transfer_per_hour == 0  # no transfers unless a scenario asks
    demo = load_scenario("demo")
    assert demo.workers == sc.workers
    # the demo's first site moves stock to the second now and then
    assert demo.erp == sc.erp.model_copy(
        update={
            "transfer_per_hour": 2.0,
            "transfer_pallets": (1, 2),
            "transfer_drive_s": (600.0, 1200.0),
        }
    )


def test_times_take_units_and_kinds_can_be_chosen():
    sc = parse_scenario(
        "workers: {mistake_rate: 0.1, mistakes: [missing_case], task_wait_s: 2m}\n"
        "erp: {customers: [c-1], notice_wait_s: 30s}"
    )
    assert sc.workers.mistakes == ["missing_case"] and sc.workers.task_wait_s == 120.0
    assert sc.erp.customers == ["c-1"] and sc.erp.notice_wait_s == 30.0


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("workers: {mistake_rate: 1.5}", "workers.mistake_rate"),
        ("workers: {mistakes: [wrong_zone]}", "workers.mistakes"),
        ("workers: {mistakes: []}", "workers.mistakes"),
        ("workers: {task_wait_s: -1}", "workers.task_wait_s"),
        ("workers: {speed: 2}", "workers.speed"),
        ("erp: {customers: []}", "erp.customers"),
        ("erp: {customers: ['a b']}", "erp.customers"),
        ("erp: {transfer_per_hour: -1}", "erp.transfer_per_hour"),
        ("erp: {transfer_drive_s: [20m, 10m]}", "erp.transfer_drive_s"),
        ("erp: {transfer_to: 'a b'}", "erp.transfer_to"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(text, named):
    with pytest.raises(ScenarioError, match=named.replace(".", r"\.")):
        parse_scenario(text)
