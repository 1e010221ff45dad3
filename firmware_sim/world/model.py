"""What moves through the simulated warehouse: SKUs, lots, cases and pallets.

A pallet carries one SSCC-96 tag and a number of cases of one SKU and one lot,
each with its own SGTIN-96 tag. EPCs are issued by a :class:`TagIssuer` from
counters, so the same scenario and seed always tag the same goods the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from protocols.epc import Sgtin96, Sscc96, check_digit

__all__ = ["Case", "Lot", "Pallet", "Sku", "TagIssuer", "generated_skus"]

_PRODUCTS = (
    "Sparkling water 24x0.5 L",
    "Orange juice 12x1 L",
    "Pasta fusilli 20x500 g",
    "Tomato passata 12x700 g",
    "Olive oil 6x1 L",
    "Coffee beans 10x1 kg",
    "Rice basmati 10x1 kg",
    "Dish soap 12x750 ml",
    "Laundry powder 4x5 kg",
    "Paper towels 8x6 rolls",
    "Canned beans 24x400 g",
    "Breakfast cereal 12x375 g",
    "Sunflower oil 12x1 L",
    "Flour 10x1 kg",
    "Sugar 10x1 kg",
    "Tea bags 12x100",
)


@dataclass(frozen=True, slots=True)
class Sku:
    """A trade item, identified by its GTIN; ``item_reference`` as in SGTIN-96."""

    company_prefix: str
    item_reference: str
    name: str
    case_kg: float
    shelf_life_days: int

    @property
    def gtin(self) -> str:
        """The GTIN-14 (indicator digit, company prefix, item, check digit)."""
        body = self.item_reference[:1] + self.company_prefix + self.item_reference[1:]
        return body + str(check_digit(body))


@dataclass(frozen=True, slots=True)
class Lot:
    sku: Sku
    code: str
    expiry: date


@dataclass(frozen=True, slots=True)
class Case:
    epc: str
    """SGTIN-96 as upper-case hex."""
    serial: int
    weight_kg: float


@dataclass(frozen=True, slots=True)
class Pallet:
    """A pallet and its load. ``epc`` is the SSCC-96 as upper-case hex."""

    epc: str
    sscc: str
    """The 18-digit SSCC (check digit included)."""
    lot: Lot
    cases: tuple[Case, ...]
    tare_kg: float

    @property
    def sku(self) -> Sku:
        return self.lot.sku

    @property
    def gross_kg(self) -> float:
        """What the pallet weighs on a scale: the pallet itself plus every case."""
        return round(self.tare_kg + sum(c.weight_kg for c in self.cases), 2)

    @property
    def case_epcs(self) -> list[str]:
        return [c.epc for c in self.cases]

    def without_case(self, epc: str) -> tuple[Pallet, Pallet]:
        """The pallet with case ``epc`` taken off, and that case as a load of its own:
        a "pallet" whose only tag is the case's (its EPC is the case's, no SSCC, no
        cases; it weighs what the case weighs)."""
        case = next((c for c in self.cases if c.epc == epc), None)
        if case is None:
            raise ValueError(f"case {epc} is not on pallet {self.epc}")
        kept = tuple(c for c in self.cases if c != case)
        rest = Pallet(self.epc, self.sscc, self.lot, kept, self.tare_kg)
        return rest, Pallet(case.epc, "", self.lot, (), case.weight_kg)


def generated_skus(
    company_prefix: str, count: int, rng: random.Random, shelf_life_days: tuple[int, int]
) -> list[Sku]:
    """``count`` plausible SKUs of one company, item references ``1xxxxx``-style."""
    digits = 13 - len(company_prefix) - 1  # item reference after the indicator digit
    skus = []
    for i in range(count):
        name = _PRODUCTS[i % len(_PRODUCTS)]
        if i >= len(_PRODUCTS):
            name = f"{name} (variant {i // len(_PRODUCTS) + 1})"
        skus.append(
            Sku(
                company_prefix=company_prefix,
                item_reference="1" + str(10 + i).zfill(digits)[-digits:] if digits > 0 else "1",
                name=name,
                case_kg=round(rng.uniform(4.0, 22.0), 1),
                shelf_life_days=rng.randint(*shelf_life_days),
            )
        )
    return skus


@dataclass
class TagIssuer:
    """Hands out EPCs and lot codes from counters (deterministic for a seed)."""

    company_prefix: str
    next_sscc: int = 1
    next_serial: int = 1
    next_lot: int = 1
    _digits: int = field(init=False)

    def __post_init__(self) -> None:
        self._digits = 17 - len(self.company_prefix) - 1  # SSCC serial after the extension digit

    def lot(self, sku: Sku, produced: date) -> Lot:
        code = f"L{produced:%y%m%d}-{self.next_lot:04d}"
        self.next_lot += 1
        return Lot(sku=sku, code=code, expiry=produced + timedelta(days=sku.shelf_life_days))

    def pallet(self, lot: Lot, case_count: int, tare_kg: float, rng: random.Random) -> Pallet:
        serial_reference = "0" + str(self.next_sscc % 10**self._digits).zfill(self._digits)
        self.next_sscc += 1
        sscc = Sscc96(company_prefix=self.company_prefix, serial_reference=serial_reference)
        cases = []
        for _ in range(case_count):
            tag = Sgtin96(
                company_prefix=lot.sku.company_prefix,
                item_reference=lot.sku.item_reference,
                serial=self.next_serial,
                filter=2,  # GS1 filter "full case for transport"
            )
            weight = round(lot.sku.case_kg * rng.uniform(0.98, 1.02), 2)
            cases.append(Case(epc=tag.to_hex(), serial=self.next_serial, weight_kg=weight))
            self.next_serial += 1
        return Pallet(
            epc=sscc.to_hex(), sscc=sscc.sscc, lot=lot, cases=tuple(cases), tare_kg=tare_kg
        )
