"""Scored runs: what the cloud concluded, against the simulator's ground truth. Pure.

``inputs`` reads the truth file's records and the API's items; ``figures`` matches
them and computes the figures of ``docs/accuracy.md``, with ``warehouse`` deciding
the warehouse figures (the WMS's pallets and alerts against the truth) and ``variances``
the cycle count figures (its count variances against the shrinkage). ``rfidwms score`` is the
command that fetches the API and prints them.
"""

from rfidwms.scoring.figures import (
    Figure,
    Miss,
    Report,
    ScoreOptions,
    false_cause,
    match_crossings,
    percentile,
    score,
    zone_after,
)
from rfidwms.scoring.inputs import (
    AlertItem,
    CloudPassage,
    Crossing,
    Mistake,
    Outage,
    RouteStats,
    ScoreInputError,
    Shrinkage,
    StockPallet,
    Truth,
    VarianceItem,
    Weight,
    ZoneEvent,
    parse_alerts,
    parse_pallets,
    parse_passages,
    parse_route_stats,
    parse_truth,
    parse_variances,
    parse_weights,
    parse_zone_events,
)
from rfidwms.scoring.variances import VarianceScore, match_shrinkage, score_variances
from rfidwms.scoring.warehouse import Goods, PalletEnd, pallet_at, shipments

__all__ = [
    "AlertItem",
    "CloudPassage",
    "Crossing",
    "Figure",
    "Goods",
    "Miss",
    "Mistake",
    "Outage",
    "PalletEnd",
    "Report",
    "RouteStats",
    "ScoreInputError",
    "ScoreOptions",
    "Shrinkage",
    "StockPallet",
    "Truth",
    "VarianceItem",
    "VarianceScore",
    "Weight",
    "ZoneEvent",
    "false_cause",
    "match_crossings",
    "match_shrinkage",
    "pallet_at",
    "parse_alerts",
    "parse_pallets",
    "parse_passages",
    "parse_route_stats",
    "parse_truth",
    "parse_variances",
    "parse_weights",
    "parse_zone_events",
    "percentile",
    "score",
    "score_variances",
    "shipments",
    "zone_after",
]
