"""The stock rules: low stock, overstock and expiry alerts from the balances. Pure.

A :class:`StockRule` per site and item (GTIN-14) sets any of:

- ``reorder_point``: ``low_stock`` while the item's **available** quantity at the site
  (every lot and location) is below it (an item with no stock at all counts 0);
- ``max_on_hand``: ``overstock`` while its quantity **on hand** (available, reserved,
  quarantine and damaged; not in transit) is above it;
- ``expiry_warning_days``: ``expiry`` for each lot with stock on hand whose expiry is
  at most that many days after today (an expired lot included), one alert per lot.

Only items with a rule are judged. :func:`judge_stock` compares what holds now with
the stock alerts not yet resolved: it raises what holds and is not raised yet, and
resolves (as ``system``) what is raised and holds no more (the stock came back, the
rule changed or was removed). Subjects: the GTIN for ``low_stock`` and
``overstock``, ``<gtin>/<lot>`` for ``expiry``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cloud.warehouse.alerts import AlertKind, Severity
from cloud.warehouse.ledger import ON_HAND_STATES, LedgerError, StockState, check_gtin14

STOCK_KINDS = frozenset({AlertKind.LOW_STOCK, AlertKind.OVERSTOCK, AlertKind.EXPIRY})
MAX_EXPIRY_WARNING_DAYS = 3650
_ON_HAND = frozenset(s.value for s in ON_HAND_STATES)


class StockRuleError(ValueError):
    """A rule that cannot be; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class StockRule:
    site: str
    sku: str
    """GTIN-14."""
    reorder_point: int | None = None
    max_on_hand: int | None = None
    expiry_warning_days: int | None = None

    def __post_init__(self) -> None:
        if not self.site:
            raise StockRuleError("site", "must not be empty")
        try:
            check_gtin14("sku", self.sku)
        except LedgerError as e:
            raise StockRuleError("sku", str(e).removeprefix("sku: ")) from None
        for name, low in (("reorder_point", 0), ("max_on_hand", 1), ("expiry_warning_days", 0)):
            v = getattr(self, name)
            if v is not None and (type(v) is not int or v < low):
                raise StockRuleError(name, f"must be a whole number of at least {low}, got {v!r}")
        if self.expiry_warning_days is not None and (
            self.expiry_warning_days > MAX_EXPIRY_WARNING_DAYS
        ):
            raise StockRuleError(
                "expiry_warning_days",
                f"must be at most {MAX_EXPIRY_WARNING_DAYS}, got {self.expiry_warning_days}",
            )
        if (
            self.reorder_point is not None
            and self.max_on_hand is not None
            and self.reorder_point > self.max_on_hand
        ):
            raise StockRuleError(
                "max_on_hand",
                f"{self.max_on_hand} is below the reorder point {self.reorder_point}",
            )


@dataclass(frozen=True, slots=True)
class Balance:
    """Cases of one item and lot in one state at a site (any location), as the stock
    ledger's balances give them; several rows of one key add up."""

    site: str
    sku: str
    lot: str
    expiry: date | None
    state: str
    """A :class:`cloud.warehouse.ledger.StockState` value."""
    qty: int


@dataclass(frozen=True, slots=True)
class StockAlert:
    kind: AlertKind
    site: str
    subject: str
    message: str
    detail: dict[str, Any]
    severity: Severity | None = None
    """None: the kind's default."""


Key = tuple[str, AlertKind, str]
"""(site, kind, subject) of a stock alert."""


@dataclass(frozen=True, slots=True)
class StockVerdict:
    to_raise: list[StockAlert] = field(default_factory=list)
    to_resolve: list[Key] = field(default_factory=list)


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def expiry_subject(sku: str, lot: str) -> str:
    return f"{sku}/{lot}"


def _conditions(
    balances: Iterable[Balance], rules: Iterable[StockRule], today: date
) -> dict[Key, StockAlert]:
    available: dict[tuple[str, str], int] = defaultdict(int)
    on_hand: dict[tuple[str, str], int] = defaultdict(int)
    lots: dict[tuple[str, str, str], int] = defaultdict(int)
    expiry_of: dict[tuple[str, str, str], date | None] = {}
    for b in balances:
        item = (b.site, b.sku)
        if b.state == StockState.AVAILABLE.value:
            available[item] += b.qty
        if b.state in _ON_HAND:
            on_hand[item] += b.qty
            lots[(b.site, b.sku, b.lot)] += b.qty
            expiry_of[(b.site, b.sku, b.lot)] = b.expiry
    lots_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for site, sku, lot in sorted(lots):
        lots_of[(site, sku)].append(lot)
    found: dict[Key, StockAlert] = {}
    for rule in rules:
        item = (rule.site, rule.sku)
        avail, held = available.get(item, 0), on_hand.get(item, 0)
        if rule.reorder_point is not None and avail < rule.reorder_point:
            word = "out of stock" if avail <= 0 else f"{avail} cases available"
            found[(rule.site, AlertKind.LOW_STOCK, rule.sku)] = StockAlert(
                AlertKind.LOW_STOCK,
                rule.site,
                rule.sku,
                f"{rule.sku} low at {rule.site}: {word}, reorder point {rule.reorder_point}",
                {"sku": rule.sku, "available": avail, "reorder_point": rule.reorder_point},
                Severity.CRITICAL if avail <= 0 else None,
            )
        if rule.max_on_hand is not None and held > rule.max_on_hand:
            found[(rule.site, AlertKind.OVERSTOCK, rule.sku)] = StockAlert(
                AlertKind.OVERSTOCK,
                rule.site,
                rule.sku,
                f"{rule.sku} overstocked at {rule.site}: {held} cases on hand, "
                f"max {rule.max_on_hand}",
                {"sku": rule.sku, "on_hand": held, "max_on_hand": rule.max_on_hand},
            )
        if rule.expiry_warning_days is None:
            continue
        horizon = today + timedelta(days=rule.expiry_warning_days)
        for lot in lots_of.get(item, []):
            expiry = expiry_of[(rule.site, rule.sku, lot)]
            qty = lots[(rule.site, rule.sku, lot)]
            if expiry is None or qty <= 0 or expiry > horizon:
                continue
            days = (expiry - today).days
            when = (
                f"expired {_days(-days)} ago"
                if days < 0
                else "expires today"
                if days == 0
                else f"expires in {_days(days)}"
            )
            subject = expiry_subject(rule.sku, lot)
            found[(rule.site, AlertKind.EXPIRY, subject)] = StockAlert(
                AlertKind.EXPIRY,
                rule.site,
                subject,
                f"lot {lot} of {rule.sku} at {rule.site} {when} ({expiry.isoformat()}): "
                f"{qty} cases on hand",
                {
                    "sku": rule.sku,
                    "lot": lot,
                    "expiry": expiry.isoformat(),
                    "days_left": days,
                    "on_hand": qty,
                    "expiry_warning_days": rule.expiry_warning_days,
                },
            )
    return found


def judge_stock(
    balances: Iterable[Balance],
    rules: Iterable[StockRule],
    unresolved: Set[Key],
    today: date,
) -> StockVerdict:
    """The stock alerts to raise and to resolve ``today``, given the balances, the rules
    and the stock alerts not yet resolved (keys of other kinds are ignored)."""
    found = _conditions(balances, rules, today)
    return StockVerdict(
        [found[k] for k in sorted(found) if k not in unresolved],
        sorted(k for k in unresolved if k[1] in STOCK_KINDS and k not in found),
    )
