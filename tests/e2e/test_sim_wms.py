"""The simulated warehouse following the WMS, end to end: ``rfidwms cloud`` (the WMS),
``rfidwms sim --wms`` (its ERP posts items, notices and orders through the API with
bearer tokens; its workers carry out the tasks) and ``rfidwms edge`` between the two, on
one simulated clock at speed 10. Orders ship; with mistakes on, the truth says which
and the WMS caught them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from authkit import issue_token_now
from brokerkit import forget_session
from epciskit import schema_errors
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
from protocols.epc import Sgtin96, decode_hex
from protocols.layout import load_layout
from rfidwms.embedded import free_port

LAYOUT = load_layout(None)
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
SPEED = 10.0
TRUCK_S = 40.0
"""Simulated seconds after the warehouse opens (its opening stock announced) when the
truck comes: the edge must be reading door-1 by then."""
SCENARIO = {
    "name": "wms-e2e",
    "description": "Three pallets of opening stock, one truck, two orders (far enough apart"
    " that one order's pallets are weighed before the next one's come to packing)",
    "radio": {"miss_rate": 0.02},
    "catalog": {
        "skus": [
            {"item_reference": "812345", "name": "Water", "case_kg": 12.4},
            {"item_reference": "812346", "name": "Oil", "case_kg": 6.1},
        ],
        "cases_per_pallet": [10, 10],
    },
    "stock": {"pallets_per_zone": 1},
    "inbound": {"enabled": False},
    "outbound": {"enabled": False},
    "trucks": [{"at": TRUCK_S, "door": "door-1", "pallets": 2, "sku": "812345", "cases": 12}],
    "orders": [
        {"at": "100s", "door": "door-2", "pallets": 1},
        {"at": "250s", "door": "door-3", "pallets": 1},
    ],
    "erp": {"customers": ["acme", "globex"]},
}


def read_truth(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


class Run:
    def __init__(self, http: str, token: str, truth: Path, procs: list[RunningProcess]):
        self.http, self.token, self.truth_file, self.procs = http, token, truth, procs

    def truth(self, event: str | None = None) -> list[dict[str, Any]]:
        return [x for x in read_truth(self.truth_file) if event is None or x["event"] == event]

    def every(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            sep = "&" if "?" in path else "?"
            url = self.http + path + (f"{sep}cursor={cursor}" if cursor else "")
            status, page = get_json(url, token=self.token)
            assert status == 200, page
            items += page["items"]
            cursor = page["next"]
            if cursor is None:
                return items

    def wait_until(self, what: str, timeout_s: float, predicate: Any) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            exited = [p.argv[0] for p in self.procs if p.proc.poll() is not None]
            if exited:
                self.fail(what, f"rfidwms {exited[0]} exited")
            time.sleep(0.5)
        self.fail(what, "timed out")

    def fail(self, what: str, why: str) -> NoReturn:
        sim = "\n".join(
            x for x in self.procs[1].output().splitlines() if "firmware_sim.wms" in x or "flow" in x
        )
        orders = [
            (
                o["id"],
                o["status"],
                o["hold_reason"],
                [(e["event"], e["detail"]) for e in o["timeline"]],
            )
            for o in (
                get_json(f"{self.http}/api/orders/{x['id']}", token=self.token)[1]
                for x in self.every("/api/orders")
            )
        ]
        alerts = [(a["kind"], a["message"]) for a in self.every("/api/alerts")]
        weights = [
            (w["time"], w["scale"], w["epc"], w["weight_kg"]) for w in self.every("/api/weights")
        ]
        raise AssertionError(
            f"{why} waiting for {what}; the simulator said:\n{sim}\n"
            f"orders: {orders}\nalerts: {alerts}\nweights: {weights}\n"
            f"truth: {self.truth()[-30:]}"
        )


@pytest.fixture
def start_run(database_url, mqtt_url, site, tmp_path) -> Iterator[Any]:
    started: list[RunningProcess] = []

    def start(scenario: dict[str, Any], *sim_args: str) -> Run:
        http_port = free_port()
        clock = ScaledClock(START, time.time(), SPEED)
        env = parts_env(
            database_url=database_url,
            mqtt_url=mqtt_url,
            site=site,
            http_port=http_port,
            spool_dir=tmp_path / "spool",
            clock=clock.spec(),
        )
        scenario_file = tmp_path / "scenario.yaml"
        scenario_file.write_text(yaml.safe_dump(scenario))
        truth = tmp_path / "truth.jsonl"
        cloud = RunningProcess(["cloud"], env)
        started.append(cloud)
        http = f"http://127.0.0.1:{http_port}"
        wait_http(f"{http}/api/health", 60, cloud)
        erp = issue_token_now(database_url, "erp")  # the cloud has migrated
        operator = issue_token_now(database_url, "operator")
        sim = RunningProcess(
            ["sim", "--scenario", str(scenario_file), "--seed", "7", "--duration", "15m",
             "--llrp-port-base", "0", "--scale-port-base", "0", "--truth", str(truth),
             "--wms", http + "/", f"--wms-operator-token={operator}", *sim_args],
            {**env, "RFIDWMS_WMS_TOKEN": erp},
        )  # fmt: skip
        started.append(sim)

        lines = sim_devices(sim, LAYOUT)
        edge = RunningProcess(
            ["edge", "--layout", str(layout_with_ports(LAYOUT, lines, tmp_path / "layout.yaml"))],
            env,
        )
        started.append(edge)
        wait_edge_reading(edge, LAYOUT)
        docked = [x for x in read_truth(truth) if x["event"] == "truck"]
        assert not docked, f"the truck docked before the edge read every reader: {docked}"
        return Run(http, operator, truth, started)

    try:
        yield start
        for p in reversed(started):
            assert p.stop() == 0, f"rfidwms {p.argv[0]} did not stop cleanly:\n{p.output()[-3000:]}"
        for p in started:
            assert "Traceback" not in p.output(), p.output()[-4000:]
    finally:
        for p in reversed(started):
            if p.proc.poll() is None:
                p.proc.kill()
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))


def test_the_simulated_warehouse_posts_its_business_and_carries_out_the_wms_tasks(start_run):
    run = start_run(SCENARIO)

    def shipped() -> list[dict[str, Any]] | None:
        orders = run.every("/api/orders")
        done = [o for o in orders if o["status"] == "shipped"]
        return orders if len(orders) == 2 and len(done) == 2 else None

    orders = run.wait_until("both orders shipped", 150, shipped)

    sim = run.procs[1]
    reports = [f"workers: {t} done" for t in ("ship-1", "ship-2")]
    sim.wait_for(lambda lines: all(any(r in x for x in lines) for r in reports), timeout=20)
    tasks = run.every("/api/tasks")
    assert sim.stop() == 0
    sim_output = sim.output()

    # the ERP: the item master, the opening stock and the truck announced before it docked
    items = run.every("/api/items")
    assert sorted(i["name"] for i in items) == ["Oil", "Water"]
    assert {i["pallet_tare_kg"] for i in items} == {25.0}
    [truck] = run.truth("truck")
    stock = run.truth("stock")
    assert len(stock) == 3
    notices = {a["asn"]: a for a in run.every("/api/asns")}
    assert set(notices) == {"ASN-20250106080000-s7-opening", "ASN-20250106080000-s7-truck-0001"}
    status, notice = get_json(
        f"{run.http}/api/asns/ASN-20250106080000-s7-truck-0001", token=run.token
    )
    assert status == 200 and notice["door"] == "door-1"
    arrivals = {x["epc"]: x for x in run.truth("arrival")}
    for p in notice["pallets"]:
        true = arrivals[p["epc"]]
        assert p["sscc"] == true["sscc"] and p["lot"] == true["lot"]
        assert sorted(p["case_epcs"]) == sorted(true["cases"])
        assert p["status"] == "received"
    assert datetime.fromisoformat(notice["created_at"]) <= datetime.fromisoformat(
        truck["t"].replace("Z", "+00:00")
    )
    # the orders: for the two customers, whole pallets, through the doors asked for
    assert sorted(o["customer"] for o in orders) == ["acme", "globex"]
    assert {o["order"] for o in orders} == {
        "PO-20250106080000-s7-0001",
        "PO-20250106080000-s7-0002",
    }
    true_orders = {x["order"]: x for x in run.truth("order")}
    assert set(true_orders) == {o["id"] for o in orders}
    outbound = run.truth("outbound")
    for o in orders:
        assert o["ship_door"] == true_orders[o["id"]]["door"]
        out = [x for x in outbound if x["order"] == o["id"]]
        assert [x["epc"] for x in out] == true_orders[o["id"]]["pallets"]
        assert {x["door"] for x in out} == {o["ship_door"]}
        assert all(line["allocated"] == line["qty"] == line["shipped"] for line in o["lines"])
    # the workers: every put-away to the task's zone, every pick and ship task reported
    putaways = {t["pallet_epc"]: t for t in tasks if t["kind"] == "putaway"}
    assert set(putaways) == {x["epc"] for x in run.truth("arrival")}
    for x in run.truth("putaway"):
        assert putaways[x["epc"]]["to_location"] == x["zone"]
        assert putaways[x["epc"]]["confirmed_at"] is not None
    work = [t for t in tasks if t["kind"] in ("pick", "ship")]
    assert len(work) == 4 and all(t["status"] == "done" and t["confirmed_at"] for t in work)
    # a pick is reported as its pallet leaves the shelf, before RFID confirms it at packing;
    # a ship once its last pallet left (the door's RFID may have confirmed it first)
    assert all(t["reported_at"] for t in work if t["kind"] == "pick")
    summary = re.search(r"(\d+) tasks taken \(0 again\), (\d+) reported done, 0 not", sim_output)
    assert summary and summary[1] == summary[2] == "6", sim_output[-3000:]  # 2 put-aways too
    assert run.truth("mistake") == []
    assert "docks without" not in sim_output and "no put-away task" not in sim_output

    # the same run as GS1 EPCIS 2.0 events, which GS1's JSON schema accepts: each truck
    # pallet received with its cases aggregated, each ordered pallet shipped at its door
    status, doc = get_json(f"{run.http}/api/epcis/events?perPage=1000", token=run.token)
    assert status == 200 and schema_errors(doc) == []
    events = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert 0 < len(events) < 1000  # one page: all of them
    packed = {
        e["parentID"]: set(e["childEPCs"])
        for e in events
        if e["type"] == "AggregationEvent" and e["action"] == "ADD"
    }
    for x in run.truth("arrival"):
        children = packed[decode_hex(x["epc"]).uri]
        assert children and children <= {Sgtin96.from_hex(c).uri for c in x["cases"]}
    shipped = {
        (e["epcList"][0], e["readPoint"]["id"].rsplit(":", 1)[-1])
        for e in events
        if e["bizStep"] == "shipping"
    }
    assert shipped == {(decode_hex(x["epc"]).uri, x["door"]) for x in outbound}


def test_a_case_taken_off_before_the_scale_is_in_the_truth_and_the_wms_weighs_it_short(
    start_run,
):
    scenario = {
        **SCENARIO,
        "orders": SCENARIO["orders"][:1],
        "workers": {"mistakes": ["missing_case"], "mistake_rate": 1.0},
    }
    run = start_run(scenario)

    def caught() -> list[dict[str, Any]] | None:
        alerts = run.every("/api/alerts?kind=weight_mismatch")
        return alerts if alerts else None

    alerts = run.wait_until("a weight mismatch", 150, caught)
    mistakes = {m["sscc"]: m for m in run.truth("mistake")}
    weighs = {w["epc"]: w for w in run.truth("weigh")}
    assert {a["subject"] for a in alerts} == set(mistakes) and len(mistakes) == 1
    for m in mistakes.values():
        assert m["kind"] == "missing_case" and m["task"].startswith("pick-")
        assert weighs[m["epc"]]["weight_kg"] == m["weight_kg"]
        assert m["case"] not in weighs[m["epc"]]["cases"]
    for a in alerts:
        assert a["detail"]["measured_kg"] < a["detail"]["expected_kg"]
    orders = run.every("/api/orders")
    assert {o["status"] for o in orders} == {"on_hold"}
    assert run.truth("outbound") == []  # no ship task: nothing leaves


def test_wrong_pallets_and_wrong_doors_are_in_the_truth_and_the_wms_stops_them_at_the_door(
    start_run,
):
    """Every pick takes a wrong pallet first when there is another of the item on no order
    (a redone task is done right), every order is loaded through a wrong door
    (``--mistake-rate 1``)."""
    scenario = {**SCENARIO, "workers": {"mistakes": ["wrong_pallet", "wrong_door"]}}
    run = start_run(scenario, "--mistake-rate", "1")

    def loaded() -> list[dict[str, Any]] | None:
        mistakes = run.truth("mistake")
        picked = {m["epc"] for m in mistakes if m["kind"] == "wrong_pallet"}
        ordered = {epc for x in run.truth("order") for epc in x["pallets"]}
        out = {x["epc"] for x in run.truth("outbound")}
        return mistakes if picked and len(ordered) == 2 and picked | ordered <= out else None

    mistakes = run.wait_until("wrong and right pallets through the doors", 150, loaded)
    outbound = {x["epc"]: x for x in run.truth("outbound")}

    def caught() -> dict[str, dict[str, Any]] | None:
        alerts = run.every("/api/alerts?kind=mis_shipment")
        by_pallet = {a["detail"]["pallet"]: a for a in alerts}
        return by_pallet if len(alerts) == len(outbound) else None

    alerts = run.wait_until("a mis-shipment per pallet", 20, caught)
    wrong_picks = {a["subject"] for a in run.every("/api/alerts?kind=wrong_pick")}
    orders = {o["id"]: o for o in run.every("/api/orders")}
    picked = [m for m in mistakes if m["kind"] == "wrong_pallet"]
    doors = {m["epc"]: m for m in mistakes if m["kind"] == "wrong_door"}
    for m in picked:
        assert m["epc"] != m["instead_of"] and m["task"].startswith("pick-")
        assert m["sscc"] in wrong_picks  # seen at packing on no order: the WMS said so
        # the WMS opened the pick again; the right pallet went out with the wrong one
        assert outbound[m["instead_of"]]["order"] == outbound[m["epc"]]["order"] == m["order"]
    assert set(doors) == set(outbound)  # every loading went through a wrong door
    for epc, m in doors.items():
        assert m["task"].startswith("ship-") and m["door"] == outbound[epc]["door"]
        assert m["task_door"] == orders[m["order"]]["ship_door"] != m["door"]
        assert alerts[m["sscc"]]["detail"]["door"] == m["door"]
    assert {o["status"] for o in orders.values()} == {"on_hold"}
