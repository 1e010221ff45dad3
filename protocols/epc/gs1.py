"""GS1 keys: the mod-10 check digit and bracketed element strings like ``(01)...(21)...``."""

from __future__ import annotations

import re

from protocols.epc.errors import CheckDigitError, EPCSyntaxError

_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]*)")


def check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of ``digits`` (the key without its check digit).

    Weights 3 and 1 alternate from the rightmost digit, which weighs 3.
    """
    if not (digits.isascii() and digits.isdigit()):
        raise EPCSyntaxError(f"GS1 key {digits!r} must be decimal digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def with_check_digit(digits: str) -> str:
    """``digits`` followed by its check digit."""
    return f"{digits}{check_digit(digits)}"


def verify_check_digit(field: str, key: str) -> str:
    """Return ``key`` if its last digit is the check digit of the others."""
    if len(key) < 2 or not (key.isascii() and key.isdigit()):
        raise EPCSyntaxError(f"{field} {key!r} must be decimal digits ending in a check digit")
    expected = check_digit(key[:-1])
    if int(key[-1]) != expected:
        raise CheckDigitError(field, key, expected)
    return key


def parse_element_string(text: str) -> dict[str, str]:
    """Split ``(01)80614141123458(21)6789`` into ``{"01": "80614141123458", "21": "6789"}``."""
    source = text.strip()
    elements: dict[str, str] = {}
    position = 0
    for match in _ELEMENT.finditer(source):
        if match.start() != position:
            break
        ai, value = match.group(1), match.group(2)
        if ai in elements:
            raise EPCSyntaxError(f"GS1 element string {text!r} repeats AI ({ai})")
        elements[ai] = value
        position = match.end()
    if not elements or position != len(source):
        raise EPCSyntaxError(f"GS1 element string {text!r} is not a sequence of (AI)value elements")
    return elements


def expect_elements(text: str, required: tuple[str, ...]) -> dict[str, str]:
    """Parse ``text`` and insist on exactly the application identifiers ``required``."""
    elements = parse_element_string(text)
    if tuple(elements) != required:
        wanted = "".join(f"({ai})" for ai in required)
        found = "".join(f"({ai})" for ai in elements)
        raise EPCSyntaxError(f"GS1 element string {text!r} has AIs {found}, expected {wanted}")
    return elements
