"""A reader's faults and antenna events from a running simulator reach the fleet page
without a reload: simulator (antenna 2 of reader-zone-b disconnected and connected
again, reader-door-2's connection dropped) -> sllurp -> edge (its health message) ->
MQTT broker -> ingester -> PostgreSQL -> live feed -> /fleet in Debian's chromium."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from authkit import issue_token_now
from brokerkit import forget_session
from browser import chromium_page
from running import RunningProcess, get_json, layout_with_ports, sim_devices, wait_http

from cloud.settings import CloudSettings
from protocols.layout import load_layout
from rfidwms.embedded import free_port

LAYOUT = load_layout(None)
FAULTS_AT_S = (30, 60, 90, 120, 150, 180)
"""Simulated (here: wall) seconds after the simulator starts at which the faults come
again: the page is live before one of them however slow the machine is to start."""


def event_row(reader: str, kind: str, antenna: str = "") -> str:
    """A reader event the page heard live (from a delta: not in the snapshot it began
    with, nor after a reload)."""
    return (
        f'[data-testid="reader-events"][data-reader="{reader}"] '
        f'[data-testid="reader-event"][data-kind="{kind}"][data-antenna="{antenna}"]'
        '[data-fresh="true"]'
    )


@pytest.mark.browser
def test_an_antenna_event_and_a_dropped_reader_appear_on_the_fleet_page_live(
    database_url, mqtt_url, site, tmp_path
):
    http_port = free_port()
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_HTTP_PORT": str(http_port),
        "RFIDWMS_SPOOL_DIR": str(tmp_path / "spool"),
        "RFIDWMS_LLRP_KEEPALIVE_S": "0.5",
    }
    truth = tmp_path / "truth.jsonl"
    started: list[RunningProcess] = []
    try:
        faults = [
            f
            for at in FAULTS_AT_S
            for f in ("--fault", f"reader-zone-b:antenna=2@{at}s+6s",
                      "--fault", f"reader-door-2:drop@{at}s")
        ]  # fmt: skip
        sim = RunningProcess(
            ["sim", "--llrp-port-base", "0", "--scale-port-base", "0", "--seed", "7",
             "--scenario", "one-truck", "--truth", str(truth), *faults],
            env,
        )  # fmt: skip
        started.append(sim)
        sim_started = time.monotonic()
        cloud = RunningProcess(["cloud"], env)
        started.append(cloud)
        layout_file = layout_with_ports(LAYOUT, sim_devices(sim, LAYOUT), tmp_path / "layout.yaml")
        base = f"http://127.0.0.1:{http_port}/"
        wait_http(f"{base}api/health", 60, cloud)
        token = issue_token_now(database_url, "operator")  # the cloud has migrated
        edge = RunningProcess(["edge", "--layout", str(layout_file)], env)
        started.append(edge)

        with chromium_page() as page:
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.set_viewport_size({"width": 1024, "height": 768})
            page.goto(f"{base}fleet#token={token}")
            page.wait_for_selector('#conn[data-state="live"]', timeout=30_000)
            page.wait_for_selector(
                '[data-testid="reader-row"][data-reader="reader-zone-b"][data-state="inventorying"]',
                timeout=90_000,
            )
            live_after = time.monotonic() - sim_started
            assert live_after < FAULTS_AT_S[-2], f"the page was live only after {live_after} s"

            timeout = (FAULTS_AT_S[-1] + 30 - live_after) * 1000
            off = page.locator(event_row("reader-zone-b", "antenna_disconnected", "2")).first
            off.wait_for(timeout=timeout)
            assert "antenna 2" in off.inner_text()
            assert "fault" in (off.get_attribute("class") or "")
            on = page.locator(event_row("reader-zone-b", "antenna_connected", "2")).first
            on.wait_for(timeout=30_000)
            assert "fine" in (on.get_attribute("class") or "")
            page.locator(event_row("reader-door-2", "connection_lost")).first.wait_for(
                timeout=30_000
            )
            page.locator(event_row("reader-door-2", "reconnected")).first.wait_for(timeout=30_000)
            # newest first under the reader
            times = page.locator(
                '[data-testid="reader-events"][data-reader="reader-zone-b"] '
                '[data-testid="reader-event"]'
            ).evaluate_all("els => els.map(e => e.dataset.time)")
            assert len(times) >= 2 and times == sorted(times, reverse=True), times
            assert int(page.get_by_test_id("reader-faults").inner_text()) >= 2
            assert errors == []

        status, body = get_json(f"{base}api/reader-events?reader=reader-zone-b", token=token)
        assert status == 200, body
        kinds = [(e["kind"], e["antenna"]) for e in body["items"]]
        assert ("antenna_connected", 2) in kinds and ("antenna_disconnected", 2) in kinds
        for p in reversed(started):
            assert p.stop() == 0, f"rfidwms {p.argv[0]} did not stop cleanly:\n{p.output()[-3000:]}"
    finally:
        for p in reversed(started):
            if p.proc.poll() is None:
                p.proc.kill()
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))
    faults = [
        line
        for line in map(json.loads, truth.read_text().splitlines())
        if line.get("event") == "fault" and line.get("target") == "reader-zone-b"
    ]  # the simulator's truth names the fault the page showed
    assert [f["phase"] for f in faults][:2] == ["start", "end"], faults
