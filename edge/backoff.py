"""Reconnect backoff shared by the edge's reader links and its MQTT publisher."""

from __future__ import annotations


def next_backoff(current: float, maximum: float) -> float:
    """Exponential backoff: 0.5 s, 1 s, 2 s, … up to ``maximum``."""
    return min(maximum, max(0.5, current * 2))
