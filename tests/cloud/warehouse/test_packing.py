"""The packing weight check: expected gross, tolerance, ok or mismatch with numbers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.warehouse.packing import (
    AwaitingWeight,
    Load,
    PackingError,
    Tolerance,
    Verdict,
    WeightCheck,
    check_weight,
    expected_gross,
    missing_cases,
    reweigh_due,
    weighed_pallet,
)

GTIN = "00614141123452"
GTIN_2 = "00614141000012"
TOL = Tolerance(pct=2.0, kg=5.0, case_share=0.5)


def test_expected_gross_is_cases_times_case_weight_plus_tare():
    loads = [Load(GTIN, 12, 20.0), Load(GTIN_2, 4, 7.5)]
    assert expected_gross(loads, 25.0) == 25 + 240 + 30


# (case, measured, loads, verdict, tolerance)
CASES = [
    ("exact", 265.0, [Load(GTIN, 12, 20.0)], "ok", 5.3),
    ("within 2 % of a heavy pallet", 269.5, [Load(GTIN, 12, 20.0)], "ok", 5.3),
    ("one 20 kg case missing", 245.0, [Load(GTIN, 12, 20.0)], "mismatch", 5.3),
    ("one case too many", 285.0, [Load(GTIN, 12, 20.0)], "mismatch", 5.3),
    ("the 5 kg floor on a light pallet", 64.0, [Load(GTIN, 8, 40.0 / 8)], "ok", 2.5),
    # 8 cases of 4 kg: 5 kg floor, but capped at half a case, so a missing case shows
    (
        "a missing 4 kg case is caught despite the 5 kg floor",
        53.0,
        [Load(GTIN, 8, 4.0)],
        "mismatch",
        2.0,
    ),
    ("light pallet within half a case", 58.5, [Load(GTIN, 8, 4.0)], "ok", 2.0),
    ("an empty pallet is its tare", 25.4, [], "ok", 5.0),
]


@pytest.mark.parametrize(
    ("measured", "loads", "verdict", "tolerance"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_weight_check(measured, loads, verdict, tolerance):
    c = check_weight(measured, loads, tare_kg=25.0, tolerance=TOL)
    assert c.verdict.value == verdict
    assert c.tolerance_kg == pytest.approx(tolerance)


def test_a_mismatch_says_by_how_much_and_in_cases():
    c = check_weight(244.5, [Load(GTIN, 12, 20.0)], tare_kg=25.0, tolerance=TOL)
    assert c.detail() == {
        "verdict": "mismatch",
        "measured_kg": 244.5,
        "expected_kg": 265.0,
        "difference_kg": -20.5,
        "tolerance_kg": 5.3,
        "cases": 12,
        "cases_off": -1.02,
    }
    assert c.message == (
        "weighed 244.5 kg, expected 265.0 kg ± 5.3 kg (12 cases): mismatch "
        "(-20.5 kg, about 1.02 case(s) short)"
    )


def test_without_the_cap_the_floor_hides_a_light_case():
    no_cap = Tolerance(pct=2.0, kg=5.0, case_share=None)
    c = check_weight(53.0, [Load(GTIN, 8, 4.0)], tare_kg=25.0, tolerance=no_cap)
    assert c.verdict is Verdict.OK  # why the cap exists


@pytest.mark.parametrize(
    "make",
    [
        lambda: Load(GTIN, -1, 4.0),
        lambda: Load(GTIN, 2, 0.0),
        lambda: Tolerance(pct=-1),
        lambda: Tolerance(kg=-0.1),
        lambda: Tolerance(case_share=0),
        lambda: check_weight(-1.0, [], tare_kg=25, tolerance=TOL),
        lambda: expected_gross([], -3),
    ],
    ids=["negative cases", "weightless case", "pct", "kg", "case share", "measured", "tare"],
)
def test_bad_numbers_are_refused(make):
    with pytest.raises(PackingError):
        make()


@given(
    cases=st.integers(1, 40),
    case_kg=st.floats(2.0, 60.0),
    tare=st.floats(0.0, 40.0),
    seed=st.integers(0, 2**32),
)
def test_one_case_off_is_always_a_mismatch_and_natural_spread_is_not(cases, case_kg, tare, seed):
    """Cases of one item vary by +/-2 % each (as the simulated ones do) and the scale
    reads to 0.5 kg: a whole pallet passes, one case missing or over never does."""
    rng = random.Random(seed)
    weights = [case_kg * rng.uniform(0.98, 1.02) for _ in range(cases)]
    load = [Load(GTIN, cases, case_kg)]

    def scale(kg: float) -> float:
        return round(kg * 2) / 2

    whole = check_weight(scale(tare + sum(weights)), load, tare_kg=tare, tolerance=TOL)
    short = check_weight(scale(tare + sum(weights[1:])), load, tare_kg=tare, tolerance=TOL)
    over = check_weight(scale(tare + sum(weights) + weights[0]), load, tare_kg=tare, tolerance=TOL)
    assert (short.verdict, over.verdict) == (Verdict.MISMATCH, Verdict.MISMATCH)
    if cases <= 16:  # the spread of many cases grows past a quarter case only beyond
        assert whole.verdict is Verdict.OK, whole.message


C = [f"3074257BF7194E40000000{i:02X}" for i in range(6)]


# 5 cases of 20 kg booked on a 25 kg pallet: 125 kg expected
@pytest.mark.parametrize(
    ("measured", "heard", "missing"),
    [
        # a case light, one booked case not heard on the scale: that one
        (105.2, C[:4], (C[4],)),
        # two cases light, two not heard: both
        (85.0, C[:3], (C[3], C[4])),
        # a case light but every case heard: a read cannot name it; left to a person
        (105.0, C[:5], ()),
        # a case light, two not heard (a read missed one): cannot tell which
        (105.0, C[:3], ()),
        # nothing heard at all (the read point is out): no witness
        (105.0, [], ()),
        # right weight, a case not heard: a missed read, nothing missing
        (125.0, C[:4], ()),
        # heavy: nothing missing
        (145.0, C[:4], ()),
        # light by half a case: not a whole case, nothing to name
        (115.0, C[:4], ()),
        # heard cases of another pallet do not count as this one's
        (105.0, [*C[:4], C[5]], (C[4],)),
    ],
)
def test_a_light_pallet_lacks_the_booked_cases_the_scale_did_not_hear_when_counts_agree(
    measured, heard, missing
):
    check = check_weight(measured, [Load(GTIN, 5, 20.0)], tare_kg=25.0, tolerance=TOL)
    assert missing_cases(check, C[:5], heard) == missing


def _check(fit: bool | float) -> WeightCheck:
    """A check of a 10-case pallet of 10 kg cases: True fits, False is 2.5 cases
    heavy, a number is a mismatch that many cases off."""
    off = 0.0 if fit is True else 2.5 if fit is False else fit
    verdict = Verdict.OK if fit is True else Verdict.MISMATCH
    return WeightCheck(verdict, 100.0 + 10.0 * off, 100.0, 5.0, 10, 10.0)


# (case, edge's choice, candidates, awaiting a weight check: True fits, False is no
# whole number of cases off, a number that many cases off; weighed)
WEIGHED = [
    ("it fits the edge's choice", "P1", ["P1", "P2"], {"P1": True, "P2": True}, "P1"),
    ("the edge's choice was weighed before: the next it fits", "P1", ["P1", "P2"],
     {"P2": True}, "P2"),
    ("it fits a queued pallet, not the edge's choice", "P1", ["P1", "P2", "P3"],
     {"P1": False, "P2": False, "P3": True}, "P3"),
    ("the first it fits, in the edge's order", "P1", ["P1", "P3", "P2"],
     {"P2": True, "P3": True}, "P3"),
    ("fits none: the edge's choice (a light pallet's mismatch stays its own)", "P1",
     ["P1", "P2"], {"P1": False, "P2": False}, "P1"),
    ("fits none, the edge's choice awaits: its own, a case-light neighbour or not", "P1",
     ["P1", "P2"], {"P1": False, "P2": -1.02}, "P1"),
    ("the edge's choice awaits none, a candidate is a case light: that one", "P1",
     ["P1", "P2", "P3"], {"P2": False, "P3": -0.97}, "P3"),
    ("... or two cases light", "P1", ["P1", "P2"], {"P2": -2.1}, "P2"),
    ("... not three: the edge's choice", "P1", ["P1", "P2"], {"P2": -3.0}, "P1"),
    ("... nor a case heavy", "P1", ["P1", "P2"], {"P2": 1.0}, "P1"),
    ("... nor half a case light", "P1", ["P1", "P2"], {"P2": -0.5}, "P1"),
    ("the edge could not tell, a candidate is a case light", None, ["P2"], {"P2": -1.0},
     "P2"),
    ("none awaits: the edge's choice (weighed again)", "P1", ["P1", "P2"], {}, "P1"),
    ("no candidates (an older edge): its choice", "P1", [], {"P2": True}, "P1"),
    ("no pallet heard", None, [], {"P2": True}, None),
    ("three cases off the edge's choice: its own mismatch still", "P1", ["P1"],
     {"P1": -3.0}, "P1"),
    ("far off the edge's choice and every other: no pallet's (its pallet unheard)", "P1",
     ["P1", "P2"], {"P1": 12.4, "P2": -7.1}, None),
    ("far off the edge's choice, a candidate a case light: that one", "P1", ["P1", "P2"],
     {"P1": -8.0, "P2": -1.0}, "P2"),
    ("far off the edge's choice, one it fits: that one", "P1", ["P1", "P2"],
     {"P1": 30.5, "P2": True}, "P2"),
    ("the edge could not tell, a candidate fits", None, ["P2"], {"P2": True}, "P2"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("named", "candidates", "fits", "weighed"),
    [c[1:] for c in WEIGHED],
    ids=[c[0] for c in WEIGHED],
)
def test_weighed_pallet_is_the_heard_pallet_the_weight_fits(named, candidates, fits, weighed):
    checks = {epc: _check(fit) for epc, fit in fits.items()}
    assert weighed_pallet(named, candidates, checks) == weighed


# (case, edge's choice, candidates awaiting a check, the edge's choice weighed again
# after a mismatch: True fits, a number cases off; weighed)
WEIGHED_AGAIN = [
    ("a mismatch, then a weight that fits it: its own (the first was another's)", "P1",
     {"P2": -1.0}, True, "P1"),
    ("a mismatch, then a weight that fits it not: as if weighed before", "P1",
     {"P2": -1.0}, -3.5, "P2"),
    ("a candidate it fits still comes after its own fit", "P1", {"P2": True}, True, "P1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("named", "fits", "again", "weighed"),
    [c[1:] for c in WEIGHED_AGAIN],
    ids=[c[0] for c in WEIGHED_AGAIN],
)
def test_a_pallet_weighed_again_after_a_mismatch_keeps_a_weight_that_fits_it(
    named, fits, again, weighed
):
    checks = {epc: _check(fit) for epc, fit in fits.items()}
    candidates = [named, *fits]
    assert weighed_pallet(named, candidates, checks, named_again=_check(again)) == weighed


# (case, the edge's choice weighed before: this weight's check against it, True fits,
# a number cases off; candidates awaiting a check; weighed)
WEIGHED_BEFORE = [
    ("far off it, none awaiting: no pallet's (not a packed pallet's mismatch)", -8.2, {},
     None),
    ("far off it, a candidate a case light: that one", 30.5, {"P2": -1.0}, "P2"),
    ("far off it, a candidate it fits: that one", -6.0, {"P2": True}, "P2"),
    ("it fits again: its own (still on the scale)", True, {}, "P1"),
    ("a case light now: its own (a case off it since it was packed)", -1.0, {}, "P1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "fits", "weighed"),
    [c[1:] for c in WEIGHED_BEFORE],
    ids=[c[0] for c in WEIGHED_BEFORE],
)
def test_a_weight_far_off_a_pallet_weighed_before_is_not_its(before, fits, weighed):
    checks = {epc: _check(fit) for epc, fit in fits.items()}
    candidates = ["P1", *fits]
    got = weighed_pallet("P1", candidates, checks, named_weighed=_check(before))
    assert got == weighed


T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def at(s: float | None) -> datetime | None:
    return None if s is None else T0 + timedelta(seconds=s)


@pytest.mark.parametrize(
    ("since", "weighed", "tasks", "last_task", "now", "due"),
    [
        (0, None, 0, None, 179, False),  # in packing for less than 3 min
        (0, None, 0, None, 180, True),  # never weighed: onto the scale again
        (0, 100, 0, None, 279, False),  # weighed (wrong, released) 100 s in: wait from then
        (0, 100, 0, None, 280, True),
        (0, None, 1, 180, 359, False),  # a weigh task 180 s in: wait from it
        (0, None, 1, 180, 360, True),
        (0, 400, 1, 180, 500, False),  # weighed after the task: wait from the weighing
        (0, None, 3, 540, 10_000, False),  # three tasks: no more
    ],
)
def test_a_pallet_is_weighed_again_after_waiting_from_its_last_event(
    since, weighed, tasks, last_task, now, due
):
    since_t, now_t = T0 + timedelta(seconds=since), T0 + timedelta(seconds=now)
    p = AwaitingWeight("SO-1", "006141410000000012", since_t, at(weighed), tasks, at(last_task))
    assert reweigh_due(p, now_t, after_s=180.0, max_tasks=3) is due
