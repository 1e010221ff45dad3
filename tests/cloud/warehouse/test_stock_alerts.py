"""Stock rules: low stock, overstock and expiry alerts from the balances."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.warehouse.alerts import AlertKind, Severity
from cloud.warehouse.stock_alerts import (
    Balance,
    StockRule,
    StockRuleError,
    judge_stock,
)

TODAY = date(2025, 3, 1)
A, B = "00614141123452", "00614141999996"
LOW, OVER, EXPIRY = AlertKind.LOW_STOCK, AlertKind.OVERSTOCK, AlertKind.EXPIRY


def bal(
    qty: int, state: str = "available", sku: str = A, lot: str = "L1", days: int | None = 90,
    site: str = "dc-1",
) -> Balance:  # fmt: skip
    expiry = None if days is None else TODAY + timedelta(days=days)
    return Balance(site, sku, lot, expiry, state, qty)


def rule(sku: str = A, site: str = "dc-1", **kw: int) -> StockRule:
    return StockRule(site, sku, **kw)


# (case, balances, rules, unresolved keys, raised keys, resolved keys)
CASES = [
    ("available below the reorder point", [bal(4)], [rule(reorder_point=5)], set(),
     [("dc-1", LOW, A)], []),
    ("available at the reorder point is not low", [bal(5)], [rule(reorder_point=5)], set(),
     [], []),
    ("available adds up over lots and rows", [bal(3), bal(2, lot="L2"), bal(1)],
     [rule(reorder_point=6)], set(), [], []),
    ("reserved stock is not available", [bal(3), bal(10, "reserved")],
     [rule(reorder_point=5)], set(), [("dc-1", LOW, A)], []),
    ("no stock at all is low", [], [rule(reorder_point=1)], set(), [("dc-1", LOW, A)], []),
    ("an item without a rule is not judged", [bal(0)], [rule(B, reorder_point=5)], set(),
     [("dc-1", LOW, B)], []),
    ("another site's stock does not count", [bal(10, site="dc-2")], [rule(reorder_point=5)],
     set(), [("dc-1", LOW, A)], []),
    ("on hand above the max", [bal(6), bal(3, "reserved"), bal(2, "quarantine")],
     [rule(max_on_hand=10)], set(), [("dc-1", OVER, A)], []),
    ("on hand at the max is not over", [bal(6), bal(4, "damaged")], [rule(max_on_hand=10)],
     set(), [], []),
    ("stock in transit is not on hand", [bal(6), bal(50, "in_transit")],
     [rule(max_on_hand=10)], set(), [], []),
    ("a lot expiring within the horizon", [bal(5, days=7), bal(5, lot="L2", days=8)],
     [rule(expiry_warning_days=7)], set(), [("dc-1", EXPIRY, f"{A}/L1")], []),
    ("an expired lot", [bal(5, days=-3)], [rule(expiry_warning_days=0)], set(),
     [("dc-1", EXPIRY, f"{A}/L1")], []),
    ("a lot without stock on hand", [bal(0, days=1), bal(4, "in_transit", days=1)],
     [rule(expiry_warning_days=7)], set(), [], []),
    ("a lot without expiry", [bal(5, days=None)], [rule(expiry_warning_days=7)], set(), [], []),
    ("raised already: not raised again", [bal(0)], [rule(reorder_point=5)],
     {("dc-1", LOW, A)}, [], []),
    ("back above the reorder point: resolved", [bal(9)], [rule(reorder_point=5)],
     {("dc-1", LOW, A)}, [], [("dc-1", LOW, A)]),
    ("the rule removed: resolved", [bal(0)], [], {("dc-1", LOW, A), ("dc-1", EXPIRY, f"{A}/L1")},
     [], [("dc-1", EXPIRY, f"{A}/L1"), ("dc-1", LOW, A)]),
    ("the expiring lot used up: resolved", [bal(0, days=1)], [rule(expiry_warning_days=7)],
     {("dc-1", EXPIRY, f"{A}/L1")}, [], [("dc-1", EXPIRY, f"{A}/L1")]),
    ("other kinds of alert are not the stock rules' to resolve", [bal(9)],
     [rule(reorder_point=5)], {("dc-1", AlertKind.MIS_SHIPMENT, "P1")}, [], []),
    ("all three at once", [bal(1, days=2), bal(30, "quarantine", lot="L2", days=None)],
     [rule(reorder_point=5, max_on_hand=20, expiry_warning_days=3)], set(),
     [("dc-1", EXPIRY, f"{A}/L1"), ("dc-1", LOW, A), ("dc-1", OVER, A)], []),
]  # fmt: skip


@pytest.mark.parametrize(("case", "balances", "rules", "unresolved", "raised", "resolved"), CASES)
def test_stock_rules(case, balances, rules, unresolved, raised, resolved):
    verdict = judge_stock(balances, rules, unresolved, TODAY)
    assert sorted((a.site, a.kind, a.subject) for a in verdict.to_raise) == sorted(raised), case
    assert verdict.to_resolve == resolved, case


def test_the_alerts_say_what_holds():
    verdict = judge_stock(
        [bal(3), bal(2, days=-1, lot="L0"), bal(40, "reserved")],
        [rule(reorder_point=6, max_on_hand=40, expiry_warning_days=10)],
        set(),
        TODAY,
    )
    by_kind = {a.kind: a for a in verdict.to_raise}
    low, over, expiry = by_kind[LOW], by_kind[OVER], by_kind[EXPIRY]
    assert low.message == f"{A} low at dc-1: 5 cases available, reorder point 6"
    assert low.detail == {"sku": A, "available": 5, "reorder_point": 6}
    assert over.message == f"{A} overstocked at dc-1: 45 cases on hand, max 40"
    assert over.detail == {"sku": A, "on_hand": 45, "max_on_hand": 40}
    assert expiry.subject == f"{A}/L0"
    assert (
        expiry.message == f"lot L0 of {A} at dc-1 expired 1 day ago (2025-02-28): 2 cases on hand"
    )
    assert expiry.detail["days_left"] == -1 and expiry.detail["on_hand"] == 2


def test_out_of_stock_is_critical_and_low_stock_a_warning():
    (out,) = judge_stock([], [rule(reorder_point=1)], set(), TODAY).to_raise
    (low,) = judge_stock([bal(1)], [rule(reorder_point=2)], set(), TODAY).to_raise
    assert out.severity is Severity.CRITICAL and "out of stock" in out.message
    assert low.severity is None  # the kind's default: warning


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"sku": "00614141123453"}, "sku"),
        ({"sku": "6141411234"}, "sku"),
        ({"site": ""}, "site"),
        ({"reorder_point": -1}, "reorder_point"),
        ({"max_on_hand": 0}, "max_on_hand"),
        ({"expiry_warning_days": -1}, "expiry_warning_days"),
        ({"expiry_warning_days": 3651}, "expiry_warning_days"),
        ({"reorder_point": 11, "max_on_hand": 10}, "max_on_hand"),
    ],
)
def test_a_rule_that_cannot_be_is_refused_naming_the_field(kw, field):
    args = {"site": "dc-1", "sku": A, **kw}
    with pytest.raises(StockRuleError) as refused:
        StockRule(**args)
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ")


@given(
    qtys=st.lists(
        st.tuples(
            st.sampled_from(["available", "reserved", "quarantine", "damaged", "in_transit"]),
            st.integers(0, 50),
        ),
        max_size=8,
    ),
    reorder=st.integers(0, 100),
    most=st.integers(100, 200),
)
def test_raising_what_is_found_then_judging_again_changes_nothing(qtys, reorder, most):
    """The verdict is a fixed point: once its alerts are raised, the next look with the
    same stock raises and resolves nothing."""
    balances = [bal(q, s, lot=f"L{i}", days=i) for i, (s, q) in enumerate(qtys)]
    rules = [rule(reorder_point=reorder, max_on_hand=most, expiry_warning_days=3)]
    first = judge_stock(balances, rules, set(), TODAY)
    raised = {(a.site, a.kind, a.subject) for a in first.to_raise}
    again = judge_stock(balances, rules, raised, TODAY)
    assert again.to_raise == [] and again.to_resolve == []
    assert judge_stock([], [], raised, TODAY).to_resolve == sorted(raised)
