"""How fast the demo's database grows: bytes per simulated day, per table and in all.

Runs ``rfidwms demo`` (its two sites: the bundled demo layout with the ``demo``
scenario, and the smaller ``dc-2`` with ``small-site``; simulator, edges, cloud and the
simulated ERP and staff, each its own process) against a fresh database on the
PostgreSQL at ``--database-url`` and the broker at ``--mqtt-url``, at ``--speed``
simulated seconds per second for ``--duration`` of simulated time. The sites get ids
of their own (``RFIDWMS_SITES``) so the run shares the broker with nobody.

The size of every table (``pg_total_relation_size``: heap, TOAST and indexes; a
TimescaleDB hypertable by ``hypertable_size``) and its row count are taken once
``--warm-up`` of simulated time has passed (the ERP's item master, the first stock
and the users are in by then) and again when the simulation has ended and the cloud
has stored everything; the difference over the simulated time between the two is
extrapolated linearly to a simulated day (the scenario's traffic is steady: trucks
every 1.5-3 minutes and orders every 1-2 minutes, for as long as it runs).

Raw observations are kept ``RFIDWMS_OBSERVATIONS_RETENTION_H`` (24 h by default,
docs/cloud.md), events and the warehouse's records for good: the ``observations``
table levels off at about one day of growth; everything else grows by its daily
figure every day.

    .venv/bin/python bench/bench_db_growth.py [--speed 10] [--duration 30m] [--runs 1]

Targets only 127.0.0.1 and stops by itself. Writes ``bench/results/db_growth.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import benchkit
import psycopg
from benchkit import forget_session, free_port

from protocols.clock import parse_clock

DAY_S = 86_400.0
RETENTION_H = 24.0  # RFIDWMS_OBSERVATIONS_RETENTION_H's default (docs/cloud.md)
START = "2025-03-04T08:00:00Z"
"""The simulated start: a Tuesday morning (fixed, so runs compare)."""


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30m, 2h or 90s")
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600}[m[2]]


def sizes(url: str) -> dict[str, tuple[int, int]]:
    """table -> (bytes, rows) of every table of the schema."""
    with psycopg.connect(url, autocommit=True) as conn:
        hyper: set[str] = set()
        if conn.execute(
            "SELECT to_regclass('timescaledb_information.hypertables') IS NOT NULL"
        ).fetchone() == (True,):
            hyper = {
                str(r[0])
                for r in conn.execute(
                    "SELECT hypertable_name FROM timescaledb_information.hypertables"
                    " WHERE hypertable_schema = current_schema()"
                ).fetchall()
            }
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                " ORDER BY c.relname"
            ).fetchall()
        ]
        out: dict[str, tuple[int, int]] = {}
        for t in tables:
            size_sql = (
                "hypertable_size(%s::regclass)"
                if t in hyper
                else "pg_total_relation_size(%s::regclass)"
            )
            b = conn.execute(f"SELECT {size_sql}", [t]).fetchone()
            n = conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()
            out[t] = (int(b[0] or 0) if b else 0, int(n[0]) if n else 0)
        return out


class Demo:
    """``rfidwms demo`` as a process, its output collected."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rfidwms", *argv],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, pred: Callable[[list[str]], str | None], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = pred(self.lines)
                if found:
                    return found
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(self.lines[-30:])
                    raise SystemExit(f"demo: no line awaited (exit {self.proc.poll()}):\n{tail}")
                self.cond.wait(0.5)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def settle(url: str, quiet_s: float = 3.0, timeout: float = 120.0) -> None:
    """Until nothing new has been stored for ``quiet_s`` (the cloud caught up)."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM ingested_batches").fetchone()
            n = int(row[0]) if row else 0
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.5)


def one_run(
    admin_url: str, mqtt_url: str, speed: float, duration_s: float, warm_up_s: float
) -> dict[str, object]:
    tag = uuid.uuid4().hex[:6]
    first, second = f"grow-{tag}-a", f"grow-{tag}-b"
    layouts = resources.files("protocols.layouts")
    with (
        benchkit.fresh_database(admin_url, "rfidwms_bench_growth") as url,
        tempfile.TemporaryDirectory() as tmp,
        resources.as_file(layouts.joinpath("demo.yaml")) as demo_layout,
        resources.as_file(layouts.joinpath("dc-2.yaml")) as dc2_layout,
    ):
        sites = f"{first}={demo_layout},{second}={dc2_layout}"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "RFIDWMS_DATABASE_URL": url,
            "RFIDWMS_MQTT_URL": mqtt_url,
            "RFIDWMS_SITES": sites,
            "RFIDWMS_HTTP_PORT": str(free_port()),
            "RFIDWMS_INGEST_CLIENT_ID": f"rfidwms-ingest-{first}",
        }
        for name in ("RFIDWMS_SITE", "RFIDWMS_LAYOUT", "RFIDWMS_CLOCK"):
            env.pop(name, None)
        argv = ["demo", "--speed", f"{speed:g}", "--start", START]
        argv += ["--duration", f"{duration_s:g}s"]
        demo = Demo(argv, env, Path(tmp))
        client_id = env["RFIDWMS_INGEST_CLIENT_ID"]
        try:
            spec = demo.wait_for(
                lambda ls: next((x[len("clock: ") :] for x in ls if x.startswith("clock: ")), None),
                timeout=180,
            )
            clock = parse_clock(spec)
            started = datetime.fromisoformat(START.replace("Z", "+00:00"))
            at_a = started + timedelta(seconds=warm_up_s)
            while clock() < at_a:
                if demo.proc.poll() is not None:
                    raise SystemExit("demo exited:\n" + "\n".join(demo.lines[-30:]))
                time.sleep(0.2)
            t_a = clock()
            before = sizes(url)
            demo.wait_for(
                lambda ls: next((x for x in ls if x.startswith("simulation ended")), None),
                timeout=duration_s / speed + 300,
            )
            settle(url)
            t_b = min(clock(), started + timedelta(seconds=duration_s))
            after = sizes(url)
        finally:
            code = demo.stop()
            forget_session(mqtt_url, client_id)
        errors = [x for x in demo.lines if " ERROR " in x or "Traceback" in x]
        return {
            "simulated_s": (t_b - t_a).total_seconds(),
            "before": before,
            "after": after,
            "exit_code": code,
            "error_lines": errors[:20],
        }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--speed", type=float, default=10.0)
    p.add_argument("--duration", type=parse_duration, default=parse_duration("30m"))
    p.add_argument("--warm-up", type=parse_duration, default=parse_duration("5m"))
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    args = p.parse_args()
    if args.warm_up >= args.duration:
        p.error("--warm-up must be shorter than --duration")

    runs = []
    for i in range(args.runs):
        r = one_run(args.database_url, args.mqtt_url, args.speed, args.duration, args.warm_up)
        runs.append(r)
        print(f"run {i + 1}: {r['simulated_s']:.0f} simulated s measured", flush=True)

    per_day: dict[str, list[float]] = {}
    rows_per_day: dict[str, list[float]] = {}
    raw_per_day: dict[str, list[float]] = {}
    for r in runs:
        before, after = r["before"], r["after"]
        assert isinstance(before, dict) and isinstance(after, dict)
        span = float(r["simulated_s"])  # type: ignore[arg-type]
        for t, (b1, n1) in after.items():
            b0, n0 = before.get(t, (0, 0))
            rows = (n1 - n0) * DAY_S / span
            # new rows at the table's size per row: a table updated in place (tag
            # locations, readers, stock positions) also grows by dead row versions
            # between vacuums, which is bounded, not a daily cost
            per_day.setdefault(t, []).append(rows * b1 / n1 if n1 > 0 and rows > 0 else 0.0)
            raw_per_day.setdefault(t, []).append((b1 - b0) * DAY_S / span)
            rows_per_day.setdefault(t, []).append(rows)
    total = [sum(per_day[t][i] for t in per_day) for i in range(len(runs))]
    obs = per_day.get("observations", [0.0] * len(runs))
    kept = [total[i] - obs[i] for i in range(len(runs))]

    result = benchkit.Result(
        name="db_growth",
        title="Database growth per simulated day (the demo)",
        description=(
            f"`rfidwms demo` (both sites: the demo layout with the `demo` scenario, and "
            f"`dc-2` with `small-site`) at {args.speed:g}x on a fresh database: table sizes "
            f"(pg_total_relation_size, with indexes; hypertable_size for a hypertable) "
            f"after {args.warm_up / 60:g} simulated minutes and when the "
            f"{args.duration / 60:g}-minute simulation ended, extrapolated linearly to a "
            "simulated day. The observations are kept 24 h (RFIDWMS_OBSERVATIONS_RETENTION_H, "
            "docs/cloud.md), so that table levels off at about one day's growth; events, "
            "ledger, orders and the rest are kept for good."
        ),
        repeats=args.runs,
    )
    mib = 2.0**20
    result.add(
        benchkit.Figure("all tables, per simulated day", "MiB/day", [x / mib for x in total])
    )
    result.add(
        benchkit.Figure("observations, per simulated day", "MiB/day", [x / mib for x in obs])
    )
    result.add(
        benchkit.Figure(
            "everything kept for good, per simulated day", "MiB/day", [x / mib for x in kept]
        )
    )
    result.add(
        benchkit.Figure(
            "everything kept for good, per simulated year", "GiB/year",
            [x * 365 / 2**30 for x in kept],
        )
    )  # fmt: skip
    result.add(
        benchkit.Figure(
            "steady state after a year (a day of observations + a year of the rest)",
            "GiB", [(obs[i] * RETENTION_H / 24 + kept[i] * 365) / 2**30 for i in range(len(runs))],
        )
    )  # fmt: skip
    grew = sorted(per_day, key=lambda t: -max(per_day[t]))
    lines = [
        f"{'table':<24} {'MiB/day':>10} {'rows/day':>12} {'bytes/row':>10} {'size delta/day':>15}"
    ]
    for t in grew:
        b = statistics.median(per_day[t])
        n = statistics.median(rows_per_day[t])
        raw = statistics.median(raw_per_day[t])
        if b == 0 and n == 0 and raw == 0:
            continue
        per_row = f"{b / n:>10,.0f}" if n > 0 else f"{'-':>10}"
        lines.append(f"{t:<24} {b / mib:>10,.2f} {n:>12,.0f} {per_row} {raw / mib:>11,.2f} MiB")
    result.attachments[
        "Per table, per simulated day (median of runs): new rows x the table's bytes per "
        "row at the end, and the raw size difference (dead row versions and 8 kB page "
        "steps included)"
    ] = "\n".join(lines)
    result.checks["error lines in the demo's output"] = sum(
        len(r["error_lines"])
        for r in runs  # type: ignore[arg-type]
    )
    result.checks["dead letters"] = sum(
        r["after"].get("dead_letters", (0, 0))[1]
        for r in runs  # type: ignore[union-attr]
    )
    result.extra.update(
        speed=args.speed, duration_s=args.duration, warm_up_s=args.warm_up,
        runs=[{k: v for k, v in r.items()} for r in runs],
    )  # fmt: skip
    result.notes += [
        f"{args.runs} run(s) of {args.duration / 60:g} simulated minutes "
        f"({args.duration / args.speed / 60:.1f} wall minutes each, plus start-up): "
        "min / median / max are over runs.",
        "A table's daily growth is its new rows a day times its bytes per row (heap, "
        "indexes, TOAST) at the end of the run: tables updated in place (tag_locations, "
        "readers, stock_positions) also carry dead row versions until vacuum reclaims "
        "them, a bounded overhead shown in the raw size difference, not a daily cost.",
        "The machine (2 cores) was shared with other people's work while this ran.",
    ]
    for r in runs:
        for e in r["error_lines"]:  # type: ignore[attr-defined]
            print("error line:", e)
    benchkit.write(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
