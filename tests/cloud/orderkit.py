"""Helpers for the order tests: items, lots and pallets in stock on a migrated database.

Stock is booked through the goods ledger (:func:`cloud.db.stock.post`), as receipts
straight into a zone: what the order tests need is stock where it would be after
put-away, not the receiving flow (which the goods tests cover).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg

from cloud.db import stock
from cloud.db.orders import Floor
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, Position, StockState, receipt
from protocols.epc import Sscc96
from protocols.epc.gs1 import with_check_digit
from protocols.layout import load_layout

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
LAYOUT = load_layout(None)
FLOOR = Floor.of(LAYOUT)
PREFIX = "0614141"


def gtin(n: int) -> str:
    return with_check_digit(f"00{PREFIX}{n:04d}")


ITEM_A = gtin(1001)
ITEM_B = gtin(1002)


@dataclass(frozen=True)
class PalletRef:
    sscc: str
    epc: str
    sku: str
    lot: str
    cases: int
    zone: str


def pallet_ids(n: int) -> tuple[str, str]:
    """(SSCC, SSCC-96 EPC hex) of test pallet ``n``."""
    epc = Sscc96(company_prefix=PREFIX, serial_reference=f"0{n:09d}")
    return epc.sscc, epc.to_hex()


async def add_item(
    conn: psycopg.AsyncConnection, sku: str, *, case_kg: float = 10.0, tare_kg: float = 25.0
) -> None:
    await conn.execute(
        "INSERT INTO items (sku, name, case_weight_kg, pallet_tare_kg, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sku) DO NOTHING",
        [sku, f"item {sku}", case_kg, tare_kg, T0, T0],
    )


async def add_pallet(
    conn: psycopg.AsyncConnection,
    n: int,
    *,
    sku: str = ITEM_A,
    lot: str = "L1",
    expiry: date | None = date(2025, 9, 1),
    cases: int = 10,
    zone: str = "zone-a",
    received_at: datetime = T0,
    site: str = "demo",
) -> PalletRef:
    """A received pallet of ``cases`` available cases of ``sku`` in ``zone``."""
    sscc, epc = pallet_ids(n)
    await add_item(conn, sku)
    await conn.execute(
        "INSERT INTO lots (sku, lot, expiry, created_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        [sku, lot, expiry, T0],
    )
    await conn.execute(
        "INSERT INTO pallets (site, sscc, epc, sku, lot, expiry, status, received_at,"
        " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'received', %s, %s, %s)",
        [site, sscc, epc, sku, lot, expiry, received_at, T0, T0],
    )
    position = Position(Bucket(site, sku, lot, zone, StockState.AVAILABLE), sscc)
    await stock.post(
        conn,
        receipt(position, cases, cause=Cause(CauseKind.ASN, "test"), time=received_at),
        recorded_at=received_at,
    )
    return PalletRef(sscc, epc, sku, lot, cases, zone)


async def stock_pallets(
    url: str, specs: list[dict[str, object]], *, site: str = "demo"
) -> list[PalletRef]:
    """Pallets from keyword specs (see :func:`add_pallet`), numbered from 1."""
    out = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for i, spec in enumerate(specs, start=1):
            out.append(await add_pallet(conn, i, site=site, **spec))  # type: ignore[arg-type]
    return out


async def positions(url: str, *, site: str = "demo") -> dict[tuple[str, str, str, str], int]:
    """(location, state, pallet, lot) -> qty of every position holding stock."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await stock.positions(conn, site=site)
    return {
        (r.bucket.location, r.bucket.state.value, r.position.pallet or "", r.bucket.lot): r.qty
        for r in rows
    }


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
