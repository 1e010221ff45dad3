"""Returns and shrinkage on the demo's two sites, end to end: the simulated customer sends
a shipped order back, its pallet comes through a door into quarantine and the simulated
inspection restocks it; a shelved pallet vanishes in the simulated world, the automatic
cycle count opens a ``missing`` variance for it and an operator's approval takes it off
the book. Each runs ``rfidwms demo`` at ``--speed 10`` on a tiny scenario of its own
(``tests/data/scenarios/``) and checks what the API says against the truth file."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from authkit import bearer
from brokerkit import forget_session
from running import RunningProcess, get_json
from test_demo import DC2_LAYOUT, dashboard_url, demo_tokens

from cloud.settings import CloudSettings
from rfidwms.embedded import free_port

SCENARIOS = Path(__file__).parents[1] / "data" / "scenarios"
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@dataclass
class Demo:
    process: RunningProcess
    url: str
    tokens: dict[str, str]
    truth: Path

    def get(self, path: str) -> Any:
        """GET ``path`` as the operator; its JSON (a 200 is asserted)."""
        status, body = get_json(self.url + path, token=self.tokens["operator"])
        assert status == 200, (path, status, body)
        return body

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """POST ``body`` to ``path`` as the operator: status, JSON."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body or {}).encode(),
            headers={**bearer(self.tokens["operator"]), "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def truth_lines(self) -> list[dict[str, Any]]:
        """The first site's ground truth so far (flushed line by line; a line being
        written is left for the next look)."""
        if not self.truth.exists():
            return []
        out = []
        for line in self.truth.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return out

    def wait(self, what: str, found: Callable[[], Any], timeout: float) -> Any:
        """Poll ``found`` until it is truthy (its value) or ``timeout`` wall seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.proc.poll() is not None:
                raise AssertionError(f"the demo exited while waiting for {what}")
            value = found()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout} s:\n" + self.process.output()[-3000:])


@contextmanager
def two_site_demo(
    scenario: str, database_url: str, mqtt_url: str, site: str, tmp_path: Path
) -> Iterator[Demo]:
    """``rfidwms demo`` on ``site`` (with ``scenario``) and ``<site>-2`` (the bundled
    second site), at ``--speed 10`` from a fixed start; stopped with Ctrl-C afterwards,
    which must exit 0."""
    truth = tmp_path / "t.jsonl"
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_HTTP_PORT": str(free_port()),
        "RFIDWMS_SITES": f"{site},{site}-2={DC2_LAYOUT}",
    }
    start = START.isoformat().replace("+00:00", "Z")
    argv = ["demo", "--scenario", str(SCENARIOS / scenario), "--seed", "4", "--speed", "10"]
    argv += ["--start", start, "--truth", str(truth)]
    process = RunningProcess(argv, env, cwd=tmp_path, unset=("RFIDWMS_SITE", "RFIDWMS_LAYOUT"))
    try:
        yield Demo(process, dashboard_url(process), demo_tokens(process), truth)
    finally:
        code = process.stop(signal.SIGINT, timeout=60)
        client_id = CloudSettings(database_url=database_url, site=site).mqtt_client_id()
        asyncio.run(forget_session(mqtt_url, client_id))
    assert code == 0, process.output()[-3000:]


def lot_cases(demo: Demo, site: str, lot: str) -> dict[str, int]:
    """The lot's cases at ``site`` by the book: state -> cases."""
    out: dict[str, int] = {}
    for b in demo.get(f"api/stock?site={site}&limit=1000")["items"]:
        if b["lot"] == lot:
            out[b["state"]] = out.get(b["state"], 0) + b["qty"]
    return out


def test_a_shipped_order_sent_back_is_received_into_quarantine_and_restocked(
    database_url, mqtt_url, site, tmp_path
):
    with two_site_demo("return-quarantine.yaml", database_url, mqtt_url, site, tmp_path) as demo:

        def returned() -> dict[str, Any] | None:
            back = [r for r in demo.truth_lines() if r["event"] == "return"]
            return back[0] if back else None

        # the order ships, the customer asks it back (the ERP posts the RMA), its truck docks
        came = demo.wait("return docking at the first site", returned, timeout=150)
        rma, order_id = came["rma"], came["order"]
        (pallet,) = came["pallets"]
        epc = pallet["epc"]

        # the pallet on the book from its arrival until the inspection restocked it
        seen: list[str] = []

        def restocked() -> dict[str, Any] | None:
            status, p = get_json(demo.url + f"api/pallets/{epc}", token=demo.tokens["operator"])
            if status != 200:  # shipped and not yet back: nothing held
                return None
            if p["state"] and (not seen or seen[-1] != p["state"]):
                seen.append(p["state"])
            ret = demo.get(f"api/returns/{rma}")
            done = ret["status"] == "closed" and p["state"] == "available"
            # on the shelf the worker put it on: the edge may first hear it from a
            # neighbouring zone's bleed while it settles, and puts it right at its own
            # zone reader's next turn through its tags
            mine = [r for r in demo.truth_lines() if r["epc"] == epc]
            events = [r["event"] for r in mine]
            back = events.index("arrival") if "arrival" in events else len(events)
            put = [r["zone"] for r in mine[back:] if r["event"] == "putaway"]
            return p if done and put and p["zone"] == put[0] else None

        held = demo.wait("restocked return", restocked, timeout=120)
        ret = demo.get(f"api/returns/{rma}")
        order = demo.get(f"api/orders/{order_id}")
        stock = lot_cases(demo, site, pallet["lot"])
        truth = demo.truth_lines()

    # it came back into quarantine and left it, available, where it was put away
    assert "quarantine" in seen and seen[-1] == "available", seen
    assert seen.index("quarantine") < len(seen) - 1, seen
    cases = pallet["cases"]
    assert (held["status"], held["cases"]) == ("received", cases), held
    history = held["history"]
    into = [e for e in history if e["state"] == "quarantine" and e["qty"] > 0]
    assert sum(e["qty"] for e in into) == cases, history
    assert {(e["kind"], e["cause"]["kind"], e["cause"]["id"]) for e in into} == {
        ("receipt", "return", rma)
    }, into
    out_of = [e for e in history if e["state"] == "quarantine" and e["qty"] < 0]
    assert sum(e["qty"] for e in out_of) == -cases, history
    assert sum(e["qty"] for e in history if e["state"] == "quarantine") == 0

    # the return: every case asked, received and restocked, none written off
    assert ret["order_id"] == order_id and ret["site"] == site, ret
    (line,) = ret["lines"]
    assert (line["qty"], line["received"], line["restocked"]) == (cases, cases, cases), line
    assert (line["quarantined"], line["written_off"]) == (0, 0), line
    assert all(c["received"] and c["decision"] == "restock" for c in ret["cases"]), ret["cases"]
    (receipt,) = ret["receipts"]
    assert (receipt["door"], receipt["qty"]) == (came["door"], cases), receipt
    assert receipt["cause"].startswith("passage:"), receipt  # the door saw it come in

    # the order's timeline tells the story in order
    events = [t["event"] for t in order["timeline"]]
    story = ["return_requested", "return_received", "return_restocked"]
    assert [e for e in events if e in story] == story, events
    assert "shipped" in events[: events.index("return_requested")], events

    # the truth: shipped through the order's door, back through the return's, put away
    mine = [r for r in truth if r["epc"] == epc]
    chain = [r["event"] for r in mine if r["event"] not in ("stage", "turnback")]
    assert chain[-3:] == ["outbound", "arrival", "putaway"], chain
    (arrival,) = [r for r in mine if r["event"] == "arrival"]
    assert (arrival["rma"], arrival["door"]) == (rma, came["door"]), arrival
    assert sorted(arrival["cases"]) == sorted(c["epc"] for c in ret["cases"]), ret["cases"]
    assert held["zone"] == mine[-1]["zone"], (held, mine[-1])  # where it was put away
    assert [r["event"] for r in truth if r["event"] == "write_off"] == []

    # balances right: the lot's cases at the site are the opening stock's, all available
    opening = sum(
        len(r["cases"]) for r in truth if r["event"] == "stock" and r["lot"] == pallet["lot"]
    )
    assert stock == {"available": opening}, (stock, opening)


def test_a_pallet_vanished_from_its_shelf_becomes_a_variance_whose_approval_fixes_the_book(
    database_url, mqtt_url, site, tmp_path
):
    with two_site_demo("shelf-shrinkage.yaml", database_url, mqtt_url, site, tmp_path) as demo:

        def vanished() -> dict[str, Any] | None:
            gone = [r for r in demo.truth_lines() if r["event"] == "vanish"]
            return gone[0] if gone else None

        gone = demo.wait("pallet vanishing at the first site", vanished, timeout=150)
        epc = gone["epc"]
        (shelved,) = [r for r in demo.truth_lines() if r["event"] == "stock" and r["epc"] == epc]

        def missing() -> dict[str, Any] | None:
            page = demo.get(f"api/variances?site={site}&status=open&limit=1000")
            mine = [v for v in page["items"] if v["epc"] == epc]
            return mine[0] if mine else None

        variance = demo.wait(f"open variance for {epc}", missing, timeout=120)
        before = demo.get(f"api/pallets/{epc}")  # the book still holds it
        lot_before = lot_cases(demo, site, shelved["lot"])
        status, approved = demo.post(
            f"api/variances/{variance['id']}/approve", {"note": "not on the shelf"}
        )
        after_status, after = get_json(
            demo.url + f"api/pallets/{epc}", token=demo.tokens["operator"]
        )
        pallets = demo.get(f"api/pallets?site={site}&limit=1000")["items"]
        ledger = demo.get(f"api/ledger?site={site}&pallet={epc}&limit=1000")["items"]
        lot_after = lot_cases(demo, site, shelved["lot"])
        still_open = demo.get(f"api/variances?site={site}&status=open&limit=1000")["items"]

    cases = len(shelved["cases"])
    # the count found it: missing where the book has it, not heard anywhere
    assert variance["kind"] == "missing" and variance["zone"] == gone["zone"], variance
    assert variance["book_zone"] == gone["zone"] and variance["heard_zone"] is None, variance
    opened = datetime.fromisoformat(variance["opened_at"].replace("Z", "+00:00"))
    vanished_at = datetime.fromisoformat(gone["t"].replace("Z", "+00:00"))
    assert 0 < (opened - vanished_at).total_seconds() <= 300, (gone["t"], variance)
    assert (before["zone"], before["state"], before["cases"]) == (gone["zone"], "available", cases)

    # approved: the ledger wrote its cases off, naming the variance
    assert status == 200, approved
    assert approved["status"] == "approved" and approved["postings"], approved
    adjustments = [e for e in ledger if e["kind"] == "adjust"]
    assert {(e["cause"]["kind"], e["cause"]["id"]) for e in adjustments} == {
        ("count", f"variance:{variance['id']}")
    }, ledger
    assert sum(e["qty"] for e in adjustments) == -cases, adjustments
    assert {e["posting"] for e in adjustments} == set(approved["postings"]), adjustments
    assert sum(e["qty"] for e in ledger) == 0, ledger

    # the book no longer holds the pallet, and the lot is short by exactly its cases
    assert after_status == 404 or after["cases"] == 0, after
    assert shelved["sscc"] not in {p["sscc"] for p in pallets}, pallets
    assert sum(lot_after.values()) == sum(lot_before.values()) - cases, (lot_before, lot_after)
    assert variance["id"] not in {v["id"] for v in still_open}, still_open


def test_a_pallet_misplaced_on_another_shelf_becomes_a_variance_whose_approval_moves_the_book(
    database_url, mqtt_url, site, tmp_path
):
    with two_site_demo("shelf-misplace.yaml", database_url, mqtt_url, site, tmp_path) as demo:

        def wrong_zone() -> tuple[dict[str, Any], dict[str, Any]] | None:
            """An open variance of a pallet misplaced once so far (book where it stood,
            heard where it was put), with its misplace line."""
            last: dict[str, dict[str, Any]] = {}
            for r in demo.truth_lines():
                if r["event"] == "misplace":
                    last[r["epc"]] = r
            if not last:
                return None
            page = demo.get(f"api/variances?site={site}&status=open&limit=1000")
            for v in page["items"]:
                m = last.get(v["epc"])
                if m and (v["book_zone"], v["heard_zone"]) == (m["zone"], m["to_zone"]):
                    return v, m
            return None

        variance, moved = demo.wait("variance of a misplaced pallet", wrong_zone, timeout=240)
        epc = moved["epc"]
        (shelved,) = [r for r in demo.truth_lines() if r["event"] == "stock" and r["epc"] == epc]
        before = demo.get(f"api/pallets/{epc}")  # the book still has it where it stood
        lot_before = lot_cases(demo, site, shelved["lot"])
        status, approved = demo.post(f"api/variances/{variance['id']}/approve")
        after = demo.get(f"api/pallets/{epc}")
        lot_after = lot_cases(demo, site, shelved["lot"])
        still_open = demo.get(f"api/variances?site={site}&status=open&limit=1000")["items"]

    cases = len(shelved["cases"])
    # the count found it: booked where it stood, heard on the shelf it was put on
    assert variance["kind"] == "wrong_zone" and variance["zone"] == moved["to_zone"], variance
    opened = datetime.fromisoformat(variance["opened_at"].replace("Z", "+00:00"))
    misplaced_at = datetime.fromisoformat(moved["t"].replace("Z", "+00:00"))
    assert 0 < (opened - misplaced_at).total_seconds() <= 300, (moved["t"], variance)
    assert (before["zone"], before["state"], before["cases"]) == (moved["zone"], "available", cases)

    # approved: the ledger moved its cases to the zone heard, naming the variance
    assert status == 200, approved
    assert approved["status"] == "approved" and approved["postings"], approved
    assert (after["zone"], after["state"], after["cases"]) == (moved["to_zone"], "available", cases)
    by_count = [e for e in after["history"] if e["cause"]["kind"] == "count"]
    assert {(e["kind"], e["cause"]["id"]) for e in by_count} == {
        ("move", f"variance:{variance['id']}")
    }, after["history"]
    assert {e["posting"] for e in by_count} == set(approved["postings"]), by_count
    assert sorted((e["location"], e["qty"]) for e in by_count) == sorted(
        [(moved["zone"], -cases), (moved["to_zone"], cases)]
    ), by_count
    # moved, never made or lost
    assert lot_after == lot_before, (lot_before, lot_after)
    assert variance["id"] not in {v["id"] for v in still_open}, still_open
