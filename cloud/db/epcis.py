"""What the EPCIS event query reads: ledger postings with their pallets, and the case
EPCs of those pallets (the mapping to events is :mod:`cloud.warehouse.epcis`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.epcis import PalletCases, Posting, PostingLine
from cloud.warehouse.ledger import CauseKind, EntryKind, StockState

Conn = AsyncConnection[TupleRow]


@dataclass(frozen=True, slots=True)
class PostingFilter:
    kinds: frozenset[EntryKind]
    site: str | None = None
    since: datetime | None = None
    """eventTime at or after."""
    before: datetime | None = None
    """eventTime before."""
    pallets: frozenset[str] | None = None
    """SSCCs: only postings naming one of them."""
    return_kinds: frozenset[EntryKind] = frozenset()
    """And the postings of these kinds that a return caused."""
    count_kinds: frozenset[EntryKind] = frozenset()
    """And the postings of these kinds that a count caused (an approved variance, cause
    ``count``; a handheld count, cause ``scan`` of a scan of action ``count``)."""


_SCAN_OF = "CASE WHEN {t}.cause_kind = 'scan' THEN {t}.cause_id::bigint END"
"""The id of the scan that caused ledger entry ``{t}`` (NULL when no scan did; the CASE
keeps the cast off other causes' ids)."""
_COUNTED = (
    "(l.cause_kind = 'count' OR EXISTS (SELECT 1 FROM scans s"
    f" WHERE s.id = {_SCAN_OF.format(t='l')} AND s.action = 'count'))"
)
"""Ledger entry ``l`` was caused by a count."""


async def postings(
    conn: Conn, f: PostingFilter, *, after: int, limit: int
) -> tuple[list[Posting], bool]:
    """Up to ``limit`` postings after posting ``after``, in posting order, of the kinds
    and matching the filter (a posting matches when one of its entries does), and
    whether there are more."""
    if not (f.kinds or f.return_kinds or f.count_kinds) or (
        f.pallets is not None and not f.pallets
    ):
        return [], False
    parts = [
        "l.posting > %s",
        "(l.kind = ANY(%s) OR (l.cause_kind = 'return' AND l.kind = ANY(%s))"
        f" OR (l.kind = ANY(%s) AND {_COUNTED}))",
    ]
    params: list[Any] = [
        after,
        sorted(k.value for k in f.kinds),
        sorted(k.value for k in f.return_kinds),
        sorted(k.value for k in f.count_kinds),
    ]
    if f.site is not None:
        parts.append("l.site = %s")
        params.append(f.site)
    if f.since is not None:
        parts.append("l.time >= %s")
        params.append(f.since)
    if f.before is not None:
        parts.append("l.time < %s")
        params.append(f.before)
    if f.pallets is not None:
        parts.append("l.pallet = ANY(%s)")
        params.append(sorted(f.pallets))
    cur = await conn.execute(
        "WITH p AS (SELECT DISTINCT l.posting FROM ledger_entries l"
        f" WHERE {' AND '.join(parts)} ORDER BY l.posting LIMIT %s)"
        " SELECT e.id, e.posting, e.time, e.recorded_at, e.kind, e.site, e.sku, e.lot,"
        " e.location, e.state, e.pallet, pl.epc, pl.asn, e.qty, e.cause_kind, e.cause_id,"
        " sc.action"
        " FROM ledger_entries e JOIN p USING (posting)"
        " LEFT JOIN pallets pl ON pl.site = e.site AND pl.sscc = e.pallet"
        f" LEFT JOIN scans sc ON sc.id = {_SCAN_OF.format(t='e')}"
        " ORDER BY e.posting, e.id",
        [*params, limit + 1],
    )
    rows = await cur.fetchall()
    out: list[Posting] = []
    for r in rows:
        line = PostingLine(
            entry_id=int(r[0]),
            site=r[5],
            sku=r[6],
            lot=r[7],
            location=r[8],
            state=StockState(r[9]),
            pallet=r[10],
            pallet_epc=r[11],
            qty=int(r[13]),
            asn=r[12],
        )
        if out and out[-1].posting == r[1]:
            p = out[-1]
            out[-1] = replace(p, lines=(*p.lines, line))
        else:
            cause = CauseKind(r[14]) if r[14] is not None else None
            out.append(
                Posting(int(r[1]), EntryKind(r[4]), r[2], r[3], (line,), cause, r[15], r[16])
            )
    return out[:limit], len(out) > limit


async def pallet_cases(
    conn: Conn, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], PalletCases]:
    """Per (site, SSCC): its first receipt posting and its case EPCs: those heard with
    it, or, when none was heard, those its notice announced."""
    if not keys:
        return {}
    sites = [k[0] for k in keys]
    ssccs = [k[1] for k in keys]
    cur = await conn.execute(
        "WITH k AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS k(site, sscc)),"
        " r AS (SELECT e.site, e.pallet, min(e.posting) AS first FROM ledger_entries e"
        "  JOIN k ON k.site = e.site AND k.sscc = e.pallet WHERE e.kind = 'receipt'"
        "  GROUP BY e.site, e.pallet)"
        " SELECT r.site, r.pallet, r.first,"
        "  COALESCE(array_agg(c.epc ORDER BY c.epc) FILTER (WHERE c.heard_at IS NOT NULL),"
        "   '{}'),"
        "  COALESCE(array_agg(c.epc ORDER BY c.epc) FILTER (WHERE c.announced), '{}')"
        " FROM r LEFT JOIN pallet_cases c ON c.site = r.site AND c.pallet = r.pallet"
        " GROUP BY r.site, r.pallet, r.first",
        [sites, ssccs],
    )
    out: dict[tuple[str, str], PalletCases] = {}
    for site, sscc, first, heard, listed in await cur.fetchall():
        out[(site, sscc)] = PalletCases(site, sscc, int(first), tuple(heard or listed))
    return out


async def pallets_of_case(conn: Conn, case_epcs: Sequence[str]) -> list[tuple[str, str | None]]:
    """(SSCC, SSCC-96 EPC) of the pallets holding one of ``case_epcs`` (SGTIN-96 hex)."""
    cur = await conn.execute(
        "SELECT DISTINCT c.pallet, p.epc FROM pallet_cases c"
        " JOIN pallets p ON p.site = c.site AND p.sscc = c.pallet WHERE c.epc = ANY(%s)",
        [list(case_epcs)],
    )
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def pallet_epcs(conn: Conn, ssccs: Sequence[str]) -> list[tuple[str, str | None]]:
    """(SSCC, SSCC-96 EPC or None) of the pallets of ``ssccs`` known at any site."""
    cur = await conn.execute(
        "SELECT DISTINCT sscc, epc FROM pallets WHERE sscc = ANY(%s)", [list(ssccs)]
    )
    return [(r[0], r[1]) for r in await cur.fetchall()]
