"""Screenshots of every dashboard page from a real demo run, for docs/screenshots/.

Starts ``rfidwms demo --speed 10 --start <an hour ago>`` in a temporary directory on
a free HTTP port, with embedded PostgreSQL and MQTT (the default) or this machine's
(``--machine-services``: a fresh database on 127.0.0.1:5432, dropped afterwards, and
Mosquitto on 127.0.0.1:1883), waits until the warehouse has stock, orders (one of
them shipped, and one of acme's) and door passages, then opens each page in Debian's
chromium (Playwright) signed in by the ``#token=`` links the demo prints (the
operator's; acme's for the portal) and saves a PNG of it at 1024x768, and /scan and
/portal also at phone size (390x844). The simulated clock starts an hour back; each
page's ``Date`` reads the simulated time when it opens (the demo's ``clock:`` line)
and runs at the wall clock's pace from there, so "5 s ago" and the KPIs' hours are as
a browser in the simulated warehouse would show them.

Everything it started (the demo, which stops its own parts and embedded services,
and the browser) is stopped before it exits, also on Ctrl-C or an error.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--machine-services]
        [--speed 10] [--ago 60] [--timeout 600]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DESKTOP = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
MAX_PNG_BYTES = 300_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
# The demo's faults: a door reader's clock runs 2 s behind from the start; a zone
# reader goes silent for a while and another loses an antenna for two minutes, so the
# fleet and alert pages have something to say.
FAULTS = [
    "reader-door-3:skew=-2s@0s",
    "reader-zone-c:silent@2m+3m",
    "reader-zone-b:antenna=2@4m+2m",
]

CLOCK = re.compile(r"^clock: (sim:\S+)$")
DASHBOARD = re.compile(r"^dashboard: (http://127\.0\.0\.1:\d+/)#token=(\S+)$")
TOKEN_LINE = re.compile(r"^token (admin|operator|erp|customer [A-Za-z0-9_.-]+): (\S+)$")


class ScreenshotError(Exception):
    """The demo or a page did not come up as expected; the message says which."""


def log(text: str) -> None:
    print(f"screenshots: {text}", file=sys.stderr, flush=True)


# -- the demo ------------------------------------------------------------------------------


class Demo:
    """``rfidwms demo`` in its own session; its output kept (and in ``log_path``)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.log_path = cwd / "demo.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rfidwms", "demo", *argv],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # our Ctrl-C is for us; the demo gets SIGINT from us
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        with self.log_path.open("w") as out:
            for line in self.proc.stdout:
                out.write(line)
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()

    def wait_for(self, found: Callable[[list[str]], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (value := found(self.lines)):
                if self.proc.poll() is not None:
                    raise ScreenshotError(
                        f"the demo exited ({self.proc.returncode}):\n{self.tail()}"
                    )
                if time.monotonic() > deadline:
                    raise ScreenshotError(f"the demo did not get there in {timeout:.0f} s")
                self._cond.wait(0.5)
            return value

    def tail(self, n: int = 30) -> str:
        with self._cond:
            return "\n".join(self.lines[-n:])

    def stop(self) -> None:
        """SIGINT (the demo stops its parts and services in order); SIGKILL to its
        session if it has not stopped in 120 s."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            log("the demo did not stop in 120 s; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@contextlib.contextmanager
def machine_services(admin_url: str, mqtt_url: str) -> Iterator[dict[str, str]]:
    """A fresh database on the machine's PostgreSQL (dropped on exit) and its broker."""
    import psycopg

    name = f"rfidwms_screenshots_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield {"RFIDWMS_DATABASE_URL": f"{base}/{name}", "RFIDWMS_MQTT_URL": mqtt_url}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def forget_ingest_session(mqtt_url: str, env: dict[str, str]) -> None:
    """End the cloud ingester's persistent session, so the broker stops keeping it."""
    import asyncio

    import aiomqtt

    from cloud.settings import CloudSettings
    from protocols.mqtt import parse_mqtt_url

    client_id = CloudSettings(database_url=env["RFIDWMS_DATABASE_URL"]).mqtt_client_id()
    u = parse_mqtt_url(mqtt_url)

    async def forget() -> None:
        async with aiomqtt.Client(
            u.host,
            u.port,
            username=u.username,
            password=u.password,
            identifier=client_id,
            clean_session=True,
        ):
            pass

    asyncio.run(forget())


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def wait_until(what: str, check: Callable[[], Any], demo: Demo, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if demo.proc.poll() is not None:
            raise ScreenshotError(f"the demo exited ({demo.proc.returncode}):\n{demo.tail()}")
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            if value := check():
                log(f"{what}: ready")
                return value
        time.sleep(2)
    raise ScreenshotError(f"{what}: not there after {timeout:.0f} s")


# -- the pages -----------------------------------------------------------------------------


# The pages read the time from the browser's Date ("5 s ago", the last 48 hours); the
# demo's parts run on a simulated clock, faster than the wall clock. Each page gets a
# Date that reads the simulated time when the page opens and then runs at the wall
# clock's pace, as the edges' health messages and the pages' own timers do (a fleet page
# on a 10x Date would call every reader silent).
SIM_DATE = """
(() => {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const simNow = () => realNow() + OFFSET_MS;
  class SimDate extends RealDate {
    constructor(...args) { if (args.length === 0) super(simNow()); else super(...args); }
    static now() { return simNow(); }
  }
  globalThis.Date = SimDate;
})();
"""


def sim_date_script(clock_spec: str) -> str:
    """:data:`SIM_DATE` for now, on the demo's ``clock: sim:<start>@<origin>x<speed>``."""
    from protocols.clock import parse_clock

    offset_s = parse_clock(clock_spec)().timestamp() - time.time()
    return SIM_DATE.replace("OFFSET_MS", f"{offset_s * 1000:.0f}")


class Shooter:
    """Pages of one browser; the PNGs go to ``out``; console errors are collected."""

    def __init__(self, browser: Any, base: str, out: Path, clock_spec: str) -> None:
        self.browser = browser
        self.base = base
        self.out = out
        self.clock_spec = clock_spec
        self.errors: list[str] = []
        self.saved: list[Path] = []

    def open(self, path: str, token: str, viewport: dict[str, int]) -> Any:
        context = self.browser.new_context(viewport=viewport, device_scale_factor=1)
        context.add_init_script(sim_date_script(self.clock_spec))
        page = context.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(f"{path}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"{path}: {e}"))
        # the token joins the page's own fragment (#order=...&token=...)
        page.goto(f"{self.base.rstrip('/')}{path}{'&' if '#' in path else '#'}token={token}")
        return page

    def save(self, page: Any, name: str) -> None:
        page.wait_for_timeout(1500)  # the last live message drawn, transitions settled
        target = self.out / f"{name}.png"
        page.screenshot(path=str(target))
        self.saved.append(target)
        log(
            f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
            f"{target.stat().st_size // 1000} KB"
        )
        page.context.close()


def shoot_all(shooter: Shooter, tokens: dict[str, str], facts: dict[str, Any]) -> None:
    operator, acme = tokens["operator"], tokens["customer acme"]
    long_wait = 60_000

    # The fleet page draws its sparklines from the health messages it hears: open it
    # first and take it last.
    fleet = shooter.open("/fleet", operator, DESKTOP)
    fleet.wait_for_selector("[data-testid=reader-row]", timeout=long_wait)

    page = shooter.open("/", operator, DESKTOP)
    page.wait_for_selector("[data-testid=read-row]", timeout=long_wait)
    page.wait_for_timeout(4000)
    shooter.save(page, "live")

    page = shooter.open("/map", operator, DESKTOP)
    page.wait_for_function(
        "() => window.rfidwmsMap && window.rfidwmsMap.drawn.size > 0", timeout=long_wait
    )
    page.wait_for_selector("[data-testid=passage]", timeout=long_wait)
    shooter.save(page, "map")

    page = shooter.open("/stock", operator, DESKTOP)
    page.wait_for_selector("[data-testid=balance-row]", timeout=long_wait)
    shooter.save(page, "stock")

    page = shooter.open("/alerts", operator, DESKTOP)
    page.select_option("#status", "")  # all: resolved ones too, with their response times
    page.wait_for_selector("[data-testid=alert-row]", timeout=long_wait)
    shooter.save(page, "alerts")

    page = shooter.open(f"/orders#order={facts['shipped']}", operator, DESKTOP)
    page.wait_for_selector("[data-testid=order-row]", timeout=long_wait)
    page.wait_for_selector("[data-testid=timeline]", timeout=long_wait)
    route = page.locator("[data-testid=route-map] svg")  # the pick route over the plan
    route.wait_for(timeout=long_wait)
    route.scroll_into_view_if_needed()
    shooter.save(page, "orders")

    page = shooter.open("/kpis", operator, DESKTOP)
    page.select_option("#range", "hour:48")
    page.wait_for_selector("[data-testid=kpi-chart]", timeout=long_wait)
    shooter.save(page, "kpis")

    for name, viewport in (("scan", DESKTOP), ("scan-phone", PHONE)):
        page = shooter.open("/scan", operator, viewport)
        page.wait_for_selector("#location optgroup", state="attached", timeout=long_wait)
        page.click("button.action[data-action=count]")
        page.fill("#qty", str(facts["pallet"]["cases"]))
        page.fill("#scan", f"(00){facts['pallet']['sscc']}")
        page.press("#scan", "Enter")
        done = "[data-testid=scan-result]:not([data-state=busy]):not([data-state=idle])"
        page.wait_for_selector(done, timeout=long_wait)
        shooter.save(page, name)

    for name, viewport in (("portal", DESKTOP), ("portal-phone", PHONE)):
        page = shooter.open(f"/portal#order={facts['acme']}", acme, viewport)
        page.wait_for_selector("[data-testid=order-card]", timeout=long_wait)
        page.wait_for_selector(
            "[data-testid=order-detail] [data-testid=timeline]", timeout=long_wait
        )
        shooter.save(page, name)

    fleet.wait_for_timeout(5000)
    shooter.save(fleet, "fleet")


# -- the run -------------------------------------------------------------------------------


def demo_facts(base: str, tokens: dict[str, str], demo: Demo, timeout: float) -> dict[str, Any]:
    """Wait until the warehouse has stock, passages, a shipped order and one of acme's;
    what the pages are shown with."""
    operator = tokens["operator"]
    api = base + "api/"

    def pallet() -> Any:
        items = get_json(api + "pallets?limit=50", operator)["items"]
        stored = ("zone-a", "zone-b", "zone-c")
        return next((p for p in items if p["zone"] in stored and p["cases"]), None)

    wait_until("stock", lambda: get_json(api + "stock?limit=1", operator)["items"], demo, timeout)
    wait_until(
        "passages", lambda: get_json(api + "passages?limit=1", operator)["items"], demo, timeout
    )

    def shipped() -> Any:
        items = get_json(api + "orders?status=shipped&limit=1", operator)["items"]
        return items[0]["id"] if items else None

    facts = {"shipped": wait_until("a shipped order", shipped, demo, timeout)}

    def acme() -> Any:
        items = get_json(api + "orders?limit=20", tokens["customer acme"])["items"]
        moving = [o for o in items if o["status"] not in ("received", "allocated")]
        return (moving or items)[0]["id"] if items else None

    facts["acme"] = wait_until("an order of acme's", acme, demo, timeout)
    facts["pallet"] = wait_until("a stocked pallet", pallet, demo, timeout)
    alerts = lambda: get_json(api + "alerts?limit=1", operator)["items"]  # noqa: E731
    wait_until("an alert", alerts, demo, timeout)
    return facts


def run(args: argparse.Namespace) -> int:
    chromium = shutil.which("chromium")
    if chromium is None:
        log("needs Debian's chromium (apt install chromium)")
        return 2
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    shooter: Shooter | None = None
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=args.ago)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rfidwms-shots-")))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RFIDWMS_")}
        if args.machine_services:
            env.update(stack.enter_context(machine_services(args.pg_admin_url, args.mqtt_url)))
            stack.callback(forget_ingest_session, args.mqtt_url, env)
        from rfidwms.embedded import free_port

        argv = ["--speed", str(args.speed), "--start", start.isoformat().replace("+00:00", "Z")]
        argv += ["--http-port", str(free_port())]
        for fault in FAULTS:
            argv += ["--fault", fault]
        log(f"rfidwms demo {' '.join(argv)} (in {work})")
        demo = Demo(argv, {**env, "PYTHONUNBUFFERED": "1"}, work)
        stack.callback(demo.stop)
        try:
            match = demo.wait_for(
                lambda ls: next((m for x in ls if (m := DASHBOARD.match(x))), None), 300
            )
            demo.wait_for(lambda ls: sum(bool(TOKEN_LINE.match(x)) for x in ls) >= 5, 30)
            tokens = {m[1]: m[2] for x in demo.lines if (m := TOKEN_LINE.match(x))}
            clock = next(m[1] for x in demo.lines if (m := CLOCK.match(x)))
            base = match[1]
            log(f"demo up at {base}")
            facts = demo_facts(base, tokens, demo, args.timeout)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    shooter = Shooter(browser, base, args.out, clock)
                    shoot_all(shooter, tokens, facts)
                finally:
                    browser.close()
        except (ScreenshotError, PlaywrightError) as e:
            log(str(e))
            log(f"the demo's last lines:\n{demo.tail()}")
            return 1
    assert shooter is not None
    big = [p for p in shooter.saved if p.stat().st_size > MAX_PNG_BYTES]
    for p in big:
        log(f"{p.name} is {p.stat().st_size // 1000} KB, over {MAX_PNG_BYTES // 1000} KB")
    for error in shooter.errors:
        log(f"console error: {error}")
    return 1 if big or shooter.errors else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--speed", type=float, default=10.0, help="the demo's speed (default 10)")
    p.add_argument(
        "--ago",
        type=float,
        default=60.0,
        help="minutes before now the simulated clock starts (default 60)",
    )
    p.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for each condition"
    )
    p.add_argument(
        "--machine-services",
        action="store_true",
        help="use this machine's PostgreSQL (a fresh database) and Mosquitto",
    )
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    return run(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
