"""How ingest writes ``tag_locations``: a move at once, a tag standing at its read point
once per resolution, and every rewrite in place (a heap-only update: no index entry)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import psycopg
from cloudkit import T0, batch, observation

from cloud.db.migrate import apply_migrations
from cloud.ingest.changes import StandingTags
from cloud.ingest.classify import Accepted, classify
from cloud.ingest.ownership import SiteDevices
from cloud.ingest.store import GroupResult, write_group
from protocols.layout import load_layout

SITE = "s1"
DEVICES = SiteDevices.of(load_layout(None), SITE)
TOPIC = f"rfidwms/v1/{SITE}/edge-1/observations"
EPCS = [f"30340000{i:016X}" for i in range(50)]


def _batch(
    seq: int, at_s: float, read_point: str, reader: str, antenna: int = 1, epcs: int = len(EPCS)
) -> Accepted:
    payload = batch(
        "edge-1",
        seq,
        *(
            observation(
                e,
                read_point=read_point,
                reader_id=reader,
                antenna=antenna,
                at=T0 + timedelta(seconds=at_s),
            )
            for e in EPCS[:epcs]
        ),
    )
    item = classify(
        TOPIC,
        payload,
        sites={SITE: DEVICES},
        retained=False,
        received_at=T0 + timedelta(seconds=at_s + 1),
    )
    assert isinstance(item, Accepted), item
    return item


async def _written(
    conn: psycopg.AsyncConnection, item: Accepted, resolution: timedelta
) -> tuple[GroupResult, tuple[int, int]]:
    """Write one group and return what it wrote with the (updates, of them heap-only) of
    ``tag_locations`` it made (the table's statistics, flushed before and after)."""
    before = await _updates(conn)
    result = await write_group(conn, [item], now=T0, last_seen_resolution=resolution)
    after = await _updates(conn)
    return result, (after[0] - before[0], after[1] - before[1])


async def _updates(conn: psycopg.AsyncConnection) -> tuple[int, int]:
    await conn.execute("SELECT pg_stat_force_next_flush()")  # at the end of this statement
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    cur = await conn.execute(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'tag_locations'"
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_tag_rows_are_rewritten_in_place_and_a_standing_tag_once_per_resolution(
    database_url,
):
    await apply_migrations(database_url)
    minute = timedelta(seconds=60)
    n = len(EPCS)
    k = n // 6
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        first, _ = await _written(conn, _batch(0, 0, "zone-a/shelf", "reader-zone-a"), minute)
        assert len(first.change.moves) == len(first.change.locations) == n  # arrivals

        again, updates = await _written(
            conn, _batch(1, 30, "zone-a/shelf", "reader-zone-a"), minute
        )
        # stored, and the tags, within the resolution of their rows, not rewritten
        assert (again.observations, again.change.locations, again.change.moves) == (n, [], [])
        assert updates == (0, 0)

        # the page of tags was filled to 70% (migration 0037): the room left takes the
        # new versions of a sixth of its tags rewritten, twice
        later, updates = await _written(
            conn, _batch(2, 60, "zone-a/shelf", "reader-zone-a", epcs=k), minute
        )
        assert len(later.change.locations) == k and later.change.moves == []
        assert updates == (k, k)  # every one heap-only: no index entry written
        moved, updates = await _written(
            conn, _batch(3, 61, "door-1/inside", "reader-door-1", 3, epcs=k), minute
        )
        assert [m.to_read_point for m in moved.change.moves] == ["door-1/inside"] * k
        assert updates == (k, k)

        cur = await conn.execute(
            "SELECT read_point, last_seen, arrived_at, count(*) FROM tag_locations"
            " GROUP BY 1, 2, 3 ORDER BY 1"
        )
        assert await cur.fetchall() == [
            ("door-1/inside", T0 + timedelta(seconds=61), T0 + timedelta(seconds=60), k),
            ("zone-a/shelf", T0, T0 - timedelta(seconds=1), n - k),
        ]


async def _lookups(conn: psycopg.AsyncConnection) -> int:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    cur = await conn.execute(
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
        " WHERE relname = 'tag_locations'"
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_an_ingester_that_knows_its_tags_stand_still_does_not_look_them_up(database_url):
    await apply_migrations(database_url)
    minute = timedelta(seconds=60)
    standing = StandingTags()
    n, k = len(EPCS), len(EPCS) // 5
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:

        async def write(item: Accepted) -> tuple[GroupResult, int]:
            before = await _lookups(conn)
            result = await write_group(
                conn, [item], now=T0, last_seen_resolution=minute, standing=standing
            )
            return result, await _lookups(conn) - before

        first, _ = await write(_batch(0, 0, "zone-a/shelf", "reader-zone-a"))
        assert len(first.change.moves) == n and len(standing) == n
        # within the resolution at the same read point: nothing to decide, nothing read
        again, looked = await write(_batch(1, 30, "zone-a/shelf", "reader-zone-a"))
        assert (again.observations, again.change.locations, looked) == (n, [], 0)
        # a move and a refresh past the resolution are decided on the rows it knows,
        # as on the stored ones, with nothing read or locked
        moved, looked = await write(_batch(2, 31, "door-1/inside", "reader-door-1", 3, epcs=k))
        assert [m.to_read_point for m in moved.change.moves] == ["door-1/inside"] * k
        assert [m.from_read_point for m in moved.change.moves] == ["zone-a/shelf"] * k
        # the upsert's own conflict check of each row it writes, and no read or lock
        assert looked == len(moved.change.locations) == k
        later, looked = await write(_batch(3, 61, "zone-a/shelf", "reader-zone-a"))
        assert len(later.change.moves) == k  # back from the door
        assert len(later.change.locations) == n  # the others refreshed, a minute on
        assert looked == n
        cur = await conn.execute(
            "SELECT read_point, last_seen, arrived_at, count(*) FROM tag_locations"
            " GROUP BY 1, 2, 3 ORDER BY 3"
        )
        assert await cur.fetchall() == [
            # stood on the shelf since the first read (arrived_at kept by the refresh)
            ("zone-a/shelf", T0 + timedelta(seconds=61), T0 - timedelta(seconds=1), n - k),
            # back from the door: arrived again
            ("zone-a/shelf", T0 + timedelta(seconds=61), T0 + timedelta(seconds=60), k),
        ]
        # an ingester that starts afresh (a restart) reads the rows it does not know
        restarted = StandingTags()
        before = await _lookups(conn)
        fresh = await write_group(
            conn,
            [_batch(4, 62, "door-1/inside", "reader-door-1", 3, epcs=k)],
            now=T0,
            last_seen_resolution=minute,
            standing=restarted,
        )
        assert await _lookups(conn) - before == k + 1  # the read of the rows it never saw
        assert [m.from_read_point for m in fresh.change.moves] == ["zone-a/shelf"] * k
        assert len(restarted) == k


def test_standing_tags_tell_only_what_the_rows_would_decide_nothing_for():
    standing = StandingTags(most=3)
    at = T0 + timedelta(seconds=100)
    minute = timedelta(seconds=60)
    standing.note("A", "zone-a/shelf", at, at - timedelta(seconds=30))
    standing.note("A", "door-1/inside", at - timedelta(seconds=5), at)  # older: no change

    def seen(read_point: str, s: float) -> SimpleNamespace:
        return SimpleNamespace(read_point=read_point, last_seen=at + timedelta(seconds=s))

    assert standing.unchanged("A", seen("zone-a/shelf", 59), minute)
    assert not standing.unchanged("A", seen("zone-a/shelf", 60), minute)  # refresh due
    assert not standing.unchanged("A", seen("zone-b/shelf", 1), minute)  # a move
    assert standing.unchanged("A", seen("zone-b/shelf", -1), minute)  # a late read
    assert not standing.unchanged("B", seen("zone-a/shelf", 0), minute)  # never heard of
    assert standing.row("A") == ("zone-a/shelf", at, at - timedelta(seconds=30))
    assert standing.row("B") is None
    for epc in "BCD":  # full: it forgets what it learned longest ago
        standing.note(epc, "zone-a/shelf", at, at)
    assert len(standing) == 3
    assert not standing.unchanged("A", seen("zone-a/shelf", 0), minute)
    assert standing.row("A") is None
    assert standing.unchanged("D", seen("zone-a/shelf", 0), minute)
