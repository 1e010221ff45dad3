"""Ground truth: every true movement in the simulated warehouse, one JSON object a line.

Tests score what the edge and the cloud concluded against this file. Each line
has ``t`` (simulated UTC, ISO-8601 with milliseconds), ``sim_s`` (simulated
seconds since the scenario start), ``event``, ``epc``, ``door``, ``direction``
and ``zone`` (``null`` where they do not apply), then the fields of that event
in alphabetical order (``sscc``, ``cases``, ``sku``, ``lot``, ``scale``,
``weight_kg`` ...). Lines are in time order. ``docs/simulator.md`` lists the
events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from firmware_sim.world.clock import iso_utc

__all__ = ["TruthEvent", "TruthSink", "TruthWriter", "read_truth"]

CORE_FIELDS = ("t", "sim_s", "event", "epc", "door", "direction", "zone")


@dataclass(frozen=True, slots=True)
class TruthEvent:
    t: float
    """Simulated Unix time."""
    sim_s: float
    event: str
    epc: str | None = None
    door: str | None = None
    direction: str | None = None
    zone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "t": iso_utc(self.t),
            "sim_s": round(self.sim_s, 3),
            "event": self.event,
            "epc": self.epc,
            "door": self.door,
            "direction": self.direction,
            "zone": self.zone,
        }
        for key in sorted(self.extra):
            record[key] = self.extra[key]
        return record

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


TruthSink = Callable[[TruthEvent], None]


class TruthWriter:
    """Writes truth events to a JSON-lines file, flushed line by line so a test can
    read it while the simulator runs. Usable as a context manager and as a sink."""

    def __init__(self, target: str | Path | TextIO) -> None:
        if isinstance(target, str | Path):
            self._stream: TextIO = open(target, "w", encoding="utf-8")
            self._owned = True
        else:
            self._stream = target
            self._owned = False
        self.count = 0

    def __call__(self, event: TruthEvent) -> None:
        self._stream.write(event.to_json() + "\n")
        self._stream.flush()
        self.count += 1

    def close(self) -> None:
        if self._owned and not self._stream.closed:
            self._stream.close()

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_truth(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a truth file, in order."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
