"""``rfidwms sim``: the simulated warehouse, serving every reader and scale of a layout.

On start it prints one line per reader (``<reader-id> llrp://<host>:<port>``) and
one per scale (``<scale-id> mtsics://<host>:<port>``) on stdout, then serves
until SIGINT/SIGTERM or, with ``--duration``, until that much simulated time has
passed. With ``RFIDWMS_CLOCK`` set to a simulated clock (``rfidwms demo`` sets it
for every part of a run) the world runs on exactly that clock. With ``--wms URL``
the warehouse follows that WMS through its API (:mod:`firmware_sim.wms`): its ERP
posts the item master, notices and orders, its workers carry out the tasks. See
``docs/simulator.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
import time
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from firmware_sim.fleet import DEFAULT_LLRP_PORT_BASE, DEFAULT_SCALE_PORT_BASE, Fleet, FleetError
from firmware_sim.wms import WmsDriver, WmsSettings, WorldBridge
from firmware_sim.world import (
    FaultError,
    Scenario,
    ScenarioError,
    SimClock,
    TruthWriter,
    WarehouseWorld,
    bundled_scenario_names,
    load_scenario,
)
from protocols.clock import Clock, ScaledClock
from protocols.collector import calm_collector
from protocols.layout import Layout, LayoutError, load_layout
from protocols.settings import CommonSettings, SettingsError, load_settings
from protocols.types import ID_PATTERN
from rfidwms.commands.argtypes import duration, fault, iso_time

logger = logging.getLogger("rfidwms.sim")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def mistake_rate(text: str) -> float:
    """A share of the workers' tasks done wrong: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--mistake-rate: {text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"--mistake-rate: {text!r} is not between 0 and 1")
    return value


def site_id(text: str) -> str:
    if not re.fullmatch(ID_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"--site: {text!r} is not a site id (letters, digits, '_', '.', '-')"
        )
    return text


def wms_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"--wms: {text!r} is not an http(s) URL, e.g. http://127.0.0.1:8080/"
        )
    return text


WMS_TOKEN_ENV = "RFIDWMS_WMS_TOKEN"
WMS_OPERATOR_TOKEN_ENV = "RFIDWMS_WMS_OPERATOR_TOKEN"


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "sim",
        help="run the simulated warehouse: LLRP readers and MT-SICS scales of a layout",
        description="Serve every reader (LLRP) and scale (MT-SICS) of a layout from a simulated "
        "warehouse where trucks arrive, pallets are put away, picked, weighed and shipped.",
    )
    p.add_argument("--layout", help="layout YAML file (default: the bundled demo layout)")
    p.add_argument(
        "--scenario",
        help="scenario YAML file or bundled name "
        f"({', '.join(bundled_scenario_names())}; default: demo)",
    )
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's, else 1)")
    p.add_argument("--speed", type=_positive, help="simulated seconds per real second (default 1)")
    p.add_argument(
        "--start", type=iso_time, help="simulated UTC start, ISO-8601 (default: the wall clock now)"
    )
    p.add_argument(
        "--duration",
        type=duration("--duration"),
        help="stop after this much simulated time, e.g. 60, 90s, 10m (default: run until stopped)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--llrp-port-base",
        type=int,
        default=DEFAULT_LLRP_PORT_BASE,
        help="port of the layout's first reader; the others follow in layout order "
        f"(default {DEFAULT_LLRP_PORT_BASE}; 0: any free ports)",
    )
    p.add_argument(
        "--scale-port-base",
        type=int,
        default=DEFAULT_SCALE_PORT_BASE,
        help="port of the layout's first scale; the others follow in layout order "
        f"(default {DEFAULT_SCALE_PORT_BASE}; 0: any free ports)",
    )
    p.add_argument("--truth", help="write the ground truth (JSON lines) to this file")
    p.add_argument(
        "--fault",
        type=fault,
        action="append",
        default=[],
        metavar="TARGET:KIND[=VALUE][@AT][+FOR]",
        help="inject a device fault, e.g. reader-door-2:silent@30s+1m, reader-door-1:drop@2m, "
        "reader-zone-a:antenna=3@10s+20s, reader-door-3:skew=-90s, scale-1:overload@1m+15s "
        "(repeatable)",
    )
    p.add_argument(
        "--wms",
        type=wms_url,
        metavar="URL",
        help="follow this WMS through its API (e.g. http://127.0.0.1:8080/): an ERP posts "
        "items, notices and orders, workers carry out its tasks (default: the simulator "
        "keeps its own orders)",
    )
    p.add_argument(
        "--wms-token",
        metavar="TOKEN",
        help=f"the ERP side's bearer token (role erp; default: ${WMS_TOKEN_ENV})",
    )
    p.add_argument(
        "--wms-operator-token",
        metavar="TOKEN",
        help="the workers' bearer token (role operator: tasks; default: "
        f"${WMS_OPERATOR_TOKEN_ENV}, else the ERP side's)",
    )
    p.add_argument(
        "--site",
        type=site_id,
        help="the WMS site this warehouse is (GET /api/sites): named in its notices, orders, "
        "task and stock requests, as a WMS serving several sites needs (default: none named, "
        "which a WMS serving one site takes as its own); needs --wms",
    )
    p.add_argument(
        "--road",
        type=Path,
        metavar="DIR",
        help="the directory transfers' trucks travel through between simulated sites: trucks "
        "leaving for site X are written to DIR/X/, trucks for this site are read from "
        "DIR/<--site>/ (rfidwms demo gives both sites one); needs --wms and --site",
    )
    p.add_argument(
        "--mistake-rate",
        type=mistake_rate,
        metavar="RATE",
        help="share of the WMS's pick and ship tasks the workers carry out wrong, 0-1 "
        "(default: the scenario's workers.mistake_rate, 0); needs --wms",
    )
    p.set_defaults(func=run)


def _prepare(args: argparse.Namespace) -> tuple[Layout, Scenario, Clock]:
    settings = load_settings(CommonSettings, layout=args.layout)  # --layout or RFIDWMS_LAYOUT
    layout = load_layout(settings.layout)
    scenario = load_scenario(args.scenario)
    update: dict[str, Any] = {"faults": [*scenario.faults, *args.fault]}
    if args.seed is not None:
        update["seed"] = args.seed
    if args.speed is not None:
        update["speed"] = args.speed
    if args.duration is not None:
        update["duration_s"] = args.duration
    if args.mistake_rate is not None:
        update["workers"] = scenario.workers.model_copy(update={"mistake_rate": args.mistake_rate})
    return layout, scenario.model_copy(update=update), settings.now_clock()


class WmsOptionError(ValueError):
    """The ``--wms`` options do not fit together; the message names them."""


def wms_settings(args: argparse.Namespace) -> WmsSettings | None:
    """The WMS to follow (``--wms`` and its tokens), or None."""
    erp = args.wms_token or os.environ.get(WMS_TOKEN_ENV) or None
    operator = args.wms_operator_token or os.environ.get(WMS_OPERATOR_TOKEN_ENV) or None
    if args.wms is None:
        if args.mistake_rate is not None:
            raise WmsOptionError(
                "--mistake-rate needs --wms: the workers make mistakes carrying out its tasks"
            )
        if args.site is not None:
            raise WmsOptionError("--site needs --wms: it names the WMS's site this warehouse is")
        if args.road is not None:
            raise WmsOptionError("--road needs --wms: the WMS's transfers put trucks on it")
        return None
    if args.road is not None and args.site is None:
        raise WmsOptionError("--road needs --site: trucks are addressed to sites")
    if erp is None and operator is None:
        raise WmsOptionError(f"--wms needs a token: --wms-token or ${WMS_TOKEN_ENV}")
    return WmsSettings(
        args.wms,
        erp_token=erp or str(operator),
        operator_token=operator,
        site=args.site,
        road=args.road,
    )


class ClockMismatchError(ValueError):
    """``--start`` or ``--speed`` disagrees with the shared ``RFIDWMS_CLOCK``."""


def sim_clock(
    shared: Clock, start: float | None, speed: float | None, scenario: Scenario
) -> SimClock:
    """The world's clock: the shared simulated clock when there is one (same start,
    wall origin and speed; ``start``/``speed`` from the command line must agree with
    it), else ``start`` (or the scenario's, or now) at ``speed`` (or the scenario's)."""
    if isinstance(shared, ScaledClock):
        t0 = shared.start.timestamp()
        if start is not None and abs(start - t0) > 0.001:
            raise ClockMismatchError(
                f"--start {start!r} disagrees with RFIDWMS_CLOCK {shared.spec()!r}"
            )
        if speed is not None and speed != shared.speed:
            raise ClockMismatchError(
                f"--speed {speed:g} disagrees with RFIDWMS_CLOCK {shared.spec()!r}"
            )
        return SimClock(t0, shared.speed, wall=time.time, origin=shared.origin)
    if start is None and scenario.start is not None:
        start = scenario.start.timestamp()
    return SimClock(start, scenario.speed if speed is None else speed)


def run(args: argparse.Namespace) -> int:
    try:
        wms = wms_settings(args)
        layout, scenario, shared = _prepare(args)
        clock = sim_clock(shared, args.start, args.speed, scenario)
        with ExitStack() as stack:
            truth = stack.enter_context(TruthWriter(args.truth)) if args.truth else None
            end = None if scenario.duration_s is None else clock.start + scenario.duration_s
            bridge = WorldBridge(clock) if wms is not None else None
            world = WarehouseWorld(
                layout, scenario, start=clock.start, truth=truth, end=end, director=bridge
            )
            if bridge is not None:
                bridge.attach(world)
            asyncio.run(_serve(args, layout, world, clock, scenario.duration_s, bridge, wms))
    except (
        SettingsError,
        LayoutError,
        ScenarioError,
        FaultError,
        ClockMismatchError,
        WmsOptionError,
        FleetError,
        OSError,
    ) as e:
        sys.stderr.write(f"rfidwms sim: error: {e}\n")
        return 1 if isinstance(e, FleetError | OSError) else 2
    return 0


async def _serve(
    args: argparse.Namespace,
    layout: Layout,
    world: WarehouseWorld,
    clock: SimClock,
    duration_s: float | None,
    bridge: WorldBridge | None = None,
    wms: WmsSettings | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    fleet = Fleet(
        layout,
        world,
        clock,
        host=args.host,
        llrp_port_base=args.llrp_port_base,
        scale_port_base=args.scale_port_base,
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(fleet)
        driver = None
        if bridge is not None and wms is not None:
            logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
            driver = await stack.enter_async_context(WmsDriver(bridge, wms))
        for endpoint in fleet.endpoints:
            sys.stdout.write(endpoint.line() + "\n")
        sys.stdout.flush()
        calm_collector()  # after the start: the world and its readers live as long
        logger.info(
            "simulating %s (scenario %s, seed %d) at speed %g%s",
            layout.warehouse.id,
            world.scenario.name,
            world.seed,
            clock.speed,
            f" for {duration_s:g} simulated s" if duration_s else " until stopped",
        )
        await fleet.run(stop, duration_s)
    stats = world.flow.stats
    logger.info(
        "stopped after %.1f simulated s: %d trucks, %d pallets received, %d orders, %d shipped",
        world.now - world.start,
        stats.trucks,
        stats.received,
        stats.orders,
        stats.shipped,
    )
    if driver is not None:
        logger.info("%s; %d mistakes made", driver.summary(), stats.mistakes)
