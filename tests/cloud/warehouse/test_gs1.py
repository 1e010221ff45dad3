"""GS1 element strings as scanners send them: raw with FNC1 separators and symbology
identifiers, or in parentheses; check digits, dates and errors naming the AI."""

from __future__ import annotations

from datetime import date

import pytest

from cloud.warehouse.gs1 import GS, Gs1Error, parse_barcode, yymmdd

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
