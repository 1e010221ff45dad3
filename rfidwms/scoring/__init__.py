"""Scored runs: what the cloud concluded, against the simulator's ground truth. Pure.

``inputs`` reads the truth file's records and the API's items; ``figures`` matches
them and computes the figures of ``docs/accuracy.md``. ``rfidwms score`` is the
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
    CloudPassage,
    Crossing,
    Outage,
    ScoreInputError,
    Truth,
    Weight,
    ZoneEvent,
    parse_passages,
    parse_truth,
    parse_weights,
    parse_zone_events,
)

__all__ = [
    "CloudPassage",
    "Crossing",
    "Figure",
    "Miss",
    "Outage",
    "Report",
    "ScoreInputError",
    "ScoreOptions",
    "Truth",
    "Weight",
    "ZoneEvent",
    "false_cause",
    "match_crossings",
    "parse_passages",
    "parse_truth",
    "parse_weights",
    "parse_zone_events",
    "percentile",
    "score",
    "zone_after",
]
