"""Demand forecast, its error, and the reorder point and suggested quantity: the pure
parts, with a simple injected predictor (the real one, statsforecast, is exercised
in tests/cloud/test_forecast_api.py). Expected figures are worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.forecast import (
    ForecastError,
    Method,
    ModelSpec,
    ReorderPolicy,
    backtest,
    choose_model,
    daily_demand,
    demand_sigma,
    forecast_errors,
    plan_item,
    predict_with,
    reorder,
    with_reorder,
)
from cloud.warehouse.stock_alerts import StockAlert

D0 = date(2025, 3, 1)
Z95 = 1.6448536269514722


def mean_predictor(history: Sequence[float], days: int, spec: ModelSpec) -> list[float]:
    """The history's mean, every day: a stand-in model whose forecast is easy to check."""
    return [sum(history) / len(history)] * days


def test_daily_demand_fills_days_without_shipments_and_leaves_out_other_days():
    shipped = {D0: 3, D0 + timedelta(days=2): 5, D0 - timedelta(days=1): 9, D0 + timedelta(4): 1}
    assert daily_demand(shipped, D0, 4) == (3, 0, 5, 0)
    assert daily_demand({}, D0, 0) == ()


@pytest.mark.parametrize(
    ("shipped", "days", "field"),
    [({D0: -1}, 1, "shipped"), ({D0: 1.5}, 1, "shipped"), ({}, -1, "days"), ({}, 731, "days")],
)
def test_daily_demand_refuses_what_cannot_be(shipped, days, field):
    with pytest.raises(ForecastError) as e:
        daily_demand(shipped, D0, days)
    assert e.value.field == field


# (case, history, expected model)
MODELS = [
    ("no demand at all: no model", [0] * 30, ModelSpec(Method.NONE)),
    ("demand one day in three: intermittent", [1, 0, 0] * 10, ModelSpec(Method.CROSTON)),
    ("ADI exactly 1.32 is intermittent", [1] * 25 + [0] * 8, ModelSpec(Method.CROSTON)),
    ("ADI just under 1.32 is smooth", [1] * 26 + [0] * 8, ModelSpec(Method.ETS)),
    ("smooth but under 14 days: Croston", [3] * 13, ModelSpec(Method.CROSTON)),
    ("smooth, 14 days: ETS, no season", [3] * 14, ModelSpec(Method.ETS)),
    ("smooth, 55 days: still no season", [3] * 55, ModelSpec(Method.ETS)),
    ("smooth, eight weeks: weekly season", [3] * 56, ModelSpec(Method.ETS, 7)),
]


@pytest.mark.parametrize(
    ("history", "expected"), [c[1:] for c in MODELS], ids=[c[0] for c in MODELS]
)
def test_the_model_follows_the_shape_of_the_history(history, expected):
    assert choose_model(history) == expected


def test_a_history_without_demand_is_forecast_zero_without_calling_the_model():
    def never(history: Sequence[float], days: int, spec: ModelSpec) -> list[float]:
        raise AssertionError("the model was called")

    assert predict_with(never, [0.0] * 20, 3) == (0.0, 0.0, 0.0)


def test_negative_forecast_days_count_as_no_demand():
    assert predict_with(lambda h, d, s: [-0.5, 1.25], [1.0] * 20, 2) == (0.0, 1.25)


@pytest.mark.parametrize("bad", [[1.0], [1.0, math.nan]])
def test_a_model_answer_of_the_wrong_length_or_not_finite_is_refused(bad):
    with pytest.raises(ForecastError, match="forecast"):
        predict_with(lambda h, d, s: bad, [1.0] * 20, 2)


# (case, actual, forecast, (mae, rmse, mape, wape, actual total, forecast total))
ERRORS = [
    ("worked example", [0, 4, 2, 2], [1, 2, 2, 3], (1.0, math.sqrt(1.5), 100 / 3, 50.0, 8, 8)),
    ("perfect", [3, 3], [3, 3], (0.0, 0.0, 0.0, 0.0, 6, 6)),
    ("no demand: no percentages", [0, 0], [1, 1], (1.0, 1.0, None, None, 0, 2)),
    ("forecast nothing", [2, 6], [0, 0], (4.0, math.sqrt(20), 100.0, 100.0, 8, 0)),
]


@pytest.mark.parametrize(
    ("actual", "forecast", "expected"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_forecast_errors(actual, forecast, expected):
    e = forecast_errors(actual, forecast)
    mae, rmse, mape, wape, total, predicted = expected
    assert (e.holdout_days, e.actual, e.forecast) == (len(actual), total, predicted)
    assert e.mae == pytest.approx(mae)
    assert e.rmse == pytest.approx(rmse)
    assert e.mape == (None if mape is None else pytest.approx(mape))
    assert e.wape == (None if wape is None else pytest.approx(wape))


def test_errors_need_as_many_forecast_days_as_actual_ones():
    with pytest.raises(ForecastError, match="3 days against 2 actual"):
        forecast_errors([1, 2], [1, 2, 3])
    with pytest.raises(ForecastError):
        forecast_errors([], [])


def test_the_backtest_fits_on_the_history_before_the_holdout_only():
    seen: list[tuple[list[float], int, ModelSpec]] = []

    def recording(history: Sequence[float], days: int, spec: ModelSpec) -> list[float]:
        seen.append((list(history), days, spec))
        return mean_predictor(history, days, spec)

    history = [2] * 14 + [4, 0, 6]  # the holdout: 3 days, 10 cases against 6 forecast
    e = backtest(recording, history, 3)
    assert seen == [([2.0] * 14, 3, ModelSpec(Method.ETS))]
    assert e is not None
    assert (e.actual, e.forecast, e.mae) == (10, 6.0, pytest.approx(8 / 3))  # gaps 2, 2, 4
    assert e.wape == pytest.approx(80.0)


def test_no_backtest_with_fewer_than_14_days_to_fit_on():
    assert backtest(mean_predictor, [1] * 20, 7) is None
    assert backtest(mean_predictor, [1] * 21, 7) is not None


def test_sigma_is_the_backtest_rmse_else_the_spread_of_the_history():
    e = forecast_errors([0, 4, 2, 2], [1, 2, 2, 3])
    assert demand_sigma([9, 9], e) == pytest.approx(math.sqrt(1.5))
    assert demand_sigma([1, 3], None) == pytest.approx(1.0)
    assert demand_sigma([5], None) == 0.0
    assert demand_sigma([], None) == 0.0


# (case, forecast, sigma, (L, R, level), available, on order,
#  (reorder point, order up to, safety stock, position, suggested))
REORDERS = [
    # point = ceil(6 + 1.645 * 1 * sqrt 3 = 8.85) = 9; up to = ceil(14 + 1.645 * sqrt 7 = 18.35)
    ("below the point: order up to", [2.0] * 14, 1.0, (3, 4, 0.95), 5, 0, (9, 19, 5, 5, 14)),
    ("on order counts", [2.0] * 14, 1.0, (3, 4, 0.95), 5, 10, (9, 19, 5, 15, 0)),
    ("at the point: order", [2.0] * 14, 1.0, (3, 4, 0.95), 9, 0, (9, 19, 5, 9, 10)),
    ("one above the point: wait", [2.0] * 14, 1.0, (3, 4, 0.95), 10, 0, (9, 19, 5, 10, 0)),
    ("no uncertainty: no safety stock", [2.0] * 7, 0.0, (3, 4, 0.95), 0, 0, (6, 14, 0, 0, 14)),
    ("continuous review (R 0)", [1.5] * 5, 0.0, (4, 0, 0.95), 2, 0, (6, 6, 0, 2, 4)),
    ("no demand: nothing to order", [0.0] * 7, 0.0, (3, 4, 0.95), 0, 0, (0, 0, 0, 0, 0)),
    ("more stock than the order-up-to", [2.0] * 7, 0.0, (3, 4, 0.95), -3, 0, (6, 14, 0, -3, 17)),
    # z at 50 % is 0: the safety stock vanishes whatever sigma
    ("service level 50 %", [1.0] * 7, 5.0, (3, 4, 0.5), 0, 0, (3, 7, 0, 0, 7)),
]


@pytest.mark.parametrize(
    ("forecast", "sigma", "policy", "available", "on_order", "expected"),
    [c[1:] for c in REORDERS],
    ids=[c[0] for c in REORDERS],
)
def test_reorder_point_and_suggested_quantity(
    forecast, sigma, policy, available, on_order, expected
):
    r = reorder(forecast, sigma, ReorderPolicy(*policy), available=available, on_order=on_order)
    assert (r.reorder_point, r.order_up_to, r.safety_stock, r.position, r.suggested_qty) == (
        expected
    )


def test_the_lead_time_demand_and_the_safety_factor():
    policy = ReorderPolicy(3, 4, 0.95)
    assert policy.z == pytest.approx(Z95)
    r = reorder([1.0, 2.0, 3.0, 9.0, 9.0, 9.0, 9.0], 0.0, policy, available=100, on_order=0)
    assert r.lead_time_demand == 6.0


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ((-1, 7, 0.95), "lead_time_days"),
        ((7, -1, 0.95), "review_days"),
        ((0, 0, 0.95), "review_days"),
        ((7, 731, 0.95), "review_days"),
        ((7, 7, 0.4), "service_level"),
        ((7, 7, 1.0), "service_level"),
        ((7, 7, True), "service_level"),
        ((1.5, 7, 0.95), "lead_time_days"),
    ],
)
def test_a_policy_that_cannot_be_is_refused_naming_the_field(policy, field):
    with pytest.raises(ForecastError) as e:
        ReorderPolicy(*policy)
    assert e.value.field == field


def test_reorder_needs_a_forecast_covering_lead_time_and_review():
    with pytest.raises(ForecastError, match="needs 7"):
        reorder([1.0] * 6, 0.0, ReorderPolicy(3, 4, 0.95), available=0, on_order=0)
    with pytest.raises(ForecastError, match="sigma"):
        reorder([1.0] * 7, -1.0, ReorderPolicy(3, 4, 0.95), available=0, on_order=0)


def test_an_item_plan_forecasts_backtests_and_suggests():
    history = [2, 4] * 14  # 28 days, mean 3, holdout 7: fitted on 21 days (mean 62/21)
    plan = plan_item(
        mean_predictor,
        history,
        horizon_days=3,
        holdout_days=7,
        policy=ReorderPolicy(2, 5, 0.95),
        available=4,
        on_order=2,
    )
    assert plan.model == ModelSpec(Method.ETS)
    assert plan.daily == (3.0, 3.0, 3.0)  # the horizon, though L + R is 7
    assert plan.errors is not None
    assert plan.errors.holdout_days == 7
    # the holdout is 4, 2, 4, 2, 4, 2, 4 against 62/21 every day
    assert plan.errors.mae == pytest.approx((4 * (4 - 62 / 21) + 3 * (62 / 21 - 2)) / 7)
    assert plan.sigma == plan.errors.rmse
    # point ceil(6 + z*sigma*sqrt 2); position 6 is below it: order up to 21 + safety
    safety = Z95 * plan.sigma * math.sqrt(7)
    assert plan.reorder.reorder_point == math.ceil(6 + Z95 * plan.sigma * math.sqrt(2))
    assert plan.reorder.order_up_to == math.ceil(21 + safety)
    assert plan.reorder.suggested_qty == plan.reorder.order_up_to - 6


def test_a_short_history_has_no_errors_and_takes_its_spread_as_sigma():
    plan = plan_item(
        mean_predictor,
        [0, 2, 0, 2],
        horizon_days=2,
        holdout_days=7,
        policy=ReorderPolicy(1, 1, 0.95),
        available=0,
        on_order=0,
    )
    assert (plan.model.method, plan.errors, plan.sigma, plan.daily) == (
        Method.CROSTON,
        None,
        1.0,
        (1.0, 1.0),
    )


def _low_stock() -> StockAlert:
    return StockAlert(
        AlertKind.LOW_STOCK,
        "dc-1",
        "00614141123452",
        "00614141123452 low at dc-1: 4 cases available, reorder point 10",
        {"sku": "00614141123452", "available": 4, "reorder_point": 10},
    )


def test_a_low_stock_alert_carries_the_forecast_and_the_suggested_quantity():
    policy = ReorderPolicy(2, 5, 0.95)
    plan = plan_item(mean_predictor, [2, 4] * 14, horizon_days=3, holdout_days=7,
                     policy=policy, available=4, on_order=2)  # fmt: skip
    alert = with_reorder(_low_stock(), plan, policy)
    r = plan.reorder
    assert alert.message == (
        "00614141123452 low at dc-1: 4 cases available, reorder point 10; forecast 3.0 cases"
        f" a day, forecast reorder point {r.reorder_point}: suggest ordering"
        f" {r.suggested_qty} cases"
    )
    assert alert.detail == {
        "sku": "00614141123452",
        "available": 4,
        "reorder_point": 10,
        "suggested_qty": r.suggested_qty,
        "forecast": {
            "model": "auto_ets",
            "daily": [3.0, 3.0, 3.0],
            "reorder_point": r.reorder_point,
            "order_up_to": r.order_up_to,
            "safety_stock": r.safety_stock,
            "position": 6,
            "lead_time_days": 2,
            "review_days": 5,
            "service_level": 0.95,
            "mae": round(plan.errors.mae, 3),
            "wape": round(plan.errors.wape, 1),
        },
    }


def test_a_low_stock_alert_with_enough_on_order_says_there_is_nothing_to_order():
    policy = ReorderPolicy(1, 1, 0.95)
    plan = plan_item(mean_predictor, [1] * 5, horizon_days=2, holdout_days=7, policy=policy,
                     available=0, on_order=40)  # fmt: skip
    alert = with_reorder(_low_stock(), plan, policy)
    assert alert.detail["suggested_qty"] == 0
    assert alert.detail["forecast"]["wape"] is None  # no backtest on 5 days
    assert alert.message.endswith(": nothing to order: 40 available and on order")


def test_other_alerts_are_left_as_they_are():
    plan = plan_item(mean_predictor, [1] * 5, horizon_days=2, holdout_days=7,
                     policy=ReorderPolicy(1, 1, 0.95), available=0, on_order=0)  # fmt: skip
    over = StockAlert(AlertKind.OVERSTOCK, "dc-1", "x", "m", {"on_hand": 9})
    assert with_reorder(over, plan, ReorderPolicy(1, 1, 0.95)) is over
