"""bench/bench_faults.py's schedule: faults spread evenly through a stream (pure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_faults


@pytest.mark.parametrize(
    ("batches", "faults", "points"),
    [
        (5000, 3, [1250, 2500, 3750]),
        (300, 2, [100, 200]),
        (10, 1, [5]),
        (10, 0, []),
    ],
)
def test_faults_strike_evenly_through_the_stream_never_at_its_ends(batches, faults, points):
    assert bench_faults.fault_points(batches, faults) == points
