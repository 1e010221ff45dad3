"""The warehouse figures of a scored run: the WMS's books and alerts against the truth. Pure.

``docs/accuracy.md`` states the method; the rules in short:

- **Where a pallet is at the run's end**: replay its truth lines of
  :data:`~rfidwms.scoring.inputs.MOVES` up to the end. ``stock``, ``putaway``,
  ``stage``, ``pack`` and ``weigh`` leave it *in the warehouse* in the line's zone;
  ``arrival`` (received, on its way from the door) and ``pick`` (on its way to
  packing) leave it in the warehouse but *moving*; ``outbound`` *ships* it (a later
  ``arrival``, of a customer's return, brings it back); ``vanish`` takes it out, and so
  does ``write_off`` (a returned pallet the inspection wrote off: counted apart, a
  miss when the WMS still lists it). ``mistake`` lines move nothing: a ``missing_case``
  takes its cases off the pallet's count. Its item, lot and case count are those of
  its latest line at or before the end.
- **Pallets right**: every pallet in the warehouse and not moving whose last move is
  at least the end margin before the end is *judged*: the WMS's pallet of the same
  SSCC (``GET /api/pallets``) must have the truth's zone, item (GTIN-14), lot and
  case count. A moving pallet, or one that moved within the margin, is not judged
  (counted). A judged pallet the WMS does not list is wrong in all four.
- **Vanished pallets in stock**: pallets the truth has vanish from their shelf
  (``vanish``) that the WMS still lists at the end (an approved ``missing`` variance
  writes them off). A ``misplace`` line leaves its pallet in its ``to_zone``.
- **Shipped pallets in stock**: pallets the truth shipped inside the scored window
  that the WMS still lists. Those shipped by a mis-shipment (below) are counted
  apart: the WMS keeps a mis-shipped pallet's cases at the door for a person.
- **Mis-shipments alerted**: an outbound crossing of a pallet after a
  ``wrong_pallet`` or ``wrong_door`` mistake of that pallet is a mis-shipment; it is
  alerted when a ``mis_shipment`` alert names the pallet (subject, ``detail.pallet``
  or ``detail.epc``: its SSCC or EPC) and was raised within the window of the
  crossing. A mistake whose pallet was put away again before the crossing (its order
  cancelled) ended there. An outbound crossing of a pallet with no mistake before it
  is a *right shipment*; alerted the same way, it counts against *right shipments alerted*.
- **Missing cases alerted**: a ``missing_case`` mistake whose pallet was weighed
  after it (a truth ``weigh``) is alerted when a ``weight_mismatch`` alert names the
  pallet and was raised no earlier than the mistake less the window.
- Mistakes and crossings count when their crossing or weighing is inside the scored
  window; the pallets at the end are judged whatever the window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rfidwms.scoring.inputs import (
    MIS_SHIPPING,
    AlertItem,
    Crossing,
    Mistake,
    PalletGoods,
    StockPallet,
    Truth,
    sscc_of,
)

IN_ZONE = ("stock", "putaway", "stage", "pack", "weigh", "misplace")
MOVING = ("arrival", "pick", "unpack")
SHIPPING = ("outbound",)
GONE = ("vanish",)
WRITTEN_OFF = ("write_off",)
FIELDS = ("zone", "item", "lot", "cases")
"""What a judged pallet must match, in the order misses name them."""


@dataclass(frozen=True, slots=True)
class PalletEnd:
    """Where the truth has a pallet at the run's end."""

    epc: str
    status: str
    """``in`` the warehouse in ``zone``, ``moving`` within it, ``shipped``, or ``gone``
    (vanished from its shelf), or ``written_off`` (a returned pallet the inspection
    wrote off, taken out of the warehouse)."""
    zone: str | None
    since: float
    """The time of its last move."""


def pallet_at(epc: str, moves: Sequence[tuple[float, str, str | None]], end: float) -> PalletEnd:
    """Where the moves up to ``end`` leave the pallet (its moves in time order; the
    first must be at or before ``end``)."""
    status, zone, since = "moving", None, moves[0][0]
    for t, event, at in moves:
        if t > end:
            break
        if event in IN_ZONE:
            status, zone, since = "in", at, t
        elif event in MOVING:
            status, zone, since = "moving", None, t
        elif event in SHIPPING:
            status, zone, since = "shipped", None, t
        elif event in GONE:
            status, zone, since = "gone", None, t
        elif event in WRITTEN_OFF:
            status, zone, since = "written_off", None, t
    return PalletEnd(epc, status, zone, since)


def gtin14(sku: str) -> str:
    """A GTIN as its 14 digits (shorter GTINs padded with zeros), anything else as is."""
    s = sku.strip()
    return s.zfill(14) if s.isdigit() and len(s) < 14 else s


@dataclass(frozen=True, slots=True)
class Goods:
    """A pallet's zone, item, lot and case count, as one side has it."""

    zone: str | None
    item: str | None
    lot: str | None
    cases: int | None

    @staticmethod
    def of_truth(end: PalletEnd, goods: PalletGoods, at: float) -> Goods:
        sku = gtin14(goods.sku) if goods.sku else None
        return Goods(end.zone, sku, goods.lot, goods.cases_at(at))

    @staticmethod
    def of_wms(p: StockPallet) -> Goods:
        return Goods(p.zone, gtin14(p.sku), p.lot, p.cases)

    def differs(self, other: Goods) -> list[str]:
        """The fields (:data:`FIELDS`) in which ``other`` is not this."""
        return [f for f in FIELDS if getattr(self, f) != getattr(other, f)]

    def text(self) -> str:
        return f"{self.zone}, item {self.item}, lot {self.lot}, {self.cases} cases"


def difference(truth: Goods, wms: Goods | None) -> str:
    """What differs: ``zone: true zone-a, WMS zone-b; cases: true 11, WMS 12``."""
    if wms is None:
        return f"not in the WMS's stock; true: {truth.text()}"
    return "; ".join(
        f"{f}: true {getattr(truth, f)}, WMS {getattr(wms, f)}" for f in truth.differs(wms)
    )


class StockIndex:
    """The WMS's pallets by SSCC and by EPC."""

    def __init__(self, pallets: Sequence[StockPallet]) -> None:
        self.by_sscc: dict[str, StockPallet] = {}
        self.by_epc: dict[str, StockPallet] = {}
        for p in pallets:
            self.by_sscc.setdefault(p.sscc, p)
            if p.epc is not None:
                self.by_epc.setdefault(p.epc, p)

    def find(self, epc: str, sscc: str | None) -> StockPallet | None:
        found = self.by_sscc.get(sscc) if sscc else None
        return found if found is not None else self.by_epc.get(epc)


def pallet_sscc(epc: str, goods: PalletGoods | None) -> str | None:
    """A truth pallet's SSCC: from its lines, else from its EPC."""
    return (goods.sscc if goods is not None else None) or sscc_of(epc)


def names_pallet(alert: AlertItem, epc: str, sscc: str | None) -> bool:
    return epc in alert.pallets or (sscc is not None and sscc.upper() in alert.pallets)


@dataclass(frozen=True, slots=True)
class Shipment:
    """A truth outbound crossing, and the pallet's mistakes that led to it."""

    crossing: Crossing
    wrong: tuple[Mistake, ...]
    """Its ``wrong_pallet``/``wrong_door`` mistakes since its previous outbound crossing."""
    other_mistake: bool
    """Another mistake of the pallet (``missing_case`` ...) came in that time."""

    @property
    def mistake(self) -> Mistake | None:
        """The latest mistake that sent it there: this shipment is a mis-shipment."""
        return self.wrong[-1] if self.wrong else None


def shipments(truth: Truth) -> list[Shipment]:
    """Every outbound crossing, in time order, with the pallet's mistakes before it. A
    ``wrong_pallet`` / ``wrong_door`` mistake followed by a put-away of the pallet (its
    order cancelled, the pallet back on a shelf) ended there: a later crossing, on
    another order's task, is not that mistake's."""
    by_epc: dict[str, list[Mistake]] = {}
    for m in truth.mistakes:
        by_epc.setdefault(m.epc, []).append(m)
    put_away: dict[str, list[float]] = {}
    for p in truth.putaways:
        put_away.setdefault(p.epc, []).append(p.t)
    found = []
    previous: dict[str, float] = {}
    for c in sorted(truth.crossings, key=lambda c: c.t):
        if c.direction != "outbound":
            continue
        since = previous.get(c.epc, -math.inf)
        before = [m for m in by_epc.get(c.epc, []) if since < m.t <= c.t]
        shelved = put_away.get(c.epc, [])
        wrong = tuple(
            m for m in before if m.kind in MIS_SHIPPING and not any(m.t < t < c.t for t in shelved)
        )
        found.append(Shipment(c, wrong, any(m.kind not in MIS_SHIPPING for m in before)))
        previous[c.epc] = c.t
    return found


def alerted_crossing(
    c: Crossing, sscc: str | None, alerts: Sequence[AlertItem], window_s: float
) -> AlertItem | None:
    """The alert naming the crossing's pallet raised within ``window_s`` of it."""
    near = [
        a for a in alerts if names_pallet(a, c.epc, sscc) and abs(a.raised_at - c.t) <= window_s
    ]
    return min(near, key=lambda a: abs(a.raised_at - c.t)) if near else None


MissSink = Callable[[str, str, float, str | None, str | None, str], None]
"""Takes a miss: (what, EPC, time, door, zone, detail)."""


@dataclass(slots=True)
class WarehouseScore:
    """What :func:`score_warehouse` counted (``figures.py`` makes the figures)."""

    judged: int = 0
    """Pallets in the warehouse at the end, settled, compared with the WMS."""
    right: int = 0
    field_right: Counter[str] = field(default_factory=Counter)
    """Judged pallets right in each of :data:`FIELDS`."""
    pallets: Counter[str] = field(default_factory=Counter)
    """Pallets at the end: in the warehouse, moving, settling, shipped ..."""
    shipped: int = 0
    """Pallets shipped in the window by right shipments (or with other mistakes)."""
    shipped_in_stock: int = 0
    mis_shipped: int = 0
    mis_shipped_in_stock: int = 0
    unknown_in_stock: int = 0
    """Pallets in the WMS's stock that no truth line names."""
    vanished: int = 0
    """Pallets that vanished from their shelves (truth ``vanish``) before the end."""
    vanished_in_stock: int = 0
    """Of those, the ones the WMS still lists."""
    mis_shipments: int = 0
    mis_shipments_alerted: int = 0
    right_shipments: int = 0
    right_shipments_alerted: int = 0
    mis_alerts: int = 0
    """``mis_shipment`` alerts raised in the window."""
    other_mis_shipment_alerts: int = 0
    """Of those, the ones no truth shipment (mis- or right) explains."""
    missing_cases: int = 0
    missing_cases_alerted: int = 0
    mistakes: Counter[str] = field(default_factory=Counter)
    """Mistakes scored, by kind (their pallet reached a door or a scale in the window)."""
    mistakes_unscored: Counter[str] = field(default_factory=Counter)
    """Mistakes not scored, by kind: their pallet reached no door or scale in the window."""
    unknown_kinds: Counter[str] = field(default_factory=Counter)
    """Mistakes of kinds the scorer does not know, by kind."""


def score_warehouse(
    truth: Truth,
    pallets: Sequence[StockPallet],
    alerts: Sequence[AlertItem],
    *,
    end: float,
    window: tuple[float, float],
    margin_s: float,
    window_s: float,
    miss: MissSink,
) -> WarehouseScore:
    """The warehouse figures' counts (module doc); each miss goes to ``miss``."""
    out = WarehouseScore()
    mis_alerts = [a for a in alerts if a.kind == "mis_shipment"]
    weight_alerts = [a for a in alerts if a.kind == "weight_mismatch"]
    ships = shipments(truth)
    _pallets_at_end(truth, StockIndex(pallets), ships, mis_alerts + weight_alerts, out,
                    end=end, window=window, margin_s=margin_s, miss=miss)  # fmt: skip
    known = {pallet_sscc(epc, truth.goods.get(epc)) for epc in truth.moves}
    for p in pallets:
        if p.sscc not in known and (p.epc is None or p.epc not in truth.moves):
            out.unknown_in_stock += 1
            detail = f"WMS: {Goods.of_wms(p).text()}"
            miss("pallet unknown to the truth", p.epc or p.sscc, end, None, p.zone, detail)
    _shipments_alerted(truth, ships, mis_alerts, out, window=window, window_s=window_s, miss=miss)
    _missing_cases_alerted(
        truth, ships, weight_alerts, out, window=window, window_s=window_s, miss=miss
    )
    return out


def _pallets_at_end(
    truth: Truth,
    stock: StockIndex,
    ships: Sequence[Shipment],
    alerts: Sequence[AlertItem],
    out: WarehouseScore,
    *,
    end: float,
    window: tuple[float, float],
    margin_s: float,
    miss: MissSink,
) -> None:
    lo, hi = window
    shipped_by = {s.crossing.epc: s for s in ships if s.crossing.t <= end}
    for epc, moves in truth.moves.items():
        if moves[0][0] > end or epc in truth.case_epcs:  # a case, taken off its pallet
            continue
        goods = truth.goods.get(epc) or PalletGoods()
        sscc = pallet_sscc(epc, goods)
        at = pallet_at(epc, moves, end)
        wms = stock.find(epc, sscc)
        if at.status == "shipped":
            ship = shipped_by.get(epc)
            if not lo <= at.since <= hi:
                out.pallets["shipped outside the window"] += 1
            elif ship is not None and ship.mistake is not None:
                out.mis_shipped += 1
                out.mis_shipped_in_stock += wms is not None
            else:
                out.shipped += 1
                if wms is not None:
                    out.shipped_in_stock += 1
                    door = ship.crossing.door if ship else None
                    detail = f"WMS: {Goods.of_wms(wms).text()}"
                    miss("shipped, still in stock", epc, at.since, door, None, detail)
            continue
        if at.status == "gone":
            out.vanished += 1
            out.pallets["vanished"] += 1
            if wms is not None:
                out.vanished_in_stock += 1
                miss("vanished, still in stock", epc, at.since, None, None,
                     f"WMS: {Goods.of_wms(wms).text()}")  # fmt: skip
            continue
        if at.status == "written_off":
            out.pallets["written off"] += 1
            if wms is not None:
                miss("written off, still in stock", epc, at.since, None, None,
                     f"WMS: {Goods.of_wms(wms).text()}")  # fmt: skip
            continue
        out.pallets["in the warehouse"] += 1
        if at.status == "moving":
            out.pallets["moving at the end"] += 1
            continue
        if at.since > end - margin_s:
            out.pallets["moved within the end margin"] += 1
            continue
        out.judged += 1
        true = Goods.of_truth(at, goods, end)
        theirs = Goods.of_wms(wms) if wms is not None else None
        wrong = list(FIELDS) if theirs is None else true.differs(theirs)
        for f in FIELDS:
            out.field_right[f] += f not in wrong
        if not wrong:
            out.right += 1
            continue
        detail = difference(true, theirs)
        flagged = sorted({a.kind for a in alerts if names_pallet(a, epc, sscc)})
        if flagged:
            detail += f"; alerted: {', '.join(flagged)}"
        what = "pallet not in stock" if theirs is None else "pallet wrong"
        miss(what, epc, at.since, None, at.zone, detail)


def _shipments_alerted(
    truth: Truth,
    ships: Sequence[Shipment],
    mis_alerts: Sequence[AlertItem],
    out: WarehouseScore,
    *,
    window: tuple[float, float],
    window_s: float,
    miss: MissSink,
) -> None:
    lo, hi = window
    explained: set[int] = set()
    for s in ships:
        c = s.crossing
        if not lo <= c.t <= hi or (s.mistake is None and s.other_mistake):
            continue
        sscc = pallet_sscc(c.epc, truth.goods.get(c.epc))
        alert = alerted_crossing(c, sscc, mis_alerts, window_s)
        if s.mistake is not None:
            out.mistakes.update(m.kind for m in s.wrong)
            out.mis_shipments += 1
            if alert is not None:
                out.mis_shipments_alerted += 1
                explained.add(alert.id)
            else:
                detail = f"{s.mistake.kind}, order {s.mistake.order}"
                miss("mis-shipment not alerted", c.epc, c.t, c.door, None, detail)
        else:
            out.right_shipments += 1
            if alert is not None:
                out.right_shipments_alerted += 1
                explained.add(alert.id)
                miss("right shipment alerted", c.epc, c.t, c.door, None, f"alert {alert.id}")
    for a in mis_alerts:
        if lo <= a.raised_at <= hi:
            out.mis_alerts += 1
            out.other_mis_shipment_alerts += a.id not in explained


def _missing_cases_alerted(
    truth: Truth,
    ships: Sequence[Shipment],
    weight_alerts: Sequence[AlertItem],
    out: WarehouseScore,
    *,
    window: tuple[float, float],
    window_s: float,
    miss: MissSink,
) -> None:
    lo, hi = window
    reached = {id(m) for s in ships if lo <= s.crossing.t <= hi for m in s.wrong}
    for m in truth.mistakes:
        if m.kind in MIS_SHIPPING:
            if id(m) not in reached:
                out.mistakes_unscored[m.kind] += 1
            continue
        if m.kind != "missing_case":
            out.unknown_kinds[m.kind] += 1
            continue
        weigh = next((x for x in truth.weighs if x.epc == m.epc and x.t >= m.t), None)
        if weigh is None or not lo <= weigh.t <= hi:
            out.mistakes_unscored[m.kind] += 1
            continue
        out.mistakes[m.kind] += 1
        out.missing_cases += 1
        sscc = pallet_sscc(m.epc, truth.goods.get(m.epc))
        if any(names_pallet(a, m.epc, sscc) and a.raised_at >= m.t - window_s
               for a in weight_alerts):  # fmt: skip
            out.missing_cases_alerted += 1
        else:
            detail = f"order {m.order}, weighed on {weigh.scale}"
            miss("missing case not alerted", m.epc, weigh.t, None, None, detail)
