"""What a scored run compares: the ground truth's lines and the cloud API's items. Pure.

:func:`parse_truth` reads the simulator's truth records (``read_truth``) into the
crossings, stays in a door's field, put-aways, weighings, faults, per-pallet
places, the pallets' goods and moves, and the workers' mistakes that
:func:`rfidwms.scoring.score` needs; :func:`parse_passages`,
:func:`parse_zone_events`, :func:`parse_weights`, :func:`parse_pallets`,
:func:`parse_alerts` and :func:`parse_route_stats` read the API's items. Anything
that cannot be read is a :class:`ScoreInputError` naming the line or item and field.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from protocols.epc import EPCError, Sscc96, decode_hex


class ScoreInputError(ValueError):
    """A truth line or an API item that cannot be scored; the message names it."""


def _time(value: object, where: str) -> float:
    if not isinstance(value, str):
        raise ScoreInputError(f"{where}: {value!r} is not an ISO-8601 time")
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ScoreInputError(f"{where}: {value!r} is not an ISO-8601 time") from None
    if dt.tzinfo is None:
        raise ScoreInputError(f"{where}: {value!r} has no time zone")
    return dt.timestamp()


def _num(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScoreInputError(f"{where}: {value!r} is not a number")
    return float(value)


def _opt(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ScoreInputError(f"{where}.{key}: {value!r} is not a non-empty string")
    return value


def _req(item: Mapping[str, Any], key: str, where: str) -> str:
    value = _opt(item, key, where)
    if value is None:
        raise ScoreInputError(f"{where}.{key}: missing")
    return value


def _epcs(value: object, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScoreInputError(f"{where}: {value!r:.100} is not a list of EPCs")
    return frozenset(v.upper() for v in value)


# ---------------------------------------------------------------------- the truth


@dataclass(frozen=True, slots=True)
class Crossing:
    """A pallet truly crossing the middle of a door (truth ``arrival``/``outbound``)."""

    t: float
    epc: str
    door: str
    direction: str
    cases: frozenset[str]


@dataclass(frozen=True, slots=True)
class Stay:
    """A pallet in a door's field that does not cross it: ``stage`` or ``turnback``."""

    kind: str
    t: float
    epc: str
    door: str
    begin: float
    end: float


@dataclass(frozen=True, slots=True)
class Putaway:
    t: float
    epc: str
    zone: str


@dataclass(frozen=True, slots=True)
class Weigh:
    t: float
    epc: str
    scale: str
    until: float
    weight_kg: float


@dataclass(frozen=True, slots=True)
class FaultLine:
    """A truth ``fault`` line: a device fault starting or ending."""

    t: float
    target: str
    fault: str
    phase: str
    spec: str
    zone: str | None


@dataclass(frozen=True, slots=True)
class Outage:
    """A zone's reader down (``silent``, ``drop``) or partly down (``antenna``)."""

    target: str
    fault: str
    zone: str
    begin: float
    end: float


@dataclass(frozen=True, slots=True)
class Mistake:
    """A worker's mistake (truth ``mistake``): ``kind`` ``wrong_pallet`` (the pallet
    ``epc`` was taken instead of the one the task named), ``wrong_door`` (``epc`` taken
    to a door other than its order's) or ``missing_case`` (``epc`` lacks a case)."""

    t: float
    kind: str
    epc: str
    order: str | None
    door: str | None
    cases_missing: int
    """For ``missing_case``: the cases it lacks from then on (its ``case``/``cases``)."""


@dataclass(frozen=True, slots=True)
class Shrinkage:
    """A shelved pallet gone astray on no task: truth ``vanish`` (heard nowhere again)
    or ``misplace`` (moved from ``zone`` to ``to_zone``)."""

    t: float
    kind: str
    epc: str
    zone: str
    to_zone: str | None


@dataclass(slots=True)
class PalletGoods:
    """What a pallet is by the truth's lines: its SSCC, item, lot and case count."""

    sscc: str | None = None
    sku: str | None = None
    lot: str | None = None
    counts: list[tuple[float, int]] = field(default_factory=list)
    """In time order: from when on it holds how many cases."""

    def cases_at(self, t: float) -> int | None:
        i = bisect_right([at for at, _ in self.counts], t)
        return self.counts[i - 1][1] if i else None


# Where each truth event leaves its pallet: in the line's zone, or nowhere (moving,
# on a truck, gone). Other events (truck, order, return, turnback) do not move it: a
# returned pallet's ``arrival`` brings it back in, as any arrival does.
_PLACES: dict[str, bool] = {
    "stock": True,
    "putaway": True,
    "pack": True,
    "weigh": True,
    "stage": True,
    "arrival": False,
    "pick": False,
    "unpack": False,  # a cancelled order's pallet leaving packing for a shelf
    "outbound": False,
    "misplace": True,  # in its ``to_zone``
    "vanish": False,
    "write_off": False,  # a returned pallet written off and taken out of the warehouse
}
SHRINKAGE = ("vanish", "misplace")
OUTAGE_FAULTS = ("silent", "drop", "antenna")
MOVES = (*_PLACES, "mistake")
"""The truth events replayed for where the pallets are at the run's end."""
MIS_SHIPPING = ("wrong_pallet", "wrong_door")
MISTAKE_KINDS = (*MIS_SHIPPING, "missing_case")


@dataclass(slots=True)
class Truth:
    """The scorable content of a ground-truth file."""

    start: float
    """Simulated Unix time of the run's start (``t - sim_s`` of every line)."""
    end: float
    """The last line's time: the run lasted at least this long."""
    kinds: Counter[str] = field(default_factory=Counter)
    crossings: list[Crossing] = field(default_factory=list)
    stays: list[Stay] = field(default_factory=list)
    putaways: list[Putaway] = field(default_factory=list)
    weighs: list[Weigh] = field(default_factory=list)
    faults: list[FaultLine] = field(default_factory=list)
    places: dict[str, list[tuple[float, str | None]]] = field(default_factory=dict)
    """Per pallet EPC, in time order: from when on it is in which zone (None: nowhere)."""
    case_epcs: set[str] = field(default_factory=set)
    moves: dict[str, list[tuple[float, str, str | None]]] = field(default_factory=dict)
    """Per pallet EPC, in time order: (t, event, zone) of its lines of :data:`MOVES`."""
    goods: dict[str, PalletGoods] = field(default_factory=dict)
    """Per pallet EPC: its SSCC, item, lot and case counts."""
    mistakes: list[Mistake] = field(default_factory=list)
    shrinkage: list[Shrinkage] = field(default_factory=list)

    def zone_at(self, epc: str, t: float) -> str | None:
        """The zone pallet ``epc`` is in at ``t`` (None: moving, gone, or not yet)."""
        timeline = self.places.get(epc, [])
        i = bisect_right([at for at, _ in timeline], t)
        return timeline[i - 1][1] if i else None

    def outages(self, drop_down_s: float) -> list[Outage]:
        """Zone-reader outages from the ``fault`` lines; a ``drop`` lasts
        ``drop_down_s``, a fault with no end line lasts to the end of the run."""
        began: dict[tuple[str, str], FaultLine] = {}
        found: list[Outage] = []
        for f in self.faults:
            if f.fault not in OUTAGE_FAULTS or f.zone is None:
                continue
            if f.fault == "drop":
                if f.phase == "start":
                    found.append(Outage(f.target, f.fault, f.zone, f.t, f.t + drop_down_s))
            elif f.phase == "start":
                began[(f.target, f.spec)] = f
            elif (b := began.pop((f.target, f.spec), None)) is not None:
                found.append(Outage(f.target, f.fault, f.zone, b.t, f.t))
        for b in began.values():
            found.append(Outage(b.target, b.fault, b.zone or "", b.t, self.end))
        return sorted(found, key=lambda o: o.begin)


def parse_truth(records: Iterable[Mapping[str, Any]]) -> Truth:
    """The truth's records (``read_truth``) -> :class:`Truth`."""
    truth: Truth | None = None
    for n, rec in enumerate(records, start=1):
        where = f"truth line {n}"
        t = _time(rec.get("t"), f"{where}.t")
        sim_s = _num(rec.get("sim_s"), f"{where}.sim_s")
        event = _req(rec, "event", where)
        if truth is None:
            truth = Truth(start=t - sim_s, end=t)
        truth.end = max(truth.end, t)
        truth.kinds[event] += 1
        cases = rec.get("cases")
        if isinstance(cases, list):  # a truck's `cases` is a count
            truth.case_epcs.update(_epcs(cases, f"{where}.cases"))
        # where the line leaves its pallet: a misplaced pallet is in its ``to_zone``
        key = "to_zone" if event == "misplace" else "zone"
        if event in _PLACES:
            epc = _req(rec, "epc", where).upper()
            zone = _opt(rec, key, where) if _PLACES[event] else None
            truth.places.setdefault(epc, []).append((t, zone))
        if event in MOVES:
            epc = _req(rec, "epc", where).upper()
            truth.moves.setdefault(epc, []).append((t, event, _opt(rec, key, where)))
            _goods(truth.goods.setdefault(epc, PalletGoods()), rec, t, where)
        if event in ("arrival", "outbound"):
            truth.crossings.append(
                Crossing(
                    t,
                    _req(rec, "epc", where).upper(),
                    _req(rec, "door", where),
                    _req(rec, "direction", where),
                    _epcs(cases, f"{where}.cases"),
                )
            )
        elif event in ("stage", "turnback"):
            begin = truth.start + _num(rec.get("from_s", sim_s), f"{where}.from_s")
            end = truth.start + _num(rec.get("until_s", sim_s), f"{where}.until_s")
            epc = _req(rec, "epc", where).upper()
            truth.stays.append(Stay(event, t, epc, _req(rec, "door", where), begin, end))
        elif event == "putaway":
            epc = _req(rec, "epc", where).upper()
            truth.putaways.append(Putaway(t, epc, _req(rec, "zone", where)))
        elif event == "weigh":
            weight = _num(rec.get("weight_kg"), f"{where}.weight_kg")
            until = truth.start + _num(rec.get("until_s", sim_s), f"{where}.until_s")
            epc = _req(rec, "epc", where).upper()
            truth.weighs.append(Weigh(t, epc, _req(rec, "scale", where), until, weight))
        elif event in SHRINKAGE:
            truth.shrinkage.append(
                Shrinkage(
                    t,
                    event,
                    _req(rec, "epc", where).upper(),
                    _req(rec, "zone", where),
                    _req(rec, "to_zone", where) if event == "misplace" else None,
                )
            )
        elif event == "mistake":
            truth.mistakes.append(_mistake(rec, t, where, truth.goods[rec["epc"].upper()]))
        elif event == "fault":
            truth.faults.append(
                FaultLine(
                    t,
                    _req(rec, "target", where),
                    _req(rec, "fault", where),
                    _req(rec, "phase", where),
                    str(rec.get("spec")),
                    _opt(rec, "zone", where),
                )
            )
    if truth is None:
        raise ScoreInputError("the truth has no lines")
    return truth


def _goods(goods: PalletGoods, rec: Mapping[str, Any], t: float, where: str) -> None:
    """What the line says the pallet is (every pallet line carries ``sscc``, ``sku``,
    ``lot`` and its case EPCs in ``cases``)."""
    sscc = rec.get("sscc")  # a case taken off its pallet moves on with an empty one
    goods.sscc = sscc if isinstance(sscc, str) and sscc else goods.sscc
    goods.sku = _opt(rec, "sku", where) or goods.sku
    goods.lot = _opt(rec, "lot", where) or goods.lot
    cases = rec.get("cases")
    if isinstance(cases, list):
        goods.counts.append((t, len(_epcs(cases, f"{where}.cases"))))


def _mistake(rec: Mapping[str, Any], t: float, where: str, goods: PalletGoods) -> Mistake:
    kind = _req(rec, "kind", where)
    missing = 0
    if kind == "missing_case":
        listed = rec.get("case")
        if listed is not None:
            missing = len(_epcs(listed if isinstance(listed, list) else [listed], f"{where}.case"))
        missing = max(missing, 1)
        if not isinstance(rec.get("cases"), list):  # the line does not say what is left
            before = goods.cases_at(t)
            if before is not None:
                goods.counts.append((t, max(0, before - missing)))
    return Mistake(
        t,
        kind,
        _req(rec, "epc", where).upper(),
        _opt(rec, "order", where),
        _opt(rec, "door", where),
        missing,
    )


# ---------------------------------------------------------------------- the cloud


@dataclass(frozen=True, slots=True)
class CloudPassage:
    time: float
    door: str
    direction: str
    epc: str
    stored_at: float
    cases: frozenset[str]
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    time: float
    kind: str
    epc: str
    zone: str | None
    from_zone: str | None
    stored_at: float


@dataclass(frozen=True, slots=True)
class Weight:
    time: float
    scale: str
    weight_kg: float
    epc: str | None
    stored_at: float


DIRECTIONS = ("inbound", "outbound")
ZONE_KINDS = ("arrived", "moved", "departed", "unknown", "present")


def parse_passages(items: Iterable[Mapping[str, Any]]) -> list[CloudPassage]:
    """``GET /api/passages`` items -> :class:`CloudPassage`."""
    found = []
    for i, item in enumerate(items):
        where = f"passages[{i}]"
        direction = _req(item, "direction", where)
        if direction not in DIRECTIONS:
            raise ScoreInputError(f"{where}.direction: {direction!r} is not inbound or outbound")
        confidence = item.get("confidence")
        found.append(
            CloudPassage(
                _time(item.get("time"), f"{where}.time"),
                _req(item, "door", where),
                direction,
                _req(item, "epc", where).upper(),
                _time(item.get("stored_at"), f"{where}.stored_at"),
                _epcs(item.get("cases"), f"{where}.cases"),
                None if confidence is None else _num(confidence, f"{where}.confidence"),
            )
        )
    return found


def parse_zone_events(items: Iterable[Mapping[str, Any]]) -> list[ZoneEvent]:
    """``GET /api/zone-events`` items -> :class:`ZoneEvent`."""
    found = []
    for i, item in enumerate(items):
        where = f"zone-events[{i}]"
        kind = _req(item, "kind", where)
        if kind not in ZONE_KINDS:
            raise ScoreInputError(f"{where}.kind: {kind!r} is not one of {', '.join(ZONE_KINDS)}")
        found.append(
            ZoneEvent(
                _time(item.get("time"), f"{where}.time"),
                kind,
                _req(item, "epc", where).upper(),
                _opt(item, "zone", where),
                _opt(item, "from_zone", where),
                _time(item.get("stored_at"), f"{where}.stored_at"),
            )
        )
    return found


def parse_weights(items: Iterable[Mapping[str, Any]]) -> list[Weight]:
    """``GET /api/weights`` items -> :class:`Weight`."""
    found = []
    for i, item in enumerate(items):
        where = f"weights[{i}]"
        epc = _opt(item, "epc", where)
        found.append(
            Weight(
                _time(item.get("time"), f"{where}.time"),
                _req(item, "scale", where),
                _num(item.get("weight_kg"), f"{where}.weight_kg"),
                epc.upper() if epc else None,
                _time(item.get("stored_at"), f"{where}.stored_at"),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class StockPallet:
    """A pallet in the WMS's stock (``GET /api/pallets``)."""

    epc: str | None
    sscc: str
    sku: str
    lot: str
    zone: str
    state: str
    cases: int


@dataclass(frozen=True, slots=True)
class AlertItem:
    """An alert of the WMS (``GET /api/alerts``) and the pallet it names, if any."""

    id: int
    kind: str
    subject: str
    raised_at: float
    status: str
    pallets: frozenset[str]
    """What in it names a pallet: its subject, ``detail.pallet``, ``detail.epc``
    (upper case)."""


@dataclass(frozen=True, slots=True)
class VarianceItem:
    """A count variance of the WMS (``GET /api/variances``)."""

    id: int
    zone: str
    epc: str
    kind: str
    status: str
    opened_at: float
    book_zone: str | None = None
    heard_zone: str | None = None


@dataclass(frozen=True, slots=True)
class RouteStats:
    """``GET /api/orders/route-stats``: pick routes against the naive order."""

    orders: int
    route_m: float
    naive_route_m: float
    saving: float
    mean_saving: float


def sscc_of(epc: str) -> str | None:
    """The 18-digit SSCC of a pallet's SSCC-96 EPC (hex); None for anything else."""
    try:
        decoded = decode_hex(epc)
    except EPCError:
        return None
    return decoded.sscc if isinstance(decoded, Sscc96) else None


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScoreInputError(f"{where}: {value!r} is not a whole number")
    return value


def parse_pallets(items: Iterable[Mapping[str, Any]]) -> list[StockPallet]:
    """``GET /api/pallets`` items -> :class:`StockPallet`."""
    found = []
    for i, item in enumerate(items):
        where = f"pallets[{i}]"
        epc = _opt(item, "epc", where)
        cases = _int(item.get("cases"), f"{where}.cases")
        found.append(
            StockPallet(
                epc.upper() if epc else None,
                _req(item, "sscc", where),
                _req(item, "sku", where),
                _req(item, "lot", where),
                _req(item, "zone", where),
                _req(item, "state", where),
                cases,
            )
        )
    return found


def parse_alerts(items: Iterable[Mapping[str, Any]]) -> list[AlertItem]:
    """``GET /api/alerts`` items -> :class:`AlertItem`."""
    found = []
    for i, item in enumerate(items):
        where = f"alerts[{i}]"
        detail = item.get("detail")
        if not isinstance(detail, dict):
            raise ScoreInputError(f"{where}.detail: {detail!r:.100} is not an object")
        subject = _req(item, "subject", where)
        named = {subject}
        for key in ("pallet", "epc"):
            value = detail.get(key)
            if isinstance(value, str) and value:
                named.add(value)
        found.append(
            AlertItem(
                _int(item.get("id"), f"{where}.id"),
                _req(item, "kind", where),
                subject,
                _time(item.get("raised_at"), f"{where}.raised_at"),
                _req(item, "status", where),
                frozenset(n.upper() for n in named),
            )
        )
    return found


def parse_variances(items: Iterable[Mapping[str, Any]]) -> list[VarianceItem]:
    """``GET /api/variances`` items -> :class:`VarianceItem`."""
    found = []
    for i, item in enumerate(items):
        where = f"variances[{i}]"
        found.append(
            VarianceItem(
                _int(item.get("id"), f"{where}.id"),
                _req(item, "zone", where),
                _req(item, "epc", where).upper(),
                _req(item, "kind", where),
                _req(item, "status", where),
                _time(item.get("opened_at"), f"{where}.opened_at"),
                _opt(item, "book_zone", where),
                _opt(item, "heard_zone", where),
            )
        )
    return found


def parse_route_stats(item: object) -> RouteStats:
    """The ``GET /api/orders/route-stats`` object -> :class:`RouteStats`."""
    where = "route-stats"
    if not isinstance(item, dict):
        raise ScoreInputError(f"{where}: {item!r:.100} is not an object")
    return RouteStats(
        _int(item.get("orders"), f"{where}.orders"),
        _num(item.get("route_m"), f"{where}.route_m"),
        _num(item.get("naive_route_m"), f"{where}.naive_route_m"),
        _num(item.get("saving"), f"{where}.saving"),
        _num(item.get("mean_saving"), f"{where}.mean_saving"),
    )
