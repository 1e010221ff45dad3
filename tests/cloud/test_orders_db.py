"""Orders on real PostgreSQL: FEFO reservations through the goods ledger, race-safe;
idempotent client ids; the pick list; cancellation giving the stock back."""

from __future__ import annotations

import asyncio
from datetime import date

import psycopg
import pytest
from cloudkit import rows
from orderkit import FLOOR, ITEM_A, ITEM_B, T0, gtin, later, positions, stock_pallets

from cloud.db import order_flow, order_status
from cloud.db import orders as db
from cloud.db.migrate import apply_migrations
from cloud.warehouse.ledger import Cause, CauseKind

SITE = "demo"


def order(*lines: tuple[str, int], customer: str = "acme", client_id: str | None = None):
    return db.NewOrder(
        customer=customer,
        lines=tuple(db.NewLine(sku, qty) for sku, qty in lines),
        client_id=client_id,
    )


async def create(url: str, new: db.NewOrder, now=T0) -> db.Created:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await db.create_order(conn, site=SITE, floor=FLOOR, new=new, now=now)


@pytest.fixture
async def url(database_url):
    await apply_migrations(database_url)
    return database_url


async def test_an_order_reserves_the_earliest_expiry_first_and_gets_a_pick_list(url):
    late, early, undated = await stock_pallets(
        url,
        [
            {"lot": "LATE", "expiry": date(2025, 12, 1), "zone": "zone-a"},
            {"lot": "EARLY", "expiry": date(2025, 5, 1), "zone": "zone-c"},
            {"lot": "NONE", "expiry": None, "zone": "zone-b"},
        ],
    )
    created = await create(url, order((ITEM_A, 15)))
    d = created.detail
    assert created.new and d.order.id.startswith("SO-") and d.order.status == "allocated"
    # the 10 cases of the early lot whole, then 5 of the late one; the undated is untouched
    assert [(r.lot, r.pallet, r.qty, r.expiry) for r in d.reservations] == [
        ("EARLY", early.sscc, 10, date(2025, 5, 1)),
        ("LATE", late.sscc, 5, date(2025, 12, 1)),
    ]
    assert [(x.qty, x.allocated) for x in d.lines] == [(15, 15)]
    assert await positions(url) == {
        ("zone-c", "reserved", early.sscc, "EARLY"): 10,
        ("zone-a", "reserved", late.sscc, "LATE"): 5,
        ("zone-a", "available", late.sscc, "LATE"): 5,
        ("zone-b", "available", undated.sscc, "NONE"): 10,
    }
    # one pick task per pallet (two stops: a loop either way, the reserved order is kept)
    assert [(t.seq, t.pallet, t.from_location, t.to_location, t.qty) for t in d.pick_tasks] == [
        (1, early.sscc, "zone-c", "packing", 10),
        (2, late.sscc, "zone-a", "packing", 5),
    ]
    assert d.order.route_m is not None and d.order.naive_route_m is not None
    assert d.order.route_m <= d.order.naive_route_m
    assert [(e.status, e.event) for e in d.timeline] == [
        ("received", "received"),
        ("allocated", "allocated"),
    ]
    assert d.timeline[1].detail["lines"] == [{"line": 1, "sku": ITEM_A, "qty": 15, "allocated": 15}]
    # the reserve postings are in the ledger, caused by the order
    entries = await rows(
        url,
        "SELECT kind, state, sum(qty) FROM ledger_entries WHERE cause_kind = 'order'"
        " AND cause_id = %s GROUP BY kind, state ORDER BY state",
        d.order.id,
    )
    assert entries == [("reserve", "available", -15), ("reserve", "reserved", 15)]


async def test_short_stock_makes_a_partial_order_and_none_a_backorder(url):
    await stock_pallets(url, [{"cases": 8}])
    partial = (await create(url, order((ITEM_A, 5), (ITEM_A, 6)))).detail
    assert partial.order.status == "partially_allocated"
    assert [(x.line, x.allocated) for x in partial.lines] == [(1, 5), (2, 3)]
    back = (await create(url, order((ITEM_A, 1)))).detail
    assert back.order.status == "backordered" and back.pick_tasks == []
    assert back.reservations == [] and back.order.route_m == 0.0


async def test_a_pallet_serves_one_order(url):
    (p,) = await stock_pallets(url, [{"cases": 12}])
    first = (await create(url, order((ITEM_A, 5)))).detail
    second = (await create(url, order((ITEM_A, 5)))).detail
    assert [r.pallet for r in first.reservations] == [p.sscc]
    assert second.order.status == "backordered"
    assert (await positions(url))[("zone-a", "available", p.sscc, "L1")] == 7


async def test_only_pallets_in_storage_zones_are_promised(url):
    await stock_pallets(
        url,
        [{"zone": "packing"}, {"zone": "staging"}, {"zone": "door-1"}, {"zone": "zone-b"}],
    )
    d = (await create(url, order((ITEM_A, 30)))).detail
    assert {r.location for r in d.reservations} == {"zone-b"}
    assert d.order.status == "partially_allocated"


async def test_an_unknown_sku_is_named_and_nothing_is_written(url):
    await stock_pallets(url, [{}])
    unknown = gtin(4242)
    with pytest.raises(db.UnknownItems, match=rf"lines\[1\]\.sku: '{unknown}' is not an item"):
        await create(url, order((ITEM_A, 1), (unknown, 2)))
    assert await rows(url, "SELECT count(*) FROM orders") == [(0,)]
    assert await rows(url, "SELECT count(*) FROM ledger_entries WHERE kind = 'reserve'") == [(0,)]


async def test_the_same_client_id_and_body_is_the_same_order_and_another_body_a_conflict(url):
    await stock_pallets(url, [{}, {}])
    first = await create(url, order((ITEM_A, 10), client_id="PO-1"))
    again = await create(url, order((ITEM_A, 10), client_id="PO-1"))
    assert (first.new, again.new) == (True, False)
    assert again.detail.order.id == first.detail.order.id
    assert await rows(url, "SELECT count(*) FROM reservations") == [(1,)]
    with pytest.raises(db.ClientIdConflict, match="'PO-1' is order SO-"):
        await create(url, order((ITEM_A, 11), client_id="PO-1"))
    other = await create(url, order((ITEM_A, 10), customer="globex", client_id="PO-1"))
    assert other.new and other.detail.order.id != first.detail.order.id


async def test_the_same_client_id_sent_twice_at_once_makes_one_order(url):
    await stock_pallets(url, [{}, {}, {}])
    results = await asyncio.gather(
        *(create(url, order((ITEM_A, 10), client_id="PO-7")) for _ in range(6))
    )
    assert len({r.detail.order.id for r in results}) == 1
    assert sum(r.new for r in results) == 1
    assert await rows(url, "SELECT count(*), sum(qty) FROM reservations") == [(1, 10)]


async def test_many_orders_racing_for_the_last_units_never_get_more_than_there_was(url):
    """12 orders at once for 50 cases on 5 pallets (some want 1 pallet, some 2): the
    total reserved is exactly the 50 cases there were, no position goes negative, each
    order got what it asked for or is partial/backordered by exactly what it lacks."""
    pallets = await stock_pallets(
        url, [{"lot": f"L{i}", "expiry": date(2025, 6, i + 1)} for i in range(5)]
    )
    wants = [10, 20, 10, 20, 10, 10, 20, 10, 10, 20, 10, 10]
    results = await asyncio.gather(
        *(create(url, order((ITEM_A, q), customer=f"c{i}")) for i, q in enumerate(wants))
    )
    got = [sum(r.qty for r in x.detail.reservations) for x in results]
    assert sum(got) == 50
    for want, g, x in zip(wants, got, results, strict=True):
        status = x.detail.order.status
        assert status == (
            "allocated" if g == want else "backordered" if g == 0 else "partially_allocated"
        )
        assert x.detail.lines[0].allocated == g
    ledger = await positions(url)
    assert all(q > 0 for q in ledger.values())
    assert sum(q for (_, state, _, _), q in ledger.items() if state == "reserved") == 50
    assert await rows(url, "SELECT count(*) FROM stock_positions WHERE qty < 0") == [(0,)]
    # every pallet went to exactly one order, and whole
    owners = await rows(
        url, "SELECT pallet, count(DISTINCT order_id), sum(qty) FROM reservations GROUP BY pallet"
    )
    assert sorted(owners) == sorted((p.sscc, 1, 10) for p in pallets)


async def test_orders_of_odd_sizes_racing_never_over_reserve(url):
    await stock_pallets(url, [{"cases": c} for c in (7, 9, 11, 13)])
    wants = [5, 8, 12, 3, 9, 14, 6, 1, 10, 4]
    results = await asyncio.gather(
        *(create(url, order((ITEM_A, q), customer=f"c{i}")) for i, q in enumerate(wants))
    )
    reserved = sum(r.qty for x in results for r in x.detail.reservations)
    assert 0 < reserved <= 40
    ledger = await positions(url)
    assert sum(q for (_, s, _, _), q in ledger.items() if s == "reserved") == reserved
    assert sum(ledger.values()) == 40
    assert all(
        n == 1
        for (n,) in await rows(
            url, "SELECT count(DISTINCT order_id) FROM reservations GROUP BY pallet"
        )
    )


async def test_orders_of_two_items_racing_each_other_do_not_deadlock(url):
    await stock_pallets(url, [{"sku": ITEM_A}, {"sku": ITEM_B}, {"sku": ITEM_A}, {"sku": ITEM_B}])
    results = await asyncio.wait_for(
        asyncio.gather(
            *(
                create(url, order(*([(ITEM_A, 10), (ITEM_B, 10)][:: 1 if i % 2 else -1])))
                for i in range(6)
            )
        ),
        timeout=30,
    )
    assert sum(r.qty for x in results for r in x.detail.reservations) == 40


async def test_cancelling_gives_the_cases_back_and_cancels_the_tasks(url):
    (p,) = await stock_pallets(url, [{}])
    d = (await create(url, order((ITEM_A, 4)))).detail
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        c = await order_status.cancel_order(
            conn, d.order.id, floor=FLOOR, now=later(60), by="ops", note="customer asked"
        )
    assert c.order.status == "cancelled"
    assert [t.status for t in c.pick_tasks] == ["cancelled"]
    assert [(r.qty, r.released) for r in c.reservations] == [(4, 4)]
    assert c.timeline[-1].event == "cancelled" and c.timeline[-1].detail["unreserved"] == 4
    assert c.timeline[-1].detail["putaway_tasks"] == []  # it never left its shelf
    assert await positions(url) == {("zone-a", "available", p.sscc, "L1"): 10}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        with pytest.raises(db.OrderConflict, match="cannot become cancelled"):
            await order_status.cancel_order(
                conn, d.order.id, floor=FLOOR, now=later(61), by=None, note=None
            )
    # the pallet is free for the next order
    assert (await create(url, order((ITEM_A, 10)))).detail.order.status == "allocated"


async def test_cancelling_sends_a_pallet_already_in_packing_back_to_storage(url):
    (p,) = await stock_pallets(url, [{}])
    d = (await create(url, order((ITEM_A, 10)))).detail
    cause = Cause(CauseKind.ZONE_EVENT, "1")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        async with conn.transaction():
            await order_flow.pick_pallet(
                conn,
                site=SITE,
                sscc=p.sscc,
                zone="packing",
                time=later(30),
                now=later(30),
                cause=cause,
                floor=FLOOR,
            )
        c = await order_status.cancel_order(
            conn, d.order.id, floor=FLOOR, now=later(60), by="lead", note="held too long"
        )
    assert await positions(url) == {("packing", "available", p.sscc, "L1"): 10}
    (made,) = c.timeline[-1].detail["putaway_tasks"]
    assert await rows(
        url,
        "SELECT 'putaway-' || id, pallet, from_location, to_location IN ('zone-a', 'zone-b',"
        " 'zone-c'), status FROM putaway_tasks",
    ) == [(made, p.sscc, "packing", True, "open")]


async def test_list_and_get_honour_the_customer_filter(url):
    await stock_pallets(url, [{}, {}])
    a = (await create(url, order((ITEM_A, 10), customer="acme"))).detail.order.id
    b = (await create(url, order((ITEM_A, 10), customer="globex"))).detail.order.id
    async with await psycopg.AsyncConnection.connect(url) as conn:
        assert await db.get_order(conn, a, customer="globex") is None
        assert (await db.get_order(conn, a, customer="acme")) is not None
        mine = await db.list_orders(
            conn, site=SITE, status=None, customer="globex", before=None, limit=10
        )
        assert [d.order.id for d in mine] == [b]
        newest_first = await db.list_orders(
            conn, site=SITE, status="allocated", customer=None, before=None, limit=10
        )
        assert [d.order.id for d in newest_first] == [b, a]
