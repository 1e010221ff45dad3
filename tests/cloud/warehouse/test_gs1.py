"""GS1 element strings as scanners send them: raw with FNC1 separators and symbology
identifiers, or in parentheses; check digits, dates and errors naming the AI."""

from __future__ import annotations

from datetime import date

import pytest

from cloud.warehouse.gs1 import GS, Gs1Error, parse_barcode, parse_scan, read_label, yymmdd

TODAY = date(2025, 3, 3)
GTIN = "09506000134352"
SSCC = "106141410000000019"


@pytest.mark.parametrize(
    ("barcode", "expected"),
    [
        # parentheses form
        (f"(01){GTIN}(10)ABC123(17)251231",
         {"gtin": GTIN, "lot": "ABC123", "expiry": date(2025, 12, 31)}),
        # raw GS1-128 with its symbology identifier; a variable field ends at GS
        (f"]C101{GTIN}10ABC123{GS}17251231",
         {"gtin": GTIN, "lot": "ABC123", "expiry": date(2025, 12, 31)}),
        # DataMatrix identifier and a leading FNC1; the lot last needs no GS
        (f"]d2{GS}01{GTIN}17251200" + "10L-7/b",
         {"gtin": GTIN, "lot": "L-7/b", "expiry": date(2025, 12, 31)}),
        # day 00: the month's last day (a leap February)
        (f"01{GTIN}17280200", {"expiry": date(2028, 2, 29)}),
        # a pallet label: SSCC, content, count, lot
        (f"00{SSCC}02{GTIN}3740{GS}10LOT9",
         {"sscc": SSCC, "content": GTIN, "item": GTIN, "count": 40, "lot": "LOT9"}),
        (f"(00){SSCC}", {"sscc": SSCC, "item": None}),
        # a needless GS after a fixed-length value is tolerated
        (f"01{GTIN}{GS}21SER-1", {"gtin": GTIN, "serial": "SER-1"}),
        # dates the WMS does not use are read and checked, kept raw
        (f"(01){GTIN}(15)250600(11)250101", {"gtin": GTIN, "expiry": None}),
        # whitespace around it (a scanner's suffix) is dropped
        (f" (01){GTIN}\r\n", {"gtin": GTIN}),
    ],
)  # fmt: skip
def test_a_barcode_gives_what_its_element_strings_say(barcode, expected):
    data = parse_barcode(barcode, today=TODAY)
    for name, value in expected.items():
        assert getattr(data, name) == value, name


def test_every_element_is_kept_raw():
    data = parse_barcode(f"]C101{GTIN}10ABC{GS}17251231", today=TODAY)
    assert dict(data.elements) == {"01": GTIN, "10": "ABC", "17": "251231"}


@pytest.mark.parametrize(
    ("barcode", "says"),
    [
        (f"01{GTIN[:-1]}3", "AI (01): '09506000134353' has check digit 3, expected 2"),
        (f"(00){SSCC[:-1]}0", "AI (00): '106141410000000010' has check digit 0, expected 9"),
        (f"(02){GTIN[:-1]}1", "AI (02)"),
        (f"01{GTIN[:10]}", "AI (01): '0950600013' is 10 characters, GTIN is 14"),
        (f"(01){GTIN}(17)251301", "AI (17): '251301' has month 13"),
        (f"(01){GTIN}(17)250230", "AI (17): '250230' has day 30; 2025-02 has 28"),
        (f"(01){GTIN}(11)25x101", "AI (11): '25x101' must be digits"),
        (f"(01){GTIN}(37)4a", "AI (37): '4a' must be digits"),
        (f"(01){GTIN}(10)" + "L" * 21, "AI (10): " + repr("L" * 21) + " is longer than 20"),
        (f"(01){GTIN}(10)A B", "AI (10): 'A B' has characters GS1 does not allow"),
        (f"(01){GTIN}(10)", "AI (10): BATCH/LOT is empty"),
        (f"(01){GTIN}(01){GTIN}", "AI (01): appears twice"),
        (f"(01){GTIN}(99)X", "AI (99): not one this parser reads"),
        (f"01{GTIN}99X", "AI (99): not one this parser reads"),
        (f"(01){GTIN}junk", "AI (01): '09506000134352junk' is 18 characters, GTIN is 14"),
        (f"(01){GTIN}(10", "is not a sequence of (AI)value elements"),
        ("]d2", "holds no element string"),
        (f"(00){SSCC}(01){GTIN}", "a pallet label gives its content as (02)"),
    ],
)
def test_a_bad_barcode_is_refused_naming_the_ai_and_value(barcode, says):
    with pytest.raises(Gs1Error) as err:
        parse_barcode(barcode, today=TODAY)
    assert says in str(err.value)


@pytest.mark.parametrize(
    ("today", "value", "expected"),
    [
        (date(2025, 3, 3), "250303", date(2025, 3, 3)),
        (date(2025, 3, 3), "751231", date(2075, 12, 31)),  # 50 ahead: this century
        (date(2025, 3, 3), "760101", date(1976, 1, 1)),  # 51 ahead: the century before
        (date(2099, 6, 1), "490101", date(2149, 1, 1)),  # 50 behind: the century after
        (date(2099, 6, 1), "500101", date(2050, 1, 1)),  # 49 behind: this century
    ],
)
def test_the_century_of_a_two_digit_year_follows_the_gs1_rule(today, value, expected):
    assert yymmdd("17", value, today=today) == expected


# -- what a handheld may scan besides goods labels: locations and EPCs ----------------

GLN = "0614141000005"
PLACES = ("zone-a", "door-1")
SSCC_EPC = "3114257BF43B9ACA01000000"  # SSCC-96 of SSCC, company prefix 0614141
SGTIN_EPC = "30164433400D1EC00000002A"  # SGTIN-96 of GTIN, serial 42
GRAI_EPC = "3314257BF40C0E4000000007"  # GRAI-96: a returnable asset


@pytest.mark.parametrize(
    ("barcode", "kind", "place", "expected"),
    [
        # a location label: the site's GLN, the place in the extension
        (f"(414){GLN}(254)zone-a", "location", "zone-a", {"gln": GLN, "place": "zone-a"}),
        (f"]C1414{GLN}254door-1", "location", "door-1", {"gln": GLN, "place": "door-1"}),
        # a label that is just the place's id (the cheapest location label)
        ("zone-a\r\n", "location", "zone-a", {"gln": None}),
        # pallets: an SSCC, or the 24 hex digits of its SSCC-96 EPC (either case)
        (f"00{SSCC}", "pallet", None, {"sscc": SSCC, "epc": None}),
        (SSCC_EPC, "pallet", None, {"sscc": SSCC, "epc": SSCC_EPC}),
        (SSCC_EPC.lower(), "pallet", None, {"sscc": SSCC, "epc": SSCC_EPC}),
        # items: a GTIN (with a lot), or an SGTIN-96 EPC (its GTIN and serial)
        (f"(01){GTIN}(10)L1", "item", None, {"gtin": GTIN, "lot": "L1"}),
        (SGTIN_EPC, "item", None, {"gtin": GTIN, "serial": "42", "epc": SGTIN_EPC}),
        # 24 digits that are element strings, not an EPC: (01) and a count
        (f"01{GTIN}37123456", "item", None, {"gtin": GTIN, "count": 123456, "epc": None}),
    ],
)
def test_a_handheld_scan_is_a_location_a_pallet_or_an_item(barcode, kind, place, expected):
    label = read_label(barcode, PLACES, today=TODAY)
    assert (label.kind, label.place) == (kind, place)
    assert {k: getattr(label.data, k) for k in expected} == expected


def test_an_epc_scan_keeps_its_elements_as_the_barcode_would():
    assert dict(parse_scan(SGTIN_EPC, today=TODAY).elements) == {"01": GTIN, "21": "42"}
    assert dict(parse_scan(SSCC_EPC, today=TODAY).elements) == {"00": SSCC}


@pytest.mark.parametrize(
    ("barcode", "says"),
    [
        (f"(414){GLN}(254)zone-z", "AI (254): 'zone-z' is not a zone or door of the layout"),
        (f"(414){GLN}", f"AI (254): the location label of GLN {GLN} names no place"),
        (f"(414){GLN[:-1]}9", "AI (414): '0614141000009' has check digit 9, expected 5"),
        (f"(414){GLN[:5]}", "AI (414): '06141' is 5 characters, LOC No. is 13"),
        (GRAI_EPC, "a GRAI-96, not a pallet (SSCC-96) or a case (SGTIN-96)"),
        ("31" + "F" * 22, "EPC '31FFFFFFFFFFFFFFFFFFFFFF'"),
        ("(10)L1(17)251231", "(10), (17) name no pallet (00), item"),
        ("zone", "not one this parser reads"),
    ],
)
def test_a_scan_that_is_no_location_pallet_or_item_is_refused_naming_why(barcode, says):
    with pytest.raises(Gs1Error) as err:
        read_label(barcode, PLACES, today=TODAY)
    assert says in str(err.value)
