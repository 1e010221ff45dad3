"""How fast `rfidwms demo` shows live reads on a machine with no services configured.

Runs the demo in a temporary directory (embedded PostgreSQL and MQTT broker),
and measures: launch -> `dashboard:` line, and `dashboard:` line -> first
WebSocket delta carrying reads (what the page shows). Target: first live read
within 5 s of the dashboard URL being printed.

Writes ``bench/results/demo_first_read.json`` (and ``docs/benchmarks.md``): both
times, min / median / max of the runs.

    .venv/bin/python bench/bench_demo_first_read.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import benchkit
import websockets

TARGET_S = 5.0


async def first_reads(ws_url: str, timeout: float) -> float:
    async with asyncio.timeout(timeout):
        async with websockets.connect(ws_url) as ws:
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "delta" and msg.get("reads"):
                    return time.monotonic()
                if msg.get("type") == "snapshot" and msg.get("reads"):
                    return time.monotonic()


def one_run() -> tuple[float, float]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("RFIDWMS_DATABASE_URL", "RFIDWMS_MQTT_URL")
    }
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "rfidwms", "demo"],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                m = re.match(r"^dashboard: http://127\.0\.0\.1:(\d+)/#token=(\S+)$", line.strip())
                if m:
                    t_url = time.monotonic()
                    port, token = m.groups()
                    break
            else:
                raise SystemExit("demo exited before printing the dashboard URL")
            t_read = asyncio.run(first_reads(f"ws://127.0.0.1:{port}/ws/live?token={token}", 60))
            return t_url - t0, t_read - t_url
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    starts, reads = [], []
    for i in range(args.runs):
        start, read = one_run()
        starts.append(start)
        reads.append(read)
        print(f"run {i + 1}: dashboard URL after {start:.2f} s; first live read {read:.2f} s later")
    worst = max(reads)
    print(
        f"launch -> URL: median {statistics.median(starts):.2f} s; "
        f"URL -> first live read: median {statistics.median(reads):.2f} s, worst {worst:.2f} s "
        f"(target {TARGET_S:.0f} s): {'OK' if worst <= TARGET_S else 'MISSED'}"
    )
    result = benchkit.Result(
        name="demo_first_read",
        title="`rfidwms demo`: time to the first live read",
        description=(
            "The demo in a temporary directory with no services configured (embedded "
            "PostgreSQL and MQTT broker on 127.0.0.1): launch to the `dashboard:` line, "
            "and that line to the first WebSocket message carrying reads (what the page "
            "shows)."
        ),
        repeats=args.runs,
    )
    result.add(benchkit.Figure("launch -> dashboard URL printed", "s", starts))
    result.add(
        benchkit.Figure(
            "dashboard URL -> first live read",
            "s",
            reads,
            goal=f"<= {TARGET_S:.0f} s",
            goal_max=TARGET_S,
        )
    )
    benchkit.write(result)
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
