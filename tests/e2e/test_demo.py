"""``rfidwms demo``: the whole system from one command, on embedded or configured services."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import pytest
from brokerkit import forget_session
from browser import chromium_page
from running import RunningProcess, get_json

from cloud.settings import CloudSettings
from rfidwms.embedded import free_port

DASHBOARD = re.compile(r"^dashboard: (http://127\.0\.0\.1:\d+/)$")


def dashboard_url(demo: RunningProcess) -> str:
    line = demo.wait_for(lambda ls: next((x for x in ls if DASHBOARD.match(x)), None), timeout=180)
    return DASHBOARD.match(line).group(1)  # type: ignore[union-attr]


@pytest.mark.browser
def test_demo_on_a_machine_with_no_services_shows_reads_live(tmp_path):
    """No RFIDWMS_DATABASE_URL or RFIDWMS_MQTT_URL: embedded PostgreSQL and broker."""
    demo = RunningProcess(
        ["demo"],
        {"RFIDWMS_HTTP_PORT": str(free_port())},
        cwd=tmp_path,
        unset=("RFIDWMS_DATABASE_URL", "RFIDWMS_MQTT_URL", "RFIDWMS_LAYOUT"),
    )
    try:
        url = dashboard_url(demo)
        out = demo.output()
        assert "database: embedded PostgreSQL" in out
        assert "mqtt: embedded broker" in out
        assert (tmp_path / ".rfidwms" / "postgres" / "PG_VERSION").exists()

        with chromium_page() as page:
            page.goto(url)
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
    demo = RunningProcess(["demo"], env, cwd=tmp_path)
    try:
        url = dashboard_url(demo)
        out = demo.output()
        assert "database: RFIDWMS_DATABASE_URL" in out
        assert f"mqtt: {mqtt_url}" in out
        assert not (tmp_path / ".rfidwms" / "postgres").exists()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, readers = get_json(url + "api/readers")
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
