"""The stock ledger on PostgreSQL: posting operations, and reading positions, balances,
FEFO candidates and the ledger.

:func:`post` is the only writer of ``ledger_entries`` and ``stock_positions``. It
appends the entries of one :class:`~cloud.warehouse.ledger.Operation` and updates the
positions they touch in the same transaction, so a position is always the sum of its
entries. The rules are the pure ledger's (:func:`cloud.warehouse.ledger.check`) applied
to the rows it has locked:

1. the positions the operation adds to are created at 0 if missing
   (``INSERT … ON CONFLICT DO NOTHING``, in position order);
2. every position it touches is locked, ``SELECT … ORDER BY <primary key> FOR UPDATE``
   (the key is ``COLLATE "C"``, the order of ``Position.sort_key``), so two postings
   wait for each other instead of deadlocking, and the second reads what the first left;
3. :func:`~cloud.warehouse.ledger.check` on the locked quantities: an operation that
   would take a position below zero raises
   :class:`~cloud.warehouse.ledger.InsufficientStock` and nothing is written;
4. the entries are inserted under one posting number and the positions updated.

It runs in a transaction of its own inside the caller's (a savepoint when the caller
has one open), so a refused operation leaves the caller's transaction usable. Callers
use READ COMMITTED (psycopg's default); ``CHECK (qty >= 0)`` is the backstop.

Empty positions stay as rows of quantity 0 (they are what a later posting locks);
every read here leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.allocation import Candidate
from cloud.warehouse.ledger import (
    Balance,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Operation,
    Position,
    StockState,
    check,
)

Conn = AsyncConnection[TupleRow]

_KEY = "site, sku, lot, location, state, pallet"
_KEY_TYPES = "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]"


def _key(p: Position) -> tuple[str, str, str, str, str, str]:
    b = p.bucket
    return (b.site, b.item, b.lot, b.location, b.state.value, p.pallet or "")


def _position(site: str, sku: str, lot: str, location: str, state: str, pallet: str) -> Position:
    return Position(Bucket(site, sku, lot, location, StockState(state)), pallet or None)


def _columns(keys: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[k[i] for k in keys] for i in range(width)]


async def post(conn: Conn, operation: Operation, *, recorded_at: datetime | None = None) -> int:
    """Post ``operation``: its entries appended under a new posting number (returned)
    and its positions updated, or :class:`~cloud.warehouse.ledger.InsufficientStock`
    with nothing written (module doc). ``recorded_at`` defaults to the database's
    ``now()``; callers on the injected clock pass it."""
    delta: dict[Position, int] = {}
    for line in operation.lines:
        delta[line.position] = delta.get(line.position, 0) + line.qty
    ordered = sorted(delta, key=Position.sort_key)
    keys = [_key(p) for p in ordered]
    async with conn.transaction():
        adding = [_key(p) for p in ordered if delta[p] > 0]
        if adding:
            await conn.execute(
                f"INSERT INTO stock_positions ({_KEY}, qty, updated_at)"
                f" SELECT *, 0, COALESCE(%s, now()) FROM unnest({_KEY_TYPES})"
                f" ON CONFLICT ({_KEY}) DO NOTHING",
                [recorded_at, *_columns(adding, 6)],
            )
        cur = await conn.execute(
            f"SELECT {_KEY}, qty FROM stock_positions"
            f" WHERE ({_KEY}) IN (SELECT * FROM unnest({_KEY_TYPES}))"
            f" ORDER BY {_KEY} FOR UPDATE",
            _columns(keys, 6),
        )
        locked = {_position(*row[:6]): int(row[6]) for row in await cur.fetchall()}
        after = check(locked, operation)  # InsufficientStock: the savepoint rolls back
        cur = await conn.execute("SELECT nextval('ledger_postings')")
        row = await cur.fetchone()
        assert row is not None
        posting = int(row[0])
        lines = [(*_key(line.position), line.qty) for line in operation.lines]
        cols = _columns(lines, 7)
        await conn.execute(
            "INSERT INTO ledger_entries (posting, site, time, kind, cause_kind, cause_id, sku,"
            " lot, location, state, pallet, qty, recorded_at)"
            " SELECT %s, s, %s, %s, %s, %s, i, l, loc, st, NULLIF(p, ''), q, COALESCE(%s, now())"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::int[]) WITH ORDINALITY AS u(s, i, l, loc, st, p, q, n)"
            " ORDER BY n",
            [
                posting,
                operation.time,
                operation.kind.value,
                operation.cause.kind.value,
                operation.cause.ref,
                recorded_at,
                *cols,
            ],
        )
        updates = [(*_key(p), after[p]) for p in ordered]
        await conn.execute(
            "UPDATE stock_positions sp SET qty = u.q,"
            " since = CASE WHEN sp.qty = 0 AND u.q > 0 THEN %s ELSE sp.since END,"
            " updated_at = COALESCE(%s, now())"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::int[]) AS u(s, i, l, loc, st, p, q)"
            " WHERE (sp.site, sp.sku, sp.lot, sp.location, sp.state, sp.pallet)"
            " = (u.s, u.i, u.l, u.loc, u.st, u.p)",
            [operation.time, recorded_at, *_columns(updates, 7)],
        )
    return posting


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A position holding stock, with its lot's expiry and when it was first received."""

    position: Position
    qty: int
    expiry: date | None
    received_at: datetime | None
    """The pallet's receipt, or for loose cases when the position last filled."""

    @property
    def bucket(self) -> Bucket:
        return self.position.bucket


_ROW = (
    "sp.site, sp.sku, sp.lot, sp.location, sp.state, sp.pallet, sp.qty, l.expiry,"
    " COALESCE(pl.received_at, sp.since)"
)
# lots and pallets have keys of the default collation, the positions "C": compared in
# the default one, the keys' indexes serve (else a sku's positions hash every pallet)
_JOINS = (
    ' LEFT JOIN lots l ON l.sku = sp.sku COLLATE "default" AND l.lot = sp.lot COLLATE "default"'
    ' LEFT JOIN pallets pl ON pl.site = sp.site COLLATE "default"'
    " AND pl.sscc = sp.pallet COLLATE \"default\" AND sp.pallet <> ''"
)


def _filters(
    site: str | None,
    sku: str | None,
    lot: str | None,
    location: str | None,
    state: StockState | Sequence[StockState] | None,
    pallet: str | None,
) -> tuple[str, list[Any]]:
    parts = ["sp.qty > 0"]
    params: list[Any] = []
    for column, value in (
        ("site", site),
        ("sku", sku),
        ("lot", lot),
        ("location", location),
        ("pallet", pallet),
    ):
        if value is not None:
            parts.append(f"sp.{column} = %s")
            params.append(value)
    if isinstance(state, StockState):
        parts.append("sp.state = %s")
        params.append(state.value)
    elif state is not None:
        parts.append("sp.state = ANY(%s::text[])")
        params.append([s.value for s in state])
    return " WHERE " + " AND ".join(parts), params


def _row(row: Sequence[Any]) -> PositionRow:
    return PositionRow(_position(*row[:6]), int(row[6]), row[7], row[8])


async def positions(
    conn: Conn,
    *,
    site: str | None = None,
    sku: str | None = None,
    lot: str | None = None,
    location: str | None = None,
    state: StockState | Sequence[StockState] | None = None,
    pallet: str | None = None,
    limit: int | None = None,
) -> list[PositionRow]:
    """Positions holding stock (``qty > 0``) that match every filter given, in position
    order. ``pallet`` is an SSCC, or ``""`` for loose cases only."""
    where, params = _filters(site, sku, lot, location, state, pallet)
    sql = f"SELECT {_ROW} FROM stock_positions sp{_JOINS}{where} ORDER BY {_sp_key()}"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    cur = await conn.execute(sql, params)
    return [_row(r) for r in await cur.fetchall()]


def _sp_key() -> str:
    return ", ".join(f"sp.{c.strip()}" for c in _KEY.split(","))


async def pallet_positions(conn: Conn, site: str, sscc: str) -> list[PositionRow]:
    """Where a pallet's cases are, by state and location (qty > 0), in position order."""
    return await positions(conn, site=site, pallet=sscc)


async def balances(
    conn: Conn,
    *,
    site: str | None = None,
    sku: str | None = None,
    lot: str | None = None,
    location: str | None = None,
    state: StockState | Sequence[StockState] | None = None,
) -> list[Balance]:
    """Balances per bucket (site, item, lot, location, state), non-zero, in bucket order."""
    where, params = _filters(site, sku, lot, location, state, None)
    cur = await conn.execute(
        "SELECT sp.site, sp.sku, sp.lot, sp.location, sp.state, sum(sp.qty)::int"
        f" FROM stock_positions sp{where}"
        " GROUP BY sp.site, sp.sku, sp.lot, sp.location, sp.state"
        " ORDER BY sp.site, sp.sku, sp.lot, sp.location, sp.state",
        params,
    )
    return [
        Balance(Bucket(r[0], r[1], r[2], r[3], StockState(r[4])), int(r[5]))
        for r in await cur.fetchall()
    ]


async def on_hand(conn: Conn, *, site: str, sku: str, lot: str | None = None) -> int:
    """Cases of ``sku`` (of ``lot``, or every lot) on hand at ``site``: every state but
    ``in_transit``."""
    cur = await conn.execute(
        "SELECT COALESCE(sum(qty), 0)::int FROM stock_positions"
        " WHERE site = %s AND sku = %s AND state <> 'in_transit'"
        " AND (%s::text IS NULL OR lot = %s)",
        [site, sku, lot, lot],
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def fefo_candidates(
    conn: Conn, *, site: str, sku: str, lock: bool = False
) -> list[Candidate]:
    """The available stock of ``sku`` at ``site`` as allocation candidates (each
    position with its lot's expiry and when it was received), in position order.

    ``lock=True`` locks the rows (``FOR UPDATE`` in primary-key order) for the rest of
    the caller's transaction: the way to allocate race-safely (see
    :mod:`cloud.warehouse.allocation`), then :func:`post` the reservations in the same
    transaction. Under READ COMMITTED a waiting caller reads each row as the one before
    it left it."""
    sql = (
        f"SELECT {_ROW} FROM stock_positions sp{_JOINS}"
        " WHERE sp.site = %s AND sp.sku = %s AND sp.state = 'available' AND sp.qty > 0"
        f" ORDER BY {_sp_key()}"
    )
    if lock:
        sql += " FOR UPDATE OF sp"
    cur = await conn.execute(sql, [site, sku])
    out: list[Candidate] = []
    for r in await cur.fetchall():
        row = _row(r)
        if row.qty <= 0:  # emptied by the transaction we waited for
            continue
        out.append(Candidate(row.position, row.qty, row.expiry, row.received_at or _EPOCH))
    return out


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


# -- the ledger ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One ledger entry as stored."""

    id: int
    posting: int
    time: datetime
    kind: EntryKind
    cause: Cause
    position: Position
    qty: int
    recorded_at: datetime


_ENTRY = (
    "id, posting, time, kind, cause_kind, cause_id, site, sku, lot, location, state,"
    " COALESCE(pallet, ''), qty, recorded_at"
)


def _entry(r: Sequence[Any]) -> EntryRow:
    return EntryRow(
        id=int(r[0]),
        posting=int(r[1]),
        time=r[2],
        kind=EntryKind(r[3]),
        cause=Cause(CauseKind(r[4]), r[5]),
        position=_position(*r[6:12]),
        qty=int(r[12]),
        recorded_at=r[13],
    )


async def entries(
    conn: Conn,
    *,
    site: str | None = None,
    sku: str | None = None,
    pallet: str | None = None,
    lot: str | None = None,
    location: str | None = None,
    state: StockState | None = None,
    since: datetime | None = None,
    cause: Cause | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[EntryRow]:
    """Ledger entries in ledger order (by id) after ``after_id``, filtered; ``since``
    keeps those whose time is at or after it; ``pallet`` is an SSCC."""
    parts = ["id > %s"]
    params: list[Any] = [after_id]
    for column, value in (
        ("site", site),
        ("sku", sku),
        ("pallet", pallet),
        ("lot", lot),
        ("location", location),
        ("state", state.value if state is not None else None),
    ):
        if value is not None:
            parts.append(f"{column} = %s")
            params.append(value)
    if since is not None:
        parts.append("time >= %s")
        params.append(since)
    if cause is not None:
        parts.append("cause_kind = %s AND cause_id = %s")
        params.extend([cause.kind.value, cause.ref])
    cur = await conn.execute(
        f"SELECT {_ENTRY} FROM ledger_entries WHERE {' AND '.join(parts)} ORDER BY id LIMIT %s",
        [*params, limit],
    )
    return [_entry(r) for r in await cur.fetchall()]


async def posting_entries(conn: Conn, posting: int) -> list[EntryRow]:
    """The entries of one posting, in ledger order."""
    cur = await conn.execute(
        f"SELECT {_ENTRY} FROM ledger_entries WHERE posting = %s ORDER BY id", [posting]
    )
    return [_entry(r) for r in await cur.fetchall()]
