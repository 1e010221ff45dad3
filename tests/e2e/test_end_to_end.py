"""One tag's full path with everything real: simulator -> sllurp -> edge -> MQTT broker
-> ingester -> PostgreSQL -> API and WebSocket."""

from __future__ import annotations

import asyncio
import json
import time

import aiomqtt
import pytest
import websockets
from authkit import bearer, issue_token_now
from brokerkit import forget_session
from running import (
    RunningProcess,
    get_json,
    layout_with_ports,
    sim_devices,
    wait_http,
)

from cloud.settings import CloudSettings
from protocols.epc import decode_epc
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic
from rfidwms.embedded import free_port

LAYOUT = load_layout(None)


@pytest.fixture
def system(database_url, mqtt_url, site, tmp_path):
    """sim + cloud + edge as the user runs them; the sim picks free ports and the edge
    gets them through its layout file. Stopped after the test."""
    http_port = free_port()
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_HTTP_PORT": str(http_port),
        "RFIDWMS_SPOOL_DIR": str(tmp_path / "spool"),
    }
    started: list[RunningProcess] = []
    try:
        sim = RunningProcess(
            ["sim", "--llrp-port-base", "0", "--scale-port-base", "0", "--seed", "7",
             "--truth", str(tmp_path / "truth.jsonl")],
            env,
        )  # fmt: skip
        started.append(sim)
        cloud = RunningProcess(["cloud"], env)
        started.append(cloud)

        lines = sim_devices(sim, LAYOUT)
        assert [ln.split()[0] for ln in lines if " llrp://" in ln] == [r.id for r in LAYOUT.readers]
        layout_file = layout_with_ports(LAYOUT, lines, tmp_path / "layout.yaml")
        wait_http(f"http://127.0.0.1:{http_port}/api/health", 60, cloud)
        token = issue_token_now(database_url, "operator")  # the cloud has migrated
        edge = RunningProcess(["edge", "--layout", str(layout_file)], env)
        started.append(edge)
        yield {
            "http": f"http://127.0.0.1:{http_port}",
            "ws": f"ws://127.0.0.1:{http_port}",
            "token": token,
            "sim": sim,
            "cloud": cloud,
            "edge": edge,
        }
        for p in reversed(started):
            assert p.stop() == 0, f"rfidwms {p.argv[0]} did not stop cleanly:\n{p.output()[-3000:]}"
    finally:
        for p in reversed(started):
            if p.proc.poll() is None:
                p.proc.kill()
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))


async def first_delta_with_reads(ws_url: str, token: str, timeout: float) -> tuple[dict, dict]:
    async with websockets.connect(f"{ws_url}/ws/live", additional_headers=bearer(token)) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            if msg.get("type") == "delta" and msg.get("reads"):
                return snapshot, msg
    raise AssertionError("no delta with reads arrived")


def test_a_tag_the_simulator_reports_reaches_the_api_and_the_live_feed(system):
    snapshot, delta = asyncio.run(first_delta_with_reads(system["ws"], system["token"], timeout=60))
    assert snapshot["type"] == "snapshot"
    assert delta["seq"] > snapshot["seq"]

    read = delta["reads"][0]
    epc = read["epc"]
    assert decode_epc(epc).scheme in {"sgtin", "sscc"}, "the simulator tags cases and pallets"
    reader = LAYOUT.reader(read["reader_id"])
    assert read["read_point"] == LAYOUT.read_point(reader.id, read["antenna"])

    status, tag = get_json(f"{system['http']}/api/tags/{epc}", token=system["token"])
    assert status == 200, tag
    assert tag["epc"] == epc
    assert tag["read_point"] in {a.read_point for r in LAYOUT.readers for a in r.antennas}
    assert tag["history"], "the tag has a history of reads"

    status, readers = get_json(f"{system['http']}/api/readers", token=system["token"])
    assert status == 200
    assert {r["reader_id"] for r in readers["items"]} >= {r.id for r in LAYOUT.readers}


def test_readers_report_inventorying_through_edge_health(system):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, readers = get_json(f"{system['http']}/api/readers", token=system["token"])
        states = {r["reader_id"]: r.get("state") for r in readers["items"]}
        assert set(states) == {r.id for r in LAYOUT.readers}
        if all(s == "inventorying" for s in states.values()):
            return
        time.sleep(1)
    raise AssertionError(f"readers not all inventorying: {states}")


async def retained_status(mqtt_url: str, site: str) -> dict:
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(u.host, u.port, username=u.username, password=u.password) as c:
        await c.subscribe(topic(site, "edge-1", TopicKind.STATUS), qos=1)
        async with asyncio.timeout(5):
            async for m in c.messages:
                return json.loads(m.payload)
    raise AssertionError("no retained status")


def test_a_stopped_edge_leaves_its_status_offline(system, mqtt_url, site):
    assert asyncio.run(retained_status(mqtt_url, site))["state"] == "online"
    assert system["edge"].stop() == 0
    assert asyncio.run(retained_status(mqtt_url, site))["state"] == "offline"
    out = system["edge"].output()
    assert "Traceback" not in out, out[-3000:]
