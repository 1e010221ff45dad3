"""The cloud's overall health from what its parts report. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    problems: list[str]


def overall_health(
    *,
    database_ok: bool,
    ingest_running: bool,
    broker_connected: bool,
    failing_since: datetime | None,
    now: datetime,
    stuck_after: timedelta,
    feed_skipped: int = 0,
    live_feed_connected: bool = True,
) -> Verdict:
    """``down`` when the database cannot be reached; ``degraded`` when the ingester is
    not connected to the broker, or its writes have kept failing for ``stuck_after``
    (ingest is stuck: messages wait unacknowledged), or the warehouse feed skipped
    events whose handlers kept failing (``feed_skipped``: the books miss what they
    said), or the live feed does not hear the ingesters' deltas on the broker
    (``live_feed_connected``: the node's pages go stale); else ``ok``."""
    if not database_ok:
        return Verdict("down", ["the database cannot be reached"])
    problems = []
    if ingest_running and not broker_connected:
        problems.append("the ingester is not connected to the MQTT broker")
    if ingest_running and failing_since is not None and now - failing_since >= stuck_after:
        seconds = (now - failing_since).total_seconds()
        problems.append(f"ingest is stuck: writes have failed for {seconds:.0f} s")
    if not live_feed_connected:
        problems.append("the live feed is not connected to the MQTT broker")
    if feed_skipped:
        problems.append(
            f"the warehouse feed skipped {feed_skipped} event(s) its handlers kept failing "
            "on (GET /api/feed-failures)"
        )
    return Verdict("degraded" if problems else "ok", problems)
