"""``rfidwms edge``: the edge agent for the readers of one edge id."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
from pathlib import Path
from typing import Any

from edge.agent import EdgeAgent
from edge.settings import EdgeSettings
from protocols.layout import LayoutError, load_layout
from protocols.mqtt import redact_url
from protocols.settings import SettingsError, load_settings

log = logging.getLogger("rfidwms.edge")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "edge", help="run the edge agent: LLRP readers in (sllurp), observations out (MQTT)"
    )
    p.add_argument("--layout", type=Path, help="layout YAML (default: RFIDWMS_LAYOUT or the demo)")
    p.add_argument("--edge-id", help="this agent's id (default: RFIDWMS_EDGE_ID or edge-1)")
    p.add_argument("--llrp-host", help="host of readers without one in the layout")
    p.add_argument("--llrp-port-base", type=int, help="port of the first reader (default 5084)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(
            EdgeSettings,
            layout=args.layout,
            edge_id=args.edge_id,
            llrp_host=args.llrp_host,
            llrp_port_base=args.llrp_port_base,
        )
        layout = load_layout(settings.layout)
    except (SettingsError, LayoutError) as e:
        log.error("%s", e)
        return 2

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        async with EdgeAgent(settings, layout) as agent:
            log.info(
                "edge %s: %d readers, publishing to %s as site %s",
                settings.edge_id,
                len(agent.readers),
                redact_url(settings.mqtt_url),
                settings.site,
            )
            try:
                await agent.run()
            except asyncio.CancelledError:
                log.info("edge %s: stopping", settings.edge_id)

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        pass
    except (OSError, sqlite3.Error) as e:
        log.error(
            "edge %s: cannot open the spool in %s: %s", settings.edge_id, settings.spool_dir, e
        )
        return 2
    return 0
