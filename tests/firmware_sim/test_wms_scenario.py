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
    assert load_scenario("demo").workers == sc.workers and load_scenario("demo").erp == sc.erp


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
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(text, named):
    with pytest.raises(ScenarioError, match=named.replace(".", r"\.")):
        parse_scenario(text)
