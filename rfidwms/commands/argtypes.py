"""Command-line value types the sub-commands share: each names what is wrong."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from firmware_sim.world import Fault, FaultError, parse_duration, parse_fault, parse_iso_utc


def iso_time(text: str) -> float:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) as Unix seconds."""
    try:
        return parse_iso_utc(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time") from None


def duration(name: str, *, zero_ok: bool = False) -> Callable[[str], float]:
    """A duration (``60``, ``90s``, ``10m``) in seconds: more than 0, or at least 0."""

    def parse(text: str) -> float:
        try:
            value = parse_duration(text, name)
        except FaultError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if zero_ok and value < 0:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} must not be negative")
        if not zero_ok and value <= 0:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} must be more than 0")
        return value

    return parse


def fault(text: str) -> Fault:
    """A device fault in the simulator's syntax (``reader-door-2:silent@30s+1m``)."""
    try:
        return parse_fault(text)
    except FaultError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """``parse`` as a check only: the text itself is kept (to hand on to a child process)."""

    def check(text: str) -> str:
        parse(text)
        return text

    return check
