"""What the simulated ERP orders: whole pallets of what the WMS says is available. Pure.

The WMS reserves FEFO: earliest expiry first, and within one expiry each pallet whose
cases all fit into what is still needed whole (first received first). The ERP sees
pallets, expiries and case counts (``GET /api/pallets``), not when each was received,
so it orders only quantities that FEFO fills with whole pallets whatever the receipt
order: every pallet of the earliest expiry groups (:func:`whole_pallet_cuts`), or, in a
group whose pallets all hold the same number of cases, any number of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["Cut", "OrderLine", "StockPallet", "plan_order", "stock_pallet", "whole_pallet_cuts"]


@dataclass(frozen=True, slots=True)
class StockPallet:
    """An available pallet in a storage zone, as ``GET /api/pallets`` shows it."""

    sscc: str
    sku: str
    expiry: date | None
    cases: int


@dataclass(frozen=True, slots=True)
class Cut:
    """Ordering ``qty`` cases of an item takes its first ``pallets`` pallets, whole."""

    pallets: int
    qty: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    qty: int
    pallets: int


def stock_pallet(item: dict[str, Any], storage: Iterable[str]) -> StockPallet | None:
    """An item of ``GET /api/pallets``, when it is available in a storage zone."""
    if item.get("state") != "available" or item.get("zone") not in set(storage):
        return None
    cases = item.get("cases")
    if not isinstance(cases, int) or cases < 1:
        return None
    expiry = item.get("expiry")
    return StockPallet(
        str(item["sscc"]), str(item["sku"]), date.fromisoformat(expiry) if expiry else None, cases
    )


def whole_pallet_cuts(pallets: Sequence[StockPallet]) -> list[Cut]:
    """The quantities of one item that FEFO fills with whole pallets, fewest first."""
    groups: dict[date | None, list[int]] = {}
    for p in pallets:
        groups.setdefault(p.expiry, []).append(p.cases)
    order = sorted(groups, key=lambda e: (e is None, e or date.min))
    cuts: list[Cut] = []
    before_n, before_qty = 0, 0
    for expiry in order:
        cases = groups[expiry]
        if len(set(cases)) == 1:  # all alike: any number of them
            cuts += [Cut(before_n + k, before_qty + k * cases[0]) for k in range(1, len(cases))]
        before_n, before_qty = before_n + len(cases), before_qty + sum(cases)
        cuts.append(Cut(before_n, before_qty))
    return cuts


def plan_order(
    pallets: Iterable[StockPallet], wanted: int, rng: random.Random, sku: str | None = None
) -> list[OrderLine]:
    """Lines for about ``wanted`` pallets (of ``sku``, or of items in ``rng``'s order):
    per item the most pallets that fit in what is still wanted; none fitting at all,
    the fewest pallets of one item. Empty: nothing available (of ``sku``)."""
    by_sku: dict[str, list[StockPallet]] = {}
    for p in pallets:
        if sku is None or p.sku == sku:
            by_sku.setdefault(p.sku, []).append(p)
    skus = sorted(by_sku)
    rng.shuffle(skus)
    lines: list[OrderLine] = []
    need = wanted
    for s in skus:
        fits = [c for c in whole_pallet_cuts(by_sku[s]) if c.pallets <= need]
        if fits:
            best = fits[-1]
            lines.append(OrderLine(s, best.qty, best.pallets))
            need -= best.pallets
        if need <= 0:
            break
    if not lines and skus:
        firsts = [(whole_pallet_cuts(by_sku[s])[0], s) for s in skus]
        cut, s = min(firsts, key=lambda x: x[0].pallets)
        lines.append(OrderLine(s, cut.qty, cut.pallets))
    return lines
