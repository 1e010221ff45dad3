"""Read -> WebSocket latency on an ingesting node and on an API-only node beside it.

Starts two ``rfidwms cloud`` processes on a fresh database: one ingests, the other is
``--no-ingest`` and hears the ingester's deltas through the broker. A WebSocket client
on each reads ``/ws/live`` while a publisher sends observation batches as an edge
does, ``--rate`` observations a second in batches of ``--per-batch``, each read dated
when its batch is published. For every delta a client receives, latency is the
receive time minus the time of the newest read it carries: how late a page shows a
read. Prints p50 / p95 / p99 per node (the first ``--warmup`` seconds left out).

Targets only 127.0.0.1 (PostgreSQL on 5432, Mosquitto on 1883; ``--database-url`` and
``--mqtt-url`` change them) and stops by itself.

    .venv/bin/python bench/bench_live_nodes.py [--rate 2000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import benchkit
import psycopg
import websockets
from benchkit import free_port

from cloud.db import users
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic, utc_iso

EDGE = "edge-1"
SPOOL = "4c1e0b5a9d2f4e6c8b7a6d5c4b3a2f10"


def places() -> list[tuple[str, int, str]]:
    """(reader, antenna, read point) of every antenna of the demo layout's edge."""
    return [(r.id, a.id, a.read_point) for r in load_layout(None).readers for a in r.antennas]


def batch(seq: int, per_batch: int, spots: list[tuple[str, int, str]], tags: int) -> bytes:
    now = datetime.now(UTC)
    observations = []
    for k in range(per_batch):
        n = seq * per_batch + k
        reader, antenna, point = spots[(n // 7) % len(spots)]
        observations.append(
            {
                "epc": f"30340000{n % tags:016X}",
                "reader_id": reader,
                "antenna": antenna,
                "read_point": point,
                "rssi_dbm": -50.0,
                "first_seen": utc_iso(now - timedelta(seconds=1)),
                "last_seen": utc_iso(now),
                "seen_count": 1,
            }
        )
    body = {"v": 1, "edge_id": EDGE, "spool": SPOOL, "seq": seq, "sent_at": utc_iso(now)}
    return json.dumps({**body, "observations": observations}).encode()


async def publish(mqtt_url: str, site: str, rate: int, per_batch: int, seconds: float) -> int:
    u = parse_mqtt_url(mqtt_url)
    spots = places()
    every = per_batch / rate
    sent = 0
    async with aiomqtt.Client(u.host, u.port, username=u.username, password=u.password) as c:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            await c.publish(
                topic(site, EDGE, TopicKind.OBSERVATIONS),
                batch(sent, per_batch, spots, 10_000),
                qos=1,
            )
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * every - time.monotonic()))
    return sent


async def listen(url: str, token: str, until: float, skip_before: float) -> list[float]:
    """Latency (s) of each delta with reads received on ``url`` until ``until``."""
    out: list[float] = []
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        while time.time() < until:
            try:
                text = await asyncio.wait_for(ws.recv(), max(0.1, until - time.time()))
            except TimeoutError:
                break
            got = time.time()
            m = json.loads(text)
            if m.get("type") != "delta" or not m["reads"] or got < skip_before:
                continue
            newest = max(datetime.fromisoformat(r["time"]).timestamp() for r in m["reads"])
            out.append(got - newest)
    return out


def start_cloud(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rfidwms", "cloud", "--http-port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=tempfile.TemporaryFile(),
    )


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
        found: dict[str, Any] = json.loads(r.read())
        return found


def wait_health(port: int, ok: Any, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rfidwms cloud exited ({proc.returncode})")
        with contextlib.suppress(OSError, ValueError, KeyError):
            if ok(health(port)):
                return
        time.sleep(0.2)
    raise SystemExit("rfidwms cloud did not get ready within 60 s")


async def token_of(url: str) -> str:
    now = datetime.now(UTC)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        user = await users.create_user(
            conn, f"bench-{uuid.uuid4().hex[:6]}", Role.OPERATOR, None, at=now
        )
        return (await users.issue_token(conn, user, at=now)).token


def percentiles(xs: list[float]) -> str:
    if len(xs) < 2:
        return f"{len(xs)} deltas: too few"
    q = statistics.quantiles(xs, n=100, method="inclusive")
    p50, p95, p99 = (q[i] * 1000 for i in (49, 94, 98))
    return f"{len(xs)} deltas: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms"


async def run(args: argparse.Namespace, url: str) -> None:
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
    pa, pb = free_port(), free_port()
    a = start_cloud(env, pa)
    b = start_cloud(env, pb, "--no-ingest")
    try:
        ready = lambda h: h["mqtt"]["connected"] and h["live"]["broker_connected"]  # noqa: E731
        await asyncio.to_thread(wait_health, pa, ready, a)
        await asyncio.to_thread(wait_health, pb, lambda h: h["live"]["broker_connected"], b)
        token = await token_of(url)
        t0 = time.time()
        until = t0 + args.seconds + 2
        skip = t0 + args.warmup
        listeners = [
            asyncio.create_task(listen(f"ws://127.0.0.1:{p}/ws/live", token, until, skip))
            for p in (pa, pb)
        ]
        await asyncio.sleep(0.5)
        sent = await publish(args.mqtt_url, site, args.rate, args.per_batch, args.seconds)
        on_a, on_b = await asyncio.gather(*listeners)
        print(
            f"published {sent} batches of {args.per_batch} ({args.rate} obs/s for {args.seconds} s)"
        )
        print(f"ingesting node: {percentiles(on_a)}")
        print(f"API-only node:  {percentiles(on_b)}")
        live = (await asyncio.to_thread(health, pb))["live"]
        print(
            f"API-only node: from_broker {live['from_broker']}, gaps {live['gaps']}, "
            f"reseeds {live['reseeds']}"
        )
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in (a, b):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        with contextlib.suppress(Exception):
            u = parse_mqtt_url(args.mqtt_url)
            async with aiomqtt.Client(u.host, u.port, identifier=client_id, clean_session=True):
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000, help="observations a second")
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    args = parser.parse_args()
    with benchkit.fresh_database(args.database_url) as url:
        asyncio.run(apply_migrations(url))
        asyncio.run(run(args, url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
