"""The cycle count job on the real database: zone events and the book disagreeing past
the threshold open a variance (with its alert), approval posts the adjustment to the
ledger and fixes the balance, a disagreement that ends clears it, and a zone whose
reader is down is not counted."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from feedkit import (
    GTIN,
    T0,
    ManualClock,
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

from cloud.db import stock
from cloud.db import variances as db
from cloud.operations.variances_job import CycleCountJob
from cloud.warehouse.ledger import Cause, CauseKind, EntryKind, Position, StockState, transfer
from cloud.warehouse.variances import CountRules, VarianceError, VarianceKind, VarianceStatus
from protocols.layout import load_layout

RULES = CountRules(timedelta(seconds=60), timedelta(seconds=30))
READERS = ("reader-zone-a", "reader-zone-b", "reader-zone-c", "reader-packing")


async def readers_seen(conn: Any, at, *, down: tuple[str, ...] = ()) -> None:
    for rid in READERS:
        await conn.execute(
            "INSERT INTO readers (reader_id, edge_id, state, last_seen) VALUES (%s, 'edge-1',"
            " %s, %s) ON CONFLICT (reader_id) DO UPDATE SET state = EXCLUDED.state,"
            " last_seen = EXCLUDED.last_seen",
            [rid, "disconnected" if rid in down else "inventorying", at],
        )


async def shelved(rig, conn, n: int, zone: str, *, cases: int = 4) -> tuple[str, str]:
    """Pallet ``n`` announced, received at door-1 and put away in ``zone`` at T0 + 40 s."""
    epc, sscc = pallet_epc(n)
    listed = tuple(case_epc(100 * n + i) for i in range(cases))
    await announce(conn, rig.site, f"ASN-{n}", announced(n, listed))
    await insert_passage(conn, epc, listed, at=T0)
    await insert_zone_event(conn, epc, zone, at=T0 + timedelta(seconds=40))
    await rig.drain()
    return epc, sscc


async def located(conn, site: str, sscc: str) -> dict[str, int]:
    return {r.bucket.location: r.qty for r in await stock.positions(conn, site=site, pallet=sscc)}


async def look(
    job: CycleCountJob, clock: ManualClock, conn, *, down: tuple[str, ...] = (), **at: float
) -> Any:
    """The clock advanced by ``at``, the readers reporting (``down`` disconnected), and
    one look of the job."""
    clock.advance(**at)
    await readers_seen(conn, clock.now, down=down)
    return await job.check_once()


def cycle_job(rig, clock: ManualClock) -> CycleCountJob:
    return CycleCountJob(
        rig.pool, site=rig.site, layout=load_layout(None), rules=RULES, clock=clock
    )


async def test_a_vanished_pallet_becomes_a_missing_variance_whose_approval_writes_it_off(
    database_url, site
):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = await shelved(rig, conn, 1, "zone-a")
        assert await located(conn, site, sscc) == {"zone-a": 4}
        clock = ManualClock(T0 + timedelta(minutes=2))
        job = cycle_job(rig, clock)
        await look(job, clock, conn, seconds=0)
        assert await db.list_variances(conn, site=site, status=None, after=None, limit=10) == []
        # its tags stop being heard: the edge departs it from zone-a
        await insert_zone_event(conn, epc, "zone-a", kind="departed", at=clock.now)
        await rig.drain()
        await look(job, clock, conn, seconds=1)  # first seen disagreeing
        await look(job, clock, conn, seconds=58)
        assert await db.open_variances(conn, site) == []
        await look(job, clock, conn, seconds=2)
        (v,) = await db.list_variances(conn, site=site, status=None, after=None, limit=10)
        assert (v.kind, v.status, v.zone, v.epc, v.pallet, v.book_zone, v.heard_zone) == (
            VarianceKind.MISSING,
            VarianceStatus.OPEN,
            "zone-a",
            epc,
            sscc,
            "zone-a",
            None,
        )
        assert v.opened_at == clock.now
        alerts = await fetch(conn, "SELECT kind, subject, status, detail->>'variance' FROM alerts")
        assert alerts == [("count_variance", sscc, "open", str(v.id))]
        await look(job, clock, conn, seconds=30)  # not opened twice
        assert len(await db.list_variances(conn, site=site, status=None, after=None, limit=10)) == 1

        async with conn.transaction():
            done = await db.approve(conn, v.id, by="olga", at=clock.now, note=None, doors=())
        assert (done.status, done.resolved_by) == (VarianceStatus.APPROVED, "olga")
        assert await located(conn, site, sscc) == {}
        assert await stock.on_hand(conn, site=site, sku=GTIN) == 0
        last = (await stock.entries(conn, pallet=sscc))[-1]
        assert (last.kind, last.cause.kind, last.cause.ref, last.qty) == (
            EntryKind.ADJUST,
            CauseKind.COUNT,
            f"variance:{v.id}",
            -4,
        )
        assert len(done.postings) == 1
        with pytest.raises(VarianceError, match="approved, not open"):
            async with conn.transaction():
                await db.reject(conn, v.id, by="olga", at=clock.now, note=None)
        # written off: the book and the readers agree now, nothing more opens
        await look(job, clock, conn, minutes=5)
        assert await db.open_variances(conn, site) == []


async def test_an_untasked_move_leaves_the_book_and_becomes_a_wrong_zone_variance(
    database_url, site
):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = await shelved(rig, conn, 2, "zone-a")
        # settling right after its put-away: the book still follows
        await insert_zone_event(conn, epc, "zone-b", kind="moved", at=T0 + timedelta(seconds=45))
        await rig.drain()
        assert await located(conn, site, sscc) == {"zone-b": 4}
        # minutes later, on no task, it is taken to zone-c: the book stays in zone-b
        moved_at = T0 + timedelta(minutes=10)
        await insert_zone_event(conn, epc, "zone-c", kind="moved", at=moved_at)
        await rig.drain()
        assert await located(conn, site, sscc) == {"zone-b": 4}
        clock = ManualClock(moved_at)
        job = cycle_job(rig, clock)
        await look(job, clock, conn, seconds=1)
        await look(job, clock, conn, seconds=61)
        (v,) = await db.open_variances(conn, site)
        assert (v.kind, v.zone, v.book_zone, v.heard_zone) == (
            VarianceKind.WRONG_ZONE,
            "zone-c",
            "zone-b",
            "zone-c",
        )
        async with conn.transaction():
            await db.approve(conn, v.id, by="olga", at=clock.now, note="seen", doors=())
        assert await located(conn, site, sscc) == {"zone-c": 4}
        last = (await stock.entries(conn, pallet=sscc))[-1]
        assert (last.kind, last.cause.ref) == (EntryKind.MOVE, f"variance:{v.id}")
        await look(job, clock, conn, minutes=2)
        assert await db.open_variances(conn, site) == []


async def test_a_pallet_heard_again_where_booked_clears_its_variance(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = await shelved(rig, conn, 3, "zone-b")
        clock = ManualClock(T0 + timedelta(minutes=2))
        job = cycle_job(rig, clock)
        await insert_zone_event(conn, epc, "zone-b", kind="departed", at=clock.now)
        await rig.drain()
        await look(job, clock, conn, seconds=1)
        await look(job, clock, conn, seconds=60)
        (v,) = await db.open_variances(conn, site)
        await insert_zone_event(conn, epc, "zone-b", at=clock.now)
        await rig.drain()
        await look(job, clock, conn, seconds=2)
        cleared = await db.get_variance(conn, v.id)
        assert cleared is not None
        assert (cleared.status, cleared.resolved_by) == (VarianceStatus.CLEARED, "system")
        assert await fetch(conn, "SELECT status, resolved_by FROM alerts") == [
            ("resolved", "system")
        ]
        assert await located(conn, site, sscc) == {"zone-b": 4}


async def test_a_zone_whose_reader_is_down_is_not_counted(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, _ = await shelved(rig, conn, 4, "zone-a")
        clock = ManualClock(T0 + timedelta(minutes=2))
        job = cycle_job(rig, clock)
        await insert_zone_event(conn, epc, "zone-a", kind="departed", at=clock.now)
        stranger, _ = pallet_epc(99)
        await insert_zone_event(conn, stranger, "zone-a", at=clock.now)
        await rig.drain()
        for _ in range(5):
            await look(job, clock, conn, down=("reader-zone-a",), minutes=2)
        assert await db.open_variances(conn, site) == []
        assert job.zones["zone-a"].status == "not counted: reader reader-zone-a down or unknown"
        assert job.zones["zone-b"].counted
        # back up: counted again, from zero
        await look(job, clock, conn, seconds=1)
        await look(job, clock, conn, seconds=30)
        assert await db.open_variances(conn, site) == []
        await look(job, clock, conn, seconds=31)
        found = {(v.epc, v.kind) for v in await db.open_variances(conn, site)}
        assert found == {(epc, VarianceKind.MISSING), (stranger, VarianceKind.UNEXPECTED)}


async def test_an_unexpected_pallet_is_booked_in_if_known_and_recorded_if_not(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = await shelved(rig, conn, 5, "zone-a")
        clock = ManualClock(T0 + timedelta(minutes=2))
        job = cycle_job(rig, clock)
        await insert_zone_event(conn, epc, "zone-a", kind="departed", at=clock.now)
        await rig.drain()
        await look(job, clock, conn, seconds=1)
        await look(job, clock, conn, seconds=60)
        (missing,) = await db.open_variances(conn, site)
        async with conn.transaction():
            await db.approve(conn, missing.id, by="olga", at=clock.now, note=None, doors=())
        assert await located(conn, site, sscc) == {}
        # it turns up in zone-c, and a pallet nobody knows in zone-b
        stranger, _ = pallet_epc(98)
        await insert_zone_event(conn, epc, "zone-c", at=clock.now)
        await insert_zone_event(conn, stranger, "zone-b", at=clock.now)
        await rig.drain()
        await look(job, clock, conn, seconds=1)
        await look(job, clock, conn, seconds=60)
        found = {v.epc: v for v in await db.open_variances(conn, site)}
        assert {e: v.kind for e, v in found.items()} == {
            epc: VarianceKind.UNEXPECTED,
            stranger: VarianceKind.UNEXPECTED,
        }
        async with conn.transaction():
            known = await db.approve(
                conn, found[epc].id, by="olga", at=clock.now, note=None, doors=()
            )
            unknown = await db.approve(
                conn, found[stranger].id, by="olga", at=clock.now, note=None, doors=()
            )
        assert await located(conn, site, sscc) == {"zone-c": 4}
        assert len(known.postings) == 1 and known.note is None
        assert unknown.postings == [] and "nothing booked" in (unknown.note or "")
        # the recorded one is not opened again while it is still heard
        await look(job, clock, conn, minutes=5)
        assert await db.open_variances(conn, site) == []


async def test_a_pallet_announced_and_not_received_yet_is_receivings_not_the_counts(
    database_url, site
):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, _ = pallet_epc(6)
        await announce(conn, site, "ASN-6", announced(6, 4))
        # heard in zone-b before the feed applied anything: the book has nothing on it
        await insert_zone_event(conn, epc, "zone-b", at=T0)
        clock = ManualClock(T0)
        job = cycle_job(rig, clock)
        for _ in range(3):
            await look(job, clock, conn, minutes=1)
        assert await db.open_variances(conn, site) == []


async def test_a_pallet_whose_event_the_feed_has_not_applied_yet_waits_for_the_book(
    database_url, site
):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        _, sscc = await shelved(rig, conn, 7, "zone-a")
        clock = ManualClock(T0 + timedelta(minutes=2))
        job = cycle_job(rig, clock)
        # a pallet nobody booked comes in through door-2 and is heard in zone-b; the
        # feed lags: neither event applied for minutes
        stranger, _ = pallet_epc(97)
        await insert_passage(conn, stranger, [case_epc(970)], door="door-2", at=clock.now)
        await insert_zone_event(conn, stranger, "zone-b", at=clock.now + timedelta(seconds=20))
        for _ in range(4):
            await look(job, clock, conn, minutes=1)
        assert await db.open_variances(conn, site) == []
        await rig.drain()  # received at the door (unexpected), put away: the book follows
        for _ in range(4):
            await look(job, clock, conn, minutes=1)
        assert await db.open_variances(conn, site) == []
        assert await located(conn, site, sscc) == {"zone-a": 4}


async def test_a_pallet_reserved_for_an_order_that_vanished_is_still_missing(database_url, site):
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = await shelved(rig, conn, 8, "zone-c")
        (row,) = await stock.positions(conn, site=site, pallet=sscc)
        held = row.position
        reserved = Position(dataclasses.replace(held.bucket, state=StockState.RESERVED), sscc)
        cause = Cause(CauseKind.ORDER, "SO-1")
        await stock.post(conn, transfer(EntryKind.RESERVE, held, reserved, 4, cause=cause, time=T0))
        clock = ManualClock(T0 + timedelta(minutes=2))
        job = cycle_job(rig, clock)
        await insert_zone_event(conn, epc, "zone-c", kind="departed", at=clock.now)
        await rig.drain()
        await look(job, clock, conn, seconds=1)
        await look(job, clock, conn, seconds=60)
        (v,) = await db.open_variances(conn, site)
        assert (v.epc, v.kind, v.zone) == (epc, VarianceKind.MISSING, "zone-c")


async def test_a_pallet_picked_for_an_order_then_cancelled_is_counted_again_on_its_shelf(
    database_url, site
):
    """Its pick task stays done and never ships; once the order is cancelled and the
    pallet is back on a shelf, an untasked move leaves the book (a wrong_zone variance),
    where the done pick had kept it "in motion" and the book followed every move."""
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = await shelved(rig, conn, 9, "zone-a")
        await conn.execute(
            "INSERT INTO orders (id, site, customer, request, status, created_at, updated_at)"
            " VALUES ('SO-9', %s, 'acme', '{}', 'picking', %s, %s)",
            [site, T0, T0],
        )
        await conn.execute(
            "INSERT INTO pick_tasks (site, order_id, seq, pallet, from_location, to_location,"
            " qty, status, created_at) VALUES (%s, 'SO-9', 1, %s, 'zone-a', 'packing', 4,"
            " 'done', %s)",
            [site, sscc, T0],
        )
        assert await db.pallet_in_motion(conn, site, sscc)
        await conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = 'SO-9'")
        assert not await db.pallet_in_motion(conn, site, sscc)
        moved_at = T0 + timedelta(minutes=10)
        await insert_zone_event(conn, epc, "zone-c", kind="moved", at=moved_at)
        await rig.drain()
        assert await located(conn, site, sscc) == {"zone-a": 4}


async def test_a_change_of_state_in_place_is_no_news_of_where_the_pallet_is(database_url, site):
    """Received at door-1 (T0); its stock is quarantined and released where it is at
    T0 + 50 s (an inspection, say), booked before the feed gets to its put-away into
    zone-a at T0 + 40 s: the book still follows it to zone-a (only a ledger entry that
    put it somewhere after the event makes the event old news)."""
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        epc, sscc = pallet_epc(10)
        listed = tuple(case_epc(1000 + i) for i in range(4))
        await announce(conn, rig.site, "ASN-10", announced(10, listed))
        await insert_passage(conn, epc, listed, at=T0)
        await rig.drain()
        assert await located(conn, site, sscc) == {"door-1": 4}
        (row,) = await stock.positions(conn, site=site, pallet=sscc)
        held = row.position
        held_back = Position(dataclasses.replace(held.bucket, state=StockState.QUARANTINE), sscc)
        cause = Cause(CauseKind.USER, "inspector")
        later = T0 + timedelta(seconds=50)
        await stock.post(
            conn, transfer(EntryKind.QUARANTINE, held, held_back, 4, cause=cause, time=later)
        )
        await stock.post(
            conn, transfer(EntryKind.RELEASE, held_back, held, 4, cause=cause, time=later)
        )
        await insert_zone_event(conn, epc, "zone-a", at=T0 + timedelta(seconds=40))
        await rig.drain()
        assert await located(conn, site, sscc) == {"zone-a": 4}
