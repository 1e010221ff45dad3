"""The ``rfidwms`` command line: one sub-command per process or tool.

Each command lives in ``rfidwms.commands.<name>`` and offers ``add_parser``;
the parser it adds sets ``func``, which returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

COMMANDS = ("demo", "broker", "edge", "epc", "cloud", "sim", "score", "users", "kpis")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfidwms",
        description="Real-time RFID warehouse management: simulator, edge agent, cloud, demo.",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        help="DEBUG, INFO, WARNING or ERROR (default: RFIDWMS_LOG_LEVEL or INFO)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"rfidwms.commands.{name}").add_parser(sub)
    return parser


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def setup_logging(level: str | None) -> None:
    """Log to stderr at ``level`` (the --log-level option, else RFIDWMS_LOG_LEVEL, else INFO)."""
    import os

    name = "--log-level" if level else "RFIDWMS_LOG_LEVEL"
    chosen = (level or os.environ.get("RFIDWMS_LOG_LEVEL") or "INFO").upper()
    if chosen not in LOG_LEVELS:
        print(f"rfidwms: {name}: {chosen!r} is not one of {', '.join(LOG_LEVELS)}", file=sys.stderr)
        raise SystemExit(2)
    logging.basicConfig(
        level=getattr(logging, chosen),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _terminate(_signum: int, _frame: object) -> None:
    raise SystemExit(0)  # asked to stop before the command could start: a clean stop


def main(argv: Sequence[str] | None = None) -> int:
    # Until a command installs its own handlers, SIGTERM ends the process like Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        setup_logging(args.log_level)
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
