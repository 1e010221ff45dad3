"""Read -> WebSocket latency at 2k, 10k and 30k observations a second, 20 pages connected.

One real ``rfidwms cloud`` process (ingest and API, as the demo runs it) on a fresh
database. ``--publishers`` publishers send observation batches on the broker as edges
do: each flushes every 0.5 s or at 1,000 observations, whichever comes first (the
edge's ``flush_interval_s`` and ``max_batch_observations``), paced to the phase's rate.
Every read of a batch is dated (``last_seen``) the moment the batch is published, so
**the latency measured is publish -> page**: from the batch leaving its edge to the
read arriving in a page's WebSocket client (the edge's own wait to fill a batch, up
to 0.5 s, is not in it). Each delta carries the newest ``recent_reads`` (200) reads
of its commit, every one of them counted: latency of a read = its arrival at a client
minus its ``last_seen``, over every delivered read of every fast client (the first
``--warmup`` seconds of each phase left out).

``--clients`` WebSocket clients (20) read ``/ws/live`` with an operator's token,
spread over two worker processes so the measuring side is not one busy event loop.
Phases per repeat, on a fresh database and a fresh cloud each repeat, rates rising:
2k, 10k, 10k with one of the clients deliberately slow (it waits ``--slow-wait``
seconds after every message it reads, and its library reads nothing more from the
socket meanwhile), 30k. For the slow phase the other 19 clients' latency is reported
beside the 20-fast-client phase of the same repeat, and the slow client's staleness
(how old the newest read of each message it gets is when it gets it) and its fresh
snapshots (resyncs) are shown. The ingest rate reached in each phase is kept too
(at 30k obs/s the ingest may not keep up: then latency grows with the backlog).

Targets only 127.0.0.1 (PostgreSQL on 5432, Mosquitto on 1883) and stops by itself.

    .venv/bin/python bench/bench_live_latency.py [--repeats 3] [--seconds 15]

``--cloud-path DIR`` runs the cloud from another checkout (put first on its
``PYTHONPATH``), to measure a before and an after on the same machine in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import benchkit
import msgspec
import psycopg
import websockets
from benchkit import free_port

from cloud.db import users
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic, utc_iso

EDGE = "edge-1"
TAGS = 10_000
EDGE_FLUSH_S = 0.5
"""The edge's default ``flush_interval_s`` ..."""
EDGE_MAX_BATCH = 1000
"""... and ``max_batch_observations``."""
GOAL_P50_MS = 50.0
GOAL_P99_MS = 150.0


# -- the pages (worker processes) ------------------------------------------------------


class _Read(msgspec.Struct):
    time: datetime


class _Message(msgspec.Struct):
    type: str
    seq: int = 0
    at: datetime | None = None
    reads: list[_Read] = []


_decode = msgspec.json.Decoder(_Message).decode


async def page(
    url: str, token: str, start: float, skip: float, until: float, slow: float
) -> dict[str, Any]:
    """One client: a histogram (ms -> count) of the latency of every read delivered
    between ``skip`` and ``until``, and what it got. ``slow`` > 0: it waits that long
    after every message (its library's queue then holds 1 message and stops reading)."""
    hist: Counter[int] = Counter()
    to_hub: Counter[int] = Counter()
    stale: list[float] = []
    snapshots = deltas = 0
    gaps = 0
    last_seq: int | None = None
    async with websockets.connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
        max_queue=1 if slow else 16,
        ping_interval=None,
    ) as ws:
        first = _decode(await ws.recv())
        last_seq = first.seq
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while (left := until - time.time()) > 0:
            try:
                text = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            got = time.time()
            m = _decode(text)
            if m.type == "snapshot":
                snapshots += 1
                last_seq = m.seq
                newest = max((r.time.timestamp() for r in m.reads), default=None)
                if newest is not None and got >= skip:
                    stale.append(got - newest)
            elif m.type == "delta":
                deltas += 1
                if last_seq is not None and m.seq != last_seq + 1:
                    gaps += 1
                last_seq = m.seq
                if got >= skip and m.reads:
                    at = m.at.timestamp() if m.at is not None else got
                    for r in m.reads:
                        hist[round((got - r.time.timestamp()) * 1000)] += 1
                        to_hub[round((at - r.time.timestamp()) * 1000)] += 1
                    stale.append(got - max(r.time.timestamp() for r in m.reads))
            if slow:
                await asyncio.sleep(slow)
    return {
        "hist": dict(hist),
        "to_hub": dict(to_hub),
        "stale_max_s": max(stale, default=0.0),
        "stale_last_s": stale[-1] if stale else 0.0,
        "snapshots": snapshots,
        "deltas": deltas,
        "gaps": gaps,
        "slow": bool(slow),
    }


async def worker(conf: dict[str, Any]) -> None:
    results = await asyncio.gather(
        *(
            page(conf["url"], conf["token"], conf["start"], conf["skip"], conf["until"], s)
            for s in conf["slow"]
        )
    )
    sys.stdout.write(json.dumps(results) + "\n")


# -- the edges -------------------------------------------------------------------------


def spots() -> list[tuple[str, int, str]]:
    """(reader, antenna, read point) of every antenna of the demo layout's edge."""
    return [(r.id, a.id, a.read_point) for r in load_layout(None).readers for a in r.antennas]


def batch(
    spool: str, seq: int, size: int, first_tag: int, where: list[tuple[str, int, str]]
) -> bytes:
    now = datetime.now(UTC)
    last, first = utc_iso(now), utc_iso(now - timedelta(seconds=1))
    observations = []
    for k in range(size):
        n = first_tag + k
        reader, antenna, point = where[(n // 7) % len(where)]
        observations.append(
            {
                "epc": f"30340000{n % TAGS:016X}",
                "reader_id": reader,
                "antenna": antenna,
                "read_point": point,
                "rssi_dbm": -50.0,
                "first_seen": first,
                "last_seen": last,
                "seen_count": 1,
            }
        )
    body = {"v": 1, "edge_id": EDGE, "spool": spool, "seq": seq, "sent_at": last}
    return json.dumps({**body, "observations": observations}).encode()


async def edge(mqtt_url: str, site: str, index: int, rate: float, seconds: float) -> int:
    """One publisher at ``rate`` obs/s for ``seconds``, flushing as an edge does."""
    u = parse_mqtt_url(mqtt_url)
    where = spots()
    size = max(1, min(EDGE_MAX_BATCH, round(rate * EDGE_FLUSH_S)))
    every = size / rate
    spool = uuid.uuid4().hex
    sent = 0
    async with aiomqtt.Client(u.host, u.port, username=u.username, password=u.password) as c:
        await asyncio.sleep(every * index / 4)  # publishers out of step, as edges are
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            payload = batch(spool, sent + 1, size, (index * 7919 + sent) * size, where)
            await c.publish(topic(site, EDGE, TopicKind.OBSERVATIONS), payload, qos=1)
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * every - time.monotonic()))
    return sent * size


# -- the cloud -------------------------------------------------------------------------


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as r:
        found: dict[str, Any] = json.loads(r.read())
        return found


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rfidwms cloud exited ({proc.returncode})")
        with contextlib.suppress(OSError, ValueError, KeyError):
            if health(port)["mqtt"]["connected"]:
                return
        time.sleep(0.2)
    raise SystemExit("rfidwms cloud did not get ready within 90 s")


async def token_of(url: str) -> str:
    now = datetime.now(UTC)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        user = await users.create_user(
            conn, f"bench-{uuid.uuid4().hex[:6]}", Role.OPERATOR, None, at=now
        )
        return (await users.issue_token(conn, user, at=now)).token


def start_cloud(env: dict[str, str], port: int, log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rfidwms", "cloud", "--http-port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def percentile(hist: Counter[int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return float("nan")
    want = q * total
    seen = 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= want:
            return float(ms)
    return float(max(hist))


async def phase(
    args: argparse.Namespace, port: int, token: str, site: str, rate: int, slow: bool
) -> dict[str, Any]:
    """Connect the pages, publish at ``rate`` for ``args.seconds``, gather what they got."""
    start = time.time() + 60  # replaced below, once every page has its snapshot
    n = args.clients
    waits = [args.slow_wait if slow and i == 0 else 0.0 for i in range(n)]
    halves = [waits[0::2], waits[1::2]]
    procs = []
    # the pages measure until `until`: publish time + the tail for the last deltas
    begin = time.time() + 3.0
    until = begin + args.seconds + 3.0
    for part in halves:
        conf = {
            "url": f"ws://127.0.0.1:{port}/ws/live",
            "token": token,
            "start": begin,
            "skip": begin + args.warmup,
            "until": until,
            "slow": part,
        }
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--worker",
                json.dumps(conf),
                stdout=asyncio.subprocess.PIPE,
            )
        )
    for p in procs:
        assert p.stdout is not None
        for _ in range(len(halves[procs.index(p)])):
            line = await asyncio.wait_for(p.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise SystemExit(f"a page worker did not connect: {line!r}")
    await asyncio.sleep(max(0.0, begin - time.time()))
    start = time.time()
    before = await asyncio.to_thread(health, port)
    cpu0, wall0 = _cpu_seconds(), time.monotonic()
    per_edge = rate / args.publishers
    sent = sum(
        await asyncio.gather(
            *(edge(args.mqtt_url, site, i, per_edge, args.seconds) for i in range(args.publishers))
        )
    )
    published_s = time.time() - start
    outputs = [await p.stdout.read() for p in procs if p.stdout is not None]  # type: ignore[union-attr]
    for p in procs:
        await p.wait()
    after = await asyncio.to_thread(health, port)
    pages: list[dict[str, Any]] = [r for out in outputs for r in json.loads(out)]
    fast: Counter[int] = Counter()
    to_hub: Counter[int] = Counter()
    for r in pages:
        if not r["slow"]:
            fast.update({int(k): v for k, v in r["hist"].items()})
            to_hub.update({int(k): v for k, v in r["to_hub"].items()})
    slow_page = next((r for r in pages if r["slow"]), None)
    ingested = after["ingest"]["observations"] - before["ingest"]["observations"]
    out = {
        "rate": rate,
        "slow_client": slow,
        "sent": sent,
        "published_s": round(published_s, 2),
        "ingested_while_measuring": ingested,
        "ingest_obs_per_s": round(ingested / max(published_s, 1e-9)),
        "reads_measured": sum(fast.values()),
        "p50_ms": percentile(fast, 0.50),
        "p95_ms": percentile(fast, 0.95),
        "p99_ms": percentile(fast, 0.99),
        "max_ms": float(max(fast, default=0)),
        "to_hub_p50_ms": percentile(to_hub, 0.50),
        "to_hub_p99_ms": percentile(to_hub, 0.99),
        "fast_clients": sum(1 for r in pages if not r["slow"]),
        "fast_client_gaps": sum(r["gaps"] for r in pages if not r["slow"]),
        "fast_client_snapshots_after_first": sum(r["snapshots"] for r in pages if not r["slow"]),
        "hub_resyncs": after["live"]["resyncs"] - before["live"]["resyncs"],
        "hub_deltas": after["live"]["seq"] - before["live"]["seq"],
        "cloud_cpu_s": round(_cpu_seconds() - cpu0, 1),
        "cloud_cpu_share": round((_cpu_seconds() - cpu0) / (time.monotonic() - wall0), 3),
    }
    if slow_page is not None:
        out["slow"] = {k: v for k, v in slow_page.items() if k != "hist"}
    return out


_CLOUD_PID = 0


def _cpu_seconds() -> float:
    """User + system CPU seconds of the cloud process so far."""
    with open(f"/proc/{_CLOUD_PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def repeat(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    global _CLOUD_PID
    site = f"bench{uuid.uuid4().hex[:8]}"
    client_id = f"{site}-ingest"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RFIDWMS_")}
    env.update(
        RFIDWMS_DATABASE_URL=url,
        RFIDWMS_MQTT_URL=args.mqtt_url,
        RFIDWMS_SITE=site,
        RFIDWMS_INGEST_CLIENT_ID=client_id,
        RFIDWMS_LOG_LEVEL="WARNING",
    )
    if args.cloud_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.cloud_path, env.get("PYTHONPATH")]))
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = start_cloud(env, port, log)
    _CLOUD_PID = proc.pid
    phases: list[dict[str, Any]] = []
    try:
        await asyncio.to_thread(wait_ready, port, proc)
        token = await token_of(url)
        for rate, slow in args.plan:
            p = await phase(args, port, token, site, rate, slow)
            print(
                f"  {rate:>6} obs/s{' +slow' if slow else '      '}: "
                f"p50 {p['p50_ms']:.0f} ms, p95 {p['p95_ms']:.0f} ms, p99 {p['p99_ms']:.0f} ms "
                f"(publish -> hub p50 {p['to_hub_p50_ms']:.0f}, p99 {p['to_hub_p99_ms']:.0f}) "
                f"({p['reads_measured']} reads, {p['fast_clients']} clients; ingest "
                f"{p['ingest_obs_per_s']} obs/s, cloud CPU {p['cloud_cpu_s']} s, "
                f"resyncs {p['hub_resyncs']})"
                + (
                    f"; slow client: {p['slow']['deltas']} deltas, "
                    f"{p['slow']['snapshots']} snapshots, stalest {p['slow']['stale_max_s']:.1f} s"
                    if "slow" in p
                    else ""
                ),
                flush=True,
            )
            phases.append(p)
            await asyncio.sleep(2.0)  # let what is in flight land before the next phase
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.seek(0)
        errors = [ln for ln in log.read().decode(errors="replace").splitlines() if "ERROR" in ln]
        if errors:
            print("cloud error lines:", *errors[:10], sep="\n  ")
        with contextlib.suppress(Exception):
            u = parse_mqtt_url(args.mqtt_url)
            async with aiomqtt.Client(u.host, u.port, identifier=client_id, clean_session=True):
                pass
    return phases


def result_of(args: argparse.Namespace, runs: list[list[dict[str, Any]]]) -> benchkit.Result:
    result = benchkit.Result(
        name="live_latency",
        title="Live feed: read -> WebSocket latency with 20 pages",
        description=(
            "One `rfidwms cloud` (ingest + API) on a fresh database; "
            f"{args.publishers} publishers send observation batches as edges do (every 0.5 s "
            "or 1,000 observations); "
            f"{args.clients} WebSocket clients on `/ws/live`. Latency: from the moment a "
            "batch is published (its reads' `last_seen`) to each delivered read's arrival at "
            "each client, every read of every delta counted (a delta carries its commit's "
            "newest 200). Slow phase: one client waits "
            f"{args.slow_wait} s after every message; the other {args.clients - 1} measured."
        ),
        repeats=len(runs),
    )
    by_key: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    for run in runs:
        for p in run:
            by_key.setdefault((p["rate"], p["slow_client"]), []).append(p)
    for (rate, slow), ps in by_key.items():
        label = f"{rate // 1000}k obs/s" + (", 1 slow client (others)" if slow else "")
        goal = rate == 10_000
        for q in ("p50", "p95", "p99"):
            bound = {"p50": GOAL_P50_MS, "p99": GOAL_P99_MS}.get(q) if goal else None
            result.add(
                benchkit.Figure(
                    f"{label}: {q}",
                    "ms",
                    [p[f"{q}_ms"] for p in ps],
                    goal=f"< {bound:.0f} ms" if bound else "",
                    goal_max=bound,
                )
            )
        result.add(
            benchkit.Figure(
                f"{label}: of it publish -> hub, p50",
                "ms",
                [p["to_hub_p50_ms"] for p in ps],
                note="the ingest path: broker, group, commit, up to the hub numbering the delta",
            )
        )
        result.add(
            benchkit.Figure(
                f"{label}: ingested",
                "obs/s",
                [p["ingest_obs_per_s"] for p in ps],
                note="observations stored while publishing, over the publishing time",
            )
        )
        if slow:
            result.add(
                benchkit.Figure(
                    f"{label}: slow client's stalest message",
                    "s",
                    [p["slow"]["stale_max_s"] for p in ps],
                )
            )
            result.add(
                benchkit.Figure(
                    f"{label}: slow client's fresh snapshots",
                    "count",
                    [p["slow"]["snapshots"] for p in ps],
                )
            )
    result.checks["delta numbering gaps seen by fast clients"] = sum(
        p["fast_client_gaps"] for run in runs for p in run
    )
    result.checks["fresh snapshots sent to fast clients"] = sum(
        p["fast_client_snapshots_after_first"] for run in runs for p in run
    )
    result.extra["phases"] = runs
    result.extra["parameters"] = {
        k: v
        for k, v in vars(args).items()
        if k not in ("plan", "database_url", "mqtt_url", "cloud_path")
    }
    result.notes.append(
        "Latency is publish -> page: an edge's own wait to fill a batch (up to its 0.5 s "
        "flush interval) comes before it and is not counted."
    )
    shares = [p["cloud_cpu_share"] for run in runs for p in run if p["rate"] == 10_000]
    result.notes.append(
        "CPU the cloud process got while its 10k obs/s phases ran (ingest, hub, 20 sockets): "
        f"{min(shares):.0%} to {max(shares):.0%} "
        "of one core. Most of the latency is the ingest path (publish -> hub: the broker, the"
        " wait for the group before, the group's write and commit in PostgreSQL), the rest "
        "the fan-out to the pages; whether the ingest path waited for PostgreSQL or for a CPU"
        " the load left it cannot be told apart here (a process spinning on this machine got "
        "15% of a core at a load average of 20 the same afternoon)."
    )
    result.notes.append(
        "The pages run on the same 2 shared cores as the cloud, PostgreSQL and the broker; "
        "the machine was shared with other work, so absolute figures vary between runs."
    )
    return result


async def main_async(args: argparse.Namespace) -> list[list[dict[str, Any]]]:
    runs = []
    for i in range(args.repeats):
        print(f"repeat {i + 1} of {args.repeats}", flush=True)
        with benchkit.fresh_database(args.database_url) as url:
            await apply_migrations(url)
            runs.append(await repeat(args, url))
    return runs


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        asyncio.run(worker(json.loads(sys.argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="2000,10000,30000", help="obs/s, comma-separated")
    parser.add_argument("--no-slow", action="store_true", help="leave out the slow-client phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="publishing per phase")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--slow-wait", type=float, default=1.0)
    parser.add_argument("--no-result", action="store_true", help="print only, write nothing")
    parser.add_argument("--cloud-path", default="", help="run the cloud from this checkout")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    args = parser.parse_args()
    rates = sorted(int(r) for r in args.rates.split(","))
    args.plan = [(r, False) for r in rates]
    if not args.no_slow and 10_000 in rates:
        args.plan.insert(rates.index(10_000) + 1, (10_000, True))
    runs = asyncio.run(main_async(args))
    if not args.no_result:
        print(f"wrote {benchkit.write(result_of(args, runs)).relative_to(benchkit.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
