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
from typing import Any

import psycopg
import psycopg_pool
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

import dashboards
from cloud.api import (
    alerts,
    auth,
    dead_letters,
    epcis,
    events,
    goods,
    integration,
    kpis,
    live,
    routes,
    scans,
    stock,
    stock_rules,
    users,
)
from cloud.api import edge_commands as edge_commands_api
from cloud.api import forecast as forecast_api
from cloud.api import me as me_api
from cloud.api import orders as orders_api
from cloud.api import returns as returns_api
from cloud.api import sites as sites_api
from cloud.api import tasks as tasks_api
from cloud.api import transfers as transfers_api
from cloud.api import variances as variances_api
from cloud.api import webhooks as webhooks_api
from cloud.api.state import CloudState
from cloud.db import alerts as alerts_db
from cloud.db import edge_commands as edge_commands_db
from cloud.db import events as events_db
from cloud.db import queries
from cloud.db.pool import Pool, open_pool
from cloud.db.retention import ObservationPruner, ReaderEventPruner
from cloud.ingest.ingester import Ingester
from cloud.live.alert_feed import AlertFeed
from cloud.live.broker_feed import BrokerFeed
from cloud.live.hub import IngestedView, LiveHub
from cloud.live.order_feed import OrderFeed
from cloud.live.transfer_feed import TransferFeed
from cloud.operations.edge_commands import CommandRelay
from cloud.operations.feed import Feed, FeedContext
from cloud.operations.fleet_alerts import FleetAlertJob
from cloud.operations.promised_dates import PromisedDateJob
from cloud.operations.reweigh_job import ReweighJob
from cloud.operations.stock_alerts_job import StockAlertJob
from cloud.operations.variances_job import CycleCountJob
from cloud.operations.warehouse import warehouse_registry
from cloud.operations.webhook_delivery import WebhookSender
from cloud.settings import CloudSettings
from cloud.warehouse.fleet_alerts import FleetRules
from cloud.warehouse.fleet_commands import command_document
from cloud.warehouse.sites import Sites, layout_edges
from cloud.warehouse.variances import CountRules
from protocols.layout import Layout

log = logging.getLogger(__name__)

DASHBOARDS_DIR = Path(dashboards.__file__).parent
LIVE_PAGE_DIR = DASHBOARDS_DIR / "live"
PAGES = ("map", "stock", "alerts", "fleet", "orders", "portal", "kpis", "scan")
"""The pages served at ``/<name>`` (their ``index.html``), their files under
``/<name>/``; the live page is ``/`` (files under ``/live/``), and what all share is
under ``/common/``."""


async def _fill_event_sites(pool: Pool, settings: CloudSettings, sites: Sites) -> None:
    """Give the events stored before they had a site theirs (:func:`events_db.fill_sites`):
    the site whose layout has the event's edge, else the default site."""
    try:
        async with pool.connection(timeout=settings.db_timeout_s) as conn:
            filled = await events_db.fill_sites(conn, sites.edge_sites, sites.first)
    except psycopg.Error as e:
        log.warning("cannot give the events stored without a site theirs now: %s", e)
        return
    if any(filled.values()):
        log.info(
            "gave events stored without a site theirs (the site of their edge, else %s): %s",
            sites.first,
            ", ".join(f"{n} {table}" for table, n in filled.items()),
        )


async def _ingested_view(conn: psycopg.AsyncConnection[Any], s: CloudSettings) -> IngestedView:
    """What the ingesters feed of the live view, as the database has it now."""
    return IngestedView(
        reads=await queries.recent_reads(conn, s.live_recent_reads),
        locations=await queries.latest_locations(conn, s.live_tag_locations),
        readers=await queries.recent_reader_statuses(conn, s.live_max_readers),
        edges=await queries.recent_edge_states(conn, s.live_max_readers),
        passages=await events_db.recent_passages(conn, s.live_recent_reads),
        places=await events_db.latest_places(conn, s.live_tag_locations),
        reader_events=await queries.reader_events(
            conn, queries.ReaderEventFilter(), s.live_recent_reads
        ),
    )


async def _seed(hub: LiveHub, pool: Pool, settings: CloudSettings, sites: Sites) -> None:
    try:
        async with pool.connection(timeout=settings.db_timeout_s) as conn:
            view = await _ingested_view(conn, settings)
            hub.seed(
                reads=view.reads,
                locations=view.locations,
                readers=view.readers,
                edges=view.edges,
                passages=view.passages,
                places=view.places,
                reader_events=view.reader_events,
                alerts=await alerts_db.unresolved_alerts(conn, settings.live_open_alerts),
                commands=[
                    command_document(c, settings.now_clock()())
                    for site in sites.ids
                    for c in reversed(await edge_commands_db.recent(conn, site, None, 50))
                ],
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


async def value_not_storable(request: Request, exc: Exception) -> JSONResponse:
    """400 for a request with a value PostgreSQL cannot hold or compare (a data exception,
    SQLSTATE class 22: a NUL character in a text, a number or date out of its range):
    the value came from the request, which a type check at the boundary let through."""
    said = " ".join(str(exc).split()) or type(exc).__name__
    detail = f"a value in the request cannot be stored or compared: {said}"
    log.info("%s %s: %s", request.method, request.url.path, detail)
    return JSONResponse({"detail": detail}, status_code=400)


def create_app(
    settings: CloudSettings,
    *,
    layout: Layout | None = None,
    sites: Sites | None = None,
    ingest: bool | None = None,
) -> FastAPI:
    """The cloud app for ``settings``, serving ``sites``; else the one site of
    ``settings`` with ``layout``; else the sites of ``settings`` with their layout files
    (:meth:`CloudSettings.load_sites`). ``ingest=False`` makes an API-only node (no MQTT
    ingester; None: ``settings.ingest_enabled``), whose hub hears every ingester's deltas
    through the broker like every node's (:mod:`cloud.live.broker_feed`). Each site has
    its own jobs (fleet and stock alerts, cycle count) and order feed; one warehouse feed
    applies every site's events."""
    if ingest is None:
        ingest = settings.ingest_enabled
    if sites is None:
        sites = Sites.single(settings.site, layout) if layout is not None else settings.load_sites()
    served = sites

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
                buffer_age_s=settings.live_buffer_age_s,
                client_queue=settings.live_client_queue,
                client_max_lag_s=settings.live_client_max_lag_s,
                recent_reads=settings.live_recent_reads,
                tag_locations=settings.live_tag_locations,
                max_readers=settings.live_max_readers,
                open_alerts=settings.live_open_alerts,
            )
            await _fill_event_sites(pool, settings, served)
            await _seed(hub, pool, settings, served)
            await stack.enter_async_context(  # every node's page hears of every alert
                AlertFeed(
                    settings.database_url,
                    pool,
                    hub,
                    open_alerts=settings.live_open_alerts,
                    retry_max_s=settings.ingest_retry_max_s,
                )
            )
            for site in served.ids:  # and of every order's change
                await stack.enter_async_context(
                    OrderFeed(
                        settings.database_url,
                        pool,
                        hub,
                        site=site,
                        retry_max_s=settings.ingest_retry_max_s,
                    )
                )
            await stack.enter_async_context(  # and of every transfer's, whichever site
                TransferFeed(
                    settings.database_url, pool, hub, retry_max_s=settings.ingest_retry_max_s
                )
            )
            if settings.webhooks_enabled:  # the customers' notifications (any node may send)
                webhook_pool = await stack.enter_async_context(
                    open_pool(
                        settings.database_url,
                        max_size=2,
                        timeout=settings.db_timeout_s,
                        name="rfidwms-webhooks",
                    )
                )
                await stack.enter_async_context(WebhookSender.of(webhook_pool, settings))
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
                ingester = Ingester(settings, ingest_pool, hub, sites=served)

            async def read_view() -> IngestedView:
                async with pool.connection(timeout=settings.db_timeout_s) as conn:
                    return await _ingested_view(conn, settings)

            live_feed = await stack.enter_async_context(  # every ingester's deltas
                BrokerFeed(
                    settings.mqtt_url,
                    served.ids,
                    hub,
                    read_view,
                    own_origin=ingester.live_origin if ingester is not None else None,
                    retry_max_s=settings.ingest_retry_max_s,
                    ca_file=settings.mqtt_ca_file,
                )
            )
            commands = {
                site: await stack.enter_async_context(  # every node sends and hears them
                    CommandRelay(
                        settings.mqtt_url,
                        site,
                        pool,
                        hub,
                        settings.now_clock(),
                        retry_max_s=settings.ingest_retry_max_s,
                        ca_file=settings.mqtt_ca_file,
                    )
                )
                for site in served.ids
            }
            app.state.cloud = CloudState(
                settings, served, pool, hub, ingester, commands, live_feed=live_feed
            )
            if ingester is not None:
                await stack.enter_async_context(ingester)
                await stack.enter_async_context(
                    ObservationPruner(
                        ingest_pool,
                        settings.observations_retention,
                        clock=settings.now_clock(),
                    )
                )
                await stack.enter_async_context(
                    ReaderEventPruner(
                        ingest_pool,
                        settings.reader_events_retention,
                        clock=settings.now_clock(),
                    )
                )
                app.state.cycle_counts = {}
                for site in served.ids:
                    await _site_jobs(stack, app, pool, settings, site, served.layout(site))
                if settings.feed_enabled:  # the warehouse feed: goods and stock from events
                    feed_pool = await stack.enter_async_context(
                        open_pool(
                            settings.database_url,
                            max_size=1,
                            timeout=settings.db_timeout_s,
                            name="rfidwms-feed",
                        )
                    )
                    contexts = [
                        FeedContext(settings, served.layout(site), settings.now_clock(), site)
                        for site in served.ids
                    ]
                    app.state.feed = await stack.enter_async_context(
                        Feed(feed_pool, warehouse_registry(), contexts)
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
    integration.install(app, settings)  # idempotency keys on POSTs, rate limits per token
    # PoolTimeout is an OperationalError: both mean the database cannot serve now
    app.add_exception_handler(psycopg.OperationalError, database_unavailable)
    app.add_exception_handler(psycopg.DataError, value_not_storable)
    app.include_router(routes.router)
    app.include_router(dead_letters.router)
    app.include_router(events.router)
    app.include_router(live.router)
    app.include_router(goods.router)
    app.include_router(stock.router)
    app.include_router(scans.router)
    app.include_router(alerts.router)
    app.include_router(stock_rules.router)
    app.include_router(orders_api.router)
    app.include_router(returns_api.router)
    app.include_router(transfers_api.router)
    app.include_router(tasks_api.router)
    app.include_router(epcis.router)
    app.include_router(kpis.router)
    app.include_router(forecast_api.router)
    app.include_router(variances_api.router)
    app.include_router(users.router)
    app.include_router(me_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(sites_api.router)
    app.include_router(edge_commands_api.router)
    app.mount("/live", StaticFiles(directory=LIVE_PAGE_DIR), name="live-page")
    app.mount("/common", StaticFiles(directory=DASHBOARDS_DIR / "common"), name="page-common")

    @app.get("/", include_in_schema=False)
    async def live_page() -> FileResponse:
        return FileResponse(LIVE_PAGE_DIR / "index.html")

    for name in PAGES:
        _serve_page(app, name)
    return app


async def _site_jobs(
    stack: AsyncExitStack,
    app: FastAPI,
    pool: Pool,
    settings: CloudSettings,
    site: str,
    layout: Layout,
) -> None:
    """Run one site's jobs in ``stack`` (the API's pool: they cannot slow ingest down)."""
    await stack.enter_async_context(
        FleetAlertJob(
            pool,
            site=site,
            rules=FleetRules(settings.reader_offline_after, settings.edge_offline_after),
            clock=settings.now_clock(),
            every=settings.alerts_fleet_every_s,
            edges=layout_edges(layout),
        )
    )
    await stack.enter_async_context(
        StockAlertJob(
            pool,
            site=site,
            clock=settings.now_clock(),
            every=settings.alerts_stock_every_s,
            forecast=settings.forecast_config,
        )
    )
    await stack.enter_async_context(
        PromisedDateJob(
            pool,
            site=site,
            clock=settings.now_clock(),
            short_receipt_grace=settings.short_receipt_grace,
            every=settings.promised_dates_every_s,
        )
    )
    packing = [z.id for z in layout.zones if z.kind == "packing"]
    if packing:  # a layout without packing weighs nothing
        await stack.enter_async_context(
            ReweighJob(
                pool,
                site=site,
                packing=packing[0],
                clock=settings.now_clock(),
                after_s=settings.reweigh_after_s,
                every=settings.reweigh_every_s,
            )
        )
    app.state.cycle_counts[site] = await stack.enter_async_context(
        CycleCountJob(
            pool,
            site=site,
            layout=layout,
            rules=CountRules(settings.variance_after, settings.edge_offline_after),
            clock=settings.now_clock(),
            every=settings.variances_every_s,
        )
    )


def _serve_page(app: FastAPI, name: str) -> None:
    """``GET /<name>``: the page; ``/<name>/...``: its files."""
    index = DASHBOARDS_DIR / name / "index.html"

    async def page() -> FileResponse:
        return FileResponse(index)

    app.add_api_route(
        f"/{name}", page, methods=["GET"], include_in_schema=False, name=f"{name}-page"
    )
    app.mount(f"/{name}", StaticFiles(directory=DASHBOARDS_DIR / name), name=f"{name}-files")
