"""Demand forecast, its error, and the reorder point and suggested quantity. Pure.

Demand is what shipped: the cases of an item a site's ledger took out by ``ship``
entries, summed per UTC day (:func:`daily_demand`). The forecast itself comes from a
model of a forecasting library that the caller injects as a :data:`Predictor` (the
cloud passes :func:`cloud.operations.demand_model.predict`, statsforecast); what is
decided here is which model fits the history (:func:`choose_model`), how well it
did on days it did not see (:func:`backtest`, :func:`forecast_errors`), how uncertain
a day's demand is (:func:`demand_sigma`) and what to order (:func:`reorder`). Every
formula is in ``docs/forecast.md``.

Words: the **history** is the daily demand of the days before today, oldest first; the
**holdout** is its last days, kept from the model in the backtest; the **lead time**
``L`` is the days from ordering to the goods being available; the **review period**
``R`` the days between two looks at the item; the **inventory position** is what is
available at the site plus what is on order (announced by an open ASN, or in transit
to the site).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from statistics import NormalDist, pstdev

from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.stock_alerts import StockAlert


class ForecastError(ValueError):
    """A parameter that cannot be; ``field`` names it and the message its value."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class Method(StrEnum):
    NONE = "none"
    """No demand in the history: the forecast is zero, no model is fitted."""
    CROSTON = "croston_optimized"
    """Croston's method with optimised smoothing, for intermittent (or short) demand."""
    ETS = "auto_ets"
    """Exponential smoothing state space model, chosen by information criterion."""


INTERMITTENT_ADI = 1.32
"""An average interval between demand days (days / days with demand) of at least
this makes demand intermittent (Syntetos and Boylan's cut-off)."""
MIN_ETS_DAYS = 14
"""Fewer days of history than this: Croston's method, whatever the demand's shape."""
WEEKLY_SEASON_DAYS = 56
"""From this many days of history (eight weeks) the ETS model may have a weekly season."""
MIN_TRAIN_DAYS = 14
"""The backtest fits on at least this many days; with fewer, the errors are unknown."""
MAX_DAYS = 730
"""The longest history, horizon, lead time or review period accepted."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    method: Method
    season_length: int = 1
    """Days in a season (7: weekly); 1: no season."""


Predictor = Callable[[Sequence[float], int, ModelSpec], Sequence[float]]
"""``predict(history, days, spec)``: the mean demand of each of the ``days`` days after
the history, by the model ``spec`` names (never called with :attr:`Method.NONE`)."""


def _whole(field: str, value: int, low: int, high: int = MAX_DAYS) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ForecastError(field, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def daily_demand(shipped: Mapping[date, int], first_day: date, days: int) -> tuple[int, ...]:
    """Cases shipped on each of ``days`` days from ``first_day``, 0 for a day with none;
    days of ``shipped`` outside that window are left out."""
    _whole("days", days, 0)
    out = []
    for i in range(days):
        qty = shipped.get(first_day + timedelta(days=i), 0)
        if type(qty) is not int or qty < 0:
            raise ForecastError("shipped", f"cases a day are a whole number >= 0, got {qty!r}")
        out.append(qty)
    return tuple(out)


def average_demand_interval(history: Sequence[float]) -> float | None:
    """Days per day with demand; None when no day had any."""
    demand_days = sum(1 for q in history if q > 0)
    return len(history) / demand_days if demand_days else None


def choose_model(history: Sequence[float]) -> ModelSpec:
    """No model for a history without demand; Croston's for intermittent demand (ADI
    at least :data:`INTERMITTENT_ADI`) or a history shorter than :data:`MIN_ETS_DAYS`;
    else ETS, weekly seasonal from :data:`WEEKLY_SEASON_DAYS` days of history."""
    adi = average_demand_interval(history)
    if adi is None:
        return ModelSpec(Method.NONE)
    if adi >= INTERMITTENT_ADI or len(history) < MIN_ETS_DAYS:
        return ModelSpec(Method.CROSTON)
    return ModelSpec(Method.ETS, 7 if len(history) >= WEEKLY_SEASON_DAYS else 1)


def predict_with(predict: Predictor, history: Sequence[float], days: int) -> tuple[float, ...]:
    """The forecast of the model :func:`choose_model` picks, negative days taken as 0
    (demand is never below 0); all zeros when there is no demand to model."""
    spec = choose_model(history)
    if spec.method is Method.NONE or days == 0:
        return (0.0,) * days
    ahead = [float(x) for x in predict(history, days, spec)]
    if len(ahead) != days or not all(math.isfinite(x) for x in ahead):
        raise ForecastError("forecast", f"the model gave {ahead!r} for {days} days")
    return tuple(max(0.0, x) for x in ahead)


@dataclass(frozen=True, slots=True)
class Errors:
    """The forecast against what happened over the holdout (docs/forecast.md)."""

    holdout_days: int
    actual: int
    """Cases shipped in the holdout."""
    forecast: float
    """Cases the model forecast for it."""
    mae: float
    """Mean absolute error, cases a day."""
    rmse: float
    """Root mean squared error, cases a day."""
    mape: float | None
    """Mean absolute percentage error over the days with demand, %; None: no such day."""
    wape: float | None
    """Weighted absolute percentage error, sum |error| / sum actual, %; None: no demand."""


def forecast_errors(actual: Sequence[int], forecast: Sequence[float]) -> Errors:
    """MAE, RMSE, MAPE and WAPE of ``forecast`` against ``actual``, day by day."""
    if not actual or len(actual) != len(forecast):
        raise ForecastError(
            "forecast", f"{len(forecast)} days against {len(actual)} actual; want as many, >= 1"
        )
    gaps = [abs(a - f) for a, f in zip(actual, forecast, strict=True)]
    n = len(gaps)
    total = sum(actual)
    pct = [g / a for g, a in zip(gaps, actual, strict=True) if a > 0]
    return Errors(
        holdout_days=n,
        actual=total,
        forecast=sum(forecast),
        mae=sum(gaps) / n,
        rmse=math.sqrt(sum(g * g for g in gaps) / n),
        mape=100.0 * sum(pct) / len(pct) if pct else None,
        wape=100.0 * sum(gaps) / total if total > 0 else None,
    )


def backtest(predict: Predictor, history: Sequence[int], holdout_days: int) -> Errors | None:
    """Fit on the history less its last ``holdout_days`` days, forecast those days and
    measure the errors; None when fewer than :data:`MIN_TRAIN_DAYS` days would remain."""
    _whole("holdout_days", holdout_days, 1)
    train = len(history) - holdout_days
    if train < MIN_TRAIN_DAYS:
        return None
    ahead = predict_with(predict, [float(q) for q in history[:train]], holdout_days)
    return forecast_errors(history[train:], ahead)


def demand_sigma(history: Sequence[int], errors: Errors | None) -> float:
    """The standard deviation of one day's demand around its forecast: the backtest's
    RMSE, or without a backtest the (population) standard deviation of the history."""
    if errors is not None:
        return errors.rmse
    return pstdev(history) if len(history) >= 2 else 0.0


@dataclass(frozen=True, slots=True)
class ReorderPolicy:
    lead_time_days: int
    """L: days from placing an order to its goods being available."""
    review_days: int
    """R: days between two looks at the item (0: continuous review)."""
    service_level: float
    """Chance of not running out before the next delivery (0.5 to 0.999)."""

    def __post_init__(self) -> None:
        _whole("lead_time_days", self.lead_time_days, 0)
        _whole("review_days", self.review_days, 0)
        if self.lead_time_days + self.review_days < 1:
            raise ForecastError("review_days", "lead time plus review period must be >= 1 day")
        level = self.service_level
        number = isinstance(level, float | int) and not isinstance(level, bool)
        if not (number and 0.5 <= level <= 0.999):
            raise ForecastError("service_level", f"must be from 0.5 to 0.999, got {level!r}")

    @property
    def z(self) -> float:
        """The safety factor: the standard normal quantile of the service level."""
        return NormalDist().inv_cdf(self.service_level)

    @property
    def cover_days(self) -> int:
        """L + R: the days an order must cover."""
        return self.lead_time_days + self.review_days


@dataclass(frozen=True, slots=True)
class Reorder:
    lead_time_demand: float
    """Forecast demand over the lead time, cases."""
    safety_stock: int
    """z * sigma * sqrt(L + R), rounded up."""
    reorder_point: int
    """ceil(lead time demand + z * sigma * sqrt(L)): order when the position is at or below."""
    order_up_to: int
    """ceil(demand over L + R + safety stock): what an order brings the position up to."""
    position: int
    """Available plus on order."""
    suggested_qty: int
    """order_up_to - position when the position is at or below the reorder point, else 0."""


def reorder(
    forecast: Sequence[float],
    sigma: float,
    policy: ReorderPolicy,
    *,
    available: int,
    on_order: int,
) -> Reorder:
    """The reorder point and the suggested quantity (docs/forecast.md) from a daily
    forecast of at least ``L + R`` days and the standard deviation of a day's demand."""
    if len(forecast) < policy.cover_days:
        raise ForecastError(
            "forecast", f"{len(forecast)} days, the policy needs {policy.cover_days} (L + R)"
        )
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ForecastError("sigma", f"must be a number >= 0, got {sigma!r}")
    for name, qty in (("available", available), ("on_order", on_order)):
        if type(qty) is not int:
            raise ForecastError(name, f"must be a whole number of cases, got {qty!r}")
    lead, cover = policy.lead_time_days, policy.cover_days
    lead_demand = sum(forecast[:lead])
    cover_demand = sum(forecast[:cover])
    safety = policy.z * sigma * math.sqrt(cover)
    point = _ceil(lead_demand + policy.z * sigma * math.sqrt(lead))
    up_to = _ceil(cover_demand + safety)
    position = available + on_order
    return Reorder(
        lead_time_demand=lead_demand,
        safety_stock=_ceil(safety),
        reorder_point=point,
        order_up_to=up_to,
        position=position,
        suggested_qty=max(0, up_to - position) if position <= point else 0,
    )


def _ceil(x: float) -> int:
    """Rounded up, but a float a hair above a whole number (1e-9) is that number."""
    return max(0, math.ceil(x - 1e-9))


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    """How the cloud forecasts (settings ``RFIDWMS_FORECAST_*``)."""

    history_days: int = 90
    """Whole days of shipments the models fit on."""
    holdout_days: int = 14
    """The last days of the history the backtest keeps from the model."""
    policy: ReorderPolicy = field(default_factory=lambda: ReorderPolicy(7, 7, 0.95))
    """The reorder policy when a request names none."""
    alert_horizon_days: int = 7
    """Days of forecast a low-stock alert's detail carries."""

    def __post_init__(self) -> None:
        _whole("history_days", self.history_days, 1)
        _whole("holdout_days", self.holdout_days, 1, self.history_days)
        _whole("alert_horizon_days", self.alert_horizon_days, 1)


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """One item's forecast, its error and what to order."""

    model: ModelSpec
    history: tuple[int, ...]
    daily: tuple[float, ...]
    """The forecast from today, one figure a day, as many days as asked."""
    errors: Errors | None
    sigma: float
    reorder: Reorder


def plan_item(
    predict: Predictor,
    history: Sequence[int],
    *,
    horizon_days: int,
    holdout_days: int,
    policy: ReorderPolicy,
    available: int,
    on_order: int,
) -> ItemPlan:
    """Forecast ``horizon_days`` days (and at least L + R for the reorder point) from the
    whole history, backtest over the holdout, and work out what to order."""
    _whole("horizon_days", horizon_days, 1)
    ahead = predict_with(predict, [float(q) for q in history], max(horizon_days, policy.cover_days))
    errors = backtest(predict, history, holdout_days)
    sigma = demand_sigma(history, errors)
    return ItemPlan(
        model=choose_model([float(q) for q in history]),
        history=tuple(history),
        daily=ahead[:horizon_days],
        errors=errors,
        sigma=sigma,
        reorder=reorder(ahead, sigma, policy, available=available, on_order=on_order),
    )


def with_reorder(alert: StockAlert, plan: ItemPlan, policy: ReorderPolicy) -> StockAlert:
    """A ``low_stock`` alert carrying its item's forecast and what to order: the detail
    gains ``suggested_qty`` and ``forecast`` (model, daily figures, reorder point,
    order-up-to, position, the policy and the backtest's MAE and WAPE), and the message
    says how much to order. Any other alert is returned as it is."""
    if alert.kind is not AlertKind.LOW_STOCK:
        return alert
    r, e = plan.reorder, plan.errors
    mean = sum(plan.daily) / len(plan.daily) if plan.daily else 0.0
    advice = (
        f"suggest ordering {r.suggested_qty} cases"
        if r.suggested_qty > 0
        else f"nothing to order: {r.position} available and on order"
    )
    detail = {
        **alert.detail,
        "suggested_qty": r.suggested_qty,
        "forecast": {
            "model": plan.model.method.value,
            "daily": [round(q, 3) for q in plan.daily],
            "reorder_point": r.reorder_point,
            "order_up_to": r.order_up_to,
            "safety_stock": r.safety_stock,
            "position": r.position,
            "lead_time_days": policy.lead_time_days,
            "review_days": policy.review_days,
            "service_level": policy.service_level,
            "mae": None if e is None else round(e.mae, 3),
            "wape": None if e is None or e.wape is None else round(e.wape, 1),
        },
    }
    message = (
        f"{alert.message}; forecast {mean:.1f} cases a day, "
        f"forecast reorder point {r.reorder_point}: {advice}"
    )
    return replace(alert, message=message, detail=detail)
