"""``rfidwms demo``: the whole system from one command, on embedded or configured services."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from brokerkit import forget_session
from browser import chromium_page
from running import RunningProcess, get_json

from cloud.settings import CloudSettings
from rfidwms.embedded import free_port

TOKEN = r"[A-Za-z0-9_-]{43}"  # secrets.token_urlsafe(32)
DASHBOARD = re.compile(rf"^dashboard: (http://127\.0\.0\.1:\d+/)#token=({TOKEN})$")
TOKEN_LINE = re.compile(rf"^token (admin|operator|erp|customer [A-Za-z0-9_.-]+): ({TOKEN})$")
TOKEN_LABELS = ["admin", "operator", "erp", "customer acme", "customer globex"]
DC2_LAYOUT = Path(str(resources.files("protocols.layouts").joinpath("dc-2.yaml")))
PORTAL_LINE = re.compile(
    rf"^portal ([A-Za-z0-9_.-]+): (http://127\.0\.0\.1:\d+/)portal#token=({TOKEN})$"
)
CUSTOMERS = ["acme", "globex"]


def dashboard_url(demo: RunningProcess) -> str:
    """The dashboard's URL, without the token in its fragment."""
    return dashboard_line(demo).group(1)


def dashboard_line(demo: RunningProcess) -> re.Match[str]:
    line = demo.wait_for(lambda ls: next((x for x in ls if DASHBOARD.match(x)), None), timeout=180)
    return DASHBOARD.match(line)  # type: ignore[return-value]


def _after_dashboard(demo: RunningProcess, skip: int, count: int) -> list[str]:
    """``count`` lines of the demo's output from ``skip`` lines after the dashboard line."""

    def following(lines: list[str]) -> list[str] | None:
        i = next(n for n, x in enumerate(lines) if DASHBOARD.match(x))
        found = lines[i + 1 + skip : i + 1 + skip + count]
        return found if len(found) == count else None

    dashboard_line(demo)
    return demo.wait_for(following, timeout=10)  # type: ignore[no-any-return]


def demo_tokens(demo: RunningProcess) -> dict[str, str]:
    """The ``token <label>: <token>`` lines, which come right after the dashboard line."""
    lines = _after_dashboard(demo, 0, len(TOKEN_LABELS))
    found = [TOKEN_LINE.match(x) for x in lines]
    assert all(found), lines
    return {m.group(1): m.group(2) for m in found if m}


def portal_links(demo: RunningProcess) -> dict[str, tuple[str, str]]:
    """The ``portal <customer>: <url>portal#token=<token>`` lines after the token lines:
    customer -> (the dashboard's URL, token)."""
    lines = _after_dashboard(demo, len(TOKEN_LABELS), len(CUSTOMERS))
    found = [PORTAL_LINE.match(x) for x in lines]
    assert all(found), lines
    return {m.group(1): (m.group(2), m.group(3)) for m in found if m}


@pytest.mark.browser
def test_demo_on_a_machine_with_no_services_shows_reads_live(tmp_path):
    """No RFIDWMS_DATABASE_URL or RFIDWMS_MQTT_URL: embedded PostgreSQL and broker."""
    demo = RunningProcess(
        ["demo"],
        {"RFIDWMS_HTTP_PORT": str(free_port())},
        cwd=tmp_path,
        unset=(
            "RFIDWMS_DATABASE_URL",
            "RFIDWMS_MQTT_URL",
            "RFIDWMS_LAYOUT",
            "RFIDWMS_SITE",
            "RFIDWMS_SITES",
        ),
    )
    try:
        url, operator = dashboard_line(demo).groups()
        out = demo.output()
        assert "database: embedded PostgreSQL" in out
        assert "mqtt: embedded broker" in out
        sites = [x for x in out.splitlines() if x.startswith("site ")]
        assert [x.split(":")[0] for x in sites] == ["site dc-1", "site dc-2"], out
        assert "scenario small-site" in sites[1] and "ground-truth-dc-2.jsonl" in sites[1]
        assert (tmp_path / ".rfidwms" / "postgres" / "PG_VERSION").exists()

        with chromium_page() as page:
            page.goto(f"{url}#token={operator}")  # the dashboard line as printed
            page.wait_for_selector("[data-testid=read-row]", timeout=30_000)
            first = page.locator("[data-testid=read-row]").first.inner_text()
            assert re.search(r"[0-9A-F]{24}", first), first
            count = page.locator("[data-testid=read-count]")
            before = int(count.inner_text().replace(",", ""))
            # live, not a one-off render: the counter keeps climbing while we watch
            page.wait_for_function(
                "n => Number(document.querySelector('[data-testid=read-count]')"
                ".textContent.replace(/,/g, '')) > n",
                arg=before,
                timeout=30_000,
            )
        status, health = get_json(url + "api/health")
        assert status == 200, health
        status, passages = get_json(url + "api/passages?limit=1000", token=operator)
        assert status == 200, passages
    finally:
        code = demo.stop(signal.SIGINT, timeout=60)
    assert code == 0, demo.output()[-3000:]
    assert "demo stopped" in demo.output()


def test_demo_uses_the_configured_database_and_broker(database_url, mqtt_url, site, tmp_path):
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_HTTP_PORT": str(free_port()),
    }
    demo = RunningProcess(["demo", "--no-second-site"], env, cwd=tmp_path)
    try:
        url, in_url = dashboard_line(demo).groups()
        tokens = demo_tokens(demo)
        out = demo.output()
        assert "database: RFIDWMS_DATABASE_URL" in out
        assert f"mqtt: {mqtt_url}" in out
        assert [x.split(":")[0] for x in out.splitlines() if x.startswith("site ")] == [
            f"site {site}"
        ]  # --no-second-site: the first alone
        assert not (tmp_path / ".rfidwms" / "postgres").exists()
        # right after the dashboard line: one line per demo user, each its own token
        assert list(tokens) == TOKEN_LABELS and len(set(tokens.values())) == len(TOKEN_LABELS)
        assert in_url == tokens["operator"]
        # then each customer's portal link, signed in with that customer's token
        portals = portal_links(demo)
        assert list(portals) == CUSTOMERS
        for customer, (base, token) in portals.items():
            assert base == url and token == tokens[f"customer {customer}"], customer
        with urllib.request.urlopen(url + "portal", timeout=10) as r:
            assert r.status == 200 and b"Customer portal" in r.read()
        assert get_json(url + "api/readers")[0] == 401
        assert get_json(url + "api/readers", token=tokens["customer acme"])[0] == 403
        assert get_json(url + "api/users", token=tokens["operator"])[0] == 403
        status, users = get_json(url + "api/users", token=tokens["admin"])
        assert status == 200, users
        assert {(u["name"], u["role"], u["customer"]) for u in users["items"]} == {
            ("demo-admin", "admin", None),
            ("demo-operator", "operator", None),
            ("demo-erp", "erp", None),
            ("demo-acme", "customer", "acme"),
            ("demo-globex", "customer", "globex"),
        }
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, readers = get_json(url + "api/readers", token=tokens["operator"])
            if status == 200 and any(r.get("state") == "inventorying" for r in readers["items"]):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"no reader inventorying: {readers}")
    finally:
        code = demo.stop(signal.SIGTERM, timeout=60)
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))
    assert code == 0, demo.output()[-3000:]


CLOCK = re.compile(r"^clock: (sim:\S+)$")


def _children(pid: int) -> dict[int, tuple[str | None, list[str]]]:
    """RFIDWMS_CLOCK and argv of each live part (sim, edge, cloud) started by ``pid``
    (from /proc)."""
    found: dict[int, tuple[str | None, list[str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
            argv = (stat.parent / "cmdline").read_bytes().decode().split("\0")
        except (OSError, IndexError, ValueError):
            continue
        if not any(part in argv for part in ("sim", "edge", "cloud")):
            continue  # forked, not yet exec'd: still the demo's own argv and environment
        values = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"RFIDWMS_CLOCK=")]
        found[int(stat.parent.name)] = (values[0] if values else None, argv)
    return found


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def two_sites(site: str) -> dict[str, str]:
    """``RFIDWMS_SITES`` of two sites of the test's own (the broker is shared): ``site``
    on the bundled demo layout, ``<site>-2`` on the bundled dc-2 layout."""
    return {"RFIDWMS_SITES": f"{site},{site}-2={DC2_LAYOUT}"}


def test_a_scored_run_gives_every_part_one_clock_and_keeps_serving_after_the_duration(
    database_url, mqtt_url, site, tmp_path
):
    truth = tmp_path / "t.jsonl"
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_HTTP_PORT": str(free_port()),
        "RFIDWMS_CLOCK": "wall",  # the demo's own clock replaces it
        **two_sites(site),
    }
    argv = ["demo", "--scenario", "one-truck", "--seed", "3", "--speed", "10"]
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # far from the wall clock
    start_iso = start.isoformat().replace("+00:00", "Z")
    argv += ["--start", start_iso, "--duration", "3m", "--truth", str(truth)]
    argv += ["--fault", "reader-door-2:silent@10s+20s", "--fault", "scale-1:overload@1m+15s"]
    argv += ["--fault", "reader-door-5:silent@20s+10s"]  # a reader of the second site
    demo = RunningProcess(argv, env, cwd=tmp_path, unset=("RFIDWMS_SITE", "RFIDWMS_LAYOUT"))
    try:
        spec = demo.wait_for(
            lambda ls: next((CLOCK.match(x) for x in ls if CLOCK.match(x)), None), 60
        )[1]
        assert spec.startswith(f"sim:{start_iso}@") and spec.endswith("x10")
        # the cloud, and for each site a simulator and an edge: each started with
        # exactly that clock
        deadline = time.monotonic() + 90
        seen: dict[int, tuple[str | None, list[str]]] = {}
        while time.monotonic() < deadline and len(seen) < 5:
            seen.update(_children(demo.proc.pid))
            time.sleep(0.1)
        assert [clock for clock, _ in seen.values()] == [spec] * 5, seen
        parts = [a for _, a in seen.values()]
        sims = {_option(a, "--site"): a for a in parts if "sim" in a}
        edges = {_option(a, "--edge-id"): a for a in parts if "edge" in a}
        assert len([a for a in parts if "cloud" in a]) == 1
        assert set(sims) == {site, f"{site}-2"} and set(edges) == {"edge-1", "edge-2"}
        # each edge finds every device of its site's simulator, on ports of their own
        for sim, edge in ((sims[site], edges["edge-1"]), (sims[f"{site}-2"], edges["edge-2"])):
            for option in ("--llrp-port-base", "--scale-port-base"):
                assert _option(edge, option) == _option(sim, option), option
        assert _option(sims[site], "--llrp-port-base") != _option(
            sims[f"{site}-2"], "--llrp-port-base"
        )
        # the first site runs the scenario asked for, the second the small one; each
        # fault goes to the simulator of the site whose device it names
        assert _option(sims[site], "--scenario") == "one-truck"
        assert _option(sims[f"{site}-2"], "--scenario") == "small-site"
        faults = {k: [a[i + 1] for i, x in enumerate(a) if x == "--fault"] for k, a in sims.items()}
        assert faults == {
            site: ["reader-door-2:silent@10s+20s", "scale-1:overload@1m+15s"],
            f"{site}-2": ["reader-door-5:silent@20s+10s"],
        }
        url = dashboard_url(demo)
        token = demo_tokens(demo)["operator"]
        # 3 simulated minutes at speed 10: the simulators end ~18 s after the clock started
        demo.wait_for(lambda ls: any("simulation ended after 3m" in x for x in ls), timeout=90)
        time.sleep(3)
        assert demo.proc.poll() is None, demo.output()[-3000:]
        status, health = get_json(url + "api/health")
        assert status == 200, health
        status, passages = get_json(url + "api/passages?limit=1000", token=token)
        assert status == 200, passages
    finally:
        code = demo.stop(signal.SIGINT, timeout=60)
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))
    assert code == 0, demo.output()[-3000:]
    records = [json.loads(x) for x in truth.read_text().splitlines()]
    starts = {
        datetime.fromisoformat(r["t"].replace("Z", "+00:00")) - timedelta(seconds=r["sim_s"])
        for r in records
    }
    assert starts == {start}, starts
    assert max(r["sim_s"] for r in records) <= 180
    assert any(r["event"] == "arrival" for r in records)
    faults = [(r["target"], r["phase"], r["sim_s"]) for r in records if r["event"] == "fault"]
    assert ("reader-door-2", "start", 10.0) in faults and ("reader-door-2", "end", 30.0) in faults
    assert ("scale-1", "start", 60.0) in faults
    # the truck's pallets crossed door-1 inbound, and the cloud says so, in simulated time
    arrivals = {(r["epc"], r["door"]) for r in records if r["event"] == "arrival"}
    found = {(p["epc"], p["door"]) for p in passages["items"] if p["direction"] == "inbound"}
    assert arrivals and arrivals <= found, (arrivals, passages["items"])
    assert all(p["time"].startswith("2025-01-06T08:") for p in passages["items"])
    # the second site's truth next to the first, on the same clock, with its own goods
    second = [json.loads(x) for x in (tmp_path / f"t-{site}-2.jsonl").read_text().splitlines()]
    assert {r["t"][:13] for r in second} == {"2025-01-06T08"}
    assert ("reader-door-5", "start", 20.0) in [
        (r["target"], r["phase"], r["sim_s"]) for r in second if r["event"] == "fault"
    ]
    epcs = {r["epc"] for r in records if r.get("epc")}
    assert epcs and not epcs & {r["epc"] for r in second if r.get("epc")}


def test_both_sites_reads_and_pallets_show_up_through_the_api_by_site(
    database_url, mqtt_url, site, tmp_path
):
    """One cloud, two warehouses: each site's readers, zone events and pallets are
    listed under its own site, and only there."""
    second = f"{site}-2"
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_HTTP_PORT": str(free_port()),
        **two_sites(site),
    }
    argv = ["demo", "--speed", "5"]
    demo = RunningProcess(argv, env, cwd=tmp_path, unset=("RFIDWMS_SITE", "RFIDWMS_LAYOUT"))
    try:
        url = dashboard_url(demo)
        token = demo_tokens(demo)["operator"]
        status, sites = get_json(url + "api/sites", token=token)
        assert status == 200 and [s["id"] for s in sites["items"]] == [site, second], sites
        zones = {s["id"]: set(s["zones"]) for s in sites["items"]}
        assert {"zone-a", "zone-b", "zone-c"} <= zones[site]
        assert {"zone-d", "zone-e"} <= zones[second]

        def listed(path: str) -> list[dict]:
            status, page = get_json(url + path, token=token)
            assert status == 200, (path, page)
            return page["items"]

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            readers = {s: listed(f"api/readers?site={s}") for s in (site, second)}
            pallets = {s: listed(f"api/pallets?site={s}&limit=1000") for s in (site, second)}
            heard = listed("api/zone-events?zone=zone-d&limit=10")
            if (
                all(
                    pallets[s] and any(r["state"] == "inventorying" for r in readers[s])
                    for s in (site, second)
                )
                and heard
            ):
                break
            time.sleep(2)
        else:
            raise AssertionError(f"not every site reads and stocks: {readers} {pallets}")
        # readers by site: each site's own edge's, none of the other's
        assert {r["edge_id"] for r in readers[site]} == {"edge-1"}
        assert {r["edge_id"] for r in readers[second]} == {"edge-2"}
        assert "reader-door-5" in {r["reader_id"] for r in readers[second]}
        # reads at the second site come through its own edge
        assert {e["edge_id"] for e in heard} == {"edge-2"}
        # pallets by site: the second site's goods (their own company prefix) only there
        assert all(p["sku"][1:8] == "0614141" for p in pallets[site]), pallets[site]
        assert all(p["sku"][1:8] == "0614142" for p in pallets[second]), pallets[second]
        assert not {p["zone"] for p in pallets[site]} & zones[second]
        assert not {p["zone"] for p in pallets[second]} & zones[site]
        everywhere = listed("api/pallets?limit=1000")
        assert {p["sku"][1:8] for p in everywhere} == {"0614141", "0614142"}
        # a request about one site that names none is refused, naming the sites
        status, refused = get_json(url + "api/tasks", token=token)
        assert status == 422 and site in refused["detail"] and second in refused["detail"]
    finally:
        code = demo.stop(signal.SIGINT, timeout=60)
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))
    assert code == 0, demo.output()[-3000:]


def test_demo_refuses_bad_scored_run_options_by_name(tmp_path):
    for bad, named in [
        (["--start", "soon"], "--start: 'soon' is not an ISO-8601 time"),
        (["--duration", "0"], "--duration: '0' must be more than 0"),
        (["--fault", "reader-door-2:silnt@30s"], "unknown kind 'silnt'"),
        (["--speed", "0"], "--speed: '0' must be above 0"),
    ]:
        demo = RunningProcess(["demo", *bad], {}, cwd=tmp_path)
        assert demo.proc.wait(30) == 2
        assert named in demo.output(), demo.output()
