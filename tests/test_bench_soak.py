"""bench/bench_soak.py's judging and sampling: slopes, verdicts, the demo's process tree.

The soak itself runs 30 minutes (``make bench``); here its pure parts are table-tested
and its sampling runs against a real process tree of the shape the demo makes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_soak


@pytest.mark.parametrize(
    ("points", "slope"),
    [
        ([], 0.0),
        ([(0.0, 5.0)], 0.0),
        ([(0.0, 100.0), (3600.0, 110.0)], 10.0),  # 10 units in an hour
        ([(0.0, 100.0), (1800.0, 105.0), (3600.0, 110.0)], 10.0),
        ([(0.0, 50.0), (60.0, 50.0), (120.0, 50.0)], 0.0),
        ([(0.0, 120.0), (1800.0, 110.0), (3600.0, 100.0)], -20.0),
        # saw-tooth around a level: no trend
        ([(0.0, 10.0), (30.0, 20.0), (60.0, 10.0), (90.0, 20.0), (120.0, 10.0)], 0.0),
        ([(5.0, 1.0), (5.0, 2.0)], 0.0),  # one time: no slope
    ],
)
def test_slope_is_the_least_squares_slope_per_hour(points, slope):
    assert bench_soak.slope_per_hour(points) == pytest.approx(slope, abs=1e-9)


def test_a_noisy_level_has_a_slope_near_zero_and_one_step_outlier_does_not_make_it_grow():
    level = [(t * 30.0, 100.0 + (1.5 if t % 2 else -1.5)) for t in range(60)]
    assert abs(bench_soak.slope_per_hour(level)) < 1.0
    spiked = [*level[:30], (level[30][0], 130.0), *level[31:]]  # one GC-timing spike mid-run
    assert bench_soak.memory_trend(spiked, 0.0, 10.0).flat


@pytest.mark.parametrize(
    ("points", "warm_up_s", "limit", "flat", "start", "end", "most"),
    [
        # start-up growth in the warm-up is not judged
        ([(0, 50), (60, 90), (180, 100), (900, 100), (1800, 100)], 180, 10, True, 100, 100, 100),
        # the same counted from 0: it grows
        ([(0, 50), (60, 90), (180, 100), (900, 100), (1800, 100)], 0, 10, False, 50, 100, 100),
        # 8 MiB in 30 min = 16 MiB/h: over a 10 MiB/h limit
        ([(0, 100), (900, 104), (1800, 108)], 0, 10, False, 100, 108, 108),
        # 4 MiB in 30 min = 8 MiB/h: under it
        ([(0, 100), (900, 102), (1800, 104)], 0, 10, True, 100, 104, 104),
        # shrinking is flat
        ([(0, 120), (900, 110), (1800, 100)], 0, 10, True, 120, 100, 120),
        # no point after the warm-up: all of them judged
        ([(0, 100), (60, 200)], 600, 10, False, 100, 200, 200),
    ],
)
def test_memory_is_flat_when_its_slope_after_warm_up_is_under_the_limit(
    points, warm_up_s, limit, flat, start, end, most
):
    tr = bench_soak.memory_trend(
        [(float(t), float(v)) for t, v in points], float(warm_up_s), float(limit)
    )
    assert (tr.flat, tr.start, tr.end, tr.most) == (flat, start, end, most)


@pytest.mark.parametrize(
    ("values", "bounded"),
    [
        ([], True),
        ([7], True),
        ([0, 0, 0, 0], True),
        ([0, 0, 1, 0], True),  # an empty spool holding one batch now and then
        ([0, 0, 3, 0], False),
        ([100, 1000, 1000, 1000], True),  # filled to its cap in the first half, then level
        ([1000, 900, 1080, 1000], True),  # within 10% of the first half's max
        ([100, 200, 300, 400], False),  # still growing
        ([100, 200, 300, 400, 200, 100], False),  # grew in the second half, even if it fell
        ([500, 400, 300, 200], True),
    ],
)
def test_a_buffer_is_flat_when_the_second_half_stays_within_the_first_halfs_max(values, bounded):
    assert bench_soak.levelled([float(v) for v in values]) is bounded


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["/venv/bin/python", "-m", "rfidwms", "demo", "--speed", "10"], "demo"),
        (["/venv/bin/python", "-m", "rfidwms", "cloud"], "cloud"),
        (["python", "-m", "rfidwms", "sim", "--seed", "1", "--site", "dc-2"], "sim dc-2"),
        (["python", "-m", "rfidwms", "sim"], "sim"),
        (["python", "-m", "rfidwms", "edge", "--edge-id", "edge-1", "--seed"], "edge edge-1"),
        (["python", "-m", "rfidwms", "edge", "--edge-id"], "edge"),  # no value: no name
        (["/usr/bin/mosquitto", "-p", "1883"], "/usr/bin/mosquitto -p 1883"),
    ],
)  # fmt: skip
def test_a_demo_part_is_named_by_its_command_and_site_or_edge(argv, name):
    assert bench_soak.part_name(argv) == name


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("[cloud] 2025-03-04 08:00:01,000 ERROR   cloud.ingest: write failed", True),
        ("[edge edge-1] 2025-03-04 08:00:01,000 CRITICAL edge: spool full", True),
        ("[cloud] Traceback (most recent call last):", True),
        ("[cloud] 2025-03-04 08:00:01,000 WARNING cloud.api: slow client dropped", False),
        ("[sim dc-1] 2025-03-04 08:00:01,000 INFO    sim: order ERRORS-42 created", False),
        ("[cloud] 2025-03-04 08:00:01,000 INFO    cloud.live: 0 errors so far", False),
    ],
)
def test_error_lines_are_error_and_critical_log_lines_and_tracebacks(line, error):
    assert bench_soak.is_error_line(line) is error


def test_sampling_finds_every_part_of_a_demo_shaped_process_tree_and_its_memory():
    """A parent with two children started as the demo starts its parts: each is found
    by the parent's process tree, named, and its resident memory read."""
    sleeper = "import time; time.sleep(60)"
    parent_code = (
        "import subprocess, sys, time\n"
        f"a = subprocess.Popen([sys.executable, '-c', {sleeper!r}, 'rfidwms', 'cloud'])\n"
        f"b = subprocess.Popen([sys.executable, '-c', {sleeper!r}, 'rfidwms', 'edge',"
        " '--edge-id', 'edge-7'], start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    try:
        deadline = time.monotonic() + 20
        found: dict[str, int] = {}
        while time.monotonic() < deadline:
            found = bench_soak.demo_processes(parent.pid)
            if {"cloud", "edge edge-7"} <= set(found):
                break
            time.sleep(0.1)
        assert set(found) == {"demo", "cloud", "edge edge-7"}, found
        assert found["demo"] == parent.pid
        rec = bench_soak.Recorder()
        for t in (0.0, 30.0):
            for name, pid in found.items():
                rss = bench_soak._status_kib(pid, "VmRSS")
                assert rss is not None and rss > 1000, (name, rss)  # a Python: MiBs
                rec.put(f"RSS {name}", "memory", "MiB", t, rss / 1024, 10.0)
        trends = bench_soak.judge(rec, 0.0)
        assert set(trends) == {"RSS demo", "RSS cloud", "RSS edge edge-7"}
        assert all(tr.samples == 2 and tr.most > 1 for tr in trends.values())
    finally:
        for pid in bench_soak.descendants(parent.pid, bench_soak._children_of()):
            subprocess.run(["kill", str(pid)], check=False)
        parent.kill()
        parent.wait()


@pytest.mark.parametrize(
    ("values", "size", "floor"),
    [
        ([], 5, []),
        ([3, 1, 2], 5, [1]),
        ([5, 1, 4, 2, 6, 3], 2, [1, 2, 3]),
        ([9, 8, 7, 6, 5], 2, [8, 6, 5]),  # the last run shorter
    ],
)
def test_window_minima_are_the_lowest_of_each_run_of_samples(values, size, floor):
    points = [(float(i * 30), float(v)) for i, v in enumerate(values)]
    assert [v for _, v in bench_soak.window_minima(points, size)] == floor


def test_a_saw_toothed_heap_with_a_level_floor_is_flat_and_a_rising_floor_grows():
    """A JS heap grows between collections and drops back: its floor is what it keeps."""
    teeth = [2.0 + (i % 5) * 3.0 for i in range(60)]  # 2..14 MiB, every 2.5 minutes
    level = [(i * 30.0, v) for i, v in enumerate(teeth)]
    rising = [(i * 30.0, v + i * 0.2) for i, v in enumerate(teeth)]  # +24 MiB/h
    assert bench_soak.heap_trend(level, 0.0, 5.0).flat
    assert not bench_soak.heap_trend(rising, 0.0, 5.0).flat
    # judged sample by sample, the saw-tooth's phase alone may look like growth
    assert bench_soak.heap_trend(level, 0.0, 5.0).most == 14.0


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("RSS cloud", bench_soak.RSS_LIMIT_MIB_H),
        ("RSS edge edge-1", bench_soak.RSS_LIMIT_MIB_H),
        ("PSS chromium (3 pages)", bench_soak.BROWSER_LIMIT_MIB_H),
        ("JS heap /map", bench_soak.HEAP_LIMIT_MIB_H),
    ],
)
def test_each_memory_series_has_its_limit(name, limit):
    assert bench_soak.limit_for(name) == limit
