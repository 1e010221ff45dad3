"""The forecasting library behind :mod:`cloud.warehouse.forecast`: statsforecast's
``CrostonOptimized`` and ``AutoETS`` fitted to one item's daily demand.

:func:`predict` is the :data:`~cloud.warehouse.forecast.Predictor` the cloud passes to
the pure planning functions; it is CPU work (milliseconds an item), run off the event
loop by its callers.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloud.warehouse.forecast import Method, ModelSpec


def predict(history: Sequence[float], days: int, spec: ModelSpec) -> list[float]:
    """The mean demand of each of the ``days`` days after ``history`` by ``spec``'s model."""
    import numpy as np  # here: importing statsforecast takes a second; only forecasts pay it
    from statsforecast.models import AutoETS, CrostonOptimized

    y = np.asarray(history, dtype=np.float64)
    match spec.method:
        case Method.CROSTON:
            result = CrostonOptimized().forecast(y=y, h=days)
        case Method.ETS:
            result = AutoETS(season_length=spec.season_length).forecast(y=y, h=days)
        case Method.NONE:
            return [0.0] * days
    return [float(x) for x in result["mean"]]
