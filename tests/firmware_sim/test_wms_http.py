"""The simulator's WMS side over real HTTP (a scripted server on 127.0.0.1): the client's
bearer token, retries with backoff on connection errors, timeouts and 5xx, never on a
4xx (logged naming the request and the answer); what the ERP posts; how the workers hand
tasks to the world and report them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from firmware_sim.wms.bridge import OrderWanted, TaskOutcome, TruckComing, WorldBridge
from firmware_sim.wms.client import WmsClient, WmsUnavailable
from firmware_sim.wms.erp import Erp, run_tag
from firmware_sim.wms.mistakes import MistakeDice
from firmware_sim.wms.shift_lead import ShiftLead
from firmware_sim.wms.workers import Workers
from firmware_sim.world import ManualClock, TruthWriter, WarehouseWorld, parse_iso_utc
from firmware_sim.world.scenario import parse_scenario
from protocols.layout import load_layout
from rfidwms.embedded import free_port


@dataclass
class Script:
    """What the server answers, one entry per request: (status, body, delay_s)."""

    answers: list[tuple[int, Any, float]]
    seen: list[dict[str, Any]] = field(default_factory=list)


@asynccontextmanager
async def http_server(script: Script, port: int = 0) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        request_line, *header_lines = head.split("\r\n")
        headers = {k.lower(): v for k, _, v in (h.partition(": ") for h in header_lines if h)}
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        method, target, _ = request_line.split(" ")
        script.seen.append(
            {
                "method": method,
                "target": target,
                "auth": headers.get("authorization"),
                "body": json.loads(body) if body else None,
            }
        )
        status, answer, delay = script.answers.pop(0) if script.answers else (200, {}, 0.0)
        await asyncio.sleep(delay)
        data = json.dumps(answer).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        server.close()
        await server.wait_closed()


def client(url: str, **kw: Any) -> WmsClient:
    return WmsClient(url, "tok-123", name="erp", backoff_s=0.01, max_backoff_s=0.05, **kw)


async def test_a_request_carries_the_bearer_token_and_its_json():
    script = Script([(201, {"sku": "1"}, 0.0)])
    async with http_server(script) as url, client(url) as wms:
        answer = await wms.post("/api/items", {"sku": "1", "name": "x"})
    assert answer.ok and answer.status == 201 and answer.body == {"sku": "1"}
    assert script.seen == [
        {"method": "POST", "target": "/api/items", "auth": "Bearer tok-123",
         "body": {"sku": "1", "name": "x"}}
    ]  # fmt: skip


async def test_5xx_answers_are_retried_until_one_succeeds():
    script = Script([(503, {"detail": "busy"}, 0.0), (500, "oops", 0.0), (200, {"ok": 1}, 0.0)])
    async with http_server(script) as url, client(url) as wms:
        answer = await wms.get("/api/pallets", {"limit": 5})
    assert answer.body == {"ok": 1}
    assert [s["target"] for s in script.seen] == ["/api/pallets?limit=5"] * 3


async def test_a_4xx_is_not_retried_and_is_logged_naming_the_request_and_the_answer(caplog):
    caplog.set_level(logging.WARNING, logger="firmware_sim.wms.client")
    script = Script([(422, {"detail": "lines[0].sku: '1' is not an item"}, 0.0)])
    async with http_server(script) as url, client(url) as wms:
        answer = await wms.post("/api/orders", {"customer": "acme", "lines": [{"sku": "1"}]})
    assert not answer.ok and answer.status == 422
    assert len(script.seen) == 1
    [record] = caplog.records
    assert "POST /api/orders" in record.message and '"customer":"acme"' in record.message
    assert "-> 422 lines[0].sku: '1' is not an item" in record.message


async def test_the_same_refusal_again_soon_is_logged_quietly(caplog):
    caplog.set_level(logging.WARNING, logger="firmware_sim.wms.client")
    script = Script([(401, {"detail": "no token"}, 0.0)] * 3)
    async with http_server(script) as url, client(url) as wms:
        for _ in range(3):
            assert (await wms.get("/api/tasks")).status == 401
    assert len(caplog.records) == 1


async def test_a_wms_that_never_answers_is_unavailable_after_the_attempts():
    port = free_port()
    async with client(f"http://127.0.0.1:{port}/") as wms:
        with pytest.raises(WmsUnavailable, match=r"erp: GET /api/tasks: .*tried 3 times"):
            await wms.get("/api/tasks", attempts=3)


async def test_without_a_limit_a_request_waits_for_the_wms_to_come_up():
    port = free_port()
    script = Script([(201, {"made": True}, 0.0)])
    async with client(f"http://127.0.0.1:{port}/") as wms:
        call = asyncio.create_task(wms.post("/api/items", {"sku": "1"}, attempts=None))
        await asyncio.sleep(0.3)
        assert not call.done()
        async with http_server(script, port):
            answer = await asyncio.wait_for(call, 5)
    assert answer.body == {"made": True} and len(script.seen) == 1


async def test_a_timeout_is_retried():
    script = Script([(200, {"slow": True}, 1.0), (200, {"fast": True}, 0.0)])
    async with http_server(script) as url, client(url, timeout_s=0.3) as wms:
        answer = await wms.get("/api/health")
    assert answer.body == {"fast": True} and len(script.seen) == 2


async def test_pages_follow_next_to_the_end():
    script = Script(
        [
            (200, {"items": [1, 2], "next": "c1"}, 0.0),
            (200, {"items": [3], "next": None}, 0.0),
        ]
    )
    async with http_server(script) as url, client(url) as wms:
        items = await wms.pages("/api/tasks", {"status": "open", "limit": 2})
    assert items == [1, 2, 3]
    assert [s["target"] for s in script.seen] == [
        "/api/tasks?status=open&limit=2",
        "/api/tasks?status=open&limit=2&cursor=c1",
    ]


# -- the ERP and the workers over HTTP ---------------------------------------------------

START = parse_iso_utc("2025-01-06T08:00:00Z")
SCENARIO = """
catalog:
  skus:
    - {item_reference: "812345", name: Water, case_kg: 12.4}
  cases_per_pallet: [10, 10]
stock: {pallets_per_zone: 1}
inbound: {enabled: false}
outbound: {enabled: false}
trucks: [{at: 10s, door: door-1, pallets: 2}]
"""


class Opened:
    """A world following the bridge, opened, advanced by hand."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.out = io.StringIO()
        self.bridge = WorldBridge(self.clock)
        self.world = WarehouseWorld(
            load_layout(None),
            parse_scenario(SCENARIO),
            seed=4,
            start=START,
            truth=TruthWriter(self.out),
            director=self.bridge,
        )
        self.bridge.attach(self.world)
        self.bridge.erp_requests.get_nowait()  # the opening
        self.bridge.decide(self.world.flow.open_business)
        self.to(1)

    def to(self, sim_s: float) -> None:
        while self.clock.now - START < sim_s:
            self.clock.now = min(self.clock.now + 1, START + sim_s)
            self.world.advance(self.clock.now)

    def truth(self, event: str) -> list[dict[str, Any]]:
        lines = [json.loads(x) for x in self.out.getvalue().splitlines()]
        return [x for x in lines if x["event"] == event]


async def test_the_erp_announces_a_truck_exactly_before_it_docks():
    w = Opened()
    w.to(11)
    truck = w.bridge.erp_requests.get_nowait()
    assert isinstance(truck, TruckComing)
    script = Script([(201, {"asn": "x"}, 0.0)])
    async with http_server(script) as url, client(url) as wms:
        erp = Erp(wms, w.bridge, customers=["acme", "globex"], tag="20250106080000-s4", seed=4)
        await erp.handle(truck)
    [posted] = script.seen
    assert posted["method"] == "POST" and posted["target"] == "/api/asns"
    body = posted["body"]
    assert body["asn"] == "ASN-20250106080000-s4-truck-0001" and body["door"] == "door-1"
    assert body["expected_at"] == "2025-01-06T08:00:20Z"  # arrived at 10 s, docks 10 s later
    assert [p["epc"] for p in body["pallets"]] == [p.epc for p in truck.load]
    for sent, p in zip(body["pallets"], truck.load, strict=True):
        assert sent == {"sscc": p.sscc, "epc": p.epc, "sku": p.sku.gtin, "lot": p.lot.code,
                        "expiry": p.lot.expiry.isoformat(), "cases": p.case_epcs}  # fmt: skip
    assert w.truth("truck") == []
    w.to(12)
    assert [x["truck"] for x in w.truth("truck")] == ["truck-0001"]  # docked once posted


async def test_the_erp_orders_whole_available_pallets_for_the_next_customer():
    w = Opened()
    stored = list(w.world.flow.stored)
    sku = w.world.floor.get(stored[0]).pallet.sku.gtin
    pallets = [
        {"epc": "E1", "sscc": "1", "sku": sku, "lot": "L1", "expiry": "2025-05-01",
         "zone": "zone-a", "state": "available", "cases": 10},
        {"epc": "E2", "sscc": "2", "sku": sku, "lot": "L1", "expiry": "2025-05-01",
         "zone": "zone-b", "state": "available", "cases": 10},
        {"epc": "E3", "sscc": "3", "sku": sku, "lot": "L0", "expiry": "2025-04-01",
         "zone": "door-1", "state": "available", "cases": 10},
        {"epc": "E4", "sscc": "4", "sku": sku, "lot": "L0", "expiry": "2025-04-01",
         "zone": "zone-c", "state": "reserved", "cases": 10},
    ]  # fmt: skip
    order = {"id": "SO-000009", "ship_door": "door-2", "status": "allocated",
             "pick_tasks": [{"pallet_epc": stored[0]}, {"pallet_epc": stored[1]}]}  # fmt: skip
    listed = (200, {"items": pallets, "next": None}, 0.0)
    script = Script([listed, (201, order, 0.0), listed, (201, order, 0.0)])
    async with http_server(script) as url, client(url) as wms:
        erp = Erp(wms, w.bridge, customers=["acme", "globex"], tag="T", seed=4)
        await erp.handle(OrderWanted("door-2", 2, None))
        await erp.handle(OrderWanted("door-3", 1, None))
    assert script.seen[0]["target"] == "/api/pallets?limit=1000"
    first, second = script.seen[1]["body"], script.seen[3]["body"]
    assert first == {"customer": "acme", "lines": [{"sku": sku, "qty": 20}],
                     "ship_door": "door-2", "order": "PO-T-0001"}  # fmt: skip
    assert second["customer"] == "globex" and second["order"] == "PO-T-0002"
    assert second["lines"] == [{"sku": sku, "qty": 10}]
    w.to(2)
    [line, _] = w.truth("order")
    assert line["order"] == "SO-000009" and line["door"] == "door-2"
    assert line["pallets"] == stored[:2]


async def test_workers_hand_tasks_to_the_world_and_report_what_it_did():
    w = Opened()
    epc = next(iter(w.world.flow.stored))
    w.bridge.decide(w.world.flow.order_placed, "SO-1", "door-2", [epc])
    tasks = [
        {"id": "pick-1", "kind": "pick", "order": "SO-1", "pallet_epc": epc,
         "to_location": "packing", "pallets": []},
        {"id": "pick-2", "kind": "pick", "order": "SO-1", "pallet_epc": "3114257BF7194E4000001A85",
         "to_location": "packing", "pallets": []},
    ]  # fmt: skip
    script = Script(
        [
            (200, {"items": tasks, "next": None}, 0.0),
            (200, {"id": "pick-1"}, 0.0),
            (200, {"items": tasks[:1], "next": None}, 0.0),
        ]
    )
    async with http_server(script) as url, client(url) as wms:
        workers = Workers(wms, w.bridge, MistakeDice(0.0))
        await workers.poll()
        assert workers.book.in_hand == {"pick-1", "pick-2"}
        w.to(40)  # the pick delay is at most 30 s
        while not w.bridge.outcomes.empty():
            await workers.report(w.bridge.outcomes.get_nowait())
        assert workers.book.refused == {"pick-2"} and workers.book.in_hand == set()
        assert set(workers.book.reported) == {"pick-1"}
        # the WMS opened pick-1 again (a wrong pallet came instead): taken again
        await workers.poll()
        assert workers.book.in_hand == {"pick-1"} and workers.stats.again == 1
    assert [(s["method"], s["target"]) for s in script.seen] == [
        ("GET", "/api/tasks?status=open&limit=1000"),
        ("POST", "/api/tasks/pick-1/done"),
        ("GET", "/api/tasks?status=open&limit=1000"),
    ]
    assert [x["epc"] for x in w.truth("pick")] == [epc]


async def test_workers_put_a_pallet_onto_the_scale_again_for_a_weigh_task():
    w = Opened()
    epc = next(iter(w.world.flow.stored))
    w.bridge.decide(w.world.flow.order_placed, "SO-1", "door-2", [epc])
    w.to(2)
    w.bridge.decide(w.world.flow.pick_task, "pick-1", epc, "SO-1", None)
    w.to(200)  # picked, packed, weighed, set down
    while not w.bridge.outcomes.empty():
        w.bridge.outcomes.get_nowait()
    task = {"id": "weigh-1", "kind": "weigh", "order": "SO-1", "pallet_epc": epc,
            "to_location": "packing", "pallets": []}  # fmt: skip
    script = Script([(200, {"items": [task], "next": None}, 0.0), (200, {"id": "weigh-1"}, 0.0)])
    async with http_server(script) as url, client(url) as wms:
        workers = Workers(wms, w.bridge, MistakeDice(1.0))  # a weigh cannot go wrong
        await workers.poll()
        w.to(201)
        await workers.report(w.bridge.outcomes.get_nowait())
        assert workers.stats.mistakes == 0
    assert [(s["method"], s["target"]) for s in script.seen][-1] == (
        "POST",
        "/api/tasks/weigh-1/done",
    )
    w.to(260)
    assert [x["epc"] for x in w.truth("weigh")] == [epc, epc]


async def test_the_shift_lead_cancels_an_order_held_too_long_and_the_world_drops_it():
    w = Opened()
    epc = next(iter(w.world.flow.stored))
    w.bridge.decide(w.world.flow.order_placed, "SO-1", "door-2", [epc])
    held = [
        {"id": "SO-1", "status": "on_hold", "hold_reason": "weight_mismatch"},
        {"id": "SO-2", "status": "on_hold", "hold_reason": "mis_shipment"},
    ]
    script = Script(
        [
            (200, {"items": held, "next": None}, 0.0),  # first seen at 1 s
            (200, {"id": "SO-1", "pick_tasks": []}, 0.0),  # nothing weighed to count
            (200, {"items": held, "next": None}, 0.0),  # 300 s later: both due
            (200, {"id": "SO-1", "pick_tasks": []}, 0.0),
            (200, {"id": "SO-1", "status": "cancelled"}, 0.0),
            (409, {"detail": "status: order SO-2 has pallets gone through the door"}, 0.0),
            (200, {"items": held, "next": None}, 0.0),  # dealt with: not again
        ]
    )
    async with http_server(script) as url, client(url) as wms:
        lead = ShiftLead(wms, w.bridge, after_s=300.0)
        await lead.poll()
        w.to(301)
        await lead.poll()
        await lead.poll()
    assert [(s["method"], s["target"]) for s in script.seen] == [
        ("GET", "/api/orders?status=on_hold&limit=1000"),
        ("GET", "/api/orders/SO-1"),
        ("GET", "/api/orders?status=on_hold&limit=1000"),
        ("GET", "/api/orders/SO-1"),
        ("POST", "/api/orders/SO-1/cancel"),
        ("POST", "/api/orders/SO-2/cancel"),
        ("GET", "/api/orders?status=on_hold&limit=1000"),
    ]
    assert "weight_mismatch" in script.seen[4]["body"]["note"]
    assert (lead.stats.seen, lead.stats.cancelled, lead.stats.refused) == (2, 1, 1)
    w.to(302)
    [cancel] = w.truth("cancel")
    assert cancel["order"] == "SO-1" and cancel["pallets"] == []  # nothing picked yet


async def test_the_shift_lead_counts_a_pallet_held_for_its_weight_by_the_cases_on_it():
    """A pallet a case light at packing holds its order: the shift lead counts it once,
    by the cases a handheld reader finds on it (the one taken off is not there); a
    pallet of the order that weighed right is not counted."""
    w = Opened()
    epc = next(iter(w.world.flow.stored))
    w.bridge.decide(w.world.flow.order_placed, "SO-1", "door-2", [epc])
    w.to(2)
    whole = w.world.floor.get(epc).pallet.case_epcs
    w.bridge.decide(w.world.flow.pick_task, "pick-1", epc, "SO-1", "missing_case")
    w.to(200)
    [mistake] = w.truth("mistake")
    held = [{"id": "SO-1", "status": "on_hold", "hold_reason": "weight_mismatch"}]
    weighed = {
        "id": "SO-1",
        "pick_tasks": [
            {"pallet_epc": epc, "weight": {"verdict": "mismatch"}},
            {"pallet_epc": "3114257BF7194E4000001A85", "weight": {"verdict": "ok"}},
        ],
    }
    script = Script(
        [
            (200, {"items": held, "next": None}, 0.0),
            (200, weighed, 0.0),
            (201, {"id": 7, "variance": -1}, 0.0),
            (200, {"items": held, "next": None}, 0.0),
            (200, weighed, 0.0),  # counted: not again
        ]
    )
    async with http_server(script) as url, client(url) as wms:
        lead = ShiftLead(wms, w.bridge, after_s=300.0)
        await lead.poll()
        await lead.poll()
    assert [(s["method"], s["target"]) for s in script.seen] == [
        ("GET", "/api/orders?status=on_hold&limit=1000"),
        ("GET", "/api/orders/SO-1"),
        ("POST", "/api/scans"),
        ("GET", "/api/orders?status=on_hold&limit=1000"),
        ("GET", "/api/orders/SO-1"),
    ]
    body = script.seen[2]["body"]
    assert body == {
        "barcode": epc,
        "action": "count",
        "cases": [c for c in whole if c != mistake["case"]],
    }
    assert (lead.stats.counted, lead.stats.counted_short) == (1, 1)


async def test_a_warehouse_that_is_a_site_names_it_in_every_request_about_the_site():
    """A WMS serving several sites: the ERP, workers and shift lead of one warehouse
    name its site on notices, orders, pallets, tasks and held orders (ids by id need
    none: the WMS knows each one's site)."""
    w = Opened()
    w.to(11)
    truck = w.bridge.erp_requests.get_nowait()
    assert isinstance(truck, TruckComing)
    sku = w.world.floor.get(next(iter(w.world.flow.stored))).pallet.sku.gtin
    pallets = [{"epc": "E1", "sscc": "1", "sku": sku, "lot": "L1", "expiry": "2025-05-01",
                "zone": "zone-a", "state": "available", "cases": 10}]  # fmt: skip
    script = Script(
        [
            (201, {"asn": "x"}, 0.0),
            (200, {"items": pallets, "next": None}, 0.0),
            (201, {"id": "SO-1", "status": "allocated", "pick_tasks": []}, 0.0),
            (200, {"items": [], "next": None}, 0.0),
            (404, {"detail": "no such task"}, 0.0),
            (200, {"items": [], "next": None}, 0.0),
        ]
    )
    async with http_server(script) as url, client(url) as wms:
        erp = Erp(wms, w.bridge, customers=["acme"], tag="dc-2-T", seed=4, site="dc-2")
        await erp.handle(truck)
        await erp.handle(OrderWanted("door-2", 1, None))
        workers = Workers(wms, w.bridge, MistakeDice(0.0), site="dc-2")
        await workers.poll()
        await workers.report(TaskOutcome("putaway-1", True))
        await ShiftLead(wms, w.bridge, after_s=300.0, site="dc-2").poll()
    asn, listed, order, tasks, done, held = script.seen
    assert asn["body"]["site"] == "dc-2" and asn["body"]["asn"] == "ASN-dc-2-T-truck-0001"
    assert listed["target"] == "/api/pallets?limit=1000&site=dc-2"
    assert order["body"]["site"] == "dc-2" and order["body"]["order"] == "PO-dc-2-T-0001"
    assert tasks["target"] == "/api/tasks?status=open&limit=1000&site=dc-2"
    assert done["target"] == "/api/tasks/putaway-1/done?site=dc-2"
    assert held["target"] == "/api/orders?status=on_hold&limit=1000&site=dc-2"


def test_the_run_tag_names_the_site_when_there_is_one():
    start = parse_iso_utc("2025-01-06T08:00:00Z")
    assert run_tag(start, 7) == "20250106080000-s7"
    assert run_tag(start, 7, "dc-2") == "dc-2-20250106080000-s7"
