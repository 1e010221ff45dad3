"""Exceptions raised by the EPC codecs.

Every error is a :class:`ValueError`, so callers that only care about "bad input"
can catch that; callers that care about the reason catch the specific type.
Messages name the field, the offending value and what would have been allowed.
"""

from __future__ import annotations

from collections.abc import Mapping


class EPCError(ValueError):
    """Base class of every EPC encoding or decoding error."""


class EPCSyntaxError(EPCError):
    """The text is not a well-formed hex EPC, EPC URI or GS1 element string."""


class UnknownHeaderError(EPCError):
    """The binary EPC starts with a header byte this codec does not implement."""

    def __init__(self, header: int, supported: Mapping[int, str]) -> None:
        names = ", ".join(f"0x{h:02X} ({name})" for h, name in sorted(supported.items()))
        super().__init__(f"unknown EPC header 0x{header:02X}: supported headers are {names}")
        self.header = header


class UnsupportedSchemeError(EPCError):
    """The URI names an EPC scheme this codec does not implement."""

    def __init__(self, scheme: str, supported: tuple[str, ...]) -> None:
        super().__init__(
            f"unsupported EPC scheme {scheme!r}: supported schemes are {', '.join(supported)}"
        )
        self.scheme = scheme


class FieldRangeError(EPCError):
    """A field value is outside what the scheme (and its partition) can hold."""

    def __init__(self, field: str, value: object, scheme: str, allowed: str) -> None:
        super().__init__(f"{field} {value!r} out of range for {scheme}: {allowed}")
        self.field = field
        self.value = value
        self.scheme = scheme
        self.allowed = allowed


class CheckDigitError(EPCError):
    """A GS1 key carries a check digit that does not match its digits."""

    def __init__(self, field: str, value: str, expected: int) -> None:
        super().__init__(
            f"{field} {value!r} has check digit {value[-1]}: the GS1 check digit is {expected}"
        )
        self.field = field
        self.value = value
        self.expected = expected
