"""The GS1 mod-10 check digit and bracketed element strings."""

from __future__ import annotations

import pytest

from protocols.epc import EPCSyntaxError
from protocols.epc.gs1 import check_digit, parse_element_string


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("8061414112345", 8),  # GTIN-14 of the TDS SGTIN example
        ("10614141234567890", 8),  # SSCC of the TDS SSCC example
        ("400638133393", 1),  # GTIN-13 4006381333931
        ("978030640615", 7),  # ISBN-13 9780306406157
        ("0000000000000", 0),
    ],
)
def test_check_digit(key: str, expected: int) -> None:
    assert check_digit(key) == expected


def test_check_digit_by_hand() -> None:
    # 8061414112345, weights 3,1,3,... from the right:
    # 5*3 + 4 + 3*3 + 2 + 1*3 + 1 + 4*3 + 1 + 4*3 + 1 + 6*3 + 0 + 8*3 = 102 -> 8
    assert check_digit("8061414112345") == (10 - 102 % 10) % 10


def test_element_string_is_split_per_application_identifier() -> None:
    assert parse_element_string("(01)80614141123458(21)6789") == {
        "01": "80614141123458",
        "21": "6789",
    }


@pytest.mark.parametrize("text", ["", "01)123", "(01)123x(21", "x(01)123"])
def test_malformed_element_string(text: str) -> None:
    with pytest.raises(EPCSyntaxError):
        parse_element_string(text)
