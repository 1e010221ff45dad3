"""GS1's EPCIS 2.0 JSON schema as a validator (tests/data/epcis/, with its origin)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from rfc3986_validator import validate_rfc3986

EPCIS_DATA = Path(__file__).resolve().parent / "data" / "epcis"


def _uri(instance: object) -> bool:
    """RFC 3986 URI, or a JSON-LD blank node identifier (``_:document1``): GS1's own
    examples name their documents so, and JSON-LD allows it wherever an ``@id`` goes."""
    if not isinstance(instance, str) or instance.startswith("_:"):
        return True
    return bool(validate_rfc3986(instance, rule="URI"))


@cache
def validator() -> Draft7Validator:
    """Draft-07 as the schema declares, checking formats: ``date-time`` (RFC 3339) and
    ``uri`` (RFC 3986, blank node ids accepted)."""
    schema = json.loads((EPCIS_DATA / "EPCIS-JSON-Schema.json").read_text())
    Draft7Validator.check_schema(schema)
    checker = FormatChecker()
    checker.checks("uri")(_uri)
    return Draft7Validator(schema, format_checker=checker)


def schema_errors(document: Any) -> list[str]:
    """What is wrong with ``document`` by the schema (empty: valid)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(document)
    ]


def gs1_example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EPCIS_DATA / name).read_text())
    return data
