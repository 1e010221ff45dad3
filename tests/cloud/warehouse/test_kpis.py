"""KPI maths (cloud/warehouse/kpis.py): tables of facts and the figures they give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.kpis import (
    DEFINITIONS,
    MAX_PERIODS,
    AlertFacts,
    Facts,
    KpiError,
    OrderFacts,
    PalletReceipt,
    Period,
    Step,
    StockHistory,
    average_on_hand,
    closing_on_hand,
    compute,
    periods,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
P = Period(T0, T0 + timedelta(days=10))


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def figures(facts: Facts, period: Period = P) -> dict[str, tuple]:
    return {
        k.name: (
            None if k.value is None else round(k.value, 6),
            k.unit,
            k.numerator if k.numerator is None else round(k.numerator, 6),
            k.denominator if k.denominator is None else round(k.denominator, 6),
        )
        for k in compute(period, facts)
    }


def facts(**kw) -> Facts:
    base = {
        "stock": StockHistory(0),
        "shipped_cases": 0,
        "shipping_passages": 0,
        "mis_shipments": 0,
    }
    return Facts(**(base | kw))


@pytest.mark.parametrize(
    ("stock", "average", "closing"),
    [
        (StockHistory(100), 100.0, 100),
        # 100 for 5 days, then 50 for 5 days
        (StockHistory(100, ((at(5), -50),)), 75.0, 50),
        # 0 for 2 days, 40 for 8 days
        (StockHistory(0, ((at(2), 40),)), 32.0, 40),
        # a change at the very start counts from the start; one at the end not at all
        (StockHistory(10, ((at(0), 10), (P.end, 1000))), 20.0, 20),
        # changes out of order are taken in time order
        (StockHistory(0, ((at(5), -10), (at(0), 20))), 15.0, 10),
    ],
)
def test_average_on_hand_is_weighted_by_time(stock, average, closing):
    assert average_on_hand(P, stock) == pytest.approx(average)
    assert closing_on_hand(P, stock) == closing


def test_turnover_and_days_of_supply_from_shipments_and_stock():
    f = figures(facts(stock=StockHistory(100, ((at(5), -50),)), shipped_cases=150))
    assert f["inventory_turnover"] == (2.0, "turns", 150, 75)
    # 50 left; 15 cases a day shipped
    assert f["days_of_supply"] == (pytest.approx(3.333333), "days", 50, 15)


def test_nothing_shipped_leaves_turnover_zero_and_days_of_supply_undefined():
    f = figures(facts(stock=StockHistory(100)))
    assert f["inventory_turnover"] == (0.0, "turns", 0, 100)
    assert f["days_of_supply"] == (None, "days", 100, 0)
    f = figures(facts())
    assert f["inventory_turnover"] == (None, "turns", 0, 0)


def order(created, shipped=None, *, requested=None, ordered=10, sent=10, lines=1, short=0):
    return OrderFacts(created, requested, shipped, ordered, sent, lines, short)


def test_order_kpis_count_orders_created_or_shipped_in_the_period_by_their_own_rule():
    orders = (
        # created before the period, shipped in it: cycle, fill, on time; not stockout
        order(at(-1), at(1), requested=at(2), ordered=10, sent=10, lines=2, short=1),
        # created and shipped in it, late, short
        order(at(1), at(1, hours=6), requested=at(1, hours=5), ordered=10, sent=6, lines=2,
              short=1),
        # created in it, not shipped
        order(at(3), None, ordered=5, sent=0, lines=1, short=0),
        # created in it, shipped after it
        order(at(9), at(11), requested=at(12), lines=3, short=3),
        # shipped without a requested time: not in on-time
        order(at(4), at(4, hours=12), ordered=4, sent=4),
    )  # fmt: skip
    f = figures(facts(orders=orders))
    assert f["stockout_rate"] == (pytest.approx(100 * 4 / 7), "%", 4, 7)
    assert f["fill_rate"] == (pytest.approx(100 * 20 / 24), "%", 20, 24)
    assert f["on_time_shipment"] == (50.0, "%", 1, 2)
    # 48 h + 6 h + 12 h over 3 orders
    assert f["order_cycle_time"] == (22.0, "hours", 66, 3)


def test_a_shipment_at_the_requested_time_is_on_time():
    f = figures(facts(orders=(order(at(1), at(2), requested=at(2)),)))
    assert f["on_time_shipment"] == (100.0, "%", 1, 1)


def test_mis_shipment_rate_is_of_all_the_door_decisions():
    f = figures(facts(shipping_passages=98, mis_shipments=2))
    assert f["mis_shipment_rate"] == (2.0, "%", 2, 100)
    assert figures(facts())["mis_shipment_rate"] == (None, "%", 0, 0)


def test_inventory_record_accuracy_is_the_share_of_counts_that_found_the_book_right():
    counts = ((at(1), True), (at(2), True), (at(3), False), (at(4), True), (at(-1), False))
    f = figures(facts(counts=counts))
    assert f["inventory_record_accuracy"] == (75.0, "%", 3, 4)


def test_dock_to_stock_times_pallets_received_in_the_period_and_put_away():
    receipts = (
        PalletReceipt(at(1), at(1, minutes=30)),
        PalletReceipt(at(2), at(2, minutes=90)),
        PalletReceipt(at(3), None),  # not put away: not timed
        PalletReceipt(at(-1), at(1)),  # received before the period
    )
    f = figures(facts(receipts=receipts))
    assert f["dock_to_stock_time"] == (60.0, "minutes", 120, 2)


def test_alert_response_is_the_first_answer_of_a_person():
    alerts = (
        AlertFacts(at(1), at(1, minutes=4), at(1, minutes=30)),  # acknowledged after 4
        AlertFacts(at(2), None, at(2, minutes=10)),  # resolved by a person after 10
        AlertFacts(at(3), None, at(3, minutes=1), resolved_by_system=True),  # nobody answered
        AlertFacts(at(4), None, None),  # open
        AlertFacts(at(-1), at(1), None),  # raised before the period
    )
    f = figures(facts(alerts=alerts))
    assert f["alert_response_time"] == (7.0, "minutes", 14, 2)
    assert figures(facts())["alert_response_time"] == (None, "minutes", 0, 0)


def test_every_kpi_is_given_in_the_documented_order():
    assert list(figures(facts())) == [
        "inventory_turnover",
        "days_of_supply",
        "stockout_rate",
        "fill_rate",
        "on_time_shipment",
        "mis_shipment_rate",
        "inventory_record_accuracy",
        "dock_to_stock_time",
        "order_cycle_time",
        "alert_response_time",
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (T0, T0, "is not after"),
        (T0, T0 - timedelta(seconds=1), "is not after"),
        (datetime(2025, 3, 1), T0, "time zone"),
    ],
)
def test_a_period_that_is_not_one_is_refused(start, end, message):
    with pytest.raises(KpiError, match=message):
        Period(start, end)


@pytest.mark.parametrize(
    ("span", "step", "cuts"),
    [
        # whole days from the start
        ((at(0), at(3)), Step.DAY, [(at(0), at(1)), (at(1), at(2)), (at(2), at(3))]),
        # the last period ends at the span's end
        ((at(0), at(1, hours=6)), Step.DAY, [(at(0), at(1)), (at(1), at(1, hours=6))]),
        # a span shorter than a step is one period
        ((at(0), at(hours=2)), Step.DAY, [(at(0), at(hours=2))]),
        # hours, from an unaligned start
        ((at(minutes=30), at(hours=2)), Step.HOUR,
         [(at(minutes=30), at(hours=1, minutes=30)), (at(hours=1, minutes=30), at(hours=2))]),
    ],
)  # fmt: skip
def test_a_span_is_cut_into_periods_of_its_step(span, step, cuts):
    assert [(p.start, p.end) for p in periods(Period(*span), step)] == cuts


def test_a_series_of_more_than_max_periods_is_refused_naming_the_count():
    assert len(periods(Period(at(0), at(hours=MAX_PERIODS)), Step.HOUR)) == MAX_PERIODS
    with pytest.raises(KpiError, match=f"step: {MAX_PERIODS + 1} periods of one hour"):
        periods(Period(at(0), at(hours=MAX_PERIODS, minutes=1)), Step.HOUR)


def test_every_kpi_has_a_definition():
    assert [k.name for k in compute(P, facts())] == list(DEFINITIONS)
