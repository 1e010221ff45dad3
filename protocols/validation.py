"""Turning a pydantic validation error into one line that names each bad field."""

from __future__ import annotations

from pydantic import ValidationError


def describe_validation_error(err: ValidationError, source: str, what: str) -> str:
    """``'<source>: invalid <what>: readers[1].port: Input should be … (got 99999)'``."""
    lines = []
    for e in err.errors():
        loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in e["loc"])
        loc = loc.replace(".[", "[")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        value = e.get("input")
        shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
        lines.append(f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}")
    return f"{source}: invalid {what}: " + "; ".join(lines)
