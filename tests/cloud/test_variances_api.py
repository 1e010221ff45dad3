"""The variances API on the real database: listed by site and status in pages,
approved (the ledger adjusted, the alert resolved) or rejected by an operator or an
admin only, 404 / 409 / 422, and which zones are counted."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from cloudkit import all_pages, api, as_user, settings_for
from feedkit import GTIN, T0, add_item, pallet_epc

from cloud.db import alerts as alerts_db
from cloud.db import goods, stock
from cloud.db import variances as db
from cloud.db.migrate import apply_migrations
from cloud.operations.variances_job import alert_key
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, Position, StockState, receipt
from cloud.warehouse.roles import Role
from cloud.warehouse.variances import Discrepancy, VarianceKind

M, W = VarianceKind.MISSING, VarianceKind.WRONG_ZONE


async def open_some(database_url: str, site: str) -> tuple[list[int], str]:
    """Pallet 1 booked in zone-a (4 cases); variances: missing of it, wrong zone of
    pallet 2 at another site, missing of pallet 3. Their ids and pallet 1's SSCC."""
    epc, sscc = pallet_epc(1)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await add_item(conn)
        await goods.ensure_lot(conn, GTIN, "L1", None, now=T0)
        await goods.insert_unexpected(
            conn,
            site,
            sscc,
            epc=epc,
            sku=GTIN,
            lot="L1",
            at=T0,
            door="door-1",
            cause="passage:1",
            received_cases=4,
            now=T0,
        )
        position = Position(Bucket(site, GTIN, "L1", "zone-a", StockState.AVAILABLE), sscc)
        await stock.post(conn, receipt(position, 4, cause=Cause(CauseKind.ASN, "A1"), time=T0))
        ids = []
        for n, where, kind in [(1, site, M), (2, "other-site", W), (3, site, M)]:
            e, s = pallet_epc(n)
            d = (
                Discrepancy(e, kind, "zone-a", s, "zone-a", None)
                if kind is M
                else Discrepancy(e, kind, "zone-b", s, "zone-a", "zone-b")
            )
            vid = await db.open_variance(conn, where, d, at=T0 + timedelta(minutes=n))
            assert vid is not None
            await alerts_db.raise_alert(
                conn,
                site=where,
                kind=AlertKind.COUNT_VARIANCE,
                subject=s,
                message="m",
                at=T0,
                dedupe_key=alert_key(vid),
            )
            ids.append(vid)
    return ids, sscc


async def test_variances_are_listed_by_site_and_status_in_pages(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    ids, sscc = await open_some(database_url, site)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        pages = await all_pages(client, "/api/variances", 2)
        assert [[v["id"] for v in p] for p in pages] == [ids[:2], ids[2:]]
        first = pages[0][0]
        assert {k: first[k] for k in ("id", "zone", "epc", "kind", "status", "opened_at")} == {
            "id": ids[0],
            "zone": "zone-a",
            "epc": pallet_epc(1)[0],
            "kind": "missing",
            "status": "open",
            "opened_at": "2025-03-03T08:01:00Z",
        }
        assert (first["site"], first["pallet"], first["book_zone"]) == (site, sscc, "zone-a")
        r = await client.get("/api/variances", params={"site": site, "status": "open"})
        assert [v["id"] for v in r.json()["items"]] == [ids[0], ids[2]]
        r = await client.get("/api/variances", params={"status": "cleared"})
        assert r.json() == {"items": [], "next": None}
        for params, named in [({"status": "closed"}, "status"), ({"site": "a b"}, "site")]:
            r = await client.get("/api/variances", params=params)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", named]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OPERATOR, True), (Role.ADMIN, True), (Role.ERP, False), (Role.CUSTOMER, False)],
)
async def test_only_an_operator_or_an_admin_decides_a_variance(
    database_url, mqtt_url, site, role, allowed
):
    await apply_migrations(database_url)
    ids, sscc = await open_some(database_url, site)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        headers = await as_user(client, role, name=f"u-{role.value}")
        listed = await client.get("/api/variances", headers=headers)
        r = await client.post(f"/api/variances/{ids[0]}/approve", headers=headers)
        if not allowed:
            assert listed.status_code == 403 and r.status_code == 403
            assert (await client.get("/api/variances")).json()["items"][0]["status"] == "open"
            return
        assert listed.status_code == 200
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["status"], body["resolved_by"]) == ("approved", f"u-{role.value}")
        assert len(body["postings"]) == 1
        stock_r = await client.get("/api/stock", params={"site": site, "sku": GTIN})
        assert stock_r.status_code == 200 and stock_r.json()["items"] == []
        ledger = await client.get("/api/ledger", params={"pallet": sscc})
        assert ledger.json()["items"][-1]["cause"] == {"kind": "count", "id": f"variance:{ids[0]}"}
        again = await client.post(f"/api/variances/{ids[0]}/reject")
        assert again.status_code == 409 and "approved, not open" in again.json()["detail"]
        rejected = await client.post(
            f"/api/variances/{ids[2]}/reject", json={"note": "it is there, tag broken"}
        )
        assert rejected.status_code == 200
        assert (rejected.json()["status"], rejected.json()["note"]) == (
            "rejected",
            "it is there, tag broken",
        )
        alerts = await client.get("/api/alerts", params={"kind": "count_variance", "site": site})
        assert {a["status"] for a in alerts.json()["items"]} == {"resolved"}


async def test_a_missing_variance_or_a_bad_body_changes_nothing(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    ids, _ = await open_some(database_url, site)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        assert (await client.post("/api/variances/999999/approve")).status_code == 404
        assert (await client.post("/api/variances/0/approve")).status_code == 422
        r = await client.post(f"/api/variances/{ids[0]}/approve", json={"note": 5, "x": 1})
        assert r.status_code == 422
        r = await client.get("/api/variances", params={"status": "open", "site": site})
        assert [v["id"] for v in r.json()["items"]] == [ids[0], ids[2]]


async def test_the_zones_say_whether_they_are_counted(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        now = client.app.state.cloud.settings.now_clock()()  # type: ignore[attr-defined]
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            for rid, state in [("reader-zone-a", "inventorying"), ("reader-zone-b", "error")]:
                await conn.execute(
                    "INSERT INTO readers (reader_id, edge_id, state, last_seen)"
                    " VALUES (%s, 'edge-1', %s, %s)",
                    [rid, state, now],
                )
        r = await client.get("/api/variances/zones")
    assert r.status_code == 200
    assert {z["zone"]: (z["counted"], z["status"]) for z in r.json()} == {
        "zone-a": (True, "counted"),
        "zone-b": (False, "not counted: reader reader-zone-b down or unknown"),
        "zone-c": (False, "not counted: reader reader-zone-c down or unknown"),
    }
