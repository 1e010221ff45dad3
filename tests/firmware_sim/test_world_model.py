"""Pallets, cases, SKUs and lots: GS1-valid EPCs, consistent with each other."""

from __future__ import annotations

import random
from datetime import date

from firmware_sim.world.model import TagIssuer, generated_skus
from protocols.epc import Sgtin96, Sscc96, decode_epc


def test_a_pallet_carries_an_sscc_and_sgtin_cases_of_its_sku_and_lot() -> None:
    rng = random.Random(1)
    (sku,) = generated_skus("0614141", 1, rng, (100, 100))
    issuer = TagIssuer("0614141", next_sscc=41, next_serial=1000)
    lot = issuer.lot(sku, date(2025, 1, 1))
    pallet = issuer.pallet(lot, 5, 25.0, rng)

    sscc = decode_epc(pallet.epc)
    assert isinstance(sscc, Sscc96) and sscc.sscc == pallet.sscc
    assert sscc.serial_reference == "0000000041"
    cases = [decode_epc(e) for e in pallet.case_epcs]
    assert all(isinstance(c, Sgtin96) and c.gtin == sku.gtin for c in cases)
    assert [c.serial for c in cases if isinstance(c, Sgtin96)] == [1000, 1001, 1002, 1003, 1004]
    assert lot.expiry == date(2025, 4, 11) and lot.code.startswith("L250101-")
    assert pallet.gross_kg == round(25.0 + sum(c.weight_kg for c in pallet.cases), 2)
    assert all(abs(c.weight_kg - sku.case_kg) <= sku.case_kg * 0.021 for c in pallet.cases)


def test_issued_epcs_never_repeat() -> None:
    rng = random.Random(2)
    skus = generated_skus("0614141", 3, rng, (30, 60))
    issuer = TagIssuer("0614141")
    epcs: list[str] = []
    for i in range(60):
        pallet = issuer.pallet(issuer.lot(skus[i % 3], date(2025, 1, 1)), 10, 20.0, rng)
        epcs += [pallet.epc, *pallet.case_epcs]
    assert len(epcs) == len(set(epcs)) == 660


def test_generated_skus_have_distinct_valid_gtins() -> None:
    skus = generated_skus("0614141", 40, random.Random(3), (30, 60))
    assert len({s.gtin for s in skus}) == 40
    assert all(len(s.gtin) == 14 and s.gtin.isdigit() for s in skus)
    assert all(
        Sgtin96(company_prefix="0614141", item_reference=s.item_reference, serial=1).gtin == s.gtin
        for s in skus
    )
