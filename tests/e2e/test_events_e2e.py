"""Events end to end, scored against the simulator's ground truth: ``rfidwms sim``
(one-truck, seed 7, a start years ago, speed 10) -> sllurp and MT-SICS in ``rfidwms edge``
-> event core -> spool -> broker -> ``rfidwms cloud`` -> PostgreSQL -> /api. Every process
runs on one simulated clock (RFIDWMS_CLOCK), so events are dated in simulated time."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from authkit import issue_token_now
from brokerkit import forget_session
from running import (
    RunningProcess,
    get_json,
    layout_with_ports,
    parts_env,
    sim_devices,
    wait_edge_reading,
    wait_http,
)

from cloud.settings import CloudSettings
from protocols.clock import ScaledClock
from protocols.layout import load_layout
from rfidwms.embedded import free_port

log = logging.getLogger(__name__)
LAYOUT = load_layout(None)
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
SPEED = 10.0
TIME_WINDOW_S = 2.0
TRUCK_S = 10.0
"""Simulated seconds after the start when one-truck's truck docks at door-1."""
LAST_OUTBOUND_S = 330.0
"""Simulated seconds after the start by which one-truck (seed 7) has shipped its order."""


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def truth(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def every(url: str, token: str) -> list[dict[str, Any]]:
    """Every item of a paged list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        sep = "&" if "?" in url else "?"
        status, page = get_json(url + (f"{sep}cursor={cursor}" if cursor else ""), token=token)
        assert status == 200, page
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items


PARTS_LEAD_S = 15.0
"""Wall seconds from the parts' launch to the world's beginning. The demo gives them 5 s
(its STARTUP_LEAD_S, when nothing else runs); here the cloud migrates a fresh database
first (17 migrations) on a machine the rest of the suite shares, so more, to keep the
precondition below about the edge, not about the machine's load."""


@pytest.fixture
def run(database_url, mqtt_url, site, tmp_path):
    http_port = free_port()
    # the world begins (the clock reads START) once the parts are up, as in the demo:
    # one-truck's first pallet crosses 2.4 s after it, and the parts take about as long
    # to start one after the other
    clock = ScaledClock(START, time.time() + PARTS_LEAD_S, SPEED)
    env = parts_env(
        database_url=database_url,
        mqtt_url=mqtt_url,
        site=site,
        http_port=http_port,
        spool_dir=tmp_path / "spool",
        clock=clock.spec(),
    )
    truth_file = tmp_path / "truth.jsonl"
    started: list[RunningProcess] = []
    try:
        cloud = RunningProcess(["cloud"], env)
        started.append(cloud)
        wait_http(f"http://127.0.0.1:{http_port}/api/health", 60, cloud)
        token = issue_token_now(database_url, "operator")  # the cloud has migrated
        sim = RunningProcess(
            ["sim", "--scenario", "one-truck", "--seed", "7", "--duration", "10m",
             "--llrp-port-base", "0", "--scale-port-base", "0", "--truth", str(truth_file)],
            env,
        )  # fmt: skip
        started.append(sim)

        lines = sim_devices(sim, LAYOUT)
        edge = RunningProcess(
            ["edge", "--layout", str(layout_with_ports(LAYOUT, lines, tmp_path / "layout.yaml"))],
            env,
        )
        started.append(edge)
        wait_edge_reading(edge, LAYOUT)
        late = time.time() - clock.origin
        assert late < TRUCK_S / SPEED, (
            f"the edge read every reader {late:.1f} s after the world began, after the truck "
            f"docked: the parts took longer than PARTS_LEAD_S ({PARTS_LEAD_S} s) to start"
        )
        yield {
            "http": f"http://127.0.0.1:{http_port}",
            "token": token,
            "clock": clock,
            "truth": truth_file,
            "procs": started,
        }
        for p in reversed(started):
            assert p.stop() == 0, f"rfidwms {p.argv[0]} did not stop cleanly:\n{p.output()[-3000:]}"
        out = edge.output()
        assert "Traceback" not in out, out[-3000:]
        assert "correcting its timestamps" not in out, "the reader clock agrees with the edge's"
    finally:
        for p in reversed(started):
            if p.proc.poll() is None:
                p.proc.kill()
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))


def wait_until(predicate, timeout_s: float, what: str, procs: list[RunningProcess]) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        for p in procs:
            assert p.proc.poll() is None, f"rfidwms {p.argv[0]} exited:\n{p.output()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_passages_zones_and_weights_the_cloud_serves_match_the_simulator_s_truth(run):
    http, clock, procs, token = run["http"], run["clock"], run["procs"], run["token"]
    world_start = None

    def shipped() -> list[dict[str, Any]] | None:
        nonlocal world_start
        events = truth(run["truth"])
        if events:
            world_start = when(events[0]["t"])
        outbound = [e for e in events if e["event"] == "outbound"]
        return events if len(outbound) == 2 else None

    wait_until(shipped, (LAST_OUTBOUND_S + 30) / SPEED + 30, "the order shipped", procs)
    events = truth(run["truth"])
    crossings = [e for e in events if e["event"] in ("arrival", "outbound")]
    weighs = [e for e in events if e["event"] == "weigh"]
    putaways = {e["epc"]: e for e in events if e["event"] == "putaway"}
    assert len(crossings) == 5 and len(weighs) == 2 and len(putaways) == 3

    def all_passages() -> list[dict[str, Any]] | None:
        items = every(f"{http}/api/passages?limit=50", token)
        return items if len(items) >= len(crossings) else None

    passages = wait_until(all_passages, 30, "every passage", procs)
    weights = wait_until(
        lambda: (
            every(f"{http}/api/weights", token)
            if len(every(f"{http}/api/weights", token)) >= 2
            else None
        ),
        30,
        "both weights",
        procs,
    )
    # the pallet that stays: in its put-away zone now, while the simulator still runs
    [staying] = [epc for epc in putaways if epc not in {e["epc"] for e in weighs}]
    status, tag = get_json(f"{http}/api/tags/{staying}", token=token)
    assert status == 200 and tag["zone"] == putaways[staying]["zone"], tag

    # passages: each true crossing found once, right door, direction, pallet, time
    latencies = []
    unmatched = list(passages)
    for true in crossings:
        t = when(true["t"])
        match = [
            p
            for p in unmatched
            if p["epc"] == true["epc"]
            and p["door"] == true["door"]
            and p["direction"] == true["direction"]
            and abs((when(p["time"]) - t).total_seconds()) <= TIME_WINDOW_S
        ]
        assert len(match) == 1, (true, passages)
        unmatched.remove(match[0])
        latencies.append((when(match[0]["stored_at"]) - t).total_seconds())
        assert len(match[0]["cases"]) >= 10, match[0]  # 12 cases travel with each pallet
        assert set(match[0]["cases"]) <= set(true["cases"])
    assert unmatched == [], f"passages the truth does not have: {unmatched}"

    # put-away: each pallet arrived in (or moved to) its zone, dated within the window
    zone_events = every(f"{http}/api/zone-events?limit=500", token)
    for epc, put in putaways.items():
        into = [
            z
            for z in zone_events
            if z["epc"] == epc and z["kind"] in ("arrived", "moved") and z["zone"] == put["zone"]
        ]
        assert into, (put, [z for z in zone_events if z["epc"] == epc])
        assert abs((when(into[0]["time"]) - when(put["t"])).total_seconds()) <= TIME_WINDOW_S

    # weights: the scale, the weight within a division and the noise, the pallet
    resolution = {s.id: s.resolution_kg for s in LAYOUT.scales}
    assert len(weights) == 2, weights
    weighed = {true["epc"] for true in weighs}
    for true in weighs:
        [w] = [x for x in weights if x["scale"] == true["scale"]]
        assert abs(w["weight_kg"] - true["weight_kg"]) <= resolution[true["scale"]] + 0.15, w
        # a pallet that was weighed: which of the two this scale's read point heard rise
        # most is a judgement on a few reads, measured by `rfidwms score` (weights
        # found), not asserted here (a loaded CI machine once gave the other one)
        assert w["epc"] in weighed, (w, true)
        on_scale_s = true["until_s"] - true["sim_s"]
        assert when(true["t"]) <= when(w["time"]) <= when(true["t"]) + timedelta(seconds=on_scale_s)

    assert world_start is not None and START <= world_start < clock()
    log.info(
        "passage latency (true crossing -> stored), simulated s: %s",
        sorted(round(x, 2) for x in latencies),
    )
