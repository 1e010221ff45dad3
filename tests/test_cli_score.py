"""``rfidwms score`` end to end: against a test double of the cloud API's contract, and
against the real cloud app on a seeded database.

The double is a small HTTP server on 127.0.0.1 serving ``/api/passages``,
``/api/zone-events``, ``/api/weights``, ``/api/pallets`` and ``/api/alerts`` as the
contract says (paged ``{"items", "next"}``, ``since``, ``kind``, ``limit``,
``cursor``, a bearer token), in pages of 3 so the command must follow cursors, and
``/api/orders/route-stats`` (and, for a cloud of two sites, ``/api/sites``, and
``site`` keeping the items of that site; without them it is a cloud that lists no
sites). Every test runs with
``RFIDWMS_TOKEN`` set to the token the double wants, unless it says otherwise. The
figures themselves are proven in test_scoring.py; here: the pages, the options, the
text, the JSON, the token and the exit codes, and, on the real app, that the command
reads its pallets, alerts and route stats as they are.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from authkit import bearer, issue_token_now
from test_scoring import (
    EPC,
    ITEM,
    P1,
    P5,
    ROUTE,
    SSCC,
    START,
    alert_item,
    run_passages,
    run_truth,
    run_weights,
    run_zone_events,
    warehouse_truth,
    wms_alerts,
    wms_stock,
)

from cloud.api.app import create_app
from cloud.api.server import CloudServer
from cloud.db import stock
from cloud.db.alerts import raise_alert
from cloud.db.migrate import apply_migrations
from cloud.settings import CloudSettings
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, Position, StockState, receipt
from firmware_sim.world import parse_iso_utc
from rfidwms.cli import main
from rfidwms.commands import score as score_command
from rfidwms.embedded import free_port

PAGE = 3
TOKEN = "score-token-0123456789abcdefghijklmnopqrstuvw"


@pytest.fixture(autouse=True)
def token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RFIDWMS_TOKEN", TOKEN)


class FakeApi:
    """Serves ``lists`` (name -> items) the way the cloud's contract says."""

    def __init__(
        self,
        lists: dict[str, list[dict[str, Any]]],
        status: int = 200,
        tokens: dict[str, str] | None = None,
        objects: dict[str, Any] | None = None,
    ) -> None:
        """``tokens``: token -> role of the tokens it knows (an ``operator`` may read);
        ``objects``: path under /api/ -> the object it answers."""
        self.lists = lists
        self.objects = objects or {}
        self.status = status
        self.tokens = {TOKEN: "operator"} if tokens is None else tokens
        self.requests: list[tuple[str, dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                api.requests.append((url.path, query))
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                if scheme != "Bearer" or token not in api.tokens:
                    self._send(401, {"detail": "the token is not valid (unknown or revoked)"})
                    return
                if api.tokens[token] not in ("admin", "operator"):
                    role = api.tokens[token]
                    self._send(403, {"detail": f"role {role!r} may not GET {url.path}"})
                    return
                name = url.path.removeprefix("/api/")
                if api.status == 200 and name in api.objects:
                    self._send(200, api.objects[name])
                    return
                if api.status != 200 or name not in api.lists:
                    code = api.status if api.status != 200 else 404
                    self._send(code, {"detail": "no"})
                    return
                items = api.lists[name]
                if "since" in query:
                    since = parse_iso_utc(query["since"])
                    key = "raised_at" if name == "alerts" else "time"
                    items = [i for i in items if parse_iso_utc(i[key]) >= since]
                if "kind" in query:
                    items = [i for i in items if i["kind"] == query["kind"]]
                if "site" in query:  # an item without one is of every site
                    items = [i for i in items if i.get("site", query["site"]) == query["site"]]
                offset = int(query.get("cursor", "0"))
                limit = min(int(query.get("limit", "100")), PAGE)
                page = items[offset : offset + limit]
                more = offset + limit < len(items)
                self._send(200, {"items": page, "next": str(offset + limit) if more else None})

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_truth(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def truth_file(tmp_path: Path) -> Path:
    return write_truth(tmp_path / "t.jsonl", run_truth())


@pytest.fixture
def api() -> Iterator[FakeApi]:
    lists = {
        "passages": run_passages(),
        "zone-events": run_zone_events(),
        "weights": run_weights(),
        "pallets": [],
        "alerts": [],
        "variances": [],
    }
    with FakeApi(lists, objects={"orders/route-stats": ROUTE}) as fake:
        yield fake


def test_score_follows_every_page_and_prints_the_figures_and_first_misses(
    truth_file: Path, api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["score", "--truth", str(truth_file), "--api", api.url])
    out = capsys.readouterr().out
    assert code == 0, out
    # 8 passages in pages of 3: three requests, the later ones with the cursor given
    passages = [q for path, q in api.requests if path == "/api/passages"]
    assert [q.get("cursor") for q in passages] == [None, "3", "6"]
    assert all(q["limit"] == "1000" for q in passages)
    assert all(parse_iso_utc(q["since"]) == START for q in passages)
    assert {path for path, _ in api.requests} == {
        "/api/sites",  # the double lists none: an older cloud, everything scored
        "/api/passages",
        "/api/zone-events",
        "/api/weights",
        "/api/pallets",
        "/api/alerts",
        "/api/variances",
        "/api/orders/route-stats",
    }
    assert "scored window: 2025-01-06T08:02:00.000Z to 2025-01-06T08:16:10.000Z" in out
    assert "warm-up 120 s, end margin 60 s" in out
    assert "arrival 3 of 5, outbound 1 of 1, putaway 2 of 3" in out
    assert "fault: 1 zone-reader outages (of 2 fault lines)" in out
    assert (
        "truth events replayed for the pallets at the end: arrival 5, outbound 1, pick 1, "
        "putaway 3, stage 1, stock 2, weigh 1"
    ) in out
    assert "truth events not scored: none" in out
    assert "cloud: 8 passages (6 in the window), 8 zone events, 1 weights, 0 pallets" in out
    lines = {ln.split("  ")[0]: ln for ln in out.splitlines()}
    assert "75.00 %" in lines["passages found"] and "FAIL" in lines["passages found"]
    assert "100.00 %" in lines["cases right"]
    assert "false passages by cause: staged 1, turn-back 1, wrong-door 1" in out
    assert "missed passage" in out and "3074257BF7194E4000000002  door-4" in out
    assert "2025-01-06T08:05:30.000Z  (inbound)" in out


def two_site_api() -> FakeApi:
    """The run's lists at dc-1 (edge-1), and at dc-2 (edge-2) passages, zone events and
    weights of its own that would be false ones at dc-1."""
    passages = [dict(p, edge_id="edge-1", site="dc-1") for p in run_passages()]
    zones = [dict(z, edge_id="edge-1", site="dc-1") for z in run_zone_events()]
    weights = [dict(w, edge_id="edge-1", site="dc-1") for w in run_weights()]
    other = [dict(p, door="door-5", edge_id="edge-2", site="dc-2") for p in passages]
    other_zones = [dict(z, zone="zone-d", edge_id="edge-2", site="dc-2") for z in zones]
    other_weights = [dict(w, scale="scale-3", edge_id="edge-2", site="dc-2") for w in weights]
    lists = {
        "sites": [{"id": "dc-1"}, {"id": "dc-2"}],
        "passages": [*passages, *other],
        "zone-events": [*zones, *other_zones],
        "weights": [*weights, *other_weights],
        "pallets": [],
        "alerts": [],
        "variances": [],
    }
    return FakeApi(lists, objects={"orders/route-stats": ROUTE})


def test_score_of_a_cloud_serving_two_sites_reads_the_first_sites_lists(
    truth_file: Path, api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--truth", str(truth_file), "--api", api.url]) == 0
    alone = capsys.readouterr().out
    with two_site_api() as fake:
        assert main(["score", "--truth", str(truth_file), "--api", fake.url]) == 0
    out = capsys.readouterr().out
    # the same figures as the cloud serving dc-1 alone: dc-2's events left out
    assert "; site dc-1" in out.splitlines()[0]
    assert out.split("\n", 1)[1] == alone.split("\n", 1)[1]
    assert "cloud: 8 passages (6 in the window), 8 zone events, 1 weights" in out
    sited = {p for p, q in fake.requests if q.get("site") == "dc-1"}
    assert sited == {
        "/api/passages",
        "/api/zone-events",
        "/api/weights",
        "/api/pallets",
        "/api/alerts",
        "/api/variances",
        "/api/orders/route-stats",
    }
    assert not any(p.startswith("/api/sites/") for p, _ in fake.requests)  # no layout needed


def test_score_site_names_the_site_and_one_not_served_exits_2(
    truth_file: Path, tmp_path: Path, caplog: Any
) -> None:
    figures = tmp_path / "figures.json"
    argv = ["score", "--truth", str(truth_file), "--json", str(figures)]
    with two_site_api() as fake:
        assert main([*argv, "--api", fake.url, "--site", "dc-2"]) == 0
        assert main([*argv, "--api", fake.url, "--site", "dc-3"]) == 2
    doc = json.loads(figures.read_text())
    assert doc["site"] == "dc-2"
    assert doc["cloud"]["passages"] == 8  # dc-2's own: door-5, all false for dc-1's truth
    assert {q.get("site") for p, q in fake.requests if p == "/api/pallets"} == {"dc-2"}
    assert "--site 'dc-3' is not a site of this cloud (it serves dc-1, dc-2)" in caplog.text


@pytest.mark.parametrize(
    ("served", "wanted", "site"),
    [
        ([{"id": "dc-1"}], None, "dc-1"),
        ([{"id": "x"}], "x", "x"),
        ([{"id": "dc-1"}, {"id": "dc-2"}], None, "dc-1"),
        ([{"id": "dc-1"}, {"id": "dc-2"}], "dc-2", "dc-2"),
    ],
)
def test_choose_site_takes_the_named_or_the_first(
    served: list[dict[str, Any]], wanted: str | None, site: str
) -> None:
    scope = score_command.choose_site(served, wanted)
    assert scope.site == site
    assert scope.params() == {"site": site}


@pytest.mark.parametrize(
    ("served", "wanted", "error"),
    [
        ([{"id": "dc-1"}], "dc-2", "--site 'dc-2' is not a site of this cloud"),
        ([], None, "/api/sites: items without a string 'id'"),
        ([{"name": "x"}], None, "/api/sites: items without a string 'id'"),
    ],
)
def test_choose_site_refuses_by_name(
    served: list[dict[str, Any]], wanted: str | None, error: str
) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace("'", "'")):
        score_command.choose_site(served, wanted)


def test_score_writes_the_figures_as_json(
    truth_file: Path, api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    assert main(["score", "--truth", str(truth_file), "--api", api.url, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["figures"]["passages found"] == {
        "value": 75.0,
        "unit": "%",
        "n": 4,
        "need": ">= 99.9",
        "ok": False,
    }
    assert doc["figures"]["cases right"]["ok"] is None
    assert doc["window"]["warmup_s"] == 120 and doc["window"]["match_window_s"] == 5
    assert doc["truth_events"]["arrival"] == {"in_file": 5, "scored": 3, "replayed": True}
    assert doc["truth_events"]["stock"] == {"in_file": 2, "scored": None, "replayed": True}
    assert doc["truth_events"]["fault"] == {"in_file": 2, "scored": 1, "replayed": False}
    # P1 and P5 judged, P2 on its way from door-4, P4 put away 30 s before the end
    assert doc["pallets"] == {"judged": 2, "in the warehouse": 4, "moving at the end": 1,
                              "moved within the end margin": 1}  # fmt: skip
    assert doc["figures"]["pallets right"]["ok"] is False  # the double lists no pallet
    assert doc["route"] == ROUTE
    assert doc["misses"]["counts"]["false passage"] == 3
    assert doc["misses"]["first"][0]["t"].startswith("2025-01-06T08:")
    assert doc["not_served"] == []


def test_require_exits_1_naming_the_failing_figures_and_the_options_change_the_window(
    truth_file: Path, api: FakeApi, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    argv = ["score", "--truth", str(truth_file), "--api", api.url, "--require"]
    assert main([*argv, "--warmup", "4m10s", "--margin", "0", "--window", "2s"]) == 1
    out = capsys.readouterr().out
    assert "scored window: 2025-01-06T08:04:10.000Z to 2025-01-06T08:17:10.000Z" in out
    assert "passages matched within 2 s" in out
    assert "requirements not met: passages found" in caplog.text


def test_require_exits_0_when_the_cloud_concluded_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = run_truth()
    crossings = [r for r in records if r["event"] in ("arrival", "outbound")]
    puts = [r for r in records if r["event"] == "putaway"]
    lists = {
        "passages": [
            {
                "time": r["t"],
                "door": r["door"],
                "direction": r["direction"],
                "epc": r["epc"],
                "cases": r.get("cases", []),
                "confidence": 1.0,
                "stored_at": r["t"],
                "edge_id": "edge-1",
            }
            for r in crossings
        ],
        "zone-events": [
            {
                "time": r["t"],
                "kind": "arrived",
                "epc": r["epc"],
                "zone": r["zone"],
                "from_zone": None,
                "stored_at": r["t"],
            }
            for r in puts
        ],
        "pallets": [
            {"epc": epc, "sscc": sscc, "sku": ITEM, "lot": lot, "expiry": None, "zone": zone,
             "state": "available", "cases": cases}
            for epc, sscc, lot, zone, cases in [
                (P1, "006141410000000011", "L1", "zone-b", 1),
                (P5, "006141410000000059", "L5", "packing", 2),
            ]
        ],
        "alerts": [],
    }  # no /api/weights, variances nor route stats: a 404 is scored as none  # fmt: skip
    truth = write_truth(tmp_path / "t.jsonl", records)
    with FakeApi(lists) as fake:
        code = main(["score", "--truth", str(truth), "--api", fake.url.rstrip("/"), "--require"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out
    assert (
        "0 weights, 2 pallets in stock, 0 mis_shipment and weight_mismatch alerts; "
        "not served by the API (404): /api/weights, /api/variances, /api/orders/route-stats"
    ) in out


def test_an_api_that_cannot_be_reached_exits_3_naming_the_url(
    truth_file: Path, caplog: Any
) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    assert main(["score", "--truth", str(truth_file), "--api", url]) == 3
    assert f"{url}api/sites?limit=" in caplog.text


def test_an_api_error_exits_3(truth_file: Path, caplog: Any) -> None:
    with FakeApi({"passages": []}, status=500) as fake:
        assert main(["score", "--truth", str(truth_file), "--api", fake.url]) == 3
    assert "HTTP 500" in caplog.text


def test_an_api_item_against_the_contract_exits_2_naming_it(truth_file: Path, caplog: Any) -> None:
    bad = [{**run_passages()[0], "direction": "sideways"}]
    with FakeApi({"passages": bad, "zone-events": [], "weights": []}) as fake:
        assert main(["score", "--truth", str(truth_file), "--api", fake.url]) == 2
    assert "passages[0].direction: 'sideways'" in caplog.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("{not json\n", "Expecting property name"),
        ('{"t": "2025-01-06T08:00:00Z", "event": "stock"}\n', "truth line 1.sim_s: None"),
    ],
)
def test_a_truth_file_that_cannot_be_read_exits_2_naming_it(
    tmp_path: Path, content: str | None, message: str, caplog: Any
) -> None:
    path = tmp_path / "t.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["score", "--truth", str(path), "--api", "http://127.0.0.1:9/"]) == 2
    assert f"--truth {path}" in caplog.text and message in caplog.text


def test_bad_options_are_refused_by_name(truth_file: Path, capsys: Any) -> None:
    with pytest.raises(SystemExit) as e:
        main(["score", "--truth", str(truth_file), "--warmup", "soon"])
    assert e.value.code == 2
    assert "--warmup: 'soon' is not a duration" in capsys.readouterr().err


def test_the_token_comes_from_the_option_before_the_environment(
    truth_file: Path, api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.tokens = {"given-on-the-command-line": "admin"}
    assert main(["score", "--truth", str(truth_file), "--api", api.url]) == 3
    argv = ["score", "--truth", str(truth_file), "--api", api.url]
    assert main([*argv, "--token", "given-on-the-command-line"]) == 0


def test_no_token_exits_3_saying_how_to_give_one(
    truth_file: Path, api: FakeApi, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.delenv("RFIDWMS_TOKEN")
    assert main(["score", "--truth", str(truth_file), "--api", api.url]) == 3
    assert "HTTP 401: the API needs a token" in caplog.text
    assert "pass --token or set RFIDWMS_TOKEN" in caplog.text


def test_a_refused_token_exits_3_saying_so(truth_file: Path, api: FakeApi, caplog: Any) -> None:
    argv = ["score", "--truth", str(truth_file), "--api", api.url, "--token", "revoked"]
    assert main(argv) == 3
    assert "HTTP 401: the API refused the token" in caplog.text
    assert "unknown or revoked" in caplog.text


def test_a_token_of_a_role_that_may_not_read_the_lists_exits_3_naming_the_role(
    truth_file: Path, api: FakeApi, caplog: Any
) -> None:
    api.tokens = {"customer-token": "customer"}
    argv = ["score", "--truth", str(truth_file), "--api", api.url, "--token", "customer-token"]
    assert main(argv) == 3
    assert "HTTP 403: the token's role may not read this" in caplog.text
    assert "role 'customer' may not GET /api/sites" in caplog.text


# ---------------------------------------------------------------------- the warehouse


@pytest.fixture
def warehouse_truth_file(tmp_path: Path) -> Path:
    return write_truth(tmp_path / "wms.jsonl", warehouse_truth())


def warehouse_api(alerts: list[dict[str, Any]] | None = None) -> FakeApi:
    wrong_pick = alert_item(9, "wrong_pick", 1531, SSCC["C"], pallet=SSCC["C"])
    lists = {
        "passages": [],
        "zone-events": [],
        "weights": [],
        "pallets": wms_stock(),
        "alerts": [*(wms_alerts() if alerts is None else alerts), wrong_pick],
    }
    return FakeApi(lists, objects={"orders/route-stats": ROUTE})


def test_score_reads_every_page_of_the_wms_pallets_and_alerts_and_prints_the_warehouse(
    warehouse_truth_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = tmp_path / "figures.json"
    argv = ["score", "--truth", str(warehouse_truth_file), "--json", str(figures)]
    with warehouse_api() as fake:
        assert main([*argv, "--api", fake.url]) == 0
    out = capsys.readouterr().out
    # 7 pallets in pages of 3, not since the run's start (stock is now); alerts of the
    # two kinds since the run's start
    pallets = [q for path, q in fake.requests if path == "/api/pallets"]
    assert [q.get("cursor") for q in pallets] == [None, "3", "6"]
    assert all("since" not in q for q in pallets)
    alerts = [q for path, q in fake.requests if path == "/api/alerts"]
    assert [q["kind"] for q in alerts] == ["mis_shipment", "weight_mismatch"]
    assert all(parse_iso_utc(q["since"]) == START for q in alerts)
    assert (
        "pallets at the end: judged 4, in the warehouse 6, moved within the end margin 1, "
        "moving at the end 1"
    ) in out
    assert (
        "mistakes scored: missing_case 1, wrong_door 1, wrong_pallet 1; not scored (no door "
        "or scale reached in the window): wrong_pallet 1; of kinds the scorer does not know: "
        "dropped 1"
    ) in out
    assert "truth events not scored: truck 1" in out
    assert "mistake 3 of 5" in out
    assert "7 pallets in stock, 3 mis_shipment and weight_mismatch alerts" in out
    assert (
        "pick routes: 4 orders, 300 m against 400 m in the naive order, "
        "75.0 m against 100.0 m per order"
    ) in out
    rows = {ln.split("  ")[0]: ln.split() for ln in out.splitlines()}
    assert rows["pallets right"][2:] == ["100.00", "%", "4", ">=", "99.9", "%", "ok"]
    # only the passages' and zones' figures fail: the double served none
    assert {name for name, row in rows.items() if row[-1] == "FAIL"} == {
        "passages found",
        "direction right",
        "false passages",
        "zone right",
        "p95 passage latency",
        "p95 put-away latency",
    }
    for name in ("pallets right", "mis-shipments alerted", "missing cases alerted"):
        assert rows[name][-1] == "ok", rows[name]
    doc = json.loads(figures.read_text())
    assert doc["figures"]["mis-shipments alerted"] == {
        "value": 100.0,
        "unit": "%",
        "n": 2,
        "need": "== 100",
        "ok": True,
    }
    assert doc["figures"]["mis-shipped pallets in stock"]["value"] == 2
    assert doc["mistakes"]["not scored"] == {"wrong_pallet": 1}
    assert doc["route"] == ROUTE


def test_require_names_the_warehouse_requirements_that_fail(
    warehouse_truth_file: Path, caplog: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    late = alert_item(1, "mis_shipment", 1790, SSCC["C"], pallet=SSCC["C"])
    with warehouse_api(alerts=[late, *wms_alerts()[1:2]]) as fake:
        argv = ["score", "--truth", str(warehouse_truth_file), "--api", fake.url, "--require"]
        assert main(argv) == 1
    out = capsys.readouterr().out
    failing = caplog.text.split("requirements not met: ")[1].splitlines()[0].split(", ")
    assert {"mis-shipments alerted", "missing cases alerted"} <= set(failing)
    assert "pallets right" not in failing
    assert "mis-shipment not alerted" in out and "missing case not alerted" in out
    assert f"{EPC['C']}  door-3" in out


# ---------------------------------------------------------------------- the real cloud


async def book_wms(database_url: str, site: str) -> None:
    """The WMS's books as they should be after the warehouse run: ``wms_stock()``'s
    pallets received through the ledger, ``wms_alerts()`` raised; besides, a
    ``wrong_pick`` alert and a ``mis_shipment`` raised before the run (neither is read)."""
    t0 = datetime.fromtimestamp(START, UTC)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for p in wms_stock():
            await conn.execute(
                "INSERT INTO items (sku, name, case_weight_kg, pallet_tare_kg, created_at,"
                " updated_at) VALUES (%s, %s, 10, 25, %s, %s) ON CONFLICT DO NOTHING",
                [p["sku"], f"item {p['sku']}", t0, t0],
            )
            await conn.execute(
                "INSERT INTO lots (sku, lot, expiry, created_at) VALUES (%s, %s, NULL, %s)",
                [p["sku"], p["lot"], t0],
            )
            await conn.execute(
                "INSERT INTO pallets (site, sscc, epc, sku, lot, status, received_at,"
                " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 'received', %s, %s, %s)",
                [site, p["sscc"], p["epc"], p["sku"], p["lot"], t0, t0, t0],
            )
            where = Position(Bucket(site, p["sku"], p["lot"], p["zone"], StockState.AVAILABLE),
                             p["sscc"])  # fmt: skip
            booked = receipt(where, p["cases"], cause=Cause(CauseKind.ASN, "test"), time=t0)
            await stock.post(conn, booked, recorded_at=t0)
        before = alert_item(8, "mis_shipment", -600, SSCC["B"], pallet=SSCC["B"])
        wrong_pick = alert_item(9, "wrong_pick", 1531, SSCC["C"], pallet=SSCC["C"])
        for a in [*wms_alerts(), before, wrong_pick]:
            await raise_alert(
                conn,
                site=site,
                kind=AlertKind(a["kind"]),
                subject=a["subject"],
                message=a["message"],
                at=datetime.fromisoformat(a["raised_at"]),
                detail=a["detail"],
            )


@contextmanager
def serving(settings: CloudSettings) -> Iterator[str]:
    """The cloud app (API only) served by uvicorn on a thread of its own, so the command
    runs on this one as it would in a shell; yields its base URL."""
    started: queue.Queue[str | BaseException] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        try:
            async with CloudServer(create_app(settings, ingest=False), "127.0.0.1", 0) as s:
                started.put(s.url)
                await asyncio.to_thread(stop.wait)
        except BaseException as e:
            started.put(e)
            raise

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    url = started.get(timeout=30)
    if isinstance(url, BaseException):
        raise url
    try:
        yield url
    finally:
        stop.set()
        thread.join(30)


def test_score_against_the_real_cloud_reads_its_pallets_alerts_and_route_stats(
    database_url: str,
    site: str,
    warehouse_truth_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(apply_migrations(database_url))
    asyncio.run(book_wms(database_url, site))
    admin = issue_token_now(database_url, "admin")
    operator = issue_token_now(database_url, "operator")
    with serving(CloudSettings(database_url=database_url, site=site, http_port=0)) as url:
        with httpx.Client(base_url=url, headers=bearer(admin)) as client:
            body = {"customer": "acme", "lines": [{"sku": wms_stock()[0]["sku"], "qty": 20}]}
            r = client.post("/api/orders", json=body)
            assert r.status_code == 201, r.text
            route = client.get("/api/orders/route-stats").json()
        monkeypatch.setattr(score_command, "PAGE_LIMIT", 2)  # the real cursors, page by page
        figures = tmp_path / "figures.json"
        argv = ["score", "--truth", str(warehouse_truth_file), "--api", url]
        code = main([*argv, "--token", operator, "--json", str(figures)])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(figures.read_text())
    got = {name: (f["value"], f["n"], f["ok"]) for name, f in doc["figures"].items()}
    assert got["pallets right"] == (100.0, 4, True)
    assert got["pallets: cases right"] == (100.0, 4, None)
    assert got["shipped pallets in stock"] == (0, 1, True)
    assert got["mis-shipped pallets in stock"] == (2, 2, None)
    assert got["pallets unknown to the truth"] == (0, 7, None)
    assert got["mis-shipments alerted"] == (100.0, 2, True)
    assert got["right shipments alerted"] == (0, 1, True)  # B's alert came before the run
    assert got["other mis_shipment alerts"] == (0, 2, None)
    assert got["missing cases alerted"] == (100.0, 1, True)
    assert doc["cloud"]["pallets"] == 7 and doc["cloud"]["alerts"] == 3
    assert doc["route"] == route and route["orders"] == 1 and route["naive_route_m"] > 0
    assert got["pick route vs naive"][0] == pytest.approx(
        100 * route["route_m"] / route["naive_route_m"]
    )
    assert doc["not_served"] == []
