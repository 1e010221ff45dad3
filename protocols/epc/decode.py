"""Decode any supported EPC from hex, bytes, a URI or a GS1 element string."""

from __future__ import annotations

from protocols.epc.epc96 import EPC_BITS, HEX_DIGITS, parse_hex
from protocols.epc.errors import EPCSyntaxError, UnknownHeaderError, UnsupportedSchemeError
from protocols.epc.giai import Giai96
from protocols.epc.grai import Grai96
from protocols.epc.gs1 import parse_element_string
from protocols.epc.sgtin import Sgtin96
from protocols.epc.sscc import Sscc96
from protocols.epc.uri import parse_uri

AnyEpc = Sgtin96 | Sscc96 | Grai96 | Giai96
"""Every EPC type this package decodes."""

SCHEMES: tuple[type[AnyEpc], ...] = (Sgtin96, Sscc96, Grai96, Giai96)
BY_HEADER: dict[int, type[AnyEpc]] = {cls.HEADER: cls for cls in SCHEMES}
BY_URI_SCHEME: dict[str, type[AnyEpc]] = {
    name: cls for cls in SCHEMES for name in (cls.SCHEME, cls.TAG_SCHEME)
}
BY_FIRST_AI: dict[str, type[AnyEpc]] = {
    "01": Sgtin96,
    "00": Sscc96,
    "8003": Grai96,
    "8004": Giai96,
}


def decode_int(value: int) -> AnyEpc:
    """Decode a 96-bit EPC given as an integer, dispatching on its header byte."""
    if not 0 <= value < 1 << EPC_BITS:
        raise EPCSyntaxError(f"EPC value {value!r} is not a 96-bit unsigned integer")
    header = value >> (EPC_BITS - 8)
    cls = BY_HEADER.get(header)
    if cls is None:
        raise UnknownHeaderError(header, {h: c.NAME for h, c in BY_HEADER.items()})
    return cls.from_int(value)


def decode_hex(text: str) -> AnyEpc:
    """Decode 24 hex digits, as a reader reports an EPC."""
    return decode_int(parse_hex(text))


def decode_bytes(data: bytes) -> AnyEpc:
    """Decode the 12 bytes of an EPC bank (after PC bits)."""
    if len(data) != EPC_BITS // 8:
        raise EPCSyntaxError(f"EPC is {len(data)} bytes, a 96-bit EPC is {EPC_BITS // 8}")
    return decode_int(int.from_bytes(data, "big"))


def decode_uri(uri: str, *, filter: int = 0) -> AnyEpc:
    """Decode a pure-identity or tag URI; ``filter`` is used when the URI has none."""
    parsed = parse_uri(uri)
    cls = BY_URI_SCHEME.get(parsed.scheme)
    if cls is None:
        kind = "tag" if parsed.is_tag_uri else "id"
        supported = tuple(c.TAG_SCHEME if parsed.is_tag_uri else c.SCHEME for c in SCHEMES)
        raise UnsupportedSchemeError(f"urn:epc:{kind}:{parsed.scheme}", supported)
    if parsed.is_tag_uri != (parsed.scheme == cls.TAG_SCHEME):
        expected = cls.TAG_SCHEME if parsed.is_tag_uri else cls.SCHEME
        raise EPCSyntaxError(
            f"EPC URI {uri!r} uses scheme {parsed.scheme!r} where {expected!r} belongs"
        )
    chosen = filter if parsed.filter is None else parsed.filter
    return cls.from_uri_parts(parsed.components, filter=chosen, uri=uri)


def decode_element_string(text: str, *, company_prefix_length: int, filter: int = 0) -> AnyEpc:
    """Decode ``(01)..(21)..``, ``(00)..``, ``(8003)..`` or ``(8004)..``.

    An element string does not say how long its company prefix is, nor which
    filter value the tag should carry, so the caller does.
    """
    first_ai = next(iter(parse_element_string(text)))
    cls = BY_FIRST_AI.get(first_ai)
    if cls is None:
        supported = ", ".join(f"({ai})" for ai in BY_FIRST_AI)
        raise EPCSyntaxError(
            f"GS1 element string {text!r} starts with AI ({first_ai}): supported are {supported}"
        )
    return cls.from_element_string(text, company_prefix_length=company_prefix_length, filter=filter)


def decode_epc(epc: str | bytes | int, *, filter: int = 0) -> AnyEpc:
    """Decode an EPC from 24 hex digits, 12 bytes, an int, or an EPC URI.

    ``filter`` is only used for a pure-identity URI, which carries no filter.
    """
    if isinstance(epc, bytes):
        return decode_bytes(epc)
    if isinstance(epc, int):
        return decode_int(epc)
    text = epc.strip()
    if text.startswith("urn:"):
        return decode_uri(text, filter=filter)
    if text.startswith("("):
        raise EPCSyntaxError(
            f"{epc!r} is a GS1 element string: decode it with decode_element_string() and "
            "the company prefix length"
        )
    try:
        value = parse_hex(text)
    except EPCSyntaxError:
        raise EPCSyntaxError(
            f"EPC {epc!r} is neither {HEX_DIGITS} hex digits nor an urn:epc:id:/urn:epc:tag: URI"
        ) from None
    return decode_int(value)
