"""The stock ledger on real PostgreSQL: posting keeps every position the sum of its
entries, refuses what is not there with nothing written, and stays right when many
postings race for the last units; over random operation sequences the SQL path
agrees with the pure ledger."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.db import stock
from cloud.db.migrate import apply_migrations
from cloud.warehouse.allocation import OrderLine, allocate, reservations
from cloud.warehouse.ledger import (
    IN_TRANSIT,
    TRANSFERS,
    Book,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    InsufficientStock,
    Operation,
    Position,
    StockState,
    adjust,
    balances_of,
    post,
    receipt,
    ship,
    transfer,
)

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
GTIN = "00614141123452"
GTIN2 = "10614141123459"
SSCC = "106141410000000013"
SSCC2 = "106141410000000020"
S = StockState
K = EntryKind
CAUSE = Cause(CauseKind.USER, "tester")


def pos(
    location: str = "zone-a",
    state: StockState = S.AVAILABLE,
    *,
    site: str = "dc-1",
    item: str = GTIN,
    lot: str = "L1",
    pallet: str | None = None,
) -> Position:
    return Position(Bucket(site, item, lot, location, state), pallet)


async def connect(url: str) -> psycopg.AsyncConnection:  # type: ignore[type-arg]
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def ledger_sums(conn) -> dict[tuple, int]:
    cur = await conn.execute(
        "SELECT site, sku, lot, location, state, COALESCE(pallet, ''), sum(qty)::int"
        " FROM ledger_entries GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(qty) <> 0"
    )
    return {tuple(r[:6]): r[6] for r in await cur.fetchall()}


async def position_rows(conn) -> dict[tuple, int]:
    cur = await conn.execute(
        "SELECT site, sku, lot, location, state, pallet, qty FROM stock_positions WHERE qty <> 0"
    )
    return {tuple(r[:6]): r[6] for r in await cur.fetchall()}


async def test_a_receipt_and_a_putaway_write_entries_and_positions_that_agree(database_url):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        door = pos("door-1", pallet=SSCC)
        p1 = await stock.post(conn, receipt(door, 40, cause=CAUSE, time=T0))
        zone = pos("zone-a", pallet=SSCC)
        op = transfer(K.PUTAWAY, door, zone, 40, cause=Cause(CauseKind.ZONE_EVENT, "9"), time=T0)
        p2 = await stock.post(conn, op)
        assert p2 > p1
        entries = await stock.entries(conn)
        assert [(e.posting, e.kind, e.position, e.qty) for e in entries] == [
            (p1, K.RECEIPT, door, 40),
            (p2, K.PUTAWAY, door, -40),
            (p2, K.PUTAWAY, zone, 40),
        ]
        assert entries[1].cause == Cause(CauseKind.ZONE_EVENT, "9")
        assert await position_rows(conn) == await ledger_sums(conn)
        rows = await stock.positions(conn, site="dc-1")
        assert [(r.position, r.qty) for r in rows] == [(zone, 40)]
        assert await stock.balances(conn, sku=GTIN) == balances_of({zone: 40})
        assert await stock.on_hand(conn, site="dc-1", sku=GTIN) == 40
        assert [e.position for e in await stock.entries(conn, pallet=SSCC, after_id=1)] == [
            door,
            zone,
        ]


async def test_taking_more_than_a_position_holds_is_refused_and_writes_nothing(database_url):
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        there = pos("zone-a", pallet=SSCC)
        await stock.post(conn, receipt(there, 5, cause=CAUSE, time=T0))
        await conn.commit()
        # the bucket holds 5 on the pallet + 3 loose: the pallet still cannot give 6
        await stock.post(conn, receipt(pos("zone-a"), 3, cause=CAUSE, time=T0))
        target = pos("zone-b", pallet=SSCC)
        with pytest.raises(InsufficientStock, match=f"pallet {SSCC} .*asked 6, there 5"):
            await stock.post(conn, transfer(K.MOVE, there, target, 6, cause=CAUSE, time=T0))
        # the caller's transaction goes on: its own receipt of 3 is still there
        await conn.commit()
        assert await position_rows(conn) == {
            ("dc-1", GTIN, "L1", "zone-a", "available", SSCC): 5,
            ("dc-1", GTIN, "L1", "zone-a", "available", ""): 3,
        }
        cur = await conn.execute("SELECT count(*) FROM stock_positions WHERE location = 'zone-b'")
        assert await cur.fetchone() == (0,)  # not even an empty row of the refused target
        assert len(await stock.entries(conn)) == 2


async def test_a_position_never_goes_below_zero_even_past_the_ledger_rules(database_url):
    """The table's CHECK is the backstop if a bug bypassed post()."""
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        await stock.post(conn, receipt(pos(), 2, cause=CAUSE, time=T0))
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute("UPDATE stock_positions SET qty = qty - 3")


async def test_many_concurrent_reservations_of_the_last_units_never_over_reserve(database_url):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        await stock.post(conn, receipt(pos("zone-a"), 7, cause=CAUSE, time=T0))
        await stock.post(conn, receipt(pos("zone-b", pallet=SSCC), 5, cause=CAUSE, time=T0))

    async def order(n: int) -> int:
        """Reserve 2 cases FEFO for order n, all or nothing; the cases it got."""
        async with await psycopg.AsyncConnection.connect(database_url) as c:
            async with c.transaction():
                found = await stock.fefo_candidates(c, site="dc-1", sku=GTIN, lock=True)
                a = allocate(OrderLine(f"o{n}", 1, "dc-1", GTIN, 2), found)
                if a.shortfall:
                    return 0
                for op in reservations(a, time=T0):
                    await stock.post(c, op)
            return a.allocated

    got = await asyncio.gather(*(order(n) for n in range(30)))
    assert sum(got) == 12 and Counter(got) == {2: 6, 0: 24}
    async with await connect(database_url) as conn:
        assert await stock.positions(conn, state=S.AVAILABLE) == []
        reserved = await stock.balances(conn, state=S.RESERVED)
        assert sum(b.qty for b in reserved) == 12
        assert await position_rows(conn) == await ledger_sums(conn)


async def test_concurrent_takers_of_one_position_get_exactly_what_is_there(database_url):
    """Without locking candidates first: post() alone refuses the takers it cannot serve."""
    await apply_migrations(database_url)
    there = pos("zone-a", pallet=SSCC)
    async with await connect(database_url) as conn:
        await stock.post(conn, receipt(there, 10, cause=CAUSE, time=T0))

    async def take(n: int) -> tuple[int, bool]:
        qty = 1 + n % 3
        async with await connect(database_url) as c:
            try:
                await stock.post(c, adjust(there, -qty, cause=CAUSE, time=T0))
            except InsufficientStock:
                return qty, False
            return qty, True

    took = await asyncio.gather(*(take(n) for n in range(40)))
    async with await connect(database_url) as conn:
        left = sum(r.qty for r in await stock.positions(conn))
        assert sum(q for q, ok in took if ok) + left == 10
        # a taker was refused only when it asked more than was there (and there is no less)
        assert all(q > left for q, ok in took if not ok)
        assert await position_rows(conn) == await ledger_sums(conn)


async def test_fefo_candidates_carry_the_lot_expiry_and_the_pallet_receipt(database_url):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO items (sku, name, case_weight_kg, created_at, updated_at)"
            " VALUES (%s, 'Tea', 5, %s, %s)",
            [GTIN, T0, T0],
        )
        await conn.execute(
            "INSERT INTO lots (sku, lot, expiry, created_at) VALUES (%s, 'L1', %s, %s),"
            " (%s, 'L2', NULL, %s)",
            [GTIN, date(2025, 6, 1), T0, GTIN, T0],
        )
        received = T0 - timedelta(days=3)
        await conn.execute(
            "INSERT INTO pallets (site, sscc, sku, lot, status, received_at, created_at,"
            " updated_at) VALUES ('dc-1', %s, %s, 'L1', 'received', %s, %s, %s)",
            [SSCC, GTIN, received, T0, T0],
        )
        await stock.post(conn, receipt(pos(pallet=SSCC), 4, cause=CAUSE, time=T0))
        await stock.post(conn, receipt(pos(lot="L2"), 2, cause=CAUSE, time=T0))
        await stock.post(conn, receipt(pos(state=S.QUARANTINE), 9, cause=CAUSE, time=T0))
        found = await stock.fefo_candidates(conn, site="dc-1", sku=GTIN)
        assert [(c.position, c.qty, c.expiry, c.received_at) for c in found] == [
            (pos(pallet=SSCC), 4, date(2025, 6, 1), received),
            (pos(lot="L2"), 2, None, T0),
        ]
        assert await stock.fefo_candidates(conn, site="dc-1", sku=GTIN2) == []


# -- the SQL path agrees with the pure ledger over random operations -------------------

SITES = ("dc-1", "dc-2")
ITEMS = (GTIN, GTIN2)
LOTS = ("L1", "L2")
PLACES = ("door-1", "zone-a", "zone-b")
PALLETS = (None, SSCC, SSCC2)
ON_HAND = [S.AVAILABLE, S.RESERVED, S.QUARANTINE, S.DAMAGED]


@st.composite
def operations(draw: st.DrawFn, held: dict[Position, int]) -> Operation:
    """A well-formed operation; mostly one taking from a position that holds stock, for
    up to a few cases more than it holds (so some are refused)."""
    qty = draw(st.integers(1, 20))
    source: Position | None = None
    if held and draw(st.integers(0, 3)) > 0:
        source = draw(st.sampled_from(sorted(held, key=Position.sort_key)))
        qty = draw(st.integers(1, held[source] + 2))
        state = source.bucket.state
        kinds = sorted(k for k, r in TRANSFERS.items() if any(a is state for a, _ in r.states))
        kinds += [K.ADJUST] if state is not S.IN_TRANSIT else []
        kinds += [K.SHIP] if state is S.RESERVED else []
        kind = draw(st.sampled_from(kinds))
    else:
        kind = draw(st.sampled_from([K.RECEIPT, K.RECEIPT, K.ADJUST, K.MOVE, K.RESERVE]))
    b = source.bucket if source is not None else None
    site = b.site if b is not None else draw(st.sampled_from(SITES))
    item = b.item if b is not None else draw(st.sampled_from(ITEMS))
    lot = b.lot if b is not None else draw(st.sampled_from(LOTS))
    pallet = source.pallet if source is not None else draw(st.sampled_from(PALLETS))
    place = b.location if b is not None else draw(st.sampled_from(PLACES))

    def at(place: str, state: StockState, where: str = site, p: str | None = pallet) -> Position:
        if state is S.IN_TRANSIT:
            place = IN_TRANSIT
        elif place == IN_TRANSIT:
            place = draw(st.sampled_from(PLACES))
        return Position(Bucket(where, item, lot, place, state), p)

    cause = Cause(draw(st.sampled_from(list(CauseKind))), "ref-1")
    if kind is K.RECEIPT:
        state = draw(st.sampled_from([S.AVAILABLE, S.QUARANTINE]))
        return receipt(at(place, state), qty, cause=cause, time=T0)
    if kind is K.SHIP:
        return ship(source or at(place, S.RESERVED), qty, cause=cause, time=T0)
    if kind is K.ADJUST:
        delta = -qty if source is not None and draw(st.booleans()) else qty
        return adjust(source or at(place, draw(st.sampled_from(ON_HAND))), delta, cause=cause,
                      time=T0)  # fmt: skip
    rule = TRANSFERS[kind]
    pairs = sorted(p for p in rule.states if source is None or p[0] is source.bucket.state)
    a, b2 = draw(st.sampled_from(pairs))
    from_ = source or at(place, a)
    if rule.location == "same":
        there = from_.bucket.location
    elif rule.location == "differs":
        there = draw(st.sampled_from([p for p in PLACES if p != from_.bucket.location]))
    else:
        there = draw(st.sampled_from(PLACES))
    to_site = draw(st.sampled_from(SITES)) if kind is K.DISPATCH else site
    to_pallet = draw(st.sampled_from([pallet, None]))
    return transfer(kind, from_, at(there, b2, to_site, to_pallet), qty, cause=cause, time=T0)


async def on_hand_everywhere(conn) -> dict[tuple[str, str], int]:
    return {(s, i): await stock.on_hand(conn, site=s, sku=i) for s in SITES for i in ITEMS}


def _as_key(p: Position) -> tuple:
    b = p.bucket
    return (b.site, b.item, b.lot, b.location, b.state.value, p.pallet or "")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), steps=st.integers(1, 30))
def test_the_database_ledger_agrees_with_the_pure_ledger_over_random_operations(
    migrated_url, data, steps
):
    ops: list[Operation] = []
    book = Book.empty()
    refused_pure: list[bool] = []
    for _ in range(steps):
        op = data.draw(operations(dict(book.positions)))
        ops.append(op)
        try:
            book, _ = post(book, op)
            refused_pure.append(False)
        except InsufficientStock:
            refused_pure.append(True)

    async def run() -> None:
        async with await connect(migrated_url) as conn:
            await conn.execute("TRUNCATE ledger_entries, stock_positions")
            refused_db: list[bool] = []
            for op in ops:
                before = await on_hand_everywhere(conn)
                try:
                    posting = await stock.post(conn, op)
                except InsufficientStock:
                    refused_db.append(True)
                    assert await on_hand_everywhere(conn) == before  # nothing written
                    continue
                refused_db.append(False)
                written = await stock.posting_entries(conn, posting)
                assert [(e.position, e.qty) for e in written] == [
                    (line.position, line.qty) for line in op.lines
                ]
                if op.kind in TRANSFERS:  # a transfer's entries sum to zero
                    assert len(written) == 2 and sum(e.qty for e in written) == 0
                if op.kind in TRANSFERS and op.kind not in (K.DISPATCH, K.ARRIVE):
                    assert await on_hand_everywhere(conn) == before  # moves change no total
            assert refused_db == refused_pure
            positions = await position_rows(conn)
            assert positions == await ledger_sums(conn)  # positions are the ledger's sums
            assert all(q > 0 for q in positions.values())  # and never negative
            assert positions == {_as_key(p): q for p, q in book.positions.items()}
            cur = await conn.execute("SELECT count(*) FROM stock_positions WHERE qty < 0")
            assert await cur.fetchone() == (0,)

    asyncio.run(run())


@pytest.fixture
def migrated_url(database_url: str) -> str:
    asyncio.run(apply_migrations(database_url))
    return database_url


async def test_moves_between_locations_leave_on_hand_unchanged(database_url):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        a = pos("door-1", pallet=SSCC)
        await stock.post(conn, receipt(a, 12, cause=CAUSE, time=T0))
        await stock.post(conn, receipt(pos("zone-c", lot="L2"), 3, cause=CAUSE, time=T0))
        steps = [
            (K.PUTAWAY, a, pos("zone-a", pallet=SSCC), 12),
            (K.RESERVE, pos("zone-a", pallet=SSCC), pos("zone-a", S.RESERVED, pallet=SSCC), 5),
            (K.PICK, pos("zone-a", S.RESERVED, pallet=SSCC), pos("packing", S.RESERVED), 5),
            (K.QUARANTINE, pos("zone-c", lot="L2"), pos("zone-b", S.QUARANTINE, lot="L2"), 2),
            (K.DAMAGE, pos("zone-a", pallet=SSCC), pos("zone-a", S.DAMAGED, pallet=SSCC), 1),
        ]
        for kind, src, dst, qty in steps:
            await stock.post(conn, transfer(kind, src, dst, qty, cause=CAUSE, time=T0))
            assert await stock.on_hand(conn, site="dc-1", sku=GTIN) == 15
        assert await stock.on_hand(conn, site="dc-1", sku=GTIN, lot="L2") == 3
        assert await position_rows(conn) == await ledger_sums(conn)
