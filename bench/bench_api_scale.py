"""API latency with a large site's data stored: 1M tags, 10M observations.

A fresh database with the project's migrations is filled in the server, by
``INSERT ... SELECT`` over ``generate_series`` (no row crosses the wire), with:

- ``--tags`` EPCs (default 1,000,000): one pallet (SSCC-96 header ``31``) per 20 tags,
  the other 19 its cases (SGTIN-96, ``30``); every one has a ``tag_locations`` row
  (where it was last read) and a ``tag_places`` row (where its events put it);
- ``--observations`` reads (default 10,000,000) over the last 23 hours (inside the
  default 24 h retention, so the cloud's pruner keeps them), every tag read in turn
  (10 reads a tag at the defaults) by the demo layout's readers and antennas, a tag
  moving to another read point every third round;
- for each pallet: its item and lot (500 items, 4 lots each), its cases, an inbound
  passage with its 19 cases (and an outbound one for the fifth that were shipped), a
  zone arrival, its ledger entries (receipt, put-away, ship) and, when still in stock,
  its stock position; one order (2 lines, a timeline of 3) per 2.5 pallets.

The observations' and tag locations' secondary indexes are dropped for the fill and
built afterwards with the migrations' own definitions (a freshly built index is
denser than one grown row by row: this is the best case for their size), then every
table is vacuumed and analysed, as autovacuum would leave them.

Then ``rfidwms cloud`` (uvicorn, API, ingester, background jobs: the production
process) serves that database on 127.0.0.1, and the bench times the GET requests a
dashboard and an ERP make most, each against random keys of the stored data: per
repeat, ``--requests`` sequential requests to each endpoint over one keep-alive
connection (p50 / p95 / p99), then ``--concurrent-requests`` requests of the whole mix
from ``--clients`` clients at once. Goal: p99 at most 100 ms for every endpoint
sequentially (KPIs: 1 s), and 250 ms for the mix under concurrency.

    .venv/bin/python bench/bench_api_scale.py [--tags 1000000] [--observations 10000000]
    .venv/bin/python bench/bench_api_scale.py --quick     # 100k tags, 1M observations
    .venv/bin/python bench/bench_api_scale.py --keep-database rfidwms_bench_api_keep \
        --repeats 1 --name scratch   # fill once, keep it (EXPLAIN there), reuse it next time

Targets only 127.0.0.1 (PostgreSQL on 5432, Mosquitto on 1883; ``--database-url``,
``--mqtt-url``) and stops by itself. Writes ``bench/results/api_scale.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import benchkit
import psycopg
from benchkit import forget_session, free_port
from psycopg import sql

from cloud.api.paging import encode_cursor
from cloud.db import users
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role
from protocols.epc.gs1 import with_check_digit
from protocols.layout import load_layout

SITE = "dc-1"
EDGE = "edge-1"
SPOOL = "bench-api-scale"
CASES_PER_PALLET = 19
ITEMS = 500
LOTS_PER_ITEM = 4
ZONES = ("zone-a", "zone-b", "zone-c")
DOORS = ("door-1", "door-2", "door-3", "door-4")
OBSERVATION_SPAN = timedelta(hours=23)
GOAL_P99_MS = 100.0
GOAL_KPI_P99_MS = 1000.0
GOAL_MIX_P99_MS = 250.0
FILLED_INDEXES = ("observations", "tag_locations")
"""Tables whose secondary indexes are built after the fill rather than row by row."""


# -- the data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    tags: int
    observations: int

    @property
    def pallets(self) -> int:
        return self.tags // (CASES_PER_PALLET + 1)

    @property
    def orders(self) -> int:
        return max(1, self.pallets * 2 // 5)


def pallet_epc(p: str) -> str:
    """SQL: the EPC of pallet number ``p`` (an SQL expression)."""
    return f"('3114' || lpad(upper(to_hex({p})), 20, '0'))"


def case_epc(c: str) -> str:
    return f"('3034' || lpad(upper(to_hex({c})), 20, '0'))"


def tag_epc(t: str, pallets: int) -> str:
    """Tag ``t``: pallet ``t`` below ``pallets``, else case ``t - pallets``."""
    return (
        f"(CASE WHEN {t} < {pallets} THEN {pallet_epc(t)} ELSE {case_epc(f'{t} - {pallets}')} END)"
    )


def gs1(n: str, digits: int) -> str:
    """SQL: the GS1 key of ``digits`` digits (``n``, an SQL bigint expression) followed
    by its check digit, as text; plain arithmetic, so it costs little per row."""
    terms = " + ".join(f"(({n}) / {10**k} % 10) * {3 if k % 2 == 0 else 1}" for k in range(digits))
    return f"((({n}) * 10 + (10 - ({terms}) % 10) % 10)::text)"


def sscc(p: str) -> str:
    return gs1(f"10000000000000000 + {p}", 17)


def sku(p: str) -> str:
    return gs1(f"1061414100000 + ({p}) % {ITEMS}", 13)


def sscc_of(p: int) -> str:
    return with_check_digit(f"{10000000000000000 + p}")


def sku_of(k: int) -> str:
    return with_check_digit(f"{1061414100000 + k % ITEMS}")


def lot(p: str) -> str:
    return f"('L' || (({p}) % {ITEMS}) || '-' || (({p}) / {ITEMS}) % {LOTS_PER_ITEM})"


def zone(p: str) -> str:
    return f"(ARRAY{list(ZONES)!r})[1 + ({p}) % {len(ZONES)}]"


def door(p: str) -> str:
    return f"(ARRAY{list(DOORS)!r})[1 + ({p}) % {len(DOORS)}]"


def places() -> tuple[list[str], list[int], list[str]]:
    """The demo layout's (reader, antenna, read point)s, as three parallel lists."""
    layout = load_layout(None)
    readers, antennas, points = [], [], []
    for r in layout.readers:
        for a in r.antennas:
            readers.append(r.id)
            antennas.append(a.id)
            points.append(a.read_point)
    return readers, antennas, points


def observations_sql(scale: Scale) -> str:
    """Observations ``%(lo)s`` to ``%(hi)s`` (exclusive); ``%(start)s`` the first one's
    time, ``%(step_us)s`` apart; tag ``i % tags``."""
    t = f"(i % {scale.tags})"
    place = f"(1 + ({t} * 31 + (i / {scale.tags} / 3) * 17) % %(places)s)"
    return (
        "INSERT INTO observations (time, epc, reader_id, antenna, read_point, rssi_dbm,"
        " first_seen, seen_count, edge_id, seq)"
        " SELECT ts, epc, (%(readers)s::text[])[pl], (%(antennas)s::int[])[pl],"
        " (%(points)s::text[])[pl], -40 - (i % 31), ts - interval '2 s', 1 + i % 5,"
        f" '{EDGE}', i / 200"
        f" FROM (SELECT i, %(start)s + i * %(step_us)s * interval '1 microsecond' AS ts,"
        f" {tag_epc(t, scale.pallets)} AS epc, {place} AS pl"
        " FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) i) g"
    )


def tag_locations_sql(scale: Scale) -> str:
    """Every tag at the read point of its newest observation (the same formula)."""
    n, tags = scale.observations, scale.tags
    last = f"(t + {tags}::bigint * (({n}::bigint - 1 - t) / {tags}))"
    place = f"(1 + (t * 31 + ({last} / {tags} / 3) * 17) % %(places)s)"
    return (
        "INSERT INTO tag_locations (epc, read_point, reader_id, antenna, edge_id, rssi_dbm,"
        " last_seen, arrived_at)"
        " SELECT epc, (%(points)s::text[])[pl], (%(readers)s::text[])[pl],"
        f" (%(antennas)s::int[])[pl], '{EDGE}', -40 - (li % 31), ts, ts - interval '3 hours'"
        f" FROM (SELECT {tag_epc('t', scale.pallets)} AS epc, {last} AS li, {place} AS pl,"
        f" %(start)s + {last} * %(step_us)s * interval '1 microsecond' AS ts"
        f" FROM generate_series(0, {min(tags, n) - 1}::bigint) t) g"
    )


def rest_sql(scale: Scale) -> list[tuple[str, str]]:
    """(table, statement) for everything but the observations and tag locations."""
    P, NO = scale.pallets, scale.orders
    # pallet p: received (60 days ago .. now), shipped when p % 5 = 0 (a day on)
    received = f"(%(now)s - interval '60 days' + p * (interval '60 days' / {P}))"
    shipped = "p % 5 = 0"
    cases = f"ARRAY(SELECT {case_epc('c')} FROM generate_series(p * {CASES_PER_PALLET}::bigint, p * {CASES_PER_PALLET}::bigint + {CASES_PER_PALLET - 1}) c)"  # noqa: E501
    pallets = f"generate_series(0, {P - 1}::bigint) p"
    return [
        (
            "items",
            "INSERT INTO items (sku, name, case_weight_kg, shelf_life_days, created_at,"
            f" updated_at) SELECT {sku('k')}, 'Item ' || k, 4 + k % 9, 365, %(now)s, %(now)s"
            f" FROM generate_series(0, {ITEMS - 1}) k",
        ),
        (
            "lots",
            "INSERT INTO lots (sku, lot, expiry, created_at) SELECT"
            f" {sku('k')}, 'L' || k || '-' || j, (%(now)s + j * interval '90 days')::date, %(now)s"
            f" FROM generate_series(0, {ITEMS - 1}) k, generate_series(0, {LOTS_PER_ITEM - 1}) j",
        ),
        (
            "pallets",
            "INSERT INTO pallets (site, sscc, epc, sku, lot, expiry, status, received_at,"
            " received_door, received_cause, received_cases, created_at, updated_at)"
            f" SELECT '{SITE}', {sscc('p')}, {pallet_epc('p')}, {sku('p')}, {lot('p')},"
            f" (%(now)s + interval '180 days')::date,"
            f" CASE WHEN {shipped} THEN 'shipped' ELSE 'received' END, {received}, {door('p')},"
            f" 'passage:' || p, {CASES_PER_PALLET}, {received}, {received} FROM {pallets}",
        ),
        (
            "pallet_cases",
            "INSERT INTO pallet_cases (site, epc, pallet, announced, heard_at)"
            f" SELECT '{SITE}', {case_epc('c')}, {sscc(f'c / {CASES_PER_PALLET}')}, false,"
            f" %(now)s - interval '60 days' + (c / {CASES_PER_PALLET}) * (interval '60 days' / {P})"
            f" FROM generate_series(0, {P * CASES_PER_PALLET - 1}::bigint) c",
        ),
        (
            "passages",
            "INSERT INTO passages (time, door, direction, epc, cases, confidence, evidence,"
            " edge_id, spool, seq, idx, stored_at)"
            f" SELECT t, {door('p')}, dir, {pallet_epc('p')}, {cases}, 0.97, '{{}}'::jsonb,"
            f" '{EDGE}', '{SPOOL}', p, k, t + interval '2 s' FROM {pallets},"
            f" LATERAL (VALUES (0, 'inbound', {received}),"
            f" (1, 'outbound', {received} + interval '1 day')) v(k, dir, t)"
            f" WHERE k = 0 OR {shipped} ORDER BY t",
        ),
        (
            "zone_events",
            "INSERT INTO zone_events (time, kind, epc, zone, edge_id, spool, seq, idx,"
            f" stored_at) SELECT {received} + interval '10 min', 'arrived', {pallet_epc('p')},"
            f" {zone('p')}, '{EDGE}', '{SPOOL}', p, 2, {received} + interval '10 min'"
            f" FROM {pallets}",
        ),
        (
            "tag_places",
            "INSERT INTO tag_places (epc, state, zone, last_zone, door, pallet, changed_at,"
            " stored_at)"
            f" SELECT {tag_epc('t', P)}, CASE WHEN {shipped} THEN 'shipped' ELSE 'present' END,"
            f" CASE WHEN {shipped} THEN NULL ELSE {zone('p')} END, {zone('p')},"
            f" CASE WHEN {shipped} THEN {door('p')} END,"
            f" CASE WHEN t >= {P} THEN {pallet_epc('p')} END, {received}, {received}"
            f" FROM generate_series(0, {scale.tags - 1}::bigint) t,"
            f" LATERAL (SELECT CASE WHEN t < {P} THEN t ELSE (t - {P}) / {CASES_PER_PALLET} END"
            " AS p) q",
        ),
        (
            "ledger_entries",
            "INSERT INTO ledger_entries (posting, site, time, kind, cause_kind, cause_id, sku,"
            " lot, location, state, pallet, qty, recorded_at)"
            f" SELECT p * 4 + k, '{SITE}', t, kind, 'passage', p::text, {sku('p')}, {lot('p')},"
            f" loc, 'available', {sscc('p')}, qty, t FROM {pallets},"
            f" LATERAL (VALUES (0, 'receipt', {door('p')}, {CASES_PER_PALLET}, {received}),"
            f" (1, 'putaway', {door('p')}, -{CASES_PER_PALLET}, {received} + interval '10 min'),"
            f" (1, 'putaway', {zone('p')}, {CASES_PER_PALLET}, {received} + interval '10 min'),"
            f" (2, 'ship', {zone('p')}, -{CASES_PER_PALLET}, {received} + interval '1 day'))"
            f" v(k, kind, loc, qty, t) WHERE k < 2 OR {shipped} ORDER BY t, k",
        ),
        (
            "stock_positions",
            "INSERT INTO stock_positions (site, sku, lot, location, state, pallet, qty, since,"
            f" updated_at) SELECT '{SITE}', {sku('p')}, {lot('p')}, {zone('p')},"
            f" CASE WHEN p % 7 = 1 THEN 'reserved' ELSE 'available' END, {sscc('p')},"
            f" {CASES_PER_PALLET}, {received}, {received} FROM {pallets} WHERE NOT ({shipped})",
        ),
        (
            "orders",
            "INSERT INTO orders (id, seq, site, customer, client_id, request, status,"
            " ship_door, requested_at, created_at, updated_at, shipped_at)"
            f" SELECT 'SO-' || lpad((o + 1)::text, 6, '0'), o + 1, '{SITE}',"
            " (ARRAY['acme', 'globex', 'initech'])[1 + o % 3], 'PO-' || o, '{}'::jsonb,"
            " CASE WHEN o % 10 < 8 THEN 'shipped' WHEN o % 10 = 8 THEN 'picking'"
            f" ELSE 'allocated' END, {door('o')}, t + interval '1 day', t, t,"
            " CASE WHEN o % 10 < 8 THEN t + interval '20 hours' END"
            f" FROM generate_series(0, {NO - 1}::bigint) o,"
            " LATERAL (SELECT %(now)s - interval '60 days'"
            f" + o * (interval '60 days' / {NO}) AS t) q",
        ),
        (
            "order_lines",
            "INSERT INTO order_lines (order_id, line, site, sku, qty, allocated, picked, shipped)"
            f" SELECT 'SO-' || lpad((o + 1)::text, 6, '0'), j, '{SITE}', {sku('o * 2 + j')}, 5,"
            " 5, CASE WHEN o % 10 < 9 THEN 5 ELSE 0 END, CASE WHEN o % 10 < 8 THEN 5 ELSE 0 END"
            f" FROM generate_series(0, {NO - 1}::bigint) o, generate_series(1, 2) j",
        ),
        (
            "order_timeline",
            "INSERT INTO order_timeline (site, order_id, time, status, event, detail,"
            f" recorded_at) SELECT '{SITE}', 'SO-' || lpad((o + 1)::text, 6, '0'), t, st, ev,"
            "'{}'::jsonb, t"
            f" FROM generate_series(0, {NO - 1}::bigint) o,"
            " LATERAL (SELECT %(now)s - interval '60 days'"
            f" + o * (interval '60 days' / {NO}) AS t0) q,"
            " LATERAL (VALUES (t0, 'received', 'received'), (t0 + interval '1 min', 'allocated',"
            " 'allocated'), (t0 + interval '20 hours', 'shipped', 'shipped')) v(t, st, ev)"
            " WHERE st <> 'shipped' OR o % 10 < 8",
        ),
        (
            "readers",
            "INSERT INTO readers (reader_id, edge_id, state, last_report_at, last_seen)"
            f" SELECT DISTINCT r, '{EDGE}', 'inventorying', %(now)s, %(now)s"
            " FROM unnest(%(readers)s::text[]) r",
        ),
        (
            "edges",
            "INSERT INTO edges (edge_id, state, last_seen, changed_at)"
            f" VALUES ('{EDGE}', 'online', %(now)s, %(now)s - interval '1 day')",
        ),
        (
            "feed_cursors",  # the warehouse feed has applied every event stored
            "INSERT INTO feed_cursors (consumer, source, last_id, updated_at) SELECT"
            " 'warehouse', s, COALESCE(m, 0), %(now)s FROM (VALUES"
            " ('passages', (SELECT max(id) FROM passages)),"
            " ('zone_events', (SELECT max(id) FROM zone_events)),"
            " ('weights', (SELECT max(id) FROM weights))) v(s, m)",
        ),
    ]


def _run_sql(url: str, statements: list[str], params: dict[str, Any]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for s in statements:  # % is modulo in these; placeholders are %(name)s
            conn.execute(re.sub(r"%(?!\(\w+\)s)", "%%", s), params)  # type: ignore[arg-type]


def fill(url: str, scale: Scale, now: datetime) -> dict[str, float]:
    """Fill the database; seconds per step."""
    readers, antennas, points = places()
    start = now - timedelta(minutes=1) - OBSERVATION_SPAN
    params: dict[str, Any] = {
        "now": now,
        "start": start,
        "step_us": OBSERVATION_SPAN / timedelta(microseconds=1) / scale.observations,
        "readers": readers,
        "antennas": antennas,
        "points": points,
        "places": len(readers),
    }
    steps: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [list(FILLED_INDEXES)],
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

    t0 = time.monotonic()
    # the observations in two halves at once (2 cores), the rest beside them
    half = scale.observations // 2
    obs = observations_sql(scale)
    jobs: list[tuple[str, list[str], dict[str, Any]]] = [
        ("observations (1st half)", [obs], {**params, "lo": 0, "hi": half}),
        ("observations (2nd half)", [obs], {**params, "lo": half, "hi": scale.observations}),
        (
            "tag_locations and the rest",
            [tag_locations_sql(scale), *(s for _, s in rest_sql(scale))],
            params,
        ),
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(_timed, _run_sql, url, stmts, p) for name, stmts, p in jobs}
        for name, f in futures.items():
            steps[f"fill: {name}"] = f.result()
    steps["fill: rows, wall"] = time.monotonic() - t0

    t1 = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(_run_sql, url, [d], {}) for _, d in indexes]:
            f.result()
    steps["build the dropped indexes"] = time.monotonic() - t1
    t2 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    steps["vacuum and analyse"] = time.monotonic() - t2
    steps["total"] = time.monotonic() - t0
    return steps


@contextlib.contextmanager
def database(admin_url: str, keep: str | None) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """A fresh database (dropped after), or with ``keep`` the database of that name,
    created when missing and kept: its URL, and what it was filled with (its comment,
    written by :func:`mark_filled`) when it was."""
    if keep is None:
        with benchkit.fresh_database(admin_url, "rfidwms_bench_api") as url:
            yield url, None
        return
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [keep],
        ).fetchone()
        if row is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(keep)))
        elif not row[0]:  # created, but its fill never finished
            raise SystemExit(f"database {keep} exists but was not filled: drop it first")
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=keep)
    yield url, json.loads(row[0]) if row else None


def mark_filled(url: str, scale: Scale, now: datetime, steps: dict[str, float]) -> None:
    info = {"tags": scale.tags, "observations": scale.observations, "now": now.isoformat(),
            "steps": steps}  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        name = conn.info.dbname
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(json.dumps(info))
            )
        )


def _timed(fn: Callable[..., None], *args: Any) -> float:
    t = time.monotonic()
    fn(*args)
    return time.monotonic() - t


def table_sizes(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            " ORDER BY 2 DESC"
        ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def row_counts(url: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


# -- the cloud -------------------------------------------------------------------------


@contextlib.contextmanager
def cloud_process(url: str, mqtt_url: str) -> Iterator[int]:
    """``rfidwms cloud`` on a free port of 127.0.0.1 serving ``url``; its port."""
    port = free_port()
    client_id = f"rfidwms-bench-api-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "RFIDWMS_DATABASE_URL": url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": SITE,
        "RFIDWMS_HTTP_PORT": str(port),
        "RFIDWMS_INGEST_CLIENT_ID": client_id,
        # one token makes every request here, far beyond what one dashboard or ERP does
        "RFIDWMS_RATE_LIMIT_PER_S": "0",
    }
    for name in ("RFIDWMS_SITES", "RFIDWMS_LAYOUT", "RFIDWMS_CLOCK"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfidwms", "cloud"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rfidwms cloud exited {proc.returncode}:\n{''.join(lines)}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/api/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"rfidwms cloud did not answer:\n{''.join(lines)}")
            time.sleep(0.5)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        forget_session(mqtt_url, client_id)
        errors = [x for x in lines if " ERROR " in x or "Traceback" in x]
        if errors:
            sys.stdout.write("cloud errors:\n" + "".join(errors[:20]))


def make_token(url: str) -> str:
    async def issue() -> str:
        now = datetime.now(UTC)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            user = await users.create_user(
                conn, f"bench-admin-{uuid.uuid4().hex[:8]}", Role.ADMIN, None, at=now
            )
            return (await users.issue_token(conn, user, at=now)).token

    return asyncio.run(issue())


# -- the requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: Callable[[random.Random], str]
    goal_ms: float = GOAL_P99_MS


def endpoints(scale: Scale, now: datetime) -> list[Endpoint]:
    P, T, NO = scale.pallets, scale.tags, scale.orders

    def tag(t: int) -> str:
        if t < P:
            return f"3114{t:020X}"
        return f"3034{t - P:020X}"

    def since(r: random.Random) -> str:
        return urllib.parse.quote((now - timedelta(days=r.uniform(1, 59))).isoformat())

    return [
        Endpoint("GET /api/health", lambda r: "/api/health"),
        Endpoint("GET /api/tags/{epc}", lambda r: f"/api/tags/{tag(r.randrange(T))}"),
        Endpoint("GET /api/pallets (first page)", lambda r: "/api/pallets?limit=50"),
        Endpoint(
            "GET /api/pallets (a later page)",
            lambda r: (
                "/api/pallets?limit=50&cursor=" + encode_cursor(SITE, sscc_of(r.randrange(P)))
            ),
        ),
        Endpoint(
            "GET /api/pallets?zone=", lambda r: f"/api/pallets?limit=50&zone={r.choice(ZONES)}"
        ),
        Endpoint("GET /api/pallets/{sscc}", lambda r: f"/api/pallets/{sscc_of(r.randrange(P))}"),
        Endpoint("GET /api/stock (first page)", lambda r: "/api/stock?limit=50"),
        Endpoint("GET /api/stock?sku=", lambda r: f"/api/stock?sku={sku_of(r.randrange(ITEMS))}"),
        Endpoint(
            "GET /api/availability?sku=",
            lambda r: f"/api/availability?sku={sku_of(r.randrange(ITEMS))}&qty=10&site={SITE}",
        ),
        Endpoint("GET /api/passages?since=", lambda r: f"/api/passages?limit=50&since={since(r)}"),
        Endpoint(
            "GET /api/passages?epc= (a case)",
            lambda r: f"/api/passages?epc={tag(P + r.randrange(T - P))}",
        ),
        Endpoint("GET /api/zone-events?since=", lambda r: f"/api/zone-events?since={since(r)}"),
        Endpoint(
            "GET /api/zones/{zone}/tags", lambda r: f"/api/zones/{r.choice(ZONES)}/tags?limit=50"
        ),
        Endpoint("GET /api/orders (first page)", lambda r: "/api/orders?limit=50"),
        Endpoint("GET /api/orders?status=picking", lambda r: "/api/orders?limit=50&status=picking"),
        Endpoint("GET /api/orders/{id}", lambda r: f"/api/orders/SO-{r.randrange(NO) + 1:06d}"),
        Endpoint("GET /api/ledger?sku=", lambda r: f"/api/ledger?sku={sku_of(r.randrange(ITEMS))}"),
        Endpoint("GET /api/readers", lambda r: "/api/readers"),
        Endpoint("GET /api/kpis (30 days)", lambda r: "/api/kpis", GOAL_KPI_P99_MS),
    ]


class Client:
    """One keep-alive HTTP connection to the API."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> float:
        """Milliseconds from sending the request to the last byte of a 200 answer."""
        t = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        resp = self.conn.getresponse()
        body = resp.read()
        ms = (time.perf_counter() - t) * 1000
        if resp.status != 200:
            raise SystemExit(f"GET {path}: {resp.status} {body[:300]!r}")
        return ms

    def close(self) -> None:
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def sequential(port: int, token: str, ep: Endpoint, n: int, seed: int) -> list[float]:
    r = random.Random(seed)
    c = Client(port, token)
    try:
        for _ in range(3):  # warm the connection and the process
            c.get(ep.path(r))
        return [c.get(ep.path(r)) for _ in range(n)]
    finally:
        c.close()


def concurrent(
    port: int, token: str, eps: list[Endpoint], clients: int, n: int, seed: int
) -> tuple[list[float], float]:
    """``n`` requests of the mix from ``clients`` clients at once: their times, and the
    requests per second."""
    per = n // clients
    times: list[list[float]] = [[] for _ in range(clients)]

    def run(k: int) -> None:
        r = random.Random(seed * 1000 + k)
        c = Client(port, token)
        try:
            for _ in range(per):
                ep = r.choice(eps)
                times[k].append(c.get(ep.path(r)))
        finally:
            c.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(run, k) for k in range(clients)]:
            f.result()
    wall = time.perf_counter() - t
    flat = [x for ts in times for x in ts]
    return flat, len(flat) / wall


# -- main ------------------------------------------------------------------------------


def explain(url: str, statements: list[str]) -> str:
    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        for s in statements:
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {s}").fetchall()  # type: ignore[arg-type]
            out.append(s + "\n" + "\n".join(str(r[0]) for r in plan))
    return "\n\n".join(out)


def previous(name: str) -> dict[str, Any] | None:
    """The result this run replaces (``bench/results/NAME.json``), if any."""
    path = benchkit.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def against_previous(
    before: dict[str, Any], med: dict[str, dict[str, float]], mix: list[dict[str, float]]
) -> tuple[str, str]:
    """A table of the p50 / p99 medians of the result replaced and of this run."""
    was = before.get("extra", {}).get("sequential", {})
    was_mix = before.get("extra", {}).get("mix", [])
    rows = [f"{'endpoint':<36} {'p50 was':>8} {'now':>8} {'p99 was':>8} {'now':>8}  (ms)"]
    for name, v in med.items():
        old = (
            {k: statistics.median(q[k] for q in was[name]) for k in ("p50", "p99")}
            if name in was
            else None
        )
        cells = [f"{old[k]:>8.1f}" if old else f"{'-':>8}" for k in ("p50", "p99")]
        rows.append(f"{name:<36} {cells[0]} {v['p50']:>8.1f} {cells[1]} {v['p99']:>8.1f}")
    if was_mix and mix:
        old_mix = {k: statistics.median(q[k] for q in was_mix) for k in ("p50", "p99")}
        now_mix = {k: statistics.median(q[k] for q in mix) for k in ("p50", "p99")}
        rows.append(
            f"{'mix (all clients at once)':<36} {old_mix['p50']:>8.1f} {now_mix['p50']:>8.1f}"
            f" {old_mix['p99']:>8.1f} {now_mix['p99']:>8.1f}"
        )
    when = before.get("measured_at", "?")
    return f"Against the result it replaced (measured {when}), medians of repeats", "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tags", type=int, default=1_000_000)
    p.add_argument("--observations", type=int, default=10_000_000)
    p.add_argument("--quick", action="store_true", help="100k tags, 1M observations, 1 repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--requests", type=int, default=200, help="sequential, per endpoint")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--concurrent-requests", type=int, default=800)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    p.add_argument("--name", default="api_scale", help="result name (bench/results/NAME.json)")
    p.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the slow")
    p.add_argument(
        "--keep-database",
        metavar="NAME",
        help="fill database NAME once and keep it; a later run with the same NAME and scale"
        " reuses it (new migrations applied, no refill; its data ages: the cloud prunes"
        " observations past retention) - for experiments, not for results",
    )
    args = p.parse_args()
    if args.quick:
        args.tags, args.observations, args.repeats = 100_000, 1_000_000, 1
    scale = Scale(args.tags, args.observations)
    now = datetime.now(UTC)
    with database(args.database_url, args.keep_database) as (url, filled):
        asyncio.run(apply_migrations(url))
        if filled is not None:
            if (filled["tags"], filled["observations"]) != (scale.tags, scale.observations):
                raise SystemExit(f"database {args.keep_database} holds another scale: {filled}")
            now, steps = datetime.fromisoformat(filled["now"]), filled["steps"]
            print(f"reusing {args.keep_database}, filled at {now.isoformat()}", flush=True)
        else:
            print(
                f"filling: {scale.tags:,} tags ({scale.pallets:,} pallets), "
                f"{scale.observations:,} observations, {scale.orders:,} orders",
                flush=True,
            )
            steps = fill(url, scale, now)
            for k, v in steps.items():
                print(f"  {k}: {v:.1f} s", flush=True)
            if args.keep_database:
                mark_filled(url, scale, now, steps)
        eps = endpoints(scale, now)
        counts = row_counts(
            url,
            ["observations", "tag_locations", "tag_places", "pallets", "pallet_cases",
             "passages", "ledger_entries", "stock_positions", "orders"],
        )  # fmt: skip
        print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
        sizes = table_sizes(url)
        token = make_token(url)
        seq: dict[str, list[dict[str, float]]] = {e.name: [] for e in eps}
        mix: list[dict[str, float]] = []
        with cloud_process(url, args.mqtt_url) as port:
            for rep in range(args.repeats):
                for i, ep in enumerate(eps):
                    ms = sequential(port, token, ep, args.requests, seed=rep * 100 + i)
                    q = {
                        "p50": percentile(ms, 0.5),
                        "p95": percentile(ms, 0.95),
                        "p99": percentile(ms, 0.99),
                        "max": max(ms),
                    }
                    seq[ep.name].append(q)
                    print(
                        f"repeat {rep + 1} {ep.name}: p50 {q['p50']:.1f} p95 {q['p95']:.1f} "
                        f"p99 {q['p99']:.1f} ms",
                        flush=True,
                    )
                ms, rate = concurrent(
                    port, token, eps, args.clients, args.concurrent_requests, seed=rep
                )
                q = {
                    "p50": percentile(ms, 0.5),
                    "p95": percentile(ms, 0.95),
                    "p99": percentile(ms, 0.99),
                    "rps": rate,
                }
                mix.append(q)
                print(
                    f"repeat {rep + 1} mix, {args.clients} clients: p50 {q['p50']:.1f} "
                    f"p95 {q['p95']:.1f} p99 {q['p99']:.1f} ms, {rate:.0f} requests/s",
                    flush=True,
                )
        if args.explain:
            print(explain(url, []))

    result = benchkit.Result(
        name=args.name,
        title=f"API latency with {scale.tags:,} tags and {scale.observations:,} observations",
        description=(
            "A fresh database filled in the server (generate_series) with "
            f"{scale.tags:,} tags ({scale.pallets:,} pallets of {CASES_PER_PALLET} cases), "
            f"{scale.observations:,} observations over the last 23 hours, their passages, "
            f"ledger, stock and {scale.orders:,} orders; `rfidwms cloud` serving it on "
            "127.0.0.1; GET requests a dashboard and an ERP make most, with random keys: "
            f"{args.requests} sequential per endpoint over one keep-alive connection, then "
            f"{args.concurrent_requests} of the whole mix from {args.clients} clients at "
            "once. Client-side times (send to last byte). The figure per repeat is that "
            "repeat's percentile."
        ),
        repeats=args.repeats,
    )
    for ep in eps:
        result.add(
            benchkit.Figure(
                f"{ep.name} p99", "ms", [q["p99"] for q in seq[ep.name]],
                goal=f"<= {ep.goal_ms:.0f} ms", goal_max=ep.goal_ms,
            )
        )  # fmt: skip
    for k in ("p50", "p95", "p99"):
        result.add(
            benchkit.Figure(
                f"mix, {args.clients} clients, {k}",
                "ms",
                [q[k] for q in mix],
                **(
                    {"goal": f"<= {GOAL_MIX_P99_MS:.0f} ms", "goal_max": GOAL_MIX_P99_MS}
                    if k == "p99"
                    else {}
                ),  # type: ignore[arg-type]
            )
        )
    result.add(benchkit.Figure(f"mix, {args.clients} clients, throughput", "requests/s",
                               [q["rps"] for q in mix]))  # fmt: skip
    result.add(benchkit.Figure("fill (rows, indexes, vacuum)", "s", [steps["total"]],
                               note="once, before the repeats"))  # fmt: skip
    med = {
        name: {k: statistics.median(q[k] for q in qs) for k in ("p50", "p95", "p99")}
        for name, qs in seq.items()
    }
    table = [f"{'endpoint':<36} {'p50':>8} {'p95':>8} {'p99':>8}  (ms, median of repeats)"]
    table += [f"{n:<36} {v['p50']:>8.1f} {v['p95']:>8.1f} {v['p99']:>8.1f}" for n, v in med.items()]
    result.attachments["Sequential latency per endpoint, p50 / p95 / p99"] = "\n".join(table)
    before = previous(args.name)
    if before is not None:
        title, text = against_previous(before, med, mix)
        result.attachments[title] = text
    result.attachments["Stored (pg_total_relation_size, the largest tables)"] = "\n".join(
        f"{k:<20} {v / 2**20:>10,.1f} MiB ({counts[k]:,} rows)"
        if k in counts
        else f"{k:<20} {v / 2**20:>10,.1f} MiB"
        for k, v in list(sizes.items())[:12]
    )
    result.checks["rows"] = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    result.extra.update(
        scale={"tags": scale.tags, "observations": scale.observations,
               "pallets": scale.pallets, "orders": scale.orders},
        fill_seconds=steps, sequential=seq, mix=mix, table_bytes=sizes,
    )  # fmt: skip
    result.notes.append(
        "The machine (2 cores) was shared with other people's work while this ran; "
        "the load average is in the line above."
    )
    benchkit.write(result)
    met = all(f.summary()[1] <= (f.goal_max or float("inf")) for f in result.figures)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
