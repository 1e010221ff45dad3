"""GS1 element strings as handheld scanners read them from labels. Pure.

A GS1-128 barcode or a GS1 DataMatrix carries **element strings**: an application
identifier (AI) then its value, e.g. SSCC ``00`` + 18 digits, GTIN ``01`` + 14 digits,
lot ``10`` + up to 20 characters. :func:`parse_barcode` reads the two forms a scanner
sends:

- **raw**: the AIs and values run together; a variable-length value ends at a group
  separator (FNC1, ASCII 29 ``\\x1d``) or at the end. An AIM symbology identifier in
  front (``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR, ``]e0`` GS1 DataBar)
  and a leading FNC1 are dropped;
- **human-readable**: ``(01)09506000134352(10)ABC123(17)251231``.

The AIs read (:data:`AIS`): ``00`` SSCC, ``01`` GTIN, ``02`` GTIN of the trade items
a logistic unit contains, ``10`` lot, ``11``/``13``/``15``/``16``/``17`` dates
(YYMMDD; ``17`` is the expiry; day ``00`` means the month's last day), ``20`` variant,
``21`` serial, ``37`` count of trade items, ``414`` the GLN of a physical location and
``254`` its extension (a location label: ``(414)<the site's GLN>(254)zone-a`` names the
layout's place ``zone-a``). Check digits of ``00``, ``01``, ``02`` and ``414`` are
verified; every error is a :class:`Gs1Error` naming the AI and the value.

:func:`parse_scan` reads what a handheld may send besides: the 24 hex digits of a
96-bit EPC (an RFID-enabled scanner, or a tag's printed EPC), SSCC-96 as its ``00``,
SGTIN-96 as its ``01`` and ``21``.

The century of a YYMMDD date follows the GS1 General Specifications (7.12): from the
year ``today`` is in, a two-digit year 51 or more years ahead belongs to the century
before, 50 or more years behind to the century after.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from protocols.epc import EPCError, Sgtin96, Sscc96, check_digit, decode_hex
from protocols.epc.decode import BY_HEADER

GS = "\x1d"
"""The group separator a scanner sends for FNC1."""
SYMBOLOGY_IDS = ("]C1", "]d2", "]Q3", "]e0", "]J1")
"""AIM symbology identifiers of GS1 symbols (GS1-128, DataMatrix, QR, DataBar, DotCode)."""


class Gs1Error(ValueError):
    """A barcode that is not a GS1 element string this parser reads; names AI and value."""


@dataclass(frozen=True, slots=True)
class Ai:
    code: str
    title: str
    length: int
    """The value's length when ``fixed``, else its maximum."""
    fixed: bool
    numeric: bool


AIS: MappingProxyType[str, Ai] = MappingProxyType(
    {
        a.code: a
        for a in (
            Ai("00", "SSCC", 18, True, True),
            Ai("01", "GTIN", 14, True, True),
            Ai("02", "CONTENT", 14, True, True),
            Ai("10", "BATCH/LOT", 20, False, False),
            Ai("11", "PROD DATE", 6, True, True),
            Ai("13", "PACK DATE", 6, True, True),
            Ai("15", "BEST BEFORE", 6, True, True),
            Ai("16", "SELL BY", 6, True, True),
            Ai("17", "USE BY", 6, True, True),
            Ai("20", "VARIANT", 2, True, True),
            Ai("21", "SERIAL", 20, False, False),
            Ai("37", "COUNT", 8, False, True),
            Ai("254", "GLN EXTENSION", 20, False, False),
            Ai("414", "LOC No.", 13, True, True),
        )
    }
)
"""The application identifiers read, by code."""

_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$")
_PAREN = re.compile(r"\((\d{2,4})\)([^()]*)")
_DATE_AIS = frozenset({"11", "13", "15", "16", "17"})
_KEYS = frozenset({"00", "01", "02", "414"})


@dataclass(frozen=True, slots=True)
class Gs1Data:
    """What a barcode says, by meaning; ``elements`` holds every AI's raw value."""

    elements: MappingProxyType[str, str]
    sscc: str | None = None
    gtin: str | None = None
    content: str | None = None
    """AI 02: the GTIN of the trade items a logistic unit (pallet) contains."""
    lot: str | None = None
    expiry: date | None = None
    """AI 17."""
    count: int | None = None
    """AI 37: trade items (cases) in the logistic unit."""
    serial: str | None = None
    gln: str | None = None
    """AI 414: the GLN of a physical location."""
    place: str | None = None
    """AI 254: the location's extension, the layout's place id on our labels."""
    epc: str | None = None
    """The EPC (24 hex digits, upper case) the scan was, when it was one."""

    @property
    def item(self) -> str | None:
        """The item the barcode names: its GTIN (01), else the content GTIN (02)."""
        return self.gtin or self.content

    @property
    def is_location(self) -> bool:
        """A location label: a (414) GLN and nothing about goods."""
        return self.gln is not None and not (self.sscc or self.item or self.lot)


def parse_barcode(barcode: str, *, today: date) -> Gs1Data:
    """The element strings of ``barcode`` (module doc); :class:`Gs1Error` naming the AI
    and value for anything else. ``today`` dates YYMMDD values (GS1 century rule)."""
    text = barcode.strip(" \r\n\t")
    for sid in SYMBOLOGY_IDS:
        if text.startswith(sid):
            text = text[len(sid) :]
            break
    if not text.strip(GS):
        raise Gs1Error(f"barcode: {barcode!r} holds no element string")
    pairs = _parenthesised(text) if text.startswith("(") else _raw(text.lstrip(GS))
    elements: dict[str, str] = {}
    for ai, value in pairs:
        if ai in elements:
            raise Gs1Error(f"AI ({ai}): appears twice ({elements[ai]!r} and {value!r})")
        elements[ai] = _checked(ai, value)
    data = _meaning(elements, today)
    if data.sscc is not None and data.gtin is not None:
        raise Gs1Error(
            f"AI (01): {data.gtin!r} names a trade item, (00) {data.sscc!r} a logistic unit; "
            "a pallet label gives its content as (02)"
        )
    return data


_EPC_HEX = re.compile(r"^[0-9A-Fa-f]{24}$")
_EPC_HEADERS = frozenset(f"{h:02X}" for h in BY_HEADER)
"""The first two hex digits of the EPCs decoded (30 SGTIN-96, 31 SSCC-96, ...): none is
an AI read here, so 24 such characters are an EPC, never element strings."""


def parse_scan(barcode: str, *, today: date) -> Gs1Data:
    """A barcode (:func:`parse_barcode`) or the 24 hex digits of an SSCC-96 or SGTIN-96
    EPC; :class:`Gs1Error` naming what is wrong with either."""
    text = barcode.strip(" \r\n\t")
    if not (_EPC_HEX.match(text) and text[:2] in _EPC_HEADERS):
        return parse_barcode(barcode, today=today)
    try:
        tag = decode_hex(text)
    except EPCError as e:
        raise Gs1Error(f"EPC {text!r}: {e}") from None
    epc = text.upper()
    if isinstance(tag, Sscc96):
        return Gs1Data(MappingProxyType({"00": tag.sscc}), sscc=tag.sscc, epc=epc)
    if isinstance(tag, Sgtin96):
        serial = str(tag.serial)
        elements = MappingProxyType({"01": tag.gtin, "21": serial})
        return Gs1Data(elements, gtin=tag.gtin, serial=serial, epc=epc)
    raise Gs1Error(f"EPC {text!r}: a {tag.NAME}, not a pallet (SSCC-96) or a case (SGTIN-96)")


def place_of(data: Gs1Data, places: Collection[str]) -> str:
    """The place (zone or door of ``places``) a location label names by its (254).
    The (414) GLN is read but not matched: a layout gives its places no GLN yet."""
    if data.place is None:
        raise Gs1Error(
            f"AI (254): the location label of GLN {data.gln} names no place; ours give the "
            "zone or door in (254)"
        )
    if data.place not in places:
        raise Gs1Error(
            f"AI (254): {data.place!r} is not a zone or door of the layout "
            f"({', '.join(sorted(places))})"
        )
    return data.place


LabelKind = Literal["location", "pallet", "item"]


@dataclass(frozen=True, slots=True)
class Label:
    """What a handheld scanned: a location (``place``), a pallet or an item."""

    kind: LabelKind
    data: Gs1Data
    place: str | None = None


def read_label(barcode: str, places: Collection[str], *, today: date) -> Label:
    """What ``barcode`` is, without applying it: a location (a location label, or a
    label that is just the place's id, e.g. ``zone-a``), a pallet (an SSCC, or SSCC-96
    EPC) or an item (a GTIN, or SGTIN-96 EPC); :class:`Gs1Error` naming what is wrong."""
    text = barcode.strip(" \r\n\t")
    if text in places:
        return Label("location", Gs1Data(MappingProxyType({})), text)
    data = parse_scan(barcode, today=today)
    if data.is_location:
        return Label("location", data, place_of(data, places))
    if data.sscc is not None:
        return Label("pallet", data)
    if data.item is not None:
        return Label("item", data)
    raise Gs1Error(
        f"barcode: {', '.join(f'({k})' for k in data.elements)} name no pallet (00), item"
        " ((01) or (02)) or location ((414) with (254))"
    )


def _ai_at(text: str, i: int) -> Ai:
    for n in (2, 3, 4):
        ai = AIS.get(text[i : i + n])
        if ai is not None:
            return ai
    raise Gs1Error(
        f"AI ({text[i : i + 2]}): not one this parser reads (at {text[i : i + 12]!r}); "
        f"known: {', '.join(f'({c})' for c in AIS)}"
    )


def _raw(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ai = _ai_at(text, i)
        i += len(ai.code)
        if ai.fixed:
            value = text[i : i + ai.length]
            i += ai.length
            if len(value) != ai.length or GS in value:
                raise Gs1Error(
                    f"AI ({ai.code}): {value.split(GS)[0]!r} is {len(value.split(GS)[0])} "
                    f"characters, {ai.title} is {ai.length}"
                )
            if i < len(text) and text[i] == GS:  # a needless separator after a fixed value
                i += 1
        else:
            end = text.find(GS, i)
            end = len(text) if end < 0 else end
            value = text[i:end]
            i = end + 1
        out.append((ai.code, value))
    return out


def _parenthesised(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _PAREN.finditer(text):
        if m.start() != pos:
            break
        if m.group(1) not in AIS:
            raise Gs1Error(
                f"AI ({m.group(1)}): not one this parser reads; "
                f"known: {', '.join(f'({c})' for c in AIS)}"
            )
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    if not out or pos != len(text):
        raise Gs1Error(f"barcode: {text!r} is not a sequence of (AI)value elements")
    return out


def _checked(code: str, value: str) -> str:
    ai = AIS[code]
    if not value:
        raise Gs1Error(f"AI ({code}): {ai.title} is empty")
    if ai.fixed and len(value) != ai.length:
        raise Gs1Error(
            f"AI ({code}): {value!r} is {len(value)} characters, {ai.title} is {ai.length}"
        )
    if not ai.fixed and len(value) > ai.length:
        raise Gs1Error(f"AI ({code}): {value!r} is longer than {ai.length} characters")
    if ai.numeric and not (value.isascii() and value.isdigit()):
        raise Gs1Error(f"AI ({code}): {value!r} must be digits ({ai.title})")
    if not ai.numeric and not _CSET82.match(value):
        raise Gs1Error(f"AI ({code}): {value!r} has characters GS1 does not allow")
    if code in _KEYS and int(value[-1]) != check_digit(value[:-1]):
        raise Gs1Error(
            f"AI ({code}): {value!r} has check digit {value[-1]}, "
            f"expected {check_digit(value[:-1])} ({ai.title})"
        )
    return value


def yymmdd(code: str, value: str, *, today: date) -> date:
    """A GS1 YYMMDD date (day 00: the month's last day), century by the GS1 rule."""
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:6])
    diff = yy - today.year % 100
    century = today.year - today.year % 100
    if diff >= 51:
        century -= 100
    elif diff <= -50:
        century += 100
    year = century + yy
    if not 1 <= mm <= 12:
        raise Gs1Error(f"AI ({code}): {value!r} has month {mm:02d}")
    last = calendar.monthrange(year, mm)[1]
    if dd == 0:
        dd = last
    if dd > last:
        raise Gs1Error(f"AI ({code}): {value!r} has day {dd:02d}; {year}-{mm:02d} has {last}")
    return date(year, mm, dd)


def _meaning(elements: dict[str, str], today: date) -> Gs1Data:
    for code in _DATE_AIS & elements.keys():
        yymmdd(code, elements[code], today=today)  # every date must be a date
    count = elements.get("37")
    return Gs1Data(
        elements=MappingProxyType(dict(elements)),
        sscc=elements.get("00"),
        gtin=elements.get("01"),
        content=elements.get("02"),
        lot=elements.get("10"),
        expiry=yymmdd("17", elements["17"], today=today) if "17" in elements else None,
        count=int(count) if count is not None else None,
        serial=elements.get("21"),
        gln=elements.get("414"),
        place=elements.get("254"),
    )
