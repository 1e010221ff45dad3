"""Results of the benchmarks: ``bench/results/<name>.json`` and the table in
``docs/benchmarks.md``.

Machines are noisy (this one has 2 cores shared with other work), so a figure is
never shown alone: each is measured ``repeats`` times (min / median / max), and a
figure with a reference (the ceiling or baseline it is judged against) was measured
in the same run, interleaved with it; its ratio is taken per repeat, figure over
reference from the same repeat, and shown as min / median / max too.

A bench builds a :class:`Result`, adds figures, and calls :func:`write`, which
stores its JSON and regenerates the whole ``docs/benchmarks.md`` from every JSON
file in ``bench/results/``. A bench that writes no result of its own (one not yet on
this module) gets its printed output kept instead, by :mod:`bench.run_all`.

    .venv/bin/python bench/benchkit.py     # regenerate docs/benchmarks.md only
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from paho.mqtt.client import CallbackAPIVersion
from paho.mqtt.client import Client as MqttClient
from psycopg import sql

from protocols.mqtt import parse_mqtt_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"


@dataclass
class Figure:
    """One measured quantity, once per repeat."""

    name: str
    unit: str
    values: list[float]
    reference: str | None = None
    """The name of the figure (in the same result) this one is judged against."""
    goal: str = ""
    """What is asked of it, in words (e.g. ``>= 0.75x bare COPY``)."""
    goal_ratio: float | None = None
    """The ratio to the reference that meets the goal (met when the median reaches it)."""
    goal_min: float | None = None
    """The value the median must reach (higher is better)."""
    goal_max: float | None = None
    """The value the median must not pass (lower is better)."""
    note: str = ""

    def summary(self) -> tuple[float, float, float]:
        return min(self.values), statistics.median(self.values), max(self.values)


@dataclass
class Result:
    name: str
    title: str
    description: str
    repeats: int
    figures: list[Figure] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    """What was verified about the run (e.g. rows lost and duplicated: 0)."""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (CPU use, parameters); stored, not tabled."""
    attachments: dict[str, str] = field(default_factory=dict)
    """Titled texts shown below the table as they are (e.g. a profile's summary)."""

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def figure(self, name: str) -> Figure:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}: no figure {name!r}")

    def ratios(self, f: Figure) -> list[float] | None:
        """``f`` over its reference, repeat by repeat (None without a reference)."""
        if f.reference is None:
            return None
        ref = self.figure(f.reference)
        n = min(len(f.values), len(ref.values))
        return [f.values[i] / ref.values[i] if ref.values[i] else float("nan") for i in range(n)]


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_end": [round(x, 2) for x in load],
    }


def write(result: Result) -> Path:
    """Store ``result`` as ``bench/results/<name>.json`` and regenerate the doc."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = asdict(result)
    data["script"] = f"bench/bench_{result.name}.py"
    data["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    data["machine"] = machine()
    for f, d in zip(result.figures, data["figures"], strict=True):
        lo, med, hi = f.summary()
        d["min"], d["median"], d["max"] = lo, med, hi
        if f.goal_min is not None:
            d["goal_met"] = med >= f.goal_min
        if f.goal_max is not None:
            d["goal_met"] = med <= f.goal_max
        r = result.ratios(f)
        if r is not None:
            d["ratios"] = r
            d["ratio_min"], d["ratio_median"], d["ratio_max"] = (
                min(r),
                statistics.median(r),
                max(r),
            )
            if f.goal_ratio is not None:
                d["goal_met"] = statistics.median(r) >= f.goal_ratio
    path = RESULTS / f"{result.name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    render()
    return path


def _num(x: float) -> str:
    if x != x:  # NaN
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _section(data: dict[str, Any]) -> list[str]:
    lines = [f"## {data.get('title', data['name'])}", ""]
    if data.get("description"):
        lines += [data["description"], ""]
    m = data.get("machine", {})
    lines.append(
        f"`{data.get('script', '?')}`, measured {data.get('measured_at', '?')} "
        f"on {m.get('cpus', '?')} CPUs (load average at the end "
        f"{', '.join(str(x) for x in m.get('load_average_at_end', []))}); "
        f"{data.get('repeats', 1)} repeat(s)."
    )
    lines.append("")
    figures = data.get("figures", [])
    if figures:
        lines += [
            "| figure | unit | min | median | max | against | ratio min / median / max | goal |",
            "|---|---|---:|---:|---:|---|---|---|",
        ]
        for f in figures:
            ratio = (
                f"{f['ratio_min']:.2f} / **{f['ratio_median']:.2f}** / {f['ratio_max']:.2f}"
                if "ratio_median" in f
                else ""
            )
            goal = f.get("goal", "")
            if "goal_met" in f:
                goal = f"{goal}: {'met' if f['goal_met'] else 'NOT met'}"
            lines.append(
                f"| {f['name']} | {f['unit']} | {_num(f['min'])} | **{_num(f['median'])}** | "
                f"{_num(f['max'])} | {f.get('reference') or ''} | {ratio} | {goal} |"
            )
        lines.append("")
    checks = data.get("checks", {})
    if checks:
        lines.append("Checked: " + "; ".join(f"{k}: {v}" for k, v in checks.items()) + ".")
        lines.append("")
    for n in data.get("notes", []):
        lines += [f"- {n}"]
    if data.get("notes"):
        lines.append("")
    for title, text in data.get("attachments", {}).items():
        lines += [f"{title}:", "", "```", *text.rstrip().splitlines(), "```", ""]
    if "output" in data:
        lines += ["Its printed output (it keeps no figures of its own):", "", "```"]
        lines += data["output"].rstrip().splitlines()
        lines += ["```", ""]
    return lines


def render() -> None:
    """Regenerate ``docs/benchmarks.md`` from every ``bench/results/*.json``."""
    sections: list[str] = []
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        data.setdefault("name", path.stem)  # a result older than this module's format
        sections += _section(data)
    head = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (each `bench/bench_*.py` writes `bench/results/<name>.json`,",
        "then this page is rebuilt from all of them by `bench/benchkit.py`): do not edit by hand.",
        "",
        "Each figure is measured several times (min / **median** / max); a figure with a",
        "reference (`against`) was measured in the same run, interleaved with it, and its",
        "ratio is taken repeat by repeat, so a busy machine slows both alike. The machine is",
        "the project's 2-core one, shared with other work while these ran: absolute figures",
        "vary from run to run, ratios much less.",
        "",
    ]
    DOC.write_text("\n".join(head + sections).rstrip() + "\n")


if __name__ == "__main__":
    render()
    sys.stdout.write(f"wrote {DOC.relative_to(ROOT)}\n")


@contextlib.contextmanager
def fresh_database(admin_url: str, prefix: str = "rfidwms_bench") -> Iterator[str]:
    """A new, empty database on the server of ``admin_url`` (its URL); dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a process the bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def forget_session(mqtt_url: str, client_id: str) -> None:
    """End a persistent MQTT session (an ingester's) so the broker stops keeping it."""
    u = parse_mqtt_url(mqtt_url)
    c = MqttClient(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    if u.username:
        c.username_pw_set(u.username, u.password)
    c.connect(u.host, u.port)
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()
