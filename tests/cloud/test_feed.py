"""The warehouse feed on real PostgreSQL: door passages receive announced pallets, zone
arrivals put them away, unannounced, over and short receipts raise alerts; every event
is applied exactly once, in its own transaction, and a bad one is skipped and recorded
without stopping the feed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from cloudkit import eventually
from feedkit import (
    GTIN,
    GTIN2,
    T0,
    add_item,
    announce,
    announced,
    case_epc,
    connect,
    feed_rig,
    fetch,
    insert_passage,
    insert_zone_event,
    pallet_epc,
)

from cloud.db import feed as feed_db
from cloud.db import stock
from cloud.db.events import PassageRow, ZoneEventRow
from cloud.operations.feed import Conn, Feed, FeedContext, Registry
from cloud.operations.warehouse import warehouse_registry
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, EntryKind, Position, StockState
from protocols.layout import load_layout

DC2 = load_layout(Path(__file__).parents[2] / "protocols" / "layouts" / "dc-2.yaml")


def at(site: str, sscc: str, location: str, state=StockState.AVAILABLE, lot="L1", sku=GTIN):
    return Position(Bucket(site, sku, lot, location, state), sscc)


async def held(conn, site: str) -> dict[Position, int]:
    return {r.position: r.qty for r in await stock.positions(conn, site=site)}


async def test_an_announced_pallet_is_received_at_the_door_and_put_away_by_its_zone_arrival(
    database_url, site
):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        cases = tuple(case_epc(i) for i in range(1, 5))
        await announce(conn, site, "ASN-1", announced(1, cases))
        epc, sscc = pallet_epc(1)
        pid = await insert_passage(conn, epc, cases, at=T0)
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "door-1"): 4}
        row = await fetch(
            conn,
            "SELECT status, received_at, received_door, received_cause, received_cases"
            " FROM pallets WHERE sscc = %s",
            sscc,
        )
        assert row == [("received", T0, "door-1", f"passage:{pid}", 4)]
        zid = await insert_zone_event(conn, epc, "zone-b", at=T0 + timedelta(seconds=40))
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-b"): 4}
        entries = await stock.entries(conn, pallet=sscc)
        assert [(e.kind, e.cause, e.qty) for e in entries] == [
            (EntryKind.RECEIPT, Cause(CauseKind.PASSAGE, str(pid)), 4),
            (EntryKind.PUTAWAY, Cause(CauseKind.ZONE_EVENT, str(zid)), -4),
            (EntryKind.PUTAWAY, Cause(CauseKind.ZONE_EVENT, str(zid)), 4),
        ]
        # a move to another storage zone later, on no task, leaves the book (the cycle
        # count's wrong_zone variance decides it); a repeated passage changes nothing
        await insert_zone_event(conn, epc, "zone-c", kind="moved", at=T0 + timedelta(minutes=5))
        await insert_passage(conn, epc, cases, at=T0 + timedelta(minutes=6))
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-b"): 4}
        assert (await stock.entries(conn, pallet=sscc))[-1].kind is EntryKind.PUTAWAY
        assert await fetch(conn, "SELECT count(*) FROM alerts") == [(0,)]
        assert await feed_db.cursors(conn, "warehouse") == {
            "passages": pid + 1,
            "zone_events": zid + 1,
            "weights": 0,
        }


async def test_a_pallet_nobody_announced_goes_to_quarantine_and_raises_an_alert(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        epc, sscc = pallet_epc(7)
        cases = [case_epc(1), case_epc(2), case_epc(3, GTIN2)]
        pid = await insert_passage(conn, epc, cases, door="door-3")
        await rig.drain()
        assert await held(conn, site) == {
            at(site, sscc, "door-3", StockState.QUARANTINE, lot="unknown"): 2,
            at(site, sscc, "door-3", StockState.QUARANTINE, lot="unknown", sku=GTIN2): 1,
        }
        alerts = await fetch(conn, "SELECT kind, subject, cause_kind, cause_id FROM alerts")
        assert alerts == [("unexpected_receipt", sscc, "passage", str(pid))]
        assert await fetch(conn, "SELECT status, asn FROM pallets") == [("received", None)]


async def test_an_event_is_handled_in_the_context_of_the_site_stamped_on_it(database_url, site):
    one, two = f"{site}-1", f"{site}-2"
    async with feed_rig(database_url, one) as rig, await connect(database_url) as conn:
        contexts = [
            FeedContext(rig.settings, load_layout(None), rig.clock, one),
            FeedContext(rig.settings, DC2, rig.clock, two),
        ]
        feed = Feed(rig.pool, warehouse_registry(), contexts)
        epc, sscc = pallet_epc(7)
        # an edge no layout has (renamed since): the site stamped on the event decides
        await insert_passage(conn, epc, [case_epc(1)], door="door-5", edge="edge-x", site=two)
        stray = await insert_passage(conn, pallet_epc(8)[0], site="nowhere")
        while await feed.run_once():
            pass
        assert await held(conn, two) == {
            at(two, sscc, "door-5", StockState.QUARANTINE, lot="unknown"): 1
        }
        assert await held(conn, one) == {}
        (failure,) = await feed_db.failures(conn, "warehouse")
        assert (failure.source, failure.event_id) == ("passages", stray)
        assert "site 'nowhere' of the event is not served" in failure.error


async def test_cases_beyond_the_notice_raise_over_receipt_and_are_not_booked(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        await announce(conn, site, "ASN-2", announced(2, 3))  # a count only
        epc, sscc = pallet_epc(2)
        await insert_passage(conn, epc, [case_epc(i) for i in range(10, 15)])
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "door-1"): 3}
        assert await fetch(conn, "SELECT kind, subject, detail->>'over_cases' FROM alerts") == [
            ("over_receipt", sscc, "2")
        ]
        assert await fetch(conn, "SELECT received_cases, over_cases FROM pallets") == [(3, 2)]


@pytest.mark.parametrize("listed", [False, True])
async def test_a_pallet_seen_in_a_zone_before_its_passage_is_received_there(
    database_url, site, listed
):
    """The zone event is stored first (the door passage was late, or missed)."""
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        cases = (case_epc(1), case_epc(2))
        await announce(conn, site, "ASN-3", announced(3, cases if listed else 2))
        epc, sscc = pallet_epc(3)
        zid = await insert_zone_event(conn, epc, "zone-a", at=T0 + timedelta(seconds=30))
        await rig.drain()
        # a count only: the notice's count; listed cases: those heard so far (none)
        assert await held(conn, site) == ({} if listed else {at(site, sscc, "zone-a"): 2})
        row = await fetch(conn, "SELECT status, received_cause FROM pallets")
        assert row == [("received", f"zone_event:{zid}")]
        await insert_passage(conn, epc, cases, at=T0)
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-a"): 2}
        assert await fetch(conn, "SELECT received_cases FROM pallets") == [(2,)]


async def test_listed_cases_heard_apart_from_their_pallet_are_booked_onto_it(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        cases = tuple(case_epc(i) for i in range(1, 6))
        await announce(conn, site, "ASN-8", announced(8, cases))
        epc, sscc = pallet_epc(8)
        # case 1 crossed alone before its pallet; cases 4 and 5 were not heard at the door
        await insert_passage(conn, cases[0], at=T0 - timedelta(seconds=2))
        await insert_passage(conn, epc, cases[1:3], at=T0)
        await insert_zone_event(conn, epc, "zone-b", at=T0 + timedelta(seconds=30))
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-b"): 3}
        # the zone hears case 4 (twice) and a stranger case; a later passage brings case 5
        await insert_zone_event(conn, cases[3], "zone-b", at=T0 + timedelta(seconds=31))
        await insert_zone_event(conn, cases[3], "zone-b", kind="present",
                                at=T0 + timedelta(seconds=40))  # fmt: skip
        await insert_zone_event(conn, case_epc(77), "zone-b", at=T0 + timedelta(seconds=32))
        await insert_passage(conn, epc, cases[4:], at=T0 + timedelta(minutes=2))
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-b"): 5}
        assert await fetch(conn, "SELECT received_cases FROM pallets") == [(5,)]
        causes = [e.cause.kind for e in await stock.entries(conn, pallet=sscc)]
        assert causes.count(CauseKind.ZONE_EVENT) == 3  # a putaway (2 entries) and case 4


async def test_a_lone_case_of_a_received_pallet_is_booked_onto_it(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        cases = (case_epc(1), case_epc(2), case_epc(3))
        await announce(conn, site, "ASN-4", announced(4, cases))
        epc, sscc = pallet_epc(4)
        await insert_passage(conn, epc, cases[:2], at=T0)
        await insert_zone_event(conn, epc, "zone-a", at=T0 + timedelta(seconds=20))
        await insert_passage(conn, cases[2], at=T0 + timedelta(seconds=25))
        await insert_passage(conn, cases[2], at=T0 + timedelta(seconds=26))  # once only
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-a"): 3}
        assert await fetch(conn, "SELECT received_cases FROM pallets") == [(3,)]


async def test_notices_whose_pallets_did_not_come_raise_short_receipt_once(database_url, site):
    async with (
        feed_rig(database_url, site, short_receipt_grace_min=30) as rig,
        await connect(database_url) as conn,
    ):
        await add_item(conn)
        await announce(conn, site, "ASN-5", announced(5, 2), announced(6, 2),
                       expected_at=T0 + timedelta(hours=1))  # fmt: skip
        await announce(conn, site, "ASN-6", announced(8, 2), expected_at=T0 + timedelta(hours=1))
        await insert_passage(conn, pallet_epc(5)[0], [case_epc(1), case_epc(2)])
        await insert_passage(conn, pallet_epc(8)[0], [case_epc(3), case_epc(4)])
        await rig.drain()
        rig.clock.advance(hours=1, minutes=29)
        await rig.feed.run_timers(force=True)
        assert await fetch(conn, "SELECT count(*) FROM alerts") == [(0,)]
        rig.clock.advance(minutes=2)
        await rig.feed.run_timers(force=True)
        await rig.feed.run_timers(force=True)
        rows = await fetch(
            conn, "SELECT kind, subject, detail->'pallets', raised_count FROM alerts"
        )
        assert rows == [("short_receipt", "ASN-5", [pallet_epc(6)[1]], 1)]


async def test_a_bad_event_is_recorded_and_skipped_and_the_feed_goes_on(database_url, site):
    calls: list[int] = []

    async def fussy(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
        calls.append(ev.id)
        await conn.execute("INSERT INTO scans (site, action, barcode, elements, time)"
                           " VALUES ('x', 'count', 'b', '{}', now())")  # fmt: skip
        if ev.door == "door-4":
            raise ValueError(f"door-4 is closed (passage {ev.id})")

    registry = warehouse_registry()
    registry.on_inbound_passage(fussy)
    async with feed_rig(database_url, site, registry) as rig, await connect(database_url) as conn:
        first = await insert_passage(conn, pallet_epc(1)[0], door="door-1")
        bad = await insert_passage(conn, pallet_epc(2)[0], door="door-4")
        last = await insert_passage(conn, pallet_epc(3)[0], door="door-2")
        await rig.drain()
        assert calls == [first, bad, bad, bad, last]  # tried feed_max_attempts times
        failures = await feed_db.failures(conn, "warehouse")
        assert [(f.source, f.event_id, f.attempts) for f in failures] == [("passages", bad, 3)]
        assert "door-4 is closed" in failures[0].error and f"passage {bad}" in failures[0].error
        # the bad event's writes are rolled back, the others' kept
        assert await fetch(conn, "SELECT count(*) FROM scans") == [(2,)]
        ssccs = await fetch(conn, "SELECT sscc FROM pallets ORDER BY sscc")
        assert ssccs == [(pallet_epc(1)[1],), (pallet_epc(3)[1],)]
        assert (await feed_db.cursors(conn, "warehouse"))["passages"] == last


async def test_two_feeds_at_once_apply_each_event_exactly_once(database_url, site):
    seen: list[int] = []

    async def count(conn: Conn, ctx: FeedContext, ev: ZoneEventRow) -> None:
        seen.append(ev.id)

    registry = Registry()
    registry.on_zone_event(count)
    async with feed_rig(database_url, site, registry, feed_batch=7) as rig:
        other = Feed(rig.pool, registry, FeedContext(rig.settings, rig.feed._ctx.layout, rig.clock))
        async with await connect(database_url) as conn:
            ids = [
                await insert_zone_event(conn, case_epc(i), "zone-a", at=T0 + timedelta(seconds=i))
                for i in range(60)
            ]

        async def drain(feed: Feed) -> None:
            for _ in range(50):
                await feed.run_once()

        await asyncio.gather(drain(rig.feed), drain(other))
        assert sorted(seen) == ids


async def test_a_missing_id_holds_its_table_back_until_it_commits_or_the_wait_is_over(
    database_url, site
):
    seen: list[int] = []

    async def count(conn: Conn, ctx: FeedContext, ev: ZoneEventRow) -> None:
        seen.append(ev.id)

    registry = Registry()
    registry.on_zone_event(count)
    async with (
        feed_rig(database_url, site, registry, feed_gap_wait_s=0.5) as rig,
        await connect(database_url) as conn,
        await connect(database_url) as slow,
    ):
        first = await insert_zone_event(conn, case_epc(1), "zone-a")
        async with slow.transaction():
            pending = await insert_zone_event(slow, case_epc(2), "zone-a")
            after = await insert_zone_event(conn, case_epc(3), "zone-a")
            await rig.drain()
            assert seen == [first]  # the later one waits for the one not committed yet
        await rig.drain()
        assert seen == [first, pending, after]
        # a rolled-back insert leaves a gap that never fills: skipped after the wait
        rolled = await _rolled_back_insert(database_url)
        last = await insert_zone_event(conn, case_epc(6), "zone-a")
        await rig.drain()
        assert last not in seen  # held back while the gap may still fill
        await asyncio.sleep(0.6)
        await rig.drain()
        assert seen == [first, pending, after, last] and rolled == last - 1


async def _rolled_back_insert(url: str) -> int:
    async with await connect(url) as c:
        try:
            async with c.transaction():
                ident = await insert_zone_event(c, case_epc(5), "zone-a")
                raise _Rollback(ident)
        except _Rollback as r:
            return r.ident
    raise AssertionError("unreachable")


class _Rollback(Exception):
    def __init__(self, ident: int) -> None:
        self.ident = ident


@pytest.mark.parametrize("kind", ["departed", "unknown"])
async def test_leaving_a_zone_or_its_reader_going_quiet_moves_no_stock(database_url, site, kind):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        await announce(conn, site, "ASN-7", announced(9, 2))
        epc, sscc = pallet_epc(9)
        await insert_passage(conn, epc, [case_epc(1), case_epc(2)])
        await insert_zone_event(conn, epc, "zone-a", at=T0 + timedelta(seconds=10))
        await insert_zone_event(conn, epc, "zone-a", kind=kind, at=T0 + timedelta(seconds=99))
        await rig.drain()
        assert await held(conn, site) == {at(site, sscc, "zone-a"): 2}


async def test_the_running_feed_goes_on_after_its_database_connection_is_killed(database_url, site):
    async with feed_rig(database_url, site, feed_poll_interval_s=0.02) as rig:
        async with await connect(database_url) as conn:
            await add_item(conn)
            await announce(conn, site, "ASN-9", announced(11, 2), announced(12, 2))
            async with rig.feed:
                await insert_passage(conn, pallet_epc(11)[0], [case_epc(1), case_epc(2)])
                await eventually(lambda: _received(conn, 1), what="pallet 11 received")
                killed = await fetch(
                    conn,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                assert killed and all(ok for (ok,) in killed)
                await insert_passage(conn, pallet_epc(12)[0], [case_epc(3), case_epc(4)])
                await eventually(lambda: _received(conn, 2), what="pallet 12 received")
            assert rig.feed.stats.events == 2


async def _received(conn, n: int) -> bool:
    rows = await fetch(conn, "SELECT count(*) FROM pallets WHERE status = 'received'")
    return rows == [(n,)]
