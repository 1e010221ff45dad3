"""Validation of single EPC fields, shared by every scheme.

Each helper either returns the value in its canonical form or raises
:class:`~protocols.epc.errors.FieldRangeError` naming the field, the value and
the allowed range.
"""

from __future__ import annotations

from protocols.epc.errors import FieldRangeError
from protocols.epc.partition import COMPANY_PREFIX_DIGITS

FILTER_MAX = 7
"""The filter value is 3 bits wide in every 96-bit scheme."""


def check_int(scheme: str, field: str, value: object, maximum: int) -> int:
    """Return ``value`` if it is an ``int`` in ``0..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise FieldRangeError(field, value, scheme, f"0..{maximum}")
    return value


def check_filter(scheme: str, value: object) -> int:
    """Return a valid 3-bit filter value."""
    return check_int(scheme, "filter", value, FILTER_MAX)


def check_company_prefix_length(scheme: str, value: object) -> int:
    """Return a company prefix length (6..12) given alongside a GS1 key."""
    allowed = COMPANY_PREFIX_DIGITS
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise FieldRangeError(
            "company_prefix_length", value, scheme, f"{allowed.start}..{allowed.stop - 1}"
        )
    return value


def check_digits(scheme: str, field: str, value: object, digits: int, context: str = "") -> str:
    """Return ``value`` if it is a string of exactly ``digits`` decimal digits."""
    if not (isinstance(value, str) and len(value) == digits and (value == "" or _is_digits(value))):
        allowed = f"a string of exactly {digits} digits"
        raise FieldRangeError(field, value, scheme, f"{allowed} {context}".rstrip())
    return value


def parse_integer(scheme: str, field: str, text: str, maximum: int) -> int:
    """Parse a URI integer component: decimal, no leading zeros, at most ``maximum``."""
    if (
        not _is_digits(text)
        or (len(text) > 1 and text[0] == "0")
        or len(text) > len(str(maximum))
        or int(text) > maximum
    ):
        raise FieldRangeError(
            field, text, scheme, f"a decimal integer without leading zeros, 0..{maximum}"
        )
    return int(text)


def parse_filter(scheme: str, text: str) -> int:
    """Parse the filter component of a tag URI."""
    return parse_integer(scheme, "filter", text, FILTER_MAX)


def decode_padded(scheme: str, field: str, value: int, digits: int) -> str:
    """Turn a binary field into its zero-padded digit string of ``digits`` digits."""
    if value >= 10**digits:
        allowed = f"0..{10**digits - 1} ({digits} digits)" if digits else "0 (no digits)"
        raise FieldRangeError(field, value, scheme, allowed)
    return str(value).zfill(digits) if digits else ""


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
