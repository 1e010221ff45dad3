"""``rfidwms cloud``: the cloud process — migrations, MQTT ingester, API, live dashboards."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from protocols.mqtt import redact_url

log = logging.getLogger("rfidwms.cloud")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "cloud",
        help="run the cloud: MQTT ingester, REST API, live WebSocket and dashboards",
        description="Settings come from RFIDWMS_* environment variables (RFIDWMS_DATABASE_URL "
        "is required); these options override them.",
    )
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (RFIDWMS_DATABASE_URL)")
    p.add_argument("--http-host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--http-port", type=int, default=None, help="port (default 8080; 0 = any)")
    p.add_argument("--layout", type=Path, default=None, help="layout YAML (default: the demo)")
    p.add_argument(
        "--no-ingest",
        dest="ingest_enabled",
        action="store_false",
        default=None,
        help="an API-only node: no MQTT ingester (RFIDWMS_INGEST_ENABLED=false); its live "
        "feed hears the ingesters' deltas through the broker",
    )
    p.set_defaults(func=run)


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        field = ".".join(str(x) for x in err["loc"])
        env = f"RFIDWMS_{field.upper()}"
        if not field:  # a rule between settings; its message names the variables
            parts.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "missing":
            parts.append(f"{env} is not set")
        else:  # the value may be a URL with a password in it
            value = err.get("input")
            shown = f" (got {redact_url(value)!r:.80})" if isinstance(value, str) else ""
            parts.append(f"{env}: {redact_url(err['msg'])}{shown}")
    return "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    from cloud.settings import CloudSettings
    from cloud.warehouse.sites import SiteError
    from protocols.layout import LayoutError

    overrides = {
        k: v
        for k, v in {
            "database_url": args.database_url,
            "http_host": args.http_host,
            "http_port": args.http_port,
            "layout": args.layout,
            "ingest_enabled": args.ingest_enabled,
        }.items()
        if v is not None
    }
    try:
        settings = CloudSettings(**overrides)
    except ValidationError as e:
        log.error("cloud settings are not valid: %s", _describe(e))
        return 2
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    try:
        sites = settings.load_sites()
    except (LayoutError, SiteError) as e:
        log.error("%s", e)
        return 2
    return asyncio.run(_serve(settings, sites))


async def _serve(settings: Any, sites: Any) -> int:
    from cloud.api.app import create_app
    from cloud.api.server import CloudServer, ServerError
    from cloud.db.migrate import MigrationError, apply_migrations
    from protocols.collector import calm_collector

    try:
        applied = await apply_migrations(settings.database_url)
    except MigrationError as e:
        log.error("%s", e)
        return 1
    if applied:
        log.info(
            "applied %d migration(s): %s", len(applied), ", ".join(m.filename for m in applied)
        )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings, sites=sites)
    try:
        async with CloudServer(
            app,
            settings.http_host,
            settings.http_port,
            ws_compression=settings.http_ws_compression,
        ) as server:
            calm_collector()  # after the start: the app, its models and pools live as long
            log.info(
                "rfidwms cloud for site(s) %s serving %s (live page at /, API docs at /docs)",
                ", ".join(sites.ids),
                server.url,
            )
            waiter = asyncio.create_task(stop.wait())
            stopped = asyncio.create_task(server.wait())
            await asyncio.wait({waiter, stopped}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopped.cancel()
            log.info("rfidwms cloud stopping")
    except ServerError as e:
        log.error("%s", e)
        return 1
    return 0
