"""The FastAPI application of the cloud: REST API, live WebSocket, dashboards.

``create_app(settings)`` builds it; its lifespan opens the database pool, seeds
the live hub from the database and runs the MQTT ingester. The database must
already be migrated (:func:`cloud.db.migrate.apply_migrations`; ``rfidwms cloud``
does it before serving).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import psycopg
import psycopg_pool
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

import dashboards
from cloud.api import auth, dead_letters, events, live, routes, users
from cloud.api.state import CloudState
from cloud.db import events as events_db
from cloud.db import queries
from cloud.db.pool import Pool, open_pool
from cloud.db.retention import ObservationPruner
from cloud.ingest.ingester import Ingester
from cloud.live.hub import LiveHub
from cloud.settings import CloudSettings
from protocols.layout import Layout, load_layout

log = logging.getLogger(__name__)

LIVE_PAGE_DIR = Path(dashboards.__file__).parent / "live"


async def _seed(hub: LiveHub, pool: Pool, settings: CloudSettings) -> None:
    try:
        async with pool.connection(timeout=settings.db_timeout_s) as conn:
            hub.seed(
                reads=await queries.recent_reads(conn, settings.live_recent_reads),
                locations=await queries.latest_locations(conn, settings.live_tag_locations),
                readers=await queries.recent_reader_statuses(conn, settings.live_max_readers),
                edges=await queries.recent_edge_states(conn, settings.live_max_readers),
                passages=await events_db.recent_passages(conn, settings.live_recent_reads),
                places=await events_db.latest_places(conn, settings.live_tag_locations),
            )
    except psycopg.Error as e:
        log.warning("live view starts empty: cannot read it from the database: %s", e)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 for a request the database could not serve (down, or no free connection)."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        detail = f"database unavailable: no connection within the pool timeout ({exc})"
    else:
        detail = f"database unavailable: {' '.join(str(exc).split()) or type(exc).__name__}"
    log.warning("%s %s: %s", request.method, request.url.path, detail)
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})


def create_app(
    settings: CloudSettings, *, layout: Layout | None = None, ingest: bool = True
) -> FastAPI:
    """The cloud app for ``settings``; ``layout`` defaults to ``settings.layout`` (or the
    bundled demo). ``ingest=False`` makes an API-only node (no MQTT ingester)."""
    site_layout = layout if layout is not None else load_layout(settings.layout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await stack.enter_async_context(
                open_pool(
                    settings.database_url,
                    max_size=settings.db_pool_max,
                    timeout=settings.db_timeout_s,
                    name="rfidwms-api",
                )
            )
            hub = LiveHub(
                buffer=settings.live_buffer,
                buffer_bytes=settings.live_buffer_bytes,
                client_queue=settings.live_client_queue,
                recent_reads=settings.live_recent_reads,
                tag_locations=settings.live_tag_locations,
                max_readers=settings.live_max_readers,
            )
            await _seed(hub, pool, settings)
            ingester: Ingester | None = None
            if ingest:  # its own pool: a burst of API requests cannot starve ingest
                ingest_pool = await stack.enter_async_context(
                    open_pool(
                        settings.database_url,
                        max_size=settings.ingest_pool_max,
                        timeout=settings.db_timeout_s,
                        name="rfidwms-ingest",
                    )
                )
                ingester = Ingester(settings, ingest_pool, hub, layout=site_layout)
            app.state.cloud = CloudState(settings, site_layout, pool, hub, ingester)
            if ingester is not None:
                await stack.enter_async_context(ingester)
                await stack.enter_async_context(
                    ObservationPruner(
                        ingest_pool,
                        settings.observations_retention,
                        clock=settings.now_clock(),
                    )
                )
            yield
            log.info("cloud app stopping")

    app = FastAPIOffline(  # /docs and /redoc served from the package, no CDN
        title="rfidwms cloud",
        version="1",
        summary="RFID warehouse management: tag reads, tag locations, reader fleet, live feed.",
        lifespan=lifespan,
        dependencies=[Depends(auth.authorize)],  # every route: its role policy, token
    )
    auth.install(app)
    # PoolTimeout is an OperationalError: both mean the database cannot serve now
    app.add_exception_handler(psycopg.OperationalError, database_unavailable)
    app.include_router(routes.router)
    app.include_router(dead_letters.router)
    app.include_router(events.router)
    app.include_router(live.router)
    app.include_router(users.router)
    app.mount("/live", StaticFiles(directory=LIVE_PAGE_DIR), name="live-page")

    @app.get("/", include_in_schema=False)
    async def live_page() -> FileResponse:
        return FileResponse(LIVE_PAGE_DIR / "index.html")

    return app
