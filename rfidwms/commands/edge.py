"""``rfidwms edge``: the edge agent for the readers and scales of one edge id."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import io
import logging
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from edge.agent import EdgeAgent
from edge.settings import EdgeSettings
from protocols.collector import calm_collector
from protocols.layout import LayoutError, load_layout
from protocols.mqtt import redact_url
from protocols.settings import SettingsError, load_settings

log = logging.getLogger("rfidwms.edge")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "edge",
        help="run the edge agent: LLRP readers and MT-SICS scales in, observations and events "
        "(zone events, door passages, weights) out over MQTT",
    )
    p.add_argument("--layout", type=Path, help="layout YAML (default: RFIDWMS_LAYOUT or the demo)")
    p.add_argument("--edge-id", help="this agent's id (default: RFIDWMS_EDGE_ID or edge-1)")
    p.add_argument("--llrp-host", help="host of readers without one in the layout")
    p.add_argument("--llrp-port-base", type=int, help="port of the first reader (default 5084)")
    p.add_argument("--scale-port-base", type=int, help="port of the first scale (default 5184)")
    p.set_defaults(func=run)


STOP_LIMIT_S = 20.0
"""A clean stop (readers, spool, offline status) takes a few seconds; past this, give up."""


class ShutdownWatchdog(threading.Thread):
    """Ends the process if a clean stop hangs, after logging what it was waiting for.
    The spool is crash-safe, so exiting here loses nothing that was read."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit_s: float) -> None:
        super().__init__(name="edge-shutdown-watchdog", daemon=True)
        self._loop = loop
        self._limit = limit_s

    def run(self) -> None:
        time.sleep(self._limit)
        log.error("edge did not stop within %.0f s; pending work follows, then exit", self._limit)
        try:
            self._loop.call_soon_threadsafe(self._log_pending_tasks)
            time.sleep(1.0)
        except RuntimeError:  # the loop closed meanwhile
            pass
        faulthandler.dump_traceback(all_threads=True)
        os._exit(1)

    @staticmethod
    def _log_pending_tasks() -> None:
        for pending in asyncio.all_tasks():
            stack = io.StringIO()
            pending.print_stack(limit=8, file=stack)
            log.error("still pending:\n%s", stack.getvalue())


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(
            EdgeSettings,
            layout=args.layout,
            edge_id=args.edge_id,
            llrp_host=args.llrp_host,
            llrp_port_base=args.llrp_port_base,
            scale_port_base=args.scale_port_base,
        )
        layout = load_layout(settings.layout)
    except (SettingsError, LayoutError) as e:
        log.error("%s", e)
        return 2

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop() -> None:
            if not task.cancelling():
                task.cancel()
                ShutdownWatchdog(loop, STOP_LIMIT_S).start()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        async with EdgeAgent(settings, layout) as agent:
            calm_collector()  # after the start: what it made lives as long as the edge
            log.info(
                "edge %s: %d readers, %d scales, publishing to %s as site %s",
                settings.edge_id,
                len(agent.readers),
                len(agent.scales),
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
