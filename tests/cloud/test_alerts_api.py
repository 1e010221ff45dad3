"""The alerts API on the real database: lists newest first with filters and pages, the
lifecycle steps with who and when, 404 / 409 / 422, and steps racing each other."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from cloudkit import all_pages, api, as_user, settings_for

from cloud.db import alerts as db
from cloud.db.migrate import apply_migrations
from cloud.warehouse.alerts import AlertAction, AlertKind, TransitionRefused
from cloud.warehouse.roles import Role

T = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
ACK_AT = T + timedelta(minutes=5)


def at_ack_time(database_url: str, mqtt_url: str, site: str):
    """Settings whose clock reads ACK_AT now (and runs on at real speed)."""
    clock = f"sim:{ACK_AT.isoformat().replace('+00:00', 'Z')}@{time.time():.6f}x1"
    return settings_for(database_url, mqtt_url, site, clock=clock)


async def raise_some(database_url: str, site: str) -> list[int]:
    """Five alerts raised a minute apart (T, T+1 min, ...), of two kinds and two sites."""
    ids = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for i, (kind, where) in enumerate(
            [
                (AlertKind.MIS_SHIPMENT, site),
                (AlertKind.READER_OFFLINE, site),
                (AlertKind.MIS_SHIPMENT, "other-site"),
                (AlertKind.LOW_STOCK, site),
                (AlertKind.MIS_SHIPMENT, site),
            ]
        ):
            raised = await db.raise_alert(
                conn,
                site=where,
                kind=kind,
                subject=f"S{i}",
                message=f"alert {i}",
                at=T + timedelta(minutes=i),
                detail={"n": i},
                cause=("passage", str(100 + i)) if kind is AlertKind.MIS_SHIPMENT else None,
            )
            ids.append(raised.id)
    return ids


async def test_alerts_are_listed_newest_first_with_filters_and_pages(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    ids = await raise_some(database_url, site)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        pages = await all_pages(client, "/api/alerts", 2)
        assert [[a["id"] for a in p] for p in pages] == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
        first = pages[0][0]
        assert first == {
            "id": ids[4],
            "site": site,
            "kind": "mis_shipment",
            "severity": "critical",
            "subject": "S4",
            "message": "alert 4",
            "detail": {"n": 4},
            "cause": {"kind": "passage", "id": "104"},
            "status": "open",
            "raised_at": "2025-01-06T08:04:00Z",
            "last_raised_at": "2025-01-06T08:04:00Z",
            "raised_count": 1,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "acknowledgement": None,
            "resolved_at": None,
            "resolved_by": None,
            "resolution": None,
            "time_to_acknowledge_s": None,
            "time_to_resolve_s": None,
        }

        async def listed(**params: str) -> list[int]:
            r = await client.get("/api/alerts", params=params)
            assert r.status_code == 200, r.text
            return [a["id"] for a in r.json()["items"]]

        assert await listed(kind="mis_shipment") == [ids[4], ids[2], ids[0]]
        assert await listed(kind="mis_shipment", site=site) == [ids[4], ids[0]]
        assert await listed(since="2025-01-06T08:03:00Z") == [ids[4], ids[3]]
        assert await listed(status="resolved") == []
        assert await listed(status="unresolved", kind="low_stock") == [ids[3]]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "closed"}, "status"),
        ({"kind": "fire"}, "kind"),
        ({"site": "no site!"}, "site"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
    ],
)
async def test_a_bad_filter_is_a_422_naming_it(database_url, mqtt_url, site, params, named):
    await apply_migrations(database_url)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        r = await client.get("/api/alerts", params=params)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["query", named] and error["input"] == next(iter(params.values()))


async def test_a_time_without_a_zone_or_a_foreign_cursor_is_a_422_naming_it(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        naive = await client.get("/api/alerts", params={"since": "2025-01-06T08:00:00"})
        foreign = await client.get("/api/alerts", params={"cursor": "WyJ4Il0"})
    assert naive.status_code == 422 and "since '2025-01-06T08:00:00'" in naive.json()["detail"]
    assert foreign.status_code == 422 and "cursor 'WyJ4Il0'" in foreign.json()["detail"]


async def test_an_alert_is_acknowledged_then_resolved_by_whom_and_when_with_response_times(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    ids = await raise_some(database_url, site)
    alert_id = ids[0]  # raised at T; the clock reads T + 5 min
    async with api(at_ack_time(database_url, mqtt_url, site), ingest=False, name="ann") as client:
        bob = await as_user(client, Role.OPERATOR, name="bob")
        ack = await client.post(  # as ann, whose token the client sends
            f"/api/alerts/{alert_id}/ack", json={"note": "on my way to door 2"}
        )
        assert ack.status_code == 200, ack.text
        a = ack.json()
        assert (a["status"], a["acknowledged_by"], a["acknowledgement"]) == (
            "acknowledged", "ann", "on my way to door 2",
        )  # fmt: skip
        assert 300 <= a["time_to_acknowledge_s"] < 330 and a["time_to_resolve_s"] is None

        again = await client.post(f"/api/alerts/{alert_id}/ack", headers=bob)
        assert again.status_code == 409
        assert again.json()["detail"] == (
            f"alert {alert_id} is acknowledged: it cannot be acknowledged"
        )

        done = await client.post(f"/api/alerts/{alert_id}/resolve", headers=bob)
        assert done.status_code == 200, done.text
        d = done.json()
        assert (d["status"], d["resolved_by"], d["resolution"]) == ("resolved", "bob", None)
        assert d["acknowledged_by"] == "ann"  # kept
        assert d["time_to_acknowledge_s"] <= d["time_to_resolve_s"] < 330

        cy = await as_user(client, Role.OPERATOR, name="cy")
        for step in ("ack", "resolve"):
            late = await client.post(f"/api/alerts/{alert_id}/{step}", headers=cy)
            assert late.status_code == 409 and f"alert {alert_id} is resolved" in late.text

        shown = await client.get(f"/api/alerts/{alert_id}")
        assert shown.status_code == 200 and shown.json() == d

        # open -> resolved directly, with a note
        direct = await client.post(
            f"/api/alerts/{ids[1]}/resolve",
            json={"note": "reader replaced"},
            headers=await as_user(client, Role.OPERATOR, name="dee"),
        )
        assert direct.status_code == 200
        r = direct.json()
        assert (r["status"], r["acknowledged_at"], r["resolved_by"], r["resolution"]) == (
            "resolved", None, "dee", "reader replaced",
        )  # fmt: skip
        assert r["time_to_acknowledge_s"] is None and 240 <= r["time_to_resolve_s"] < 270
        resolved = await client.get("/api/alerts", params={"status": "resolved"})
        assert [x["id"] for x in resolved.json()["items"]] == [ids[1], ids[0]]


async def test_unknown_alerts_are_404_and_bad_steps_422_changing_nothing(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    ids = await raise_some(database_url, site)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        assert (await client.get("/api/alerts/999999")).status_code == 404
        missing = await client.post("/api/alerts/999999/ack")
        assert missing.status_code == 404 and missing.json()["detail"] == "no alert 999999"
        assert (await client.get("/api/alerts/0")).status_code == 422
        erp = await client.post(f"/api/alerts/{ids[0]}/ack", headers=await as_user(client, "erp"))
        assert erp.status_code == 403  # the floor's steps, not an integration's
        extra = await client.post(f"/api/alerts/{ids[0]}/resolve", json={"note": "x", "by": "eve"})
        assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "by"]
        too_long = await client.post(f"/api/alerts/{ids[0]}/ack", json={"note": "x" * 2001})
        assert too_long.status_code == 422
        assert (await client.get(f"/api/alerts/{ids[0]}")).json()["status"] == "open"


async def test_who_acknowledges_and_resolves_is_the_user_of_the_token(database_url, mqtt_url, site):
    """The alert records the name of the token's user; an ``X-Actor`` header (what the
    API took before it had tokens) names nobody any more."""
    await apply_migrations(database_url)
    ids = await raise_some(database_url, site)
    settings = settings_for(database_url, mqtt_url, site)
    async with api(settings, ingest=False, role=Role.OPERATOR, name="night-shift") as client:
        ack = await client.post(f"/api/alerts/{ids[0]}/ack", headers={"X-Actor": "mallory"})
        assert ack.status_code == 200, ack.text
        assert ack.json()["acknowledged_by"] == "night-shift"
        admin = await as_user(client, Role.ADMIN, name="head-of-site")
        done = await client.post(f"/api/alerts/{ids[0]}/resolve", headers=admin)
        assert done.status_code == 200, done.text
        assert (done.json()["acknowledged_by"], done.json()["resolved_by"]) == (
            "night-shift",
            "head-of-site",
        )
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            stored = await db.get_alert(conn, ids[0])
        assert stored is not None
        assert (stored.acknowledged_by, stored.resolved_by) == ("night-shift", "head-of-site")


async def _blocked_on_a_lock(database_url: str) -> bool:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        row = await cur.fetchone()
        return bool(row and row[0])


async def test_two_steps_racing_for_one_alert_do_not_both_happen(database_url, site):
    """The first acknowledgement holds the row until it commits; the second, decided from
    ``open``, waits, finds the row acknowledged and is refused naming that status."""
    await apply_migrations(database_url)
    (alert_id, *_) = await raise_some(database_url, site)
    first = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    second = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    try:
        async with first.transaction():
            await db.transition(first, alert_id, AlertAction.ACKNOWLEDGE, by="ann", at=T)

            async def ack_by_bob() -> None:
                async with second.transaction():
                    await db.transition(second, alert_id, AlertAction.ACKNOWLEDGE, by="bob", at=T)

            racing = asyncio.create_task(ack_by_bob())
            deadline = time.monotonic() + 10
            while not await _blocked_on_a_lock(database_url):
                assert time.monotonic() < deadline, "the second step never waited for the row"
                await asyncio.sleep(0.02)
        with pytest.raises(TransitionRefused, match="is acknowledged: it cannot be acknowledged"):
            await racing
        alert = await db.get_alert(first, alert_id)
        assert alert is not None and alert.acknowledged_by == "ann"
    finally:
        await first.close()
        await second.close()
