"""Ingest throughput: `rfidwms cloud` from Mosquitto into PostgreSQL, against the
database's own ceiling and a naive bridge, all in one run.

Publishes ``--batches`` observation batches of ``--per-batch`` observations (the edge's
default batch size) from the layout's readers, antennas and read points (the demo
layout: the cloud refuses observations the layout does not give the edge) to the
MQTT broker on 127.0.0.1, and measures, repeat by repeat:

- **bare COPY**: psycopg binary ``COPY`` of the same rows into the same
  ``observations`` table (same indexes, a fresh database), one transaction per
  ``ingest_max_observations`` rows: what PostgreSQL can take on this machine;
- **ingest, 1 ingester**: ``rfidwms cloud`` processes (a subprocess each, API and
  live hub running as in production) ingest what is published, from the first
  publish to the last commit (polling ``ingested_batches``); every state update
  and live delta happens as always (tag locations, moves, the exactly-once claim);
- **ingest, 2 ingesters**: two `rfidwms cloud` processes sharing one subscription
  (``RFIDWMS_INGEST_GROUP``);
- **naive bridge**: a paho subscriber doing one ``INSERT`` and commit per observation,
  fed the first ``--naive-batches`` batches only (at a few thousand rows a second the
  whole set would take minutes).

After each run it counts what the database holds against what was published: rows
lost and duplicated (0 and 0), and for ingest every tag's stored location against the
newest read of the workload (its read point; its last_seen at most the cloud's
``ingest_last_seen_resolution_s`` behind), and no dead letter. It also reads the CPU time of each
process (``/proc``), so a figure can be explained: the cloud, the database backends
of the run, and the whole machine (other work shares it).

Tags: ``--tags`` EPCs in rotation, each batch reading ``per-batch / 2`` of them through
two antennas of one read point; every tag moves to another read point every 100
batches (so arrivals, refreshes and moves all happen).

``--profile`` (the default when py-spy is installed: ``pip install py-spy``) runs one more
1-ingester run under py-spy and keeps where the cloud's time goes in the results.

Targets only 127.0.0.1 (PostgreSQL on 5432, Mosquitto on 1883; ``--database-url`` and
``--mqtt-url`` change them) and stops by itself (every wait is bounded).

    .venv/bin/python bench/bench_ingest.py [--batches 500] [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import benchkit
import paho.mqtt.client as paho
import psycopg
from benchkit import forget_session, free_port
from paho.mqtt.enums import CallbackAPIVersion

from cloud.db.migrate import apply_migrations
from cloud.ingest.store import COPY_OBSERVATIONS, OBSERVATION_COPY_TYPES
from cloud.settings import CloudSettings
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic, utc_iso

log = logging.getLogger("bench_ingest")

GOAL_OF_COPY = 0.75
GOAL_TWO_OVER_ONE = 1.6
GROUP_ROWS = 20_000
"""Rows per bare-COPY transaction: the ingester's default ``ingest_max_observations``."""
WAIT_S = 600.0
"""The longest any one path may take before the bench gives up on it."""
SPOOL = "be0c4a3e9b2d4c7f8e1a2b3c4d5e6f70"
EDGE = "edge-1"


# -- the workload ------------------------------------------------------------------------


Row = tuple[datetime, str, str, int, str, float, datetime, int, str, int]


@dataclass
class Workload:
    payloads: list[bytes]
    """One JSON observation batch per seq."""
    rows: list[Row]
    """The observations as ``observations`` rows, in publishing order."""
    newest: dict[str, tuple[str, datetime]]
    """epc -> (read point, last_seen) of its newest read: where ingest must leave it."""

    @property
    def observations(self) -> int:
        return len(self.rows)

    def per_batch(self) -> int:
        return len(self.rows) // len(self.payloads)


def make_workload(batches: int, per_batch: int, tags: int, t0: datetime) -> Workload:
    layout = load_layout(None)
    places: list[tuple[str, list[int], str]] = []  # (reader, two antennas, read point)
    for r in layout.readers:
        assert r.edge == EDGE, "the bench publishes as the demo layout's one edge"
        by_point: dict[str, list[int]] = {}
        for a in r.antennas:
            by_point.setdefault(a.read_point, []).append(a.id)
        for point, antennas in sorted(by_point.items()):
            if len(antennas) >= 2:
                places.append((r.id, antennas[:2], point))
    epcs = [f"30340000{i:016X}" for i in range(tags)]
    per_tag = 2
    tags_per_batch = per_batch // per_tag
    payloads: list[bytes] = []
    rows: list[Row] = []
    newest: dict[str, tuple[str, datetime, float]] = {}
    for b in range(batches):
        observations: list[dict[str, Any]] = []
        sent_at = t0 + timedelta(seconds=b + 1)
        start = (b * tags_per_batch) % tags
        for k in range(tags_per_batch):
            t = (start + k) % tags
            reader, antennas, point = places[(t // 50 + b // 100) % len(places)]
            last = t0 + timedelta(seconds=b, microseconds=k * 100)
            first = last - timedelta(seconds=2)
            for j, antenna in enumerate(antennas):
                rssi = -40.0 - (k % 30) - 3.5 * j
                count = 1 + (k + j) % 5
                observations.append(
                    {
                        "epc": epcs[t],
                        "reader_id": reader,
                        "antenna": antenna,
                        "read_point": point,
                        "rssi_dbm": rssi,
                        "first_seen": utc_iso(first),
                        "last_seen": utc_iso(last),
                        "seen_count": count,
                    }
                )
                rows.append((last, epcs[t], reader, antenna, point, rssi, first, count, EDGE, b))
                n = newest.get(epcs[t])
                if n is None or last > n[1] or (last == n[1] and rssi > n[2]):
                    newest[epcs[t]] = (point, last, rssi)
        payloads.append(
            json.dumps(
                {
                    "v": 1,
                    "edge_id": EDGE,
                    "spool": SPOOL,
                    "seq": b,
                    "sent_at": utc_iso(sent_at),
                    "observations": observations,
                },
                separators=(",", ":"),
            ).encode()
        )
    return Workload(payloads, rows, {e: (p, t) for e, (p, t, _) in newest.items()})


# -- services ----------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A fresh database with the project's schema (:func:`benchkit.fresh_database`)."""
    with benchkit.fresh_database(admin_url) as url:
        asyncio.run(apply_migrations(url))
        yield url


async def publish_all(mqtt_url: str, site: str, payloads: list[bytes]) -> None:
    """Publish with QoS 1, many in flight, in seq order."""
    u = parse_mqtt_url(mqtt_url)
    t = topic(site, EDGE, TopicKind.OBSERVATIONS)
    async with aiomqtt.Client(
        u.host, u.port, username=u.username, password=u.password, max_inflight_messages=100
    ) as c:
        window = asyncio.Semaphore(10)  # aiomqtt warns of more pending calls

        async def one(p: bytes) -> None:
            async with window:
                await c.publish(t, p, qos=1)

        tasks = []
        for p in payloads:
            tasks.append(asyncio.create_task(one(p)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)


# -- CPU accounting ----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts) - idle) / _TICK, sum(parts) / _TICK


@dataclass
class CpuWatch:
    """CPU seconds of given processes and of the database's backends over a window."""

    database_url: str
    processes: dict[str, list[int]]
    start: dict[int, float] = field(default_factory=dict)
    backends_seen: dict[int, float] = field(default_factory=dict)
    machine_start: tuple[float, float] = (0.0, 0.0)

    def begin(self, conn: psycopg.Connection[Any]) -> None:
        for pids in self.processes.values():
            for p in pids:
                self.start[p] = cpu_seconds(p)
        for p in self._backends(conn):
            self.start[p] = cpu_seconds(p)
        self.machine_start = machine_busy()

    def _backends(self, conn: psycopg.Connection[Any]) -> list[int]:
        dbname = conn.info.dbname
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def sample(self, conn: psycopg.Connection[Any]) -> None:
        for p in self._backends(conn):
            self.backends_seen[p] = cpu_seconds(p)

    def end(self, conn: psycopg.Connection[Any], seconds: float) -> dict[str, float]:
        """Share of one core used by each group of processes over ``seconds``."""
        self.sample(conn)
        out: dict[str, float] = {}
        for name, pids in self.processes.items():
            used = sum(cpu_seconds(p) - self.start.get(p, 0.0) for p in pids)
            out[name] = round(used / seconds, 3)
        db = sum(v - self.start.get(p, 0.0) for p, v in self.backends_seen.items())
        out["postgres backends"] = round(db / seconds, 3)
        busy, total = machine_busy()
        b0, t0 = self.machine_start
        cores = os.cpu_count() or 1
        out["whole machine (cores busy)"] = round((busy - b0) / max(total - t0, 1e-9) * cores, 3)
        return out


# -- checks ------------------------------------------------------------------------------


def count_rows(conn: psycopg.Connection[Any], w: Workload, expected: int) -> dict[str, int]:
    total, distinct = conn.execute(
        "SELECT count(*), count(DISTINCT (seq, epc, reader_id, antenna)) FROM observations"
    ).fetchone() or (0, 0)
    return {"lost": expected - int(distinct), "duplicated": int(total) - int(distinct)}


LAST_SEEN_RESOLUTION = timedelta(
    seconds=CloudSettings.model_fields["ingest_last_seen_resolution_s"].default
)
"""How far a stored last_seen may lag the newest read at the same read point (the
cloud's default, which the bench runs with)."""


def _located(stored: tuple[str, datetime] | None, want: tuple[str, datetime]) -> bool:
    """Whether a tag's stored location is its newest read's read point, with a last_seen
    at most ``LAST_SEEN_RESOLUTION`` behind that read."""
    if stored is None or stored[0] != want[0]:
        return False
    return timedelta(0) <= want[1] - stored[1] < LAST_SEEN_RESOLUTION or want[1] == stored[1]


def check_ingest(conn: psycopg.Connection[Any], w: Workload) -> dict[str, int]:
    counts = count_rows(conn, w, w.observations)
    stored = {
        epc: (point, seen)
        for epc, point, seen in conn.execute(
            "SELECT epc, read_point, last_seen FROM tag_locations"
        ).fetchall()
    }
    wrong = sum(1 for epc, want in w.newest.items() if not _located(stored.get(epc), want))
    wrong += len(set(stored) - set(w.newest))
    dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    batches = conn.execute("SELECT count(*) FROM ingested_batches").fetchone()
    transactions = conn.execute(
        "SELECT count(DISTINCT ingested_at) FROM ingested_batches"
    ).fetchone()
    conn.execute("SELECT pg_stat_clear_snapshot()")
    updated = conn.execute(  # as the backends last flushed them (at most a second ago)
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'tag_locations'"
    ).fetchone()
    return {
        **counts,
        "tag locations wrong": wrong,
        "dead letters": int(dead[0]) if dead else -1,
        "batches claimed": int(batches[0]) if batches else -1,
        "transactions": int(transactions[0]) if transactions else -1,
        "tag rows updated": int(updated[0]) if updated else -1,
        "of them heap-only": int(updated[1]) if updated else -1,
    }


def wait_for(conn: psycopg.Connection[Any], query: str, target: int, watch: CpuWatch) -> float:
    """Poll ``query`` (one number) until it reaches ``target``; return when it did."""
    deadline = time.monotonic() + WAIT_S
    last_sample = 0.0
    while time.monotonic() < deadline:
        row = conn.execute(query).fetchone()
        now = time.monotonic()
        if row is not None and row[0] is not None and int(row[0]) >= target:
            return now
        if now - last_sample > 0.5:
            watch.sample(conn)
            last_sample = now
        time.sleep(0.05)
    raise SystemExit(f"gave up after {WAIT_S:.0f} s: {query!r} did not reach {target}")


# -- the paths ---------------------------------------------------------------------------


@dataclass
class Run:
    rate: float
    """observations per second"""
    seconds: float
    checks: dict[str, int]
    cpu: dict[str, float]


def bare_copy(admin_url: str, w: Workload) -> Run:
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        watch = CpuWatch(url, {"bench (COPY client)": [os.getpid()]})
        with psycopg.connect(url, autocommit=True) as probe:
            watch.begin(probe)
            start = time.monotonic()
            for i in range(0, len(w.rows), GROUP_ROWS):
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(COPY_OBSERVATIONS) as copy:
                        copy.set_types(OBSERVATION_COPY_TYPES)
                        for row in w.rows[i : i + GROUP_ROWS]:
                            copy.write_row(row)
            seconds = time.monotonic() - start
            cpu = watch.end(probe, seconds)
            checks = count_rows(probe, w, w.observations)
    return Run(w.observations / seconds, seconds, checks, cpu)


def _cloud_env(
    url: str, mqtt_url: str, site: str, client_id: str, group: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RFIDWMS_")}
    env.update(
        RFIDWMS_DATABASE_URL=url,
        RFIDWMS_MQTT_URL=mqtt_url,
        RFIDWMS_SITE=site,
        RFIDWMS_INGEST_CLIENT_ID=client_id,
        RFIDWMS_LOG_LEVEL="WARNING",
    )
    if group:
        env["RFIDWMS_INGEST_GROUP"] = group
    return env


def _wait_connected(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rfidwms cloud exited ({proc.returncode}) before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if json.loads(r.read())["mqtt"]["connected"]:
                    return
        except OSError:
            pass
        except (ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise SystemExit("rfidwms cloud did not subscribe within 60 s")


def ingest(
    admin_url: str, mqtt_url: str, w: Workload, ingesters: int, profile: Path | None = None
) -> Run:
    site = f"bench{uuid.uuid4().hex[:8]}"
    group = f"bench{uuid.uuid4().hex[:6]}" if ingesters > 1 else None
    client_ids = [f"{site}-ingest-{i}" for i in range(ingesters)]
    with fresh_database(admin_url) as url, contextlib.ExitStack() as stack:
        procs: list[subprocess.Popen[bytes]] = []
        logs = []
        for cid in client_ids:
            port = free_port()
            logf = stack.enter_context(tempfile.TemporaryFile())
            logs.append(logf)
            p = subprocess.Popen(
                [sys.executable, "-m", "rfidwms", "cloud", "--http-port", str(port)],
                env=_cloud_env(url, mqtt_url, site, cid, group),
                stdout=subprocess.DEVNULL,
                stderr=logf,
            )
            procs.append(p)
            stack.callback(_stop, p)
            _wait_connected(port, p)
        spy: subprocess.Popen[bytes] | None = None
        try:
            with psycopg.connect(url, autocommit=True) as probe:
                watch = CpuWatch(url, {"rfidwms cloud": [p.pid for p in procs]})
                watch.begin(probe)
                if profile is not None:
                    spy = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "--pid",
                            str(procs[0].pid),
                            "--format",
                            "raw",
                            "--rate",
                            "200",
                            "--output",
                            str(profile),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    time.sleep(1.0)
                start = time.monotonic()
                asyncio.run(publish_all(mqtt_url, site, w.payloads))
                done = wait_for(
                    probe,
                    "SELECT sum(observations) FROM ingested_batches",
                    w.observations,
                    watch,
                )
                seconds = done - start
                cpu = watch.end(probe, seconds)
                time.sleep(0.3)  # a duplicate would still be on its way
                checks = check_ingest(probe, w)
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            for p in procs:
                _stop(p)
            for cid in client_ids:
                forget_session(mqtt_url, cid)
        for logf in logs:
            logf.seek(0)
            text = logf.read().decode(errors="replace").strip()
            if text:
                log.warning("rfidwms cloud said:\n%s", text[-3000:])
    return Run(w.observations / seconds, seconds, checks, cpu)


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def naive(admin_url: str, mqtt_url: str, w: Workload, batches: int) -> Run:
    """A subscriber doing INSERT + commit per observation (auto-acknowledged QoS 1)."""
    site = f"bench{uuid.uuid4().hex[:8]}"
    expected = batches * w.per_batch()
    with fresh_database(admin_url) as url, psycopg.connect(url, autocommit=False) as conn:
        failures: list[BaseException] = []
        subscribed = threading.Event()
        u = parse_mqtt_url(mqtt_url)
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{site}-naive")
        if u.username:
            client.username_pw_set(u.username, u.password)

        def on_connect(c: paho.Client, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
            c.subscribe(f"rfidwms/v1/{site}/+/observations", qos=1)

        def on_subscribe(*_: Any) -> None:
            subscribed.set()

        def on_message(_c: paho.Client, _u: Any, m: paho.MQTTMessage) -> None:
            try:
                b = json.loads(m.payload)
                for o in b["observations"]:
                    conn.execute(
                        "INSERT INTO observations (time, epc, reader_id, antenna, read_point,"
                        " rssi_dbm, first_seen, seen_count, edge_id, seq)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (
                            o["last_seen"],
                            o["epc"],
                            o["reader_id"],
                            o["antenna"],
                            o["read_point"],
                            o["rssi_dbm"],
                            o["first_seen"],
                            o["seen_count"],
                            b["edge_id"],
                            b["seq"],
                        ),
                    )
                    conn.commit()
            except BaseException as e:  # reported after the run
                failures.append(e)

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect(u.host, u.port)
        client.loop_start()
        try:
            if not subscribed.wait(30):
                raise SystemExit("the naive subscriber did not subscribe within 30 s")
            with psycopg.connect(url, autocommit=True) as probe:
                watch = CpuWatch(url, {"bench (naive subscriber)": [os.getpid()]})
                watch.begin(probe)
                start = time.monotonic()
                asyncio.run(publish_all(mqtt_url, site, w.payloads[:batches]))
                done = wait_for(probe, "SELECT count(*) FROM observations", expected, watch)
                seconds = done - start
                cpu = watch.end(probe, seconds)
                time.sleep(0.3)
                checks = count_rows(probe, w, expected)
        finally:
            client.disconnect()
            client.loop_stop()
        if failures:
            raise SystemExit(f"the naive subscriber failed: {failures[0]!r}")
    return Run(expected / seconds, seconds, checks, cpu)


# -- the profile -------------------------------------------------------------------------


_FRAMEWORK = ("runners.py", "base_events.py", "events.py", "<frozen runpy>", "__main__.py")


def _frame(f: str) -> str:
    """``func (path/file.py:line)`` -> ``func (file.py)``."""
    name, _, where = f.partition(" (")
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})"


def summarise_profile(path: Path, top: int = 25) -> list[str]:
    """Inclusive and self shares of the functions in py-spy's collapsed stacks, of the
    main thread (other threads only wait) without the event loop's own frames."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or "threading.py" in stack.split(";", 1)[0]:
            continue
        count = int(n)
        total += count
        frames = [_frame(f) for f in stack.split(";")]
        for f in set(frames):
            if f.rsplit(" (", 1)[-1][:-1] not in _FRAMEWORK and not f.startswith(
                ("main (", "run (")
            ):
                inclusive[f] += count
        own[frames[-1]] += count
    lines = [f"{total} samples of the main thread; inclusive (a function and what it calls):"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in inclusive.most_common(top)]
    lines.append("self (the function's own code):")
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    return lines


# -- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=500)
    parser.add_argument("--per-batch", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--naive-batches", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also profile one ingest run with py-spy (default: when py-spy is installed)",
    )
    parser.add_argument(
        "--only",
        choices=("copy", "ingest", "ingest2", "naive"),
        action="append",
        help="measure only these paths (repeatable); the results file is then not written",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cloud.db.migrate").setLevel(logging.WARNING)
    for url in (args.database_url, args.mqtt_url):
        host = (
            psycopg.conninfo.conninfo_to_dict(url).get("host")
            if "postgres" in url
            else (parse_mqtt_url(url).host)
        )
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"{url}: the bench targets only this machine (127.0.0.1)")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=args.batches + 120)
    w = make_workload(args.batches, args.per_batch, args.tags, t0)
    log.info(
        "%d batches of %d observations (%d in all, %d tags, %.0f MB of JSON)",
        args.batches,
        args.per_batch,
        w.observations,
        args.tags,
        sum(len(p) for p in w.payloads) / 1e6,
    )
    paths = args.only or ["copy", "ingest", "ingest2", "naive"]
    runs: dict[str, list[Run]] = {p: [] for p in paths}
    for i in range(args.repeats):
        for p in paths:
            if p == "copy":
                r = bare_copy(args.database_url, w)
            elif p == "ingest":
                r = ingest(args.database_url, args.mqtt_url, w, 1)
            elif p == "ingest2":
                r = ingest(args.database_url, args.mqtt_url, w, 2)
            else:
                r = naive(args.database_url, args.mqtt_url, w, args.naive_batches)
            runs[p].append(r)
            log.info(
                "repeat %d %-8s %9.0f observations/s (%.1f s) %s cpu %s",
                i + 1,
                p,
                r.rate,
                r.seconds,
                r.checks,
                r.cpu,
            )
    profile: list[str] = []
    spy = Path(sys.executable).parent / "py-spy"
    if args.profile or (args.profile is None and spy.exists()):
        raw = Path(tempfile.mkdtemp(prefix="bench-ingest-")) / "profile-stacks.txt"
        log.info("py-spy's collapsed stacks: %s", raw)
        r = ingest(args.database_url, args.mqtt_url, w, 1, profile=raw)
        profile = [f"profiled run: {r.rate:.0f} observations/s", *summarise_profile(raw)]
        log.info("%s", "\n".join(profile))
    bad = {
        p: [r.checks for r in rs]
        for p, rs in runs.items()
        if any(
            r.checks.get(k, 0)
            for r in rs
            for k in ("lost", "duplicated", "tag locations wrong", "dead letters")
        )
    }
    if bad:
        log.error("runs that lost, duplicated or misplaced something: %s", bad)
    if args.only:
        return 1 if bad else 0
    write_result(args, w, runs, profile)
    return 1 if bad else 0


def write_result(
    args: argparse.Namespace, w: Workload, runs: dict[str, list[Run]], profile: list[str]
) -> None:
    result = benchkit.Result(
        name="ingest",
        title="Ingest: MQTT -> PostgreSQL",
        description=(
            f"{w.observations:,} observations in {args.batches} batches of {args.per_batch} "
            f"(the demo layout's readers and read points, {args.tags:,} tags in rotation, "
            "each tag moving every 100 batches), published with QoS 1 to Mosquitto on "
            "127.0.0.1:1883 and stored in PostgreSQL on 127.0.0.1:5432 (a fresh database "
            "per run). Ingest is `rfidwms cloud` as a subprocess (API and live hub running), "
            "timed from the first publish to the commit of the last batch; it keeps every "
            "state update (tag locations and moves, a standing tag's row rewritten once per "
            "last_seen resolution, 60 s; the exactly-once claim with its digest, live "
            "deltas). The bare COPY is psycopg binary COPY of the same rows "
            f"into the same table, {GROUP_ROWS:,} rows a transaction. The naive bridge "
            f"(INSERT + commit per row) gets the first {args.naive_batches} batches."
        ),
        repeats=args.repeats,
    )
    unit = "observations/s"
    names = {
        "copy": "bare binary COPY (ceiling)",
        "ingest": "rfidwms cloud, 1 ingester",
        "ingest2": "rfidwms cloud, 2 ingesters (one shared subscription)",
        "naive": "naive bridge (INSERT + commit per row)",
    }
    result.add(benchkit.Figure(names["copy"], unit, [r.rate for r in runs["copy"]]))
    result.add(
        benchkit.Figure(
            names["ingest"],
            unit,
            [r.rate for r in runs["ingest"]],
            reference=names["copy"],
            goal=f">= {GOAL_OF_COPY:.2f}x the bare COPY",
            goal_ratio=GOAL_OF_COPY,
        )
    )
    result.add(
        benchkit.Figure(
            names["ingest2"],
            unit,
            [r.rate for r in runs["ingest2"]],
            reference=names["ingest"],
            goal=f">= {GOAL_TWO_OVER_ONE:.1f}x one ingester",
            goal_ratio=GOAL_TWO_OVER_ONE,
        )
    )
    result.add(
        benchkit.Figure(
            names["naive"], unit, [r.rate for r in runs["naive"]], reference=names["ingest"]
        )
    )
    for p, rs in runs.items():
        total = Counter[str]()
        for r in rs:
            total.update(r.checks)
        result.checks[f"{names[p]} (summed over the repeats)"] = ", ".join(
            f"{k} {v}" for k, v in total.items()
        )
    result.extra["cpu (cores used, per repeat)"] = {
        names[p]: [r.cpu for r in rs] for p, rs in runs.items()
    }
    result.extra["seconds"] = {
        names[p]: [round(r.seconds, 2) for r in rs] for p, rs in runs.items()
    }
    for p in ("copy", "ingest", "ingest2"):
        med = sorted(runs[p], key=lambda r: r.rate)[len(runs[p]) // 2]
        parts = ", ".join(f"{k} {v:.2f}" for k, v in med.cpu.items())
        per = ", ".join(
            f"{k} {v * med.seconds / w.observations * 1e6:.1f}"
            for k, v in med.cpu.items()
            if not k.startswith("whole machine")
        )
        result.notes.append(
            f"CPU in the median run of {names[p]}: {parts} (cores); per observation: {per} (µs)."
        )
    result.notes.append(
        "The whole machine near 2 cores busy means other work shared it during the run: "
        "every process then gets less than a core, the bare COPY (one process) and "
        "ingest (a cloud and a database process, in turn) alike."
    )
    if profile:
        result.attachments[
            "Where the cloud's time goes (py-spy, one more 1-ingester run; the main thread, "
            "where all of ingest runs)"
        ] = "\n".join(profile)
    benchkit.write(result)


if __name__ == "__main__":
    raise SystemExit(main())
