"""Soak: the demo at 10x for 30 minutes with pages connected; is memory flat?

Runs ``rfidwms demo --speed 10`` (both sites, as the demo does by default: the
bundled demo layout with the ``demo`` scenario and ``dc-2`` with ``small-site``;
simulators, edges, cloud, each its own process) against a fresh database on the
PostgreSQL at ``--database-url`` and the broker at ``--mqtt-url``, the sites under ids
of their own so the run shares the broker with nobody. Connected all along:
``--clients`` WebSocket clients on ``/ws/live`` with the operator's token, one with a
customer's token (its own orders' feed), and, unless ``--no-browser``, ``/map``,
``/fleet`` and ``/orders`` open in Debian's chromium (Playwright, headless).

Every ``--interval`` (30 s) it samples:

- the resident memory (``VmRSS``) of every process of the demo: the ``rfidwms demo``
  process itself and each part it started (found by its process tree), and the
  proportional memory (``Pss``, so shared pages count once) of chromium's processes
  together, with each page's JavaScript heap and DOM size;
- the in-memory buffers that the cloud reports: the live hub's resume buffer
  (deltas and bytes, ``GET /api/health``), each edge's spool (batches and bytes,
  ``GET /api/edges``);
- the error lines (``ERROR``, ``CRITICAL``, ``Traceback``) in the demo's output.

Samples in the first ``--warm-up`` minutes (3) are kept but not judged (start-up:
imports, pools, caches filling). Each series is then summed up by its value at the
start and the end of the judged span, its maximum, and its slope by least squares
(per hour). Memory is **flat** when its slope is under ``--limit`` MiB/h
(:data:`RSS_LIMIT_MIB_H` for a process; :data:`BROWSER_LIMIT_MIB_H` for chromium's
processes together); a buffer is flat (bounded) when the second half of the judged
span never holds more than the first half's maximum plus 10% (it filled to its cap
or stayed level, :func:`levelled`).

    .venv/bin/python bench/bench_soak.py [--minutes 30] [--warm-up 3] [--no-browser]

Targets only 127.0.0.1 and stops by itself. Writes ``bench/results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import benchkit
from benchkit import forget_session, free_port

START = "2025-03-04T08:00:00Z"
"""The simulated start: a Tuesday morning (fixed, so runs compare)."""
RSS_LIMIT_MIB_H = 10.0
"""A process's memory is flat when it grows by less than this a wall hour."""
BROWSER_LIMIT_MIB_H = 30.0
"""Chromium's processes together (three pages; their JavaScript heaps saw-tooth)."""
HEAP_LIMIT_MIB_H = 5.0
"""A page's JavaScript heap."""
BUFFER_MARGIN = 0.10
HEAP_WINDOW = 5
"""Samples per window whose lowest is a garbage-collected heap's floor (2.5 minutes)."""
PAGES = ("map", "fleet", "orders")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")
TOKEN_LINE = re.compile(r"^token (admin|operator|erp|customer [A-Za-z0-9_.-]+): (\S+)$")
DASHBOARD = re.compile(r"^dashboard: (http://127\.0\.0\.1:\d+/)#token=(\S+)$")


# ---- the pure part: trends and verdicts (tests/test_bench_soak.py) ----


@dataclass(frozen=True)
class Trend:
    """One series over the judged span (after warm-up)."""

    start: float
    end: float
    most: float
    slope_per_h: float
    """Least-squares slope, units per wall hour."""
    flat: bool
    samples: int


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of ``(seconds, value)`` points, per hour; 0 for fewer than
    two points or when they share one time."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mt) * (v - mv) for t, v in points)
    return cov / var * 3600.0


def judged(points: Sequence[tuple[float, float]], warm_up_s: float) -> list[tuple[float, float]]:
    """The points from ``warm_up_s`` on (all of them when none is that late)."""
    late = [p for p in points if p[0] >= warm_up_s]
    return late or list(points)


def memory_trend(
    points: Sequence[tuple[float, float]], warm_up_s: float, limit_per_h: float
) -> Trend:
    """Memory: flat when its slope over the judged span is under ``limit_per_h``."""
    pts = judged(points, warm_up_s)
    if not pts:
        return Trend(math.nan, math.nan, math.nan, 0.0, True, 0)
    slope = slope_per_hour(pts)
    return Trend(
        pts[0][1], pts[-1][1], max(v for _, v in pts), slope, slope < limit_per_h, len(pts)
    )


def window_minima(points: Sequence[tuple[float, float]], size: int) -> list[tuple[float, float]]:
    """The lowest point of each run of ``size`` consecutive points (the last run may be
    shorter): a garbage-collected heap's floor, which its saw-tooth hides."""
    return [min(points[i : i + size], key=lambda p: p[1]) for i in range(0, len(points), size)]


def heap_trend(
    points: Sequence[tuple[float, float]],
    warm_up_s: float,
    limit_per_h: float,
    window: int = HEAP_WINDOW,
) -> Trend:
    """A garbage-collected heap: flat when the slope of its floor (:func:`window_minima`)
    is under ``limit_per_h``; start, end and max are of the samples themselves."""
    pts = judged(points, warm_up_s)
    if not pts:
        return Trend(math.nan, math.nan, math.nan, 0.0, True, 0)
    slope = slope_per_hour(window_minima(pts, window))
    return Trend(
        pts[0][1], pts[-1][1], max(v for _, v in pts), slope, slope < limit_per_h, len(pts)
    )


def levelled(values: Sequence[float], margin: float = BUFFER_MARGIN) -> bool:
    """A buffer stays bounded: the second half of ``values`` never passes the first
    half's maximum by more than ``margin`` of it (nor by more than one item when that is
    0: an empty buffer may hold one now and then)."""
    if len(values) < 2:
        return True
    half = len(values) // 2
    first, second = max(values[:half]), max(values[half:])
    return second <= first * (1 + margin) or second - first <= 1


def buffer_trend(points: Sequence[tuple[float, float]], warm_up_s: float) -> Trend:
    pts = judged(points, warm_up_s)
    if not pts:
        return Trend(math.nan, math.nan, math.nan, 0.0, True, 0)
    values = [v for _, v in pts]
    return Trend(
        values[0], values[-1], max(values), slope_per_hour(pts), levelled(values), len(pts)
    )


def part_name(argv: Sequence[str]) -> str:
    """A demo process's name from its command line: ``demo``, ``cloud``, ``sim dc-2``,
    ``edge edge-1``; the command line itself when it is not ``-m rfidwms ...``."""
    args = list(argv)
    if "rfidwms" not in args:
        return " ".join(args)[:60]
    rest = args[args.index("rfidwms") + 1 :]
    if not rest:
        return "rfidwms"
    command = rest[0]

    def option(name: str) -> str | None:
        return rest[rest.index(name) + 1] if name in rest[:-1] else None

    if command == "sim":
        site = option("--site")
        return f"sim {site}" if site else "sim"
    if command == "edge":
        edge = option("--edge-id")
        return f"edge {edge}" if edge else "edge"
    return command


def is_error_line(line: str) -> bool:
    return ERROR_LINE.search(line) is not None


# ---- processes ----


def _children_of() -> dict[int, list[int]]:
    """pid -> its children's pids, for every process we may read."""
    out: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        out[ppid].append(int(entry))
    return out


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found, todo = [], list(tree.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo += tree.get(p, [])
    return found


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _pss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


# ---- the demo ----


class Demo:
    """``rfidwms demo`` as a process; of its output it keeps the start, a tail, and the
    error lines (the soak must not be the process that grows)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.head: list[str] = []
        self.tail: collections.deque[str] = collections.deque(maxlen=200)
        self.errors: list[str] = []
        self.error_count = 0
        self.lines = 0
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
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            with self.cond:
                self.lines += 1
                if len(self.head) < 400:
                    self.head.append(line)
                self.tail.append(line)
                if is_error_line(line):
                    self.error_count += 1
                    if len(self.errors) < 50:
                        self.errors.append(line)
                self.cond.notify_all()

    def wait_for(self, pred: Callable[[list[str]], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = pred(self.head)
                if found:
                    return found
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(list(self.tail)[-30:])
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


def get_json(url: str, token: str | None = None) -> Any:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


# ---- WebSocket clients ----


@dataclass
class FeedClient:
    label: str
    messages: int = 0
    bytes: int = 0
    snapshots: int = 0
    connects: int = 0
    last_error: str | None = None


class Feeds:
    """WebSocket clients on ``/ws/live`` in a thread of their own, reading all along
    (reconnecting after a drop, as a page does)."""

    def __init__(self, ws_url: str, clients: list[tuple[str, str]]) -> None:
        self.clients = [FeedClient(label) for label, _ in clients]
        self._tokens = [token for _, token in clients]
        self._url = ws_url
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="soak-feeds", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        tasks = [
            asyncio.create_task(self._client(c, t))
            for c, t in zip(self.clients, self._tokens, strict=True)
        ]
        await self._stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _client(self, c: FeedClient, token: str) -> None:
        import websockets

        while True:
            try:
                async with websockets.connect(
                    f"{self._url}?token={token}", max_size=None, open_timeout=20
                ) as ws:
                    c.connects += 1
                    async for text in ws:
                        c.messages += 1
                        c.bytes += len(text)
                        if '"type":"snapshot"' in text[:40] or '"type": "snapshot"' in text[:40]:
                            c.snapshots += 1
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a drop: reconnect, as a page does
                c.last_error = f"{type(e).__name__}: {e}"
            await asyncio.sleep(1.0)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


# ---- pages in chromium ----


class Pages:
    """``/map``, ``/fleet``, ``/orders`` open in headless chromium, signed in as the
    operator. Playwright's sync API: only the main thread calls it (:meth:`pause`
    waits through it so its events keep flowing)."""

    def __init__(self, base: str, token: str, stack: ExitStack) -> None:
        executable = shutil.which("chromium")
        if executable is None:
            raise SystemExit("bench_soak: needs Debian's chromium (or --no-browser)")
        from playwright.sync_api import sync_playwright

        pw = stack.enter_context(sync_playwright())
        self.browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        stack.callback(self.browser.close)
        self.pages: dict[str, Any] = {}
        self.console_errors: list[str] = []
        for name in PAGES:
            page = self.browser.new_page(viewport={"width": 1024, "height": 768})
            page.on("pageerror", lambda e, n=name: self._error(f"{n}: {e}"))
            page.on(
                "console",
                lambda m, n=name: (
                    self._error(f"{n}: console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.goto(f"{base}{name}#token={token}")
            self.pages[name] = page

    def _error(self, text: str) -> None:
        if len(self.console_errors) < 50:
            self.console_errors.append(text[:300])
        else:
            self.console_errors[-1] = f"(and more) {text[:200]}"

    def sample(self) -> dict[str, tuple[float, float]]:
        """page -> (JS heap MiB, DOM elements)."""
        out = {}
        for name, page in self.pages.items():
            heap, nodes = page.evaluate(
                "() => [performance.memory ? performance.memory.usedJSHeapSize : 0,"
                " document.getElementsByTagName('*').length]"
            )
            out[name] = (heap / 2**20, float(nodes))
        return out

    def pause(self, seconds: float) -> None:
        first = next(iter(self.pages.values()))
        first.wait_for_timeout(seconds * 1000)


# ---- the run ----


@dataclass
class Series:
    name: str
    kind: str  # "memory" | "buffer"
    unit: str
    limit_per_h: float = 0.0
    points: list[tuple[float, float]] | None = None

    def add(self, t: float, v: float) -> None:
        if self.points is None:
            self.points = []
        self.points.append((round(t, 1), round(v, 3)))


class Recorder:
    def __init__(self) -> None:
        self.series: dict[str, Series] = {}

    def put(self, name: str, kind: str, unit: str, t: float, v: float, limit: float = 0) -> None:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(name, kind, unit, limit)
        s.add(t, v)


def demo_processes(demo_pid: int) -> dict[str, int]:
    """name -> pid of the demo and every part it started."""
    tree = _children_of()
    out = {"demo": demo_pid}
    for pid in descendants(demo_pid, tree):
        argv = _argv(pid)
        if argv:
            out[part_name(argv)] = pid
    return out


def chromium_pids() -> list[int]:
    tree = _children_of()
    return [
        p for p in descendants(os.getpid(), tree) if (a := _argv(p)) and "chrom" in Path(a[0]).name
    ]


def sample(
    rec: Recorder,
    t: float,
    demo: Demo,
    base: str,
    operator: str,
    feeds: Feeds,
    pages: Pages | None,
) -> dict[str, Any]:
    for name, pid in demo_processes(demo.proc.pid).items():
        rss = _status_kib(pid, "VmRSS")
        if rss is not None:
            rec.put(f"RSS {name}", "memory", "MiB", t, rss / 1024, limit_for(f"RSS {name}"))
    seen: dict[str, Any] = {"t": t}
    if pages is not None:
        pss = [x for p in chromium_pids() if (x := _pss_kib(p)) is not None]
        rec.put(
            f"PSS chromium ({len(PAGES)} pages)", "heap", "MiB", t, sum(pss) / 1024,
            BROWSER_LIMIT_MIB_H,
        )  # fmt: skip
        for name, (heap, nodes) in pages.sample().items():
            rec.put(f"JS heap /{name}", "heap", "MiB", t, heap, HEAP_LIMIT_MIB_H)
            rec.put(f"DOM elements /{name}", "buffer", "elements", t, nodes)
    health = get_json(base + "api/health")
    live = health["live"]
    rec.put("live resume buffer", "buffer", "deltas", t, live["buffered"])
    rec.put("live resume buffer bytes", "buffer", "bytes", t, live["buffered_bytes"])
    seen.update(
        status=health["status"],
        seq=live["seq"],
        clients=live["clients"],
        resyncs=live["resyncs"],
        observations=health["ingest"]["observations"],
        events=health["ingest"]["events"],
    )
    for edge in get_json(base + "api/edges?limit=100", operator)["items"]:
        spool = edge.get("spool") or {}
        rec.put(f"spool {edge['edge_id']}", "buffer", "batches", t, spool.get("batches", 0))
        rec.put(f"spool bytes {edge['edge_id']}", "buffer", "bytes", t, spool.get("bytes", 0))
    rec.put("error lines (cumulative)", "buffer", "lines", t, demo.error_count)
    seen["feeds"] = [asdict(c) for c in feeds.clients]
    return seen


TRACEMALLOC_HOOK = """\
# bench_soak --tracemalloc: every Python process of the demo, once started (tracing
# slows a process; from its start, the demo's parts miss their start-up deadlines),
# traces its allocations and, every RFIDWMS_SOAK_TRACE_EVERY_S, writes what grew
# since its first snapshot.
import os, sys, threading, time, tracemalloc

def _watch(out, every):
    time.sleep(every)
    tracemalloc.start(8)
    time.sleep(every)
    first = tracemalloc.take_snapshot()
    name = "-".join(a for a in sys.argv[1:4] if not a.startswith("-"))[:40] or "python"
    path = os.path.join(out, f"tracemalloc-{os.getpid()}-{name.replace('/', '_')}.txt")
    while True:
        time.sleep(every)
        now = tracemalloc.take_snapshot()
        top = now.compare_to(first, "traceback")[:12]
        with open(path, "w") as f:
            f.write(f"{sys.argv} traced {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB\\n")
            for stat in top:
                f.write(f"{stat.size_diff / 2**20:+.2f} MiB {stat.count_diff:+d} blocks\\n")
                f.write("\\n".join("    " + x for x in stat.traceback.format()[-8:]) + "\\n")

_out = os.environ.get("RFIDWMS_SOAK_TRACE_DIR")
if _out:
    _every = float(os.environ.get("RFIDWMS_SOAK_TRACE_EVERY_S", "120"))
    threading.Thread(target=_watch, args=(_out, _every), daemon=True).start()
"""


@contextmanager
def running_demo(
    admin_url: str, mqtt_url: str, speed: float, trace_dir: Path | None = None
) -> Iterator[Demo]:
    tag = uuid.uuid4().hex[:6]
    first, second = f"soak-{tag}-a", f"soak-{tag}-b"
    layouts = resources.files("protocols.layouts")
    with (
        benchkit.fresh_database(admin_url, "rfidwms_bench_soak") as url,
        tempfile.TemporaryDirectory() as tmp,
        resources.as_file(layouts.joinpath("demo.yaml")) as demo_layout,
        resources.as_file(layouts.joinpath("dc-2.yaml")) as dc2_layout,
    ):
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "RFIDWMS_DATABASE_URL": url,
            "RFIDWMS_MQTT_URL": mqtt_url,
            "RFIDWMS_SITES": f"{first}={demo_layout},{second}={dc2_layout}",
            "RFIDWMS_HTTP_PORT": str(free_port()),
            "RFIDWMS_INGEST_CLIENT_ID": f"rfidwms-ingest-{first}",
        }
        for name in ("RFIDWMS_SITE", "RFIDWMS_LAYOUT", "RFIDWMS_CLOCK"):
            env.pop(name, None)
        if trace_dir is not None:  # diagnosis: see TRACEMALLOC_HOOK
            trace_dir.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / "hook").mkdir()
            (Path(tmp) / "hook" / "sitecustomize.py").write_text(TRACEMALLOC_HOOK)
            env["PYTHONPATH"] = os.pathsep.join(
                x for x in (str(Path(tmp) / "hook"), env.get("PYTHONPATH")) if x
            )
            env["RFIDWMS_SOAK_TRACE_DIR"] = str(trace_dir.resolve())
        demo = Demo(["demo", "--speed", f"{speed:g}", "--start", START], env, Path(tmp))
        try:
            yield demo
        finally:
            demo.stop()
            forget_session(mqtt_url, env["RFIDWMS_INGEST_CLIENT_ID"])


def soak(args: argparse.Namespace) -> tuple[Recorder, dict[str, Any]]:
    rec = Recorder()
    log: list[dict[str, Any]] = []
    with (
        running_demo(args.database_url, args.mqtt_url, args.speed, args.tracemalloc) as demo,
        ExitStack() as stack,
    ):

        def dashboard(lines: list[str]) -> re.Match[str] | None:
            return next((m for x in lines if (m := DASHBOARD.match(x))), None)

        base = demo.wait_for(dashboard, timeout=240).group(1)
        tokens = demo.wait_for(
            lambda ls: (
                found
                if len(found := dict(m.groups() for x in ls if (m := TOKEN_LINE.match(x)))) >= 5
                else None
            ),
            timeout=30,
        )
        operator = tokens["operator"]
        customer = next(v for k, v in tokens.items() if k.startswith("customer "))
        ws = base.replace("http://", "ws://") + "ws/live"
        clients = [(f"staff {i + 1}", operator) for i in range(args.clients)]
        clients.append(("customer", customer))
        feeds = Feeds(ws, clients)
        stack.callback(feeds.stop)
        pages = Pages(base, operator, stack) if args.browser else None
        t0 = time.monotonic()
        end = args.minutes * 60
        next_at = 0.0
        while True:
            t = time.monotonic() - t0
            if demo.proc.poll() is not None:
                raise SystemExit(
                    f"the demo exited ({demo.proc.returncode}):\n" + "\n".join(demo.tail)
                )
            seen = sample(rec, t, demo, base, operator, feeds, pages)
            log.append(seen)
            print(
                f"{t / 60:5.1f} min: "
                + ", ".join(
                    f"{s.name.removeprefix('RSS ')} {s.points[-1][1]:.0f}"
                    for s in rec.series.values()
                    if s.name.startswith("RSS ") and s.points
                )
                + f" MiB; live seq {seen['seq']}, buffer "
                f"{rec.series['live resume buffer'].points[-1][1]:.0f}; "  # type: ignore[index]
                f"errors {demo.error_count}",
                flush=True,
            )
            if t >= end:
                break
            next_at += args.interval
            wait = max(0.0, min(next_at, end) - (time.monotonic() - t0))
            if pages is not None:
                pages.pause(wait)
            else:
                time.sleep(wait)
        info = {
            "feeds": [asdict(c) for c in feeds.clients],
            "console_errors": pages.console_errors if pages else [],
            "error_lines": demo.errors,
            "error_count": demo.error_count,
            "output_lines": demo.lines,
            "last": log[-1],
            "first": log[0],
        }
    return rec, info


def judge(rec: Recorder, warm_up_s: float) -> dict[str, Trend]:
    out = {}
    for s in rec.series.values():
        pts = s.points or []
        if s.kind == "memory":
            out[s.name] = memory_trend(pts, warm_up_s, s.limit_per_h)
        elif s.kind == "heap":
            out[s.name] = heap_trend(pts, warm_up_s, s.limit_per_h)
        else:
            out[s.name] = buffer_trend(pts, warm_up_s)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="wall minutes of soak (30)")
    p.add_argument("--warm-up", type=float, default=3.0, help="wall minutes not judged (3)")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    p.add_argument("--speed", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=3, help="staff WebSocket clients (3)")
    p.add_argument("--browser", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    p.add_argument(
        "--tracemalloc",
        type=Path,
        metavar="DIR",
        help="diagnosis: every Python process of the demo traces its allocations and writes "
        "what grew to DIR/tracemalloc-<pid>-<part>.txt every 2 minutes (slow; not for figures)",
    )
    p.add_argument(
        "--rejudge",
        type=Path,
        metavar="JSON",
        help="judge the samples of an earlier run's result again (no new run)",
    )
    p.add_argument(
        "--note",
        action="append",
        default=[],
        help="a note on this run for the result (what was seen while it ran; repeatable)",
    )
    p.add_argument("--output", type=Path, help="write the result here instead of bench/results")
    args = p.parse_args()
    if args.warm_up >= args.minutes:
        p.error("--warm-up must be shorter than --minutes")

    if args.rejudge is not None:
        rec, info = reload(args.rejudge, args)
    else:
        rec, info = soak(args)
    return report(args, rec, info)


def reload(path: Path, args: argparse.Namespace) -> tuple[Recorder, dict[str, Any]]:
    """The samples of an earlier run (its JSON), to judge again: the judgement is pure,
    the measurement is not repeated. ``args`` take that run's parameters."""
    data = json.loads(path.read_text())
    extra = data["extra"]
    args.minutes, args.warm_up = extra["minutes"], extra["warm_up_min"]
    args.interval, args.speed = extra["interval_s"], extra["speed"]
    info = extra["info"]
    args.clients = sum(f["label"].startswith("staff") for f in info["feeds"])
    args.browser = any(n.startswith("JS heap") for n in extra["series"])
    rec = Recorder()
    for name, s in extra["series"].items():
        kind = s["kind"]
        if name.startswith(("JS heap", "PSS chromium")):
            kind = "heap"  # a run before heaps were judged by their floor
        for t, v in s["points"]:
            rec.put(name, kind, s["unit"], t, v, limit_for(name))
    return rec, info


def limit_for(name: str) -> float:
    """The slope (MiB/h) under which a memory series is flat."""
    if name.startswith("PSS chromium"):
        return BROWSER_LIMIT_MIB_H
    if name.startswith("JS heap"):
        return HEAP_LIMIT_MIB_H
    return RSS_LIMIT_MIB_H


def report(args: argparse.Namespace, rec: Recorder, info: dict[str, Any]) -> int:
    warm_up_s = args.warm_up * 60
    trends = judge(rec, warm_up_s)
    result = benchkit.Result(
        name="soak",
        title="Soak: the demo at 10x with pages connected, memory and buffers over time",
        description=(
            f"`rfidwms demo --speed {args.speed:g}` (both sites) on a fresh database for "
            f"{args.minutes:g} wall minutes ({args.minutes * args.speed / 60:g} simulated "
            f"hours), with {args.clients} staff WebSocket clients and a customer's on "
            "`/ws/live`"
            + (", and /map, /fleet, /orders open in headless chromium" if args.browser else "")
            + f". Sampled every {args.interval:g} s; the first {args.warm_up:g} minutes "
            "(start-up) are not judged. Memory is flat when its least-squares slope is "
            f"under its limit ({RSS_LIMIT_MIB_H:g} MiB/h a process, {BROWSER_LIMIT_MIB_H:g} "
            f"for chromium's processes together, {HEAP_LIMIT_MIB_H:g} a page's JS heap; "
            "these two garbage-collected ones by their floor, the lowest sample of each "
            f"{HEAP_WINDOW} in a row); a "
            "buffer is flat when the second half of the span never holds more than the "
            "first half's maximum plus 10%."
        ),
        repeats=1,
    )
    for name, tr in trends.items():
        s = rec.series[name]
        if s.kind in ("memory", "heap"):
            result.add(
                benchkit.Figure(
                    f"{name}: slope", "MiB/h", [tr.slope_per_h],
                    goal=f"< {s.limit_per_h:g} MiB/h (flat)", goal_max=s.limit_per_h,
                )
            )  # fmt: skip
    lines = [f"{'series':<34} {'unit':>8} {'start':>10} {'end':>10} {'max':>10} "
             f"{'slope/h':>10}  verdict"]  # fmt: skip
    for name, tr in trends.items():
        s = rec.series[name]
        lines.append(
            f"{name:<34} {s.unit:>8} {tr.start:>10,.1f} {tr.end:>10,.1f} {tr.most:>10,.1f} "
            f"{tr.slope_per_h:>10,.1f}  {'flat' if tr.flat else 'GROWS'}"
        )
    result.attachments[
        f"Every series after the {args.warm_up:g}-minute warm-up (start, end, max; "
        "least-squares slope per wall hour)"
    ] = "\n".join(lines)
    growing = [n for n, tr in trends.items() if not tr.flat and n != "error lines (cumulative)"]
    result.checks["error lines in the demo's output"] = info["error_count"]
    result.checks["console errors in the pages"] = len(info["console_errors"])
    result.checks["series not flat"] = ", ".join(growing) if growing else "none"
    feeds = info["feeds"]
    result.checks["live clients reconnected"] = sum(max(0, f["connects"] - 1) for f in feeds)
    last, first = info["last"], info["first"]
    result.notes += [
        f"Over the run the cloud stored {last['observations'] - first['observations']:,} "
        f"observations and {last['events'] - first['events']:,} events; the live feed reached "
        f"seq {last['seq']:,} with {last['clients']} clients connected at the end and "
        f"{last['resyncs']} resyncs; the demo printed {info['output_lines']:,} lines.",
        "Feeds: "
        + "; ".join(
            f"{f['label']} {f['messages']:,} messages ({f['bytes'] / 2**20:,.1f} MiB), "
            f"{f['snapshots']} snapshot(s)"
            for f in feeds
        )
        + ".",
        "The machine (2 cores) was shared with other people's work while this ran.",
        "Resident memory is a high-water mark: CPython seldom gives freed memory back, so "
        "a process that fell behind (a backlog in hand) keeps the step in its RSS after it "
        "caught up; a step that levels off is a backlog, a steady slope a leak. "
        "`--tracemalloc DIR` shows which allocations grew.",
    ]
    result.notes += args.note
    if args.rejudge is not None:
        result.notes.append(
            f"Judged again (`--rejudge`) from the samples of the run in {args.rejudge.name}."
        )
    for e in info["error_lines"][:10]:
        result.notes.append(f"error line: `{e[:200]}`")
    for e in info["console_errors"][:5]:
        result.notes.append(f"page console error: `{e[:200]}`")
    result.extra.update(
        minutes=args.minutes,
        warm_up_min=args.warm_up,
        interval_s=args.interval,
        speed=args.speed,
        trends={n: asdict(tr) for n, tr in trends.items()},
        series={n: {"unit": s.unit, "kind": s.kind, "points": s.points}
                for n, s in rec.series.items()},
        info=info,
    )  # fmt: skip
    print("\n".join(lines))
    for e in info["error_lines"]:
        print("error line:", e)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(result)
        args.output.write_text(json.dumps(data, indent=2) + "\n")
    else:
        benchkit.write(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
