"""``rfidwms broker``: the embedded MQTT broker (amqtt), for machines without Mosquitto."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from rfidwms.embedded import serve_broker


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "broker", help="run the embedded MQTT broker (for machines without Mosquitto)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # amqtt logs every state transition and packet at INFO; keep its warnings only.
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_broker(args.host, args.port, stop)

    asyncio.run(main())
    return 0
