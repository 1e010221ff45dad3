"""Python's cyclic garbage collector, set for a long-running process that makes many
short-lived objects: the edge, the simulator and the ingester.

With Python's default (a young collection every 700 allocations), objects that live a
little while (a report's reads, a window's observations) are promoted to the oldest
generation before they die, and the full collections this brings scan every live
object of the process. Measured in the edge of a `dock-rush-noisy` run: 4-7 full
collections every 30 s of wall time, 50-92 ms each (up to 119 ms), during which no
report was read and no event sent: 0.5-1.2 simulated seconds at ``--speed 10``, the
tail of the read -> event latency.

:func:`calm_collector` makes young collections rarer (most such objects then die by
reference counting first) and, once a process has started, moves what it made so far
(modules, layout, models: it lives as long as the process) out of the collector's
sight with :func:`gc.freeze`. Cycles are still collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default:
700)."""


def calm_collector(young: int = YOUNG_THRESHOLD, *, freeze: bool = True) -> None:
    """Collect the young generation every ``young`` allocations (unless collection is
    off, or already rarer) and, with ``freeze``, leave the objects alive now out of every
    later collection."""
    now_young, middle, old = gc.get_threshold()
    if 0 < now_young < young:  # 0: collection is off; leave it so
        gc.set_threshold(young, middle, old)
    if freeze:
        gc.collect()  # what is garbage now is not frozen with the rest
        gc.freeze()
