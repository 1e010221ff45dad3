"""The REST API and the page, through the app's ASGI interface (lifespan included)."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import psycopg
import pytest
from authkit import bearer
from cloudkit import (
    EPC_1,
    EPC_2,
    T0,
    all_pages,
    api,
    batch,
    edge_status,
    eventually,
    health,
    ingest,
    obs_topic,
    observation,
    publish,
    rows,
    settings_for,
    until,
)

from cloud.api.paging import CursorError, decode_cursor, encode_cursor
from cloud.db import feed as feed_db
from cloud.db.migrate import apply_migrations
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic

LAYOUT = load_layout(None)
NOWHERE = "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1"


async def test_health_reports_database_broker_ingest_and_counts(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with api(settings) as client:
        await ingest(
            client,
            mqtt_url,
            (obs_topic(site), batch("edge-1", 1, observation(EPC_1), observation(EPC_2))),
            (obs_topic(site), b"garbage"),
        )
        r = await client.get("/api/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["site"] == site
    assert h["database"] == {"ok": True, "error": None}
    assert h["mqtt"]["connected"] is True
    assert h["mqtt"]["subscription"] == f"rfidwms/v1/{site}/+/+"
    assert h["mqtt"]["broker"].startswith("mqtt://")
    ing = h["ingest"]
    assert (ing["batches"], ing["observations"], ing["dead_letters"]) == (1, 2, 1)
    assert ing["last_ingest_at"] is not None
    assert h["counts"] == {
        "tags": 2,
        "readers": 0,
        "edges": 0,
        "dead_letters": 1,
        "estimated": [],
    }
    assert h["live"]["seq"] == 1
    assert h["feed"]["running"] is True and h["feed"]["skipped"] == 0


async def test_feed_failures_are_listed_newest_first_in_pages(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for event_id in (11, 12, 13):
            await feed_db.record_failure(
                conn, "warehouse", "passages", event_id, error=f"boom {event_id}",
                attempts=3, at=T0,
            )  # fmt: skip
    async with api(settings, ingest=False) as client:
        first = (await client.get("/api/feed-failures?limit=2")).json()
        rest = (await client.get(f"/api/feed-failures?limit=2&cursor={first['next']}")).json()
    assert [f["event_id"] for f in first["items"]] == [13, 12]
    assert [f["event_id"] for f in rest["items"]] == [11] and rest["next"] is None
    assert first["items"][0] | {"id": 0} == {
        "id": 0, "consumer": "warehouse", "source": "passages", "event_id": 13,
        "error": "boom 13", "attempts": 3, "failed_at": "2025-03-01T08:00:00Z",
    }  # fmt: skip


async def test_health_is_503_naming_the_database_when_it_is_unreachable(mqtt_url, site):
    settings = settings_for(
        "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1",
        mqtt_url,
        site,
        db_timeout_s=0.3,
    )
    async with api(settings, ingest=False, role=None) as client:  # health needs no token
        r = await client.get("/api/health")
    assert r.status_code == 503
    assert r.json()["status"] == "down"
    assert r.json()["database"]["ok"] is False and r.json()["database"]["error"]


async def test_readers_lists_every_layout_reader_with_its_health(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        # a reader stored before the layout lost it (the ingester takes no reader the
        # layout does not give the edge)
        await conn.execute(
            "INSERT INTO readers (reader_id, edge_id, state, last_seen)"
            " VALUES ('reader-extra', 'edge-1', 'connecting', now())"
        )
    async with api(settings) as client:
        await ingest(
            client,
            mqtt_url,
            (
                topic(site, "edge-1", TopicKind.HEALTH),
                health("edge-1", ("reader-door-1", "inventorying", {"1": 10.0, "3": 6.5})),
            ),
        )
        r = await client.get("/api/readers")
    assert r.status_code == 200
    assert r.json()["next"] is None
    readers = {x["reader_id"]: x for x in r.json()["items"]}
    assert list(readers) == [*(x.id for x in LAYOUT.readers), "reader-extra"]
    door = readers["reader-door-1"]
    assert (door["state"], door["place"], door["place_kind"], door["in_layout"]) == (
        "inventorying",
        "door-1",
        "door",
        True,
    )
    assert door["reads_per_s"] == 16.5 and door["last_seen"] is not None
    assert [(a["antenna"], a["read_point"], a["reads_per_s"]) for a in door["antennas"]] == [
        (1, "door-1/outside", 10.0),
        (2, "door-1/outside", 0.0),
        (3, "door-1/inside", 6.5),
        (4, "door-1/inside", 0.0),
    ]
    assert readers["reader-zone-a"]["state"] == "unknown"
    assert readers["reader-zone-a"]["last_seen"] is None
    assert readers["reader-extra"]["in_layout"] is False


SPOOL = {"batches": 4, "bytes": 9000, "max_bytes": 1_000_000, "full": False}


async def test_readers_and_edges_show_clock_offsets_and_spool_depth_from_health(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    health_topic = topic(site, "edge-1", TopicKind.HEALTH)
    up = ("reader-door-1", "inventorying", {"1": 2.0})
    zone = ("reader-zone-a", "inventorying", {"1": 1.0})
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(  # an edge the layout has lost, last heard of offline
            "INSERT INTO edges (edge_id, state, last_seen, changed_at)"
            " VALUES ('edge-0', 'offline', now(), now())"
        )
    async with api(settings) as client:
        # before the edge's status: readers yes, but no edge to hold a spool
        await ingest(client, mqtt_url, (health_topic, health("edge-1", up, spool=SPOOL)))
        assert [e["edge_id"] for e in (await client.get("/api/edges")).json()["items"]] == [
            "edge-0"
        ]
        await ingest(
            client,
            mqtt_url,
            (topic(site, "edge-1", TopicKind.STATUS), edge_status("edge-1", "online")),
            (
                health_topic,
                health(
                    "edge-1",
                    up,
                    zone,
                    at=T0 + timedelta(seconds=5),
                    clock_offsets={"reader-door-1": -2.25},
                    spool=SPOOL | {"refused_batches": 0},
                ),
            ),
        )
        readers = {r["reader_id"]: r for r in (await client.get("/api/readers")).json()["items"]}
        edges = (await client.get("/api/edges")).json()
        first = (await client.get("/api/edges", params={"limit": 1})).json()
        rest = (await client.get("/api/edges", params={"cursor": first["next"]})).json()
        bad = await client.get("/api/edges", params={"cursor": "nope"})
    assert readers["reader-door-1"]["clock_offset_s"] == -2.25
    assert readers["reader-zone-a"]["clock_offset_s"] is None  # not reported
    assert readers["reader-zone-b"]["clock_offset_s"] is None  # never heard of
    assert [(e["edge_id"], e["state"]) for e in edges["items"]] == [
        ("edge-0", "offline"),
        ("edge-1", "online"),
    ]
    assert edges["items"][0]["spool"] is None  # never reported
    assert edges["items"][1]["spool"] == SPOOL | {
        "refused_batches": 0,
        "at": "2025-03-01T08:00:05Z",
    }
    assert [e["edge_id"] for e in first["items"] + rest["items"]] == ["edge-0", "edge-1"]
    assert rest["next"] is None
    assert bad.status_code == 422 and "cursor 'nope'" in bad.json()["detail"]


async def test_a_tag_shows_where_it_is_now_and_its_reads_newest_first(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    steps = [
        ("door-1/outside", "reader-door-1", 1),
        ("door-1/inside", "reader-door-1", 3),
        ("zone-a/shelf", "reader-zone-a", 1),
    ]
    async with api(settings) as client:
        await ingest(
            client,
            mqtt_url,
            *(
                (
                    obs_topic(site),
                    batch(
                        "edge-1",
                        i,
                        observation(
                            EPC_1,
                            read_point=rp,
                            reader_id=reader,
                            antenna=antenna,
                            at=T0 + timedelta(seconds=i),
                        ),
                    ),
                )
                for i, (rp, reader, antenna) in enumerate(steps)
            ),
        )
        r = await client.get(f"/api/tags/{EPC_1.lower()}", params={"limit": 2})
        assert r.status_code == 200, r.text
        tag = r.json()
        assert tag["epc"] == EPC_1
        assert tag["uri"] == "urn:epc:id:sgtin:0614141.812345.6789"
        assert tag["read_point"] == "zone-a/shelf"
        assert tag["last_seen"] == "2025-03-01T08:00:02Z"
        assert [h["read_point"] for h in tag["history"]] == ["zone-a/shelf", "door-1/inside"]

        unknown = await client.get(f"/api/tags/{EPC_2}")
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == f"EPC {EPC_2} has never been read at site {site!r}"

        bad_char = await client.get("/api/tags/3074ZZ")
        assert bad_char.status_code == 422
        assert "contains 'Z'" in bad_char.json()["detail"]
        bad_len = await client.get("/api/tags/3074257")
        assert bad_len.status_code == 422
        assert "has 7 hex digits" in bad_len.json()["detail"]
        bad_limit = await client.get(f"/api/tags/{EPC_1}", params={"limit": 0})
        assert bad_limit.status_code == 422
        assert bad_limit.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_the_live_page_and_the_openapi_document_are_served(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with api(settings, ingest=False) as client:
        page = await client.get("/")
        js = await client.get("/live/live.js")
        css = await client.get("/live/live.css")
        spec = (await client.get("/openapi.json")).json()
    assert page.status_code == 200 and "/live/live.js" in page.text
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(u.startswith("/") and not u.startswith("//") for u in links), links
    assert {
        "/api/health",
        "/api/readers",
        "/api/tags/{epc}",
        "/api/dead-letters",
    } <= set(spec["paths"])
    ok = spec["paths"]["/api/tags/{epc}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TagOut"}


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
LOCAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/[^"']+)["']""")
MODULE_IMPORT = re.compile(r"""^import\s.*?\sfrom\s+["']([^"']+)["'];""", re.MULTILINE)


async def test_every_page_and_what_it_loads_comes_from_the_app_itself(database_url, mqtt_url, site):
    """Users run this offline: no page may load a script, style, module or font from
    another host, and the pages' files need no token."""
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with api(settings, ingest=False, role=None) as client:
        for page in ("/", "/stock", "/alerts", "/fleet", "/docs", "/redoc"):
            r = await client.get(page)
            assert r.status_code == 200, page
            assert not EXTERNAL.search(r.text), f"{page} loads from another host"
            assets = LOCAL_ASSET.findall(r.text)
            assert assets, f"{page} loads nothing?"
            while assets:
                asset = assets.pop()
                got = await client.get(asset)
                assert got.status_code == 200, f"{page} -> {asset}: {got.status_code}"
                if asset.endswith(".js") and not asset.startswith("/static-offline-docs/"):
                    imports = MODULE_IMPORT.findall(got.text)
                    assert all(i.startswith("/") and not i.startswith("//") for i in imports)
                    assets += imports


async def test_a_tag_standing_at_its_read_point_shows_its_newest_read_while_the_row_lags(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)  # last_seen resolution: 60 s
    await apply_migrations(database_url)
    seen = [(0, 1, -60.0), (5, 2, -45.0), (10, 1, -50.0)]  # seconds, antenna, RSSI
    messages = [
        (
            obs_topic(site),
            batch(
                "edge-1",
                i,
                observation(
                    EPC_1,
                    read_point="zone-a/shelf",
                    reader_id="reader-zone-a",
                    antenna=antenna,
                    rssi_dbm=rssi,
                    at=T0 + timedelta(seconds=s),
                ),
            ),
        )
        for i, (s, antenna, rssi) in enumerate(seen)
    ]
    async with api(settings) as client:
        await ingest(client, mqtt_url, messages[0])  # the arrival, stored first
        await ingest(client, mqtt_url, *messages[1:])
        r = await client.get(f"/api/tags/{EPC_1}")
    assert await rows(database_url, "SELECT last_seen, antenna, arrived_at FROM tag_locations") == [
        (T0, 1, T0 - timedelta(seconds=1))
    ]  # read again within 60 s: not rewritten
    assert r.status_code == 200, r.text
    tag = r.json()
    assert (tag["read_point"], tag["last_seen"], tag["antenna"], tag["rssi_dbm"]) == (
        "zone-a/shelf",
        "2025-03-01T08:00:10Z",
        1,
        -50.0,
    )
    assert tag["arrived_at"] == "2025-03-01T07:59:59Z"


async def test_readers_and_tags_answer_503_naming_the_database_when_it_is_down(mqtt_url, site):
    settings = settings_for(NOWHERE, mqtt_url, site, db_timeout_s=0.3)
    async with api(settings, ingest=False, role=None) as client:
        for path in ("/api/readers", f"/api/tags/{EPC_1}"):
            r = await client.get(path, headers=bearer("any"))  # checking it needs the database
            assert r.status_code == 503, path
            assert r.headers["content-type"] == "application/json"
            assert r.json()["detail"].startswith("database unavailable: "), r.json()
            assert r.headers["retry-after"]


async def test_readers_ignore_an_antenna_key_that_is_not_ascii_digits(database_url, mqtt_url, site):
    """'²'.isdigit() is True but int('²') fails; such a row (written before the schema
    checked keys, or by hand) must not take /api/readers down."""
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    await rows(
        database_url,
        "INSERT INTO readers (reader_id, edge_id, state, reads_per_s, last_seen)"
        """ VALUES ('reader-door-1', 'edge-1', 'inventorying', '{"1": 2.0, "²": 5.0, "03": 1.0}',"""
        " now()) RETURNING 1",
    )
    async with api(settings, ingest=False) as client:
        r = await client.get("/api/readers")
    assert r.status_code == 200, r.text
    door = next(x for x in r.json()["items"] if x["reader_id"] == "reader-door-1")
    assert [(a["antenna"], a["reads_per_s"]) for a in door["antennas"]] == [
        (1, 2.0),
        (2, 0.0),
        (3, 1.0),
        (4, 0.0),
    ]


async def test_health_shows_the_broker_without_its_password(database_url, mqtt_url, site):
    u = parse_mqtt_url(mqtt_url)
    password = u.password or "s3cret-pw"
    with_password = f"mqtt://{u.username or 'rfidwms-cloud'}:{password}@{u.host}:{u.port}"
    settings = settings_for(database_url, with_password, site)
    await apply_migrations(database_url)
    async with api(settings) as client:
        r = await client.get("/api/health")
    assert r.json()["mqtt"]["broker"].endswith(f":***@{u.host}:{u.port}")
    assert password not in r.text


async def test_health_estimates_a_big_table_instead_of_counting_it(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    await rows(
        database_url,
        "INSERT INTO tag_locations (epc, read_point, reader_id, antenna, edge_id, last_seen,"
        " arrived_at) SELECT lpad(to_hex(g), 24, '0'), 'zone-a/shelf', 'reader-zone-a', 1,"
        " 'edge-1', now(), now() FROM generate_series(1, 12000) g RETURNING 1",
    )
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("ANALYZE tag_locations")
    async with api(settings, ingest=False) as client:
        counts = (await client.get("/api/health")).json()["counts"]
    assert counts["estimated"] == ["tags"]
    assert 11_000 <= counts["tags"] <= 13_000
    assert counts["dead_letters"] == 0


async def test_a_burst_of_api_requests_holding_every_api_connection_does_not_stop_ingest(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site, db_pool_max=1, db_timeout_s=5.0)
    await apply_migrations(database_url)
    async with api(settings) as client:
        st = client.app.state.cloud  # type: ignore[attr-defined]
        async with st.pool.connection():  # the API pool's only connection, held
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
            await until(lambda: st.ingester.stats.batches == 1, what="the batch", timeout=3)
        assert st.ingester.stats.last_error is None

        async def stored() -> bool:
            return bool(await rows(database_url, "SELECT 1 FROM observations"))

        await eventually(stored, what="the observation")


async def insert_readers(database_url: str, ids: list[str]) -> None:
    await rows(
        database_url,
        "INSERT INTO readers (reader_id, edge_id, state, last_seen)"
        " SELECT id, 'edge-9', 'connected', now() FROM unnest(%s::text[]) id RETURNING 1",
        ids,
    )


async def test_readers_come_in_pages_layout_order_first_then_the_others_by_id(
    database_url, mqtt_url, site
):
    """100,000 readers in one response were 45 MB: the list is paged with an opaque
    cursor, and walking it gives every reader once, in a stable order."""
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    layout_ids = [r.id for r in LAYOUT.readers]
    others = ["reader-x3", "reader-a1", "reader-m2", "reader-z9", "reader-b5"]
    await insert_readers(database_url, [*others, layout_ids[2], layout_ids[0]])
    expected = [*layout_ids, *sorted(others)]
    async with api(settings, ingest=False) as client:
        for limit in (1, 2, 3, len(layout_ids), len(layout_ids) + 1, 100):
            pages = await all_pages(client, "/api/readers", limit)
            assert [x["reader_id"] for p in pages for x in p] == expected, limit
            assert all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit
        first = (await client.get("/api/readers")).json()
        assert [x["reader_id"] for x in first["items"]] == expected and first["next"] is None
        in_layout = {x["reader_id"]: x["in_layout"] for x in first["items"]}
        assert [in_layout[r] for r in expected] == [True] * len(layout_ids) + [False] * 5


async def test_readers_page_is_100_by_default_and_1000_at_most(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    await insert_readers(database_url, [f"reader-{i:05d}" for i in range(1200)])
    async with api(settings, ingest=False) as client:
        default = (await client.get("/api/readers")).json()
        biggest = (await client.get("/api/readers", params={"limit": 1000})).json()
        rest = (
            await client.get("/api/readers", params={"cursor": biggest["next"], "limit": 1000})
        ).json()
        too_big = await client.get("/api/readers", params={"limit": 1001})
        zero = await client.get("/api/readers", params={"limit": 0})
    assert len(default["items"]) == 100 and default["next"]
    assert len(biggest["items"]) == 1000 and biggest["next"]
    assert len(rest["items"]) == 1200 + len(LAYOUT.readers) - 1000 and rest["next"] is None
    assert rest["items"][-1]["reader_id"] == "reader-01199"
    for r in (too_big, zero):
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_a_bad_readers_cursor_is_a_422_naming_it(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    forged = [
        "not a cursor!",
        encode_cursor("layout"),
        encode_cursor("layout", 3),
        encode_cursor("elsewhere", "reader-door-1"),
        encode_cursor("layout", "reader-gone"),
        "x" * 600,
        "é",
        "_w",  # base64url of a byte that is not UTF-8
    ]
    async with api(settings, ingest=False) as client:
        for cursor in forged:
            r = await client.get("/api/readers", params={"cursor": cursor})
            assert r.status_code == 422, cursor
            detail = r.json()["detail"]
            if isinstance(detail, list):  # over the length limit: FastAPI's own check
                assert detail[0]["loc"] == ["query", "cursor"]
            else:
                assert f"cursor {cursor!r}" in detail


async def test_routes_get_the_app_state_through_a_dependency_that_can_be_overridden(
    database_url, mqtt_url, site
):
    """State comes through FastAPI ``Depends`` (so the caller's identity and role can
    come the same way next): overriding the dependency changes what every route sees."""
    from cloud.api.state import get_state
    from cloud.warehouse.sites import Sites

    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with api(settings, ingest=False) as client:
        app = client.app  # type: ignore[attr-defined]
        real = app.state.cloud
        layout = real.layout(site)
        elsewhere = dataclasses.replace(
            real,
            settings=real.settings.model_copy(update={"site": "elsewhere"}),
            sites=Sites.single(
                "elsewhere", layout.model_copy(update={"readers": layout.readers[:1]})
            ),
        )
        app.dependency_overrides[get_state] = lambda: elsewhere
        try:
            h = (await client.get("/api/health")).json()
            readers = (await client.get("/api/readers")).json()["items"]
            missing = (await client.get(f"/api/tags/{EPC_1}")).json()
        finally:
            app.dependency_overrides.clear()
        assert (await client.get("/api/health")).json()["site"] == site
    assert h["site"] == "elsewhere" and h["database"]["ok"] is True
    assert [r["reader_id"] for r in readers] == [layout.readers[0].id]
    assert missing["detail"] == f"EPC {EPC_1} has never been read at site 'elsewhere'"


async def test_dead_letters_come_newest_first_in_pages_with_a_short_preview(
    database_url, mqtt_url, site
):
    """What could not be ingested, for an operator: its size and the start of it,
    never a whole (possibly 50 MB) payload."""
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    await rows(
        database_url,
        "INSERT INTO dead_letters (topic, payload, reason, payload_bytes, payload_sha256)"
        " SELECT format('rfidwms/v1/s/edge-%s/observations', g), p, 'not JSON', length(p),"
        " sha256(p) FROM generate_series(1, 6) g,"
        " LATERAL (SELECT convert_to('{\"n\": ' || g || '}', 'UTF8') AS p) x RETURNING 1",
    )
    big = 20 * 1024 * 1024
    await rows(
        database_url,
        "INSERT INTO dead_letters (topic, payload, reason, payload_bytes, payload_sha256)"
        " SELECT t, p, r, length(p), sha256(p) FROM (VALUES"
        " ('t/bad-utf8', '\\x41ff42'::bytea, 'payload is not UTF-8'),"
        " ('t/big', convert_to(repeat('é', %s), 'UTF8'), 'too big')) v(t, p, r) RETURNING 1",
        big // 2,
    )
    async with api(settings, ingest=False) as client:
        first = await client.get("/api/dead-letters", params={"limit": 2})
        pages = await all_pages(client, "/api/dead-letters", 3)
        bad = await client.get("/api/dead-letters", params={"cursor": encode_cursor("x", 1)})
    assert first.status_code == 200 and len(first.content) < 4096
    newest, utf8 = first.json()["items"]
    assert newest["topic"] == "t/big" and newest["reason"] == "too big"
    assert newest["payload_bytes"] == big
    assert newest["payload_preview"] == "é" * 256
    assert utf8["payload_bytes"] == 3 and utf8["payload_preview"] == "A\ufffdB"
    assert set(newest) == {
        "id",
        "received_at",
        "topic",
        "reason",
        "payload_bytes",
        "payload_preview",
    }
    ids = [x["id"] for p in pages for x in p]
    assert [len(p) for p in pages] == [3, 3, 2] and ids == sorted(ids, reverse=True)
    assert pages[2][-1]["payload_preview"] == '{"n": 1}'
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]


@pytest.mark.parametrize("position", [("layout", "reader-door-1"), ("database", ""), (7,), ("é",)])
def test_a_cursor_gives_back_the_position_it_was_made_of(position):
    cursor = encode_cursor(*position)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor, *(type(p) for p in position)) == position


@pytest.mark.parametrize(
    ("cursor", "shape"),
    [
        (encode_cursor(True), (int,)),  # JSON true is not a number here
        (encode_cursor("7"), (int,)),
        (encode_cursor(7, 8), (int,)),
        ("e30", (int,)),  # {}
        ("", (int,)),
        ("!!", (int,)),
    ],
)
def test_a_cursor_of_another_shape_is_refused_naming_it(cursor, shape):
    with pytest.raises(CursorError, match=f"cursor {re.escape(repr(cursor))} is not a cursor"):
        decode_cursor(cursor, *shape)
