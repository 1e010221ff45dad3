"""``rfidwms demo``: the whole system in one command, two warehouses on one cloud.

Starts an embedded PostgreSQL when ``RFIDWMS_DATABASE_URL`` is unset (data under
``.rfidwms/`` in the working directory) and an embedded MQTT broker when
``RFIDWMS_MQTT_URL`` is unset, then the cloud serving both sites
(``RFIDWMS_SITES``) and, for each site, its simulator and an edge agent per edge id
of its layout, each as its own process started the way a user starts it (``rfidwms
cloud``, ``rfidwms sim``, ``rfidwms edge``). The sites (:mod:`rfidwms.commands.
demo_sites`): ``dc-1`` (``--layout`` and ``--scenario``, else the bundled demo layout
and scenario) and the smaller ``dc-2`` (the bundled ``dc-2`` layout, scenario
``small-site``), unless ``--no-second-site``; each simulator's readers and scales on
ports of their own. One line ``site <id>: ...`` tells each site's layout, scenario,
ports, edges and truth file. Once the API answers it prints ``dashboard:
<url>#token=<operator token>``, then a line ``token <role>: <token>`` for each demo
user (:data:`DEMO_USERS`: admin, operator, erp, and two customers as ``token customer
<id>: <token>``), fresh at every start, and for each customer the link that opens its
portal signed in, ``portal <id>: <url>portal#token=<its token>``. SIGINT or SIGTERM
stops every part, in reverse order.

Each simulated warehouse follows the demo's own WMS as its site (``rfidwms sim --wms
URL --site ID``): its ERP posts the item master, notices and orders with the ``erp``
token, its workers carry out that site's tasks with the ``operator`` token
(``--mistake-rate`` makes them err). The simulators share one road
(``--road <data dir>/road``, :mod:`firmware_sim.wms.road`): the truck of a transfer
that leaves one site (its ERP posts them, ``erp.transfer_per_hour``) docks at the other
with the same pallets when its drive is over. The demo migrates the database and makes
the tokens before it starts the parts.

Every part runs on one clock: the demo makes a simulated clock (``--start``, or
the wall clock's time, at ``--speed``) that reads its start :data:`STARTUP_LEAD_S`
after the demo starts the parts, so the simulated world begins once they are up,
and hands it to every part as ``RFIDWMS_CLOCK`` (:mod:`protocols.clock`). With
``--duration`` the simulators stop at that simulated time and the rest keeps
serving until Ctrl-C, so a scored run (``--truth``, ``--fault``) can be scored
with ``rfidwms score`` (``dc-1``'s truth at ``--truth``, ``dc-2``'s next to it).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from cloud.settings import parse_sites
from firmware_sim.world import parse_fault
from protocols.clock import ScaledClock
from protocols.layout import LayoutError, load_layout
from protocols.settings import CommonSettings, SettingsError, load_settings
from protocols.types import ID_PATTERN
from rfidwms.commands.argtypes import checked, duration, fault, iso_time
from rfidwms.commands.demo_sites import (
    FIRST_SITE,
    SECOND_LAYOUT,
    DemoSite,
    DemoSiteError,
    PortRanges,
    SiteEntry,
    plan_sites,
    port_ranges,
    route_faults,
    sites_setting,
    truth_path,
)
from rfidwms.commands.sim import WMS_OPERATOR_TOKEN_ENV, WMS_TOKEN_ENV, mistake_rate
from rfidwms.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    EmbeddedServiceError,
    free_port,
    free_port_range,
    port_answers,
)

log = logging.getLogger("rfidwms.demo")


class DemoSettings(CommonSettings):
    site: str = Field(default=FIRST_SITE, pattern=ID_PATTERN)
    """The first site's id (``RFIDWMS_SITE``); the second is ``dc-2``."""
    sites: str = ""
    """``RFIDWMS_SITES``, the cloud's setting: the sites to run with their layouts
    instead (one or two, :func:`rfidwms.commands.demo_sites.plan_sites`)."""
    database_url: str | None = None
    """PostgreSQL to use; an embedded one under ``data_dir`` when unset."""
    mqtt_url: str | None = None  # type: ignore[assignment]
    """MQTT broker to use; an embedded one when unset."""
    http_port: int = 8080
    data_dir: Path = Path(".rfidwms")

    @field_validator("database_url", "mqtt_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if v == "" else v


MAX_SPEED = 1000.0  # what RFIDWMS_CLOCK accepts; the parts are tested up to 10

STARTUP_LEAD_S = 5.0
"""Wall seconds from starting the parts to the moment the shared clock reads the
start: the simulated world begins then, not while the parts are still starting. The
edge takes 1 s to be reading every reader on an idle 2-core machine and over 2 s on a
busy one; at ``--speed 10`` the one-truck scenario's first pallet crosses its door
2.4 s after the start, and one crossing before the edge reads is a passage no part
could see."""


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed: {text!r} is not a number") from None
    if not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"--speed: {text!r} must be above 0, at most 1000")
    return value


def _start(text: str) -> datetime:
    return datetime.fromtimestamp(iso_time(text), UTC)


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run everything: (embedded services,) simulator, edge, cloud, dashboards"
    )
    p.add_argument(
        "--layout", type=Path, help="layout YAML of the first site, dc-1 (default: the bundled one)"
    )
    p.add_argument(
        "--scenario",
        help="the first site's simulator scenario, a file or a bundled name (default: demo; "
        "the second site runs small-site)",
    )
    p.add_argument(
        "--second-site",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the smaller second warehouse, dc-2, with its own simulator and edge "
        "(default: yes; --no-second-site runs dc-1 alone)",
    )
    p.add_argument("--http-port", type=int, help="dashboard port (default 8080, or a free one)")
    p.add_argument(
        "--speed", type=_speed, default=1.0, help="simulated seconds per real second (default 1)"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--start", type=_start, help="simulated UTC start, ISO-8601 (default: the wall clock now)"
    )
    p.add_argument(
        "--duration",
        type=checked(duration("--duration")),
        help="the simulator stops after this much simulated time (e.g. 60m); "
        "edge, cloud and dashboards keep serving until Ctrl-C",
    )
    p.add_argument(
        "--truth",
        type=Path,
        help="write the first site's ground truth here (default: ground-truth.jsonl in the "
        "data directory); the second site's goes next to it, ground-truth-dc-2.jsonl",
    )
    p.add_argument(
        "--fault",
        type=checked(fault),
        action="append",
        default=[],
        metavar="TARGET:KIND[=VALUE][@AT][+FOR]",
        help="inject a device fault, as `rfidwms sim --fault`, in the simulator of the site "
        "whose reader or scale it names (repeatable)",
    )
    p.add_argument(
        "--mistake-rate",
        type=checked(mistake_rate),
        metavar="RATE",
        help="share of the WMS's pick and ship tasks the simulated workers carry out wrong, "
        "0-1 (default: the scenario's, 0)",
    )
    p.set_defaults(func=run)


class StopRequested(Exception):
    """Ctrl-C (or SIGTERM) arrived while the demo was still starting."""


class Child:
    """A part of the demo in its own process; its output goes to ours, prefixed."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: list[str] = []
        """Its output so far, while :attr:`keeping` (start-up waits on it)."""
        self.keeping = True
        self._seen = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rfidwms", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # our Ctrl-C is ours to pass on, in order
        )
        self._pump_thread = threading.Thread(
            target=self._pump, name=f"demo-{name}-output", daemon=True
        )
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self._seen:
                if self.keeping:
                    self.lines.append(line)
                self._seen.notify_all()
            print(f"[{self.name}] {line}", file=sys.stderr, flush=True)

    def wait_for_lines(
        self, count: int, marker: str, timeout: float, stop: threading.Event
    ) -> list[str]:
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                found = [ln for ln in self.lines if marker in ln]
                if len(found) >= count:
                    return found
                if stop.is_set():
                    raise StopRequested
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise EmbeddedServiceError(
                        f"{self.name} did not start (exit code {self.proc.poll()})"
                    )
                self._seen.wait(0.2)

    def started(self) -> None:
        """The part is up: its output is no longer kept, only passed on (the demo may
        run for days; a soak saw the list of every line it ever printed grow)."""
        with self._seen:
            self.keeping = False
            self.lines.clear()

    def stop(self, timeout: float = 25.0) -> None:  # beyond the edge's 20 s stop watchdog
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
                self.proc.kill()
                self.proc.wait()


def _wait_http(url: str, child: Child, timeout: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stop.is_set():
            raise StopRequested
        if child.proc.poll() is not None:
            raise EmbeddedServiceError(f"cloud exited with code {child.proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise EmbeddedServiceError(f"the cloud API did not answer at {url} in {timeout:.0f} s")


DEMO_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("demo-admin", "admin", None),
    ("demo-operator", "operator", None),  # the dashboard URL carries its token
    ("demo-erp", "erp", None),
    ("demo-acme", "customer", "acme"),
    ("demo-globex", "customer", "globex"),
)
"""The demo's users (name, role, customer): a fresh token each at every start."""


def _demo_tokens(db_url: str, at: datetime) -> list[tuple[str, str]]:
    """The database migrated, and a new token for each of :data:`DEMO_USERS` (made
    when missing; their older tokens revoked), issued ``at``; ``[(label, token)]``, the
    label as printed: ``operator``, ``customer acme``. The dashboard URL carries the
    operator's in its fragment, which browsers never send to the server."""
    import asyncio

    import psycopg

    from cloud.db.migrate import MigrationError, apply_migrations
    from cloud.db.users import UserExistsError, fresh_token_for
    from cloud.warehouse.roles import Role

    async def issue() -> list[tuple[str, str]]:
        await apply_migrations(db_url)  # the cloud would; the simulator needs tokens first
        made = []
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            for name, role, customer in DEMO_USERS:
                issued = await fresh_token_for(conn, name, Role(role), customer, at=at)
                made.append((f"{role} {customer}" if customer else role, issued.token))
        return made

    try:
        return asyncio.run(issue())
    except (psycopg.Error, UserExistsError, MigrationError) as e:
        raise EmbeddedServiceError(f"cannot make the demo's users and tokens: {e}") from None


def sign_in_lines(url: str, tokens: list[tuple[str, str]]) -> list[str]:
    """What the demo prints once the API answers at ``url``: the dashboard's link
    signed in as the operator, each user's token (``tokens`` as :func:`_demo_tokens`
    makes them), and each customer's portal link signed in as that customer."""
    by_label = dict(tokens)
    lines = [f"dashboard: {url}#token={by_label['operator']}"]
    lines += [f"token {label}: {token}" for label, token in tokens]
    lines += [
        f"portal {label.removeprefix('customer ')}: {url}portal#token={token}"
        for label, token in tokens
        if label.startswith("customer ")
    ]
    return lines


@contextlib.contextmanager
def _services(settings: DemoSettings) -> Iterator[tuple[str, str]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        db_url = settings.database_url
        if db_url is None:
            pg = stack.enter_context(EmbeddedPostgres(settings.data_dir / "postgres"))
            db_url = pg.url("rfidwms")
            print("database: embedded PostgreSQL in", settings.data_dir / "postgres", flush=True)
        else:
            print("database: RFIDWMS_DATABASE_URL", flush=True)
        mqtt_url = settings.mqtt_url
        if mqtt_url is None:
            broker = stack.enter_context(EmbeddedBroker())
            mqtt_url = broker.url
            print("mqtt: embedded broker at", mqtt_url, flush=True)
        else:
            print("mqtt:", mqtt_url, flush=True)
        yield db_url, mqtt_url


def _plan(settings: DemoSettings, args: argparse.Namespace, second_layout: Path) -> list[DemoSite]:
    """The demo's sites (:func:`plan_sites`); LayoutError or DemoSiteError naming what
    is wrong."""
    try:
        entries = [SiteEntry(site, path) for site, path in parse_sites(settings.sites)]
    except ValueError as e:
        raise DemoSiteError(f"RFIDWMS_SITES: {e}") from None
    if entries and "site" in settings.model_fields_set and settings.site != entries[0].id:
        raise DemoSiteError(
            f"RFIDWMS_SITE is {settings.site!r}, not the first site of RFIDWMS_SITES "
            f"({entries[0].id!r}): leave it unset"
        )
    return plan_sites(
        first=settings.site,
        first_layout=settings.layout,
        sites=entries,
        second_site=args.second_site,
        second_layout=second_layout,
        scenario=args.scenario,
        load=load_layout,
    )


def run(args: argparse.Namespace) -> int:
    bundled = resources.files("protocols.layouts").joinpath(SECOND_LAYOUT)
    with resources.as_file(bundled) as second_layout:
        try:
            settings = load_settings(DemoSettings, layout=args.layout, http_port=args.http_port)
            sites = _plan(settings, args, second_layout)
        except (SettingsError, LayoutError, DemoSiteError) as e:
            log.error("%s", e)
            return 2
        return _run(args, settings, sites)


def _run(args: argparse.Namespace, settings: DemoSettings, sites: list[DemoSite]) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    http_port = settings.http_port
    if args.http_port is None and "RFIDWMS_HTTP_PORT" not in os.environ:
        if port_answers("127.0.0.1", http_port):
            http_port = free_port()
    try:
        with _services(settings) as (db_url, mqtt_url):
            if stop.is_set():
                raise StopRequested
            return _run_parts(args, settings, sites, db_url, mqtt_url, http_port, stop)
    except StopRequested:
        return 0
    except (EmbeddedServiceError, DemoSiteError) as e:
        log.error("%s", e)
        return 1
    finally:
        print("demo stopped", flush=True)


def _sim_args(
    args: argparse.Namespace,
    site: DemoSite,
    ports: PortRanges,
    truth: Path,
    faults: list[str],
    url: str,
    road: Path,
) -> list[str]:
    """``rfidwms sim`` for one site, following the demo's WMS at ``url`` as that site."""
    argv = ["sim"]
    if site.layout_path is not None:
        argv += ["--layout", str(site.layout_path)]
    argv += ["--llrp-port-base", str(ports.llrp), "--scale-port-base", str(ports.scale)]
    argv += ["--seed", str(args.seed)]
    if site.scenario is not None:
        argv += ["--scenario", site.scenario]
    argv += ["--truth", str(truth)]
    if args.duration is not None:
        argv += ["--duration", args.duration]
    for spec in faults:
        argv += ["--fault", spec]
    argv += ["--wms", url, "--site", site.id]  # the simulated warehouse follows our WMS
    argv += ["--road", str(road)]  # transfers' trucks between the sites
    if args.mistake_rate is not None:
        argv += ["--mistake-rate", args.mistake_rate]
    return argv


def _site_env(env: dict[str, str], site: DemoSite) -> dict[str, str]:
    """A site's simulator's and edges' environment: its site (their MQTT topics) and
    layout."""
    out = {**env, "RFIDWMS_SITE": site.id}
    if site.layout_path is not None:
        out["RFIDWMS_LAYOUT"] = str(site.layout_path)
    return out


def _run_parts(
    args: argparse.Namespace,
    settings: DemoSettings,
    sites: list[DemoSite],
    db_url: str,
    mqtt_url: str,
    http_port: int,
    stop: threading.Event,
) -> int:
    """Start the cloud, then each site's simulator and edges; wait for ``stop``; stop
    them (before the services)."""
    ports = port_ranges(sites, free_port_range)
    env = {k: v for k, v in os.environ.items() if k not in _PER_PART}
    env.update(
        RFIDWMS_DATABASE_URL=db_url,
        RFIDWMS_MQTT_URL=mqtt_url,
        RFIDWMS_HTTP_PORT=str(http_port),
        PYTHONUNBUFFERED="1",
    )
    cloud_env = {**env, "RFIDWMS_SITES": sites_setting(sites), "RFIDWMS_SITE": sites[0].id}
    url = f"http://127.0.0.1:{http_port}/"
    first_truth = args.truth if args.truth is not None else settings.data_dir / "ground-truth.jsonl"
    faults = route_faults([(parse_fault(f).target, f) for f in args.fault], sites)
    truths = {s.id: truth_path(first_truth, s.id, n) for n, s in enumerate(sites)}
    road = settings.data_dir.resolve() / "road"

    issued = args.start if args.start is not None else datetime.now(UTC)
    tokens = dict(_demo_tokens(db_url, at=issued))  # the simulators' ERPs and workers need them
    if stop.is_set():
        raise StopRequested
    # One clock for every part; it carries the start and the speed, so the simulators
    # are not given --start or --speed. It reads the start STARTUP_LEAD_S from now,
    # once the parts are up (before that, the world has not begun).
    origin = time.time() + STARTUP_LEAD_S
    start = args.start if args.start is not None else datetime.fromtimestamp(origin, UTC)
    clock = ScaledClock(start, origin, args.speed)
    env["RFIDWMS_CLOCK"] = cloud_env["RFIDWMS_CLOCK"] = clock.spec()
    print(f"clock: {clock.spec()}", flush=True)
    for s in sites:
        p = ports[s.id]
        print(
            f"site {s.id}: layout {s.layout_path or 'bundled demo'}, scenario "
            f"{s.scenario or 'demo'}, readers from port {p.llrp}, scales from port {p.scale}, "
            f"edge {', '.join(s.edges)}, truth {truths[s.id]}",
            flush=True,
        )
    children: list[Child] = []
    sims: list[Child] = []
    try:
        cloud = Child("cloud", ["cloud"], cloud_env)
        children.append(cloud)
        sim_env = {**env, WMS_TOKEN_ENV: tokens["erp"], WMS_OPERATOR_TOKEN_ENV: tokens["operator"]}
        for s in sites:
            argv = _sim_args(args, s, ports[s.id], truths[s.id], faults[s.id], url, road)
            sims.append(Child(f"sim {s.id}", argv, _site_env(sim_env, s)))
        children += sims
        for s, sim in zip(sites, sims, strict=True):
            sim.wait_for_lines(len(s.layout.readers), " llrp://", timeout=60, stop=stop)
            p = ports[s.id]
            for edge_id in s.edges:
                edge_env = _site_env(env, s)
                edge_env["RFIDWMS_SPOOL_DIR"] = str(settings.data_dir / "edge" / edge_id)
                argv = ["edge", "--edge-id", edge_id]
                argv += ["--llrp-port-base", str(p.llrp), "--scale-port-base", str(p.scale)]
                name = f"edge {s.id}" if len(s.edges) == 1 else f"edge {s.id} {edge_id}"
                children.append(Child(name, argv, edge_env))
        _wait_http(url + "api/health", cloud, timeout=90, stop=stop)
        lines = sign_in_lines(url, list(tokens.items()))
        # one write: no line of a part's output can come between them
        print("\n".join(lines) + "\n", end="", flush=True)
        print("Ctrl-C stops the demo.", flush=True)
        for child in children:
            child.started()
        watched = list(children)
        while not stop.wait(0.5):
            for child in list(watched):
                code = child.proc.poll()
                if code is None:
                    continue
                if child in sims and code == 0 and args.duration is not None:
                    watched.remove(child)
                    if not any(s in watched for s in sims):
                        print(
                            f"simulation ended after {args.duration} simulated; "
                            "edge, cloud and dashboards keep serving until Ctrl-C",
                            flush=True,
                        )
                    continue
                log.error("%s exited with code %d; stopping the demo", child.name, code)
                return 1
        return 0
    finally:
        for child in reversed(children):
            child.stop()


_PER_PART = (
    "RFIDWMS_SITE",
    "RFIDWMS_SITES",
    "RFIDWMS_LAYOUT",
    "RFIDWMS_SPOOL_DIR",
    "RFIDWMS_EDGE_ID",
)
"""Settings the demo gives each part its own value of (or none: the cloud's layouts are
in RFIDWMS_SITES)."""
