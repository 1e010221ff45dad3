"""``rfidwms kpis``: the warehouse KPIs of a period, read from the cloud API.

    rfidwms kpis --api http://127.0.0.1:8000 --token T --from 2025-03-01T00:00:00Z
    rfidwms kpis --api URL --site dc-1 --json

Asks ``GET /api/kpis`` (definitions: ``docs/kpis.md``) for one site or all sites
(``--site`` left out) over ``[--from, --to)`` (defaults: the 30 days up to now, by the
cloud's clock) and prints one line per KPI: value, unit, and the numerator and
denominator it comes from; ``--json`` prints the API's answer as it came. The token
(role admin, operator or erp): ``--token`` or ``RFIDWMS_TOKEN``. Exit 0; 2 for bad
options; 3 when the API cannot be read (unreachable, an error, the token refused).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from firmware_sim.world.clock import iso_utc
from rfidwms.commands.argtypes import iso_time
from rfidwms.commands.score import ApiError, fetch_one

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "kpis",
        help="print the warehouse KPIs of a period from the cloud API",
        description="The warehouse KPIs of a period (docs/kpis.md), from GET /api/kpis.",
    )
    p.add_argument("--api", required=True, help="the cloud API's base URL")
    p.add_argument(
        "--token", help="the API token (role admin, operator or erp; default: RFIDWMS_TOKEN)"
    )
    p.add_argument("--from", dest="start", type=iso_time, help="start (ISO 8601)")
    p.add_argument("--to", dest="end", type=iso_time, help="end, excluded (ISO 8601)")
    p.add_argument("--site", help="one site (default: all sites)")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")
    p.set_defaults(func=run)


def _number(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def format_kpis(answer: dict[str, Any]) -> str:
    """The answer of ``GET /api/kpis`` as lines a person reads."""
    head = (
        f"KPIs of {answer.get('site') or 'all sites'}, "
        f"from {answer.get('from')} to {answer.get('to')}"
    )
    rows = []
    for k in answer.get("kpis", []):
        value = "n/a" if k.get("value") is None else f"{_number(k['value'])} {k['unit']}"
        ratio = f"{_number(k.get('numerator'))} / {_number(k.get('denominator'))}"
        rows.append((str(k.get("name")), value, ratio))
    width = max((len(r[0]) for r in rows), default=0)
    vwidth = max((len(r[1]) for r in rows), default=0)
    lines = [head] + [f"  {n:<{width}}  {v:>{vwidth}}   ({r})" for n, v, r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.start is not None and args.end is not None and args.end <= args.start:
        log.error("--to (%s) is not after --from (%s)", iso_utc(args.end), iso_utc(args.start))
        return 2
    params = {
        name: value
        for name, value in (
            ("site", args.site),
            ("from", iso_utc(args.start) if args.start is not None else None),
            ("to", iso_utc(args.end) if args.end is not None else None),
        )
        if value is not None
    }
    token = args.token or os.environ.get("RFIDWMS_TOKEN") or None
    try:
        answer = fetch_one(args.api, "kpis", token=token, params=params)
    except ApiError as e:
        log.error("the cloud API: %s", e)
        return 3
    if not isinstance(answer, dict) or not isinstance(answer.get("kpis"), list):
        log.error("the cloud API at %s does not serve /api/kpis", args.api)
        return 3
    print(json.dumps(answer, indent=2) if args.json else format_kpis(answer))
    sys.stdout.flush()
    return 0
