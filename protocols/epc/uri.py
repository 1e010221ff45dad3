"""EPC URIs: pure-identity (``urn:epc:id:...``) and tag (``urn:epc:tag:...``) forms."""

from __future__ import annotations

from dataclasses import dataclass

from protocols.epc.errors import EPCSyntaxError
from protocols.epc.fields import parse_filter

PURE_IDENTITY_PREFIX = "urn:epc:id:"
TAG_PREFIX = "urn:epc:tag:"


@dataclass(frozen=True)
class ParsedUri:
    """An EPC URI split into its scheme and dot-separated components.

    ``filter`` is ``None`` for a pure-identity URI; for a tag URI it is the
    filter value and is not repeated in ``components``.
    """

    scheme: str
    filter: int | None
    components: tuple[str, ...]

    @property
    def is_tag_uri(self) -> bool:
        return self.filter is not None


def parse_uri(text: str) -> ParsedUri:
    """Split an EPC URI; the scheme's own codec validates the components."""
    uri = text.strip()
    if uri.startswith(TAG_PREFIX):
        body, is_tag = uri[len(TAG_PREFIX) :], True
    elif uri.startswith(PURE_IDENTITY_PREFIX):
        body, is_tag = uri[len(PURE_IDENTITY_PREFIX) :], False
    else:
        raise EPCSyntaxError(
            f"EPC URI {text!r} does not start with {PURE_IDENTITY_PREFIX!r} or {TAG_PREFIX!r}"
        )
    scheme, colon, rest = body.partition(":")
    if not colon or not scheme:
        raise EPCSyntaxError(f"EPC URI {text!r} has no scheme name followed by ':'")
    components = tuple(rest.split("."))
    if not is_tag:
        return ParsedUri(scheme, None, components)
    if len(components) < 2:
        raise EPCSyntaxError(f"EPC tag URI {text!r} has no filter value before the identity")
    return ParsedUri(scheme, parse_filter(scheme.upper(), components[0]), components[1:])
