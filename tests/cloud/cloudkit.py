"""Helpers for the cloud tests: settings, messages, a running ingester or app.

Real PostgreSQL and a real broker come from the root conftest's fixtures
(``database_url``, ``mqtt_url``, ``site``); these helpers only compose them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiomqtt
import httpx
import psycopg
from authkit import bearer, issue_token
from brokerkit import forget_session

from cloud.api.app import create_app
from cloud.api.server import CloudServer
from cloud.db.migrate import apply_migrations
from cloud.db.pool import Pool, open_pool
from cloud.ingest.ingester import Ingester
from cloud.live.hub import LiveHub
from cloud.settings import CloudSettings
from cloud.warehouse.roles import Role
from protocols.mqtt import TopicKind, parse_mqtt_url, topic

T = TypeVar("T")
T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
EPC_1 = "3074257BF7194E4000001A85"
EPC_2 = "3074257BF7194E4000001A86"
EPC_3 = "3174257BF7194E4000001A87"
SPOOL_1 = "5f0c6a3e9b2d4c7f8e1a2b3c4d5e6f70"
SPOOL_2 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def settings_for(database_url: str, mqtt_url: str, site: str, **kw: Any) -> CloudSettings:
    return CloudSettings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        site=site,
        ingest_client_id=f"test-ingest-{site}",
        ingest_retry_max_s=0.5,
        **kw,
    )


def observation(
    epc: str = EPC_1,
    *,
    read_point: str = "door-1/outside",
    reader_id: str = "reader-door-1",
    antenna: int = 1,
    rssi_dbm: float | None = -52.5,
    at: datetime = T0,
    seen_count: int = 3,
) -> dict[str, Any]:
    return {
        "epc": epc,
        "reader_id": reader_id,
        "antenna": antenna,
        "read_point": read_point,
        "rssi_dbm": rssi_dbm,
        "first_seen": (at - timedelta(seconds=1)).isoformat(),
        "last_seen": at.isoformat(),
        "seen_count": seen_count,
    }


def batch(
    edge_id: str,
    seq: int,
    *observations: dict[str, Any],
    spool: str = SPOOL_1,
    sent_at: datetime = T0,
) -> bytes:
    obs = list(observations) or [observation()]
    return json.dumps(
        {
            "v": 1,
            "edge_id": edge_id,
            "spool": spool,
            "seq": seq,
            "sent_at": sent_at.isoformat(),
            "observations": obs,
        }
    ).encode()


def health(
    edge_id: str,
    *readers: tuple[str, str, dict[str, float]],
    at: datetime = T0,
    clock_offsets: dict[str, float] | None = None,
    spool: dict[str, Any] | None = None,
    events: dict[str, list[dict[str, Any]]] | None = None,
) -> bytes:
    """An edge's health message; ``clock_offsets`` by reader id, ``spool`` as the
    message's optional spool object, ``events`` (each reader's faults and antenna
    events) by reader id."""
    offsets = clock_offsets or {}
    events = events or {}
    body: dict[str, Any] = {
        "v": 1,
        "edge_id": edge_id,
        "at": at.isoformat(),
        "readers": [
            {"reader_id": r, "state": s, "reads_per_s": rates}
            | ({"clock_offset_s": offsets[r]} if r in offsets else {})
            | ({"events": events[r]} if r in events else {})
            for r, s, rates in readers
        ],
    }
    if spool is not None:
        body["spool"] = spool
    return json.dumps(body).encode()


def edge_status(edge_id: str, state: str) -> bytes:
    return json.dumps({"v": 1, "edge_id": edge_id, "state": state}).encode()


def obs_topic(site: str, edge_id: str = "edge-1") -> str:
    return topic(site, edge_id, TopicKind.OBSERVATIONS)


async def publish(mqtt_url: str, *messages: tuple[str, bytes]) -> None:
    """Publish (topic, payload) pairs with QoS 1, in order."""
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(u.host, u.port, username=u.username, password=u.password) as c:
        for t, payload in messages:
            await c.publish(t, payload, qos=1)


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what} (last: {value!r})"
            )
        await asyncio.sleep(0.05)


async def until(predicate: Callable[[], bool], *, timeout: float = 10.0, what: str) -> None:
    """Wait until ``predicate()`` is true."""

    async def probe() -> bool:
        return predicate()

    await eventually(probe, timeout=timeout, what=what)


async def rows(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(sql.encode(), params or None)
        return await cur.fetchall()


@dataclass
class IngestRig:
    settings: CloudSettings
    pool: Pool
    hub: LiveHub
    ingester: Ingester


@asynccontextmanager
async def running_ingester(
    settings: CloudSettings, *, migrate: bool = True
) -> AsyncIterator[IngestRig]:
    """A migrated database, a pool, a hub and a subscribed ingester; the persistent
    session is ended afterwards."""
    if migrate:
        await apply_migrations(settings.database_url)
    try:
        async with AsyncExitStack() as stack:
            pool = await stack.enter_async_context(open_pool(settings.database_url, timeout=2.0))
            hub = LiveHub()
            ingester = await stack.enter_async_context(Ingester(settings, pool, hub))
            await asyncio.wait_for(ingester.subscribed.wait(), 10)
            yield IngestRig(settings, pool, hub, ingester)
    finally:
        await forget_session(settings.mqtt_url, settings.mqtt_client_id(), settings.mqtt_ca_file)


@asynccontextmanager
async def running_app(settings: CloudSettings) -> AsyncIterator[str]:
    """The migrated cloud app served by uvicorn on a free port; yields its base URL
    (ending in ``/``) once the ingester is subscribed."""
    await apply_migrations(settings.database_url)
    app = create_app(settings.model_copy(update={"http_port": 0}))
    try:
        async with CloudServer(app, "127.0.0.1", 0) as server:
            ingester = app.state.cloud.ingester
            await asyncio.wait_for(ingester.subscribed.wait(), 10)
            await asyncio.wait_for(app.state.cloud.live_feed.ready.wait(), 10)
            yield server.url
    finally:
        await forget_session(settings.mqtt_url, settings.mqtt_client_id())


@contextmanager
def database_of_a_plain_role(pg_admin_url: str, *, owner: bool) -> Iterator[str]:
    """A new database and a new LOGIN role (no superuser, no pg_read_all_settings) that
    owns it when ``owner``; yields the role's URL of it. Both are dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    role, name = f"rfidwms_role_{suffix}", f"rfidwms_r_{suffix}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{role}"' if owner else ""))
    try:
        yield psycopg.conninfo.make_conninfo(pg_admin_url, dbname=name, user=role)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@asynccontextmanager
async def api(
    settings: CloudSettings,
    *,
    ingest: bool = True,
    role: Role | str | None = Role.OPERATOR,
    name: str | None = None,
    customer: str | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app through ASGI, sending the token of a new user of ``role``
    (named ``name``, of ``customer`` for a customer; the database must be migrated):
    the role a real client of the routes called has (an operator on the floor's, erp
    for items, notices and orders, a customer for availability and its own orders,
    admin for users); ``role=None``: no token. A request by someone else:
    ``headers=await as_user(client, role)``."""
    app = create_app(settings, ingest=ingest)
    try:
        async with app.router.lifespan_context(app):
            if ingest:
                await asyncio.wait_for(app.state.cloud.ingester.subscribed.wait(), 10)
            feed = app.state.cloud.live_feed  # its view read (or the database is away)
            await until(lambda: feed.ready.is_set() or feed.read_failures > 0, what="live feed")
            transport = httpx.ASGITransport(app=app)
            headers = (
                {}
                if role is None
                else bearer(
                    await issue_token(settings.database_url, role, customer=customer, name=name)
                )
            )
            async with httpx.AsyncClient(
                transport=transport, base_url="http://cloud", headers=headers
            ) as client:
                client.app = app  # type: ignore[attr-defined]
                yield client
    finally:
        if ingest:
            await forget_session(settings.mqtt_url, settings.mqtt_client_id())


async def as_user(
    client: httpx.AsyncClient,
    role: Role | str,
    *,
    name: str | None = None,
    customer: str | None = None,
) -> dict[str, str]:
    """The ``Authorization`` header of a user of ``role`` (a new one, or the user
    ``name``) of the database the app of ``client`` (from :func:`api`) serves: for a
    request made by another user than the client's own, ``headers=await as_user(...)``."""
    url = client.app.state.cloud.settings.database_url  # type: ignore[attr-defined]
    return bearer(await issue_token(url, role, customer=customer, name=name))


async def ingest(client: httpx.AsyncClient, mqtt_url: str, *messages: tuple[str, bytes]) -> None:
    stats = client.app.state.cloud.ingester.stats  # type: ignore[attr-defined]
    before = stats.messages
    await publish(mqtt_url, *messages)
    await until(lambda: stats.messages >= before + len(messages), what="ingest")


async def all_pages(client: httpx.AsyncClient, path: str, limit: int) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        r = await client.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next"}
        pages.append(body["items"])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


PALLET_1 = "3174257BF7194E4000001A87"
CASE_1 = "3074257BF7194E4000001A85"
CASE_2 = "3074257BF7194E4000001A86"


def passage(
    epc: str = PALLET_1,
    *,
    door: str = "door-1",
    direction: str = "inbound",
    at: datetime = T0,
    cases: tuple[str, ...] = (),
    confidence: float = 0.9,
) -> dict[str, Any]:
    side = {
        "reads": 4,
        "peak_rssi_dbm": -45.0,
        "first_seen": at.isoformat(),
        "last_seen": at.isoformat(),
    }
    return {
        "type": "passage",
        "door": door,
        "direction": direction,
        "epc": epc,
        "cases": list(cases),
        "confidence": confidence,
        "time": at.isoformat(),
        "evidence": {"outside": side, "inside": side},
    }


def zone_event(
    kind: str, epc: str = PALLET_1, *, zone: str = "zone-a", at: datetime = T0, **kw: Any
) -> dict[str, Any]:
    return {"type": "zone", "kind": kind, "epc": epc, "zone": zone, "time": at.isoformat(), **kw}


def event_batch(
    edge_id: str, seq: int, *events: dict[str, Any], spool: str = SPOOL_1, sent_at: datetime = T0
) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "edge_id": edge_id,
            "spool": spool,
            "seq": seq,
            "sent_at": sent_at.isoformat(),
            "events": list(events),
        }
    ).encode()


def events_topic(site: str, edge_id: str = "edge-1") -> str:
    return topic(site, edge_id, TopicKind.EVENTS)
