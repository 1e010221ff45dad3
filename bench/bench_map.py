"""The live warehouse map (/map) under load, in a real browser: frames per second.

A fresh database gets ``--pallets`` received pallets (2,000) spread over the demo
layout's zones; the cloud app (API, live hub, MQTT ingester, warehouse feed) serves
it on a free port; Debian's chromium (headless, through Playwright, 1024x768, no
GPU) opens ``/map`` signed in as an operator and waits until every pallet is drawn.
Then, for ``--seconds`` per repeat, the bench publishes to Mosquitto, as an edge
would, ``--passages`` door passages a minute (50; alternately a new pallet coming
in and a stocked one going out, at the four doors: each lights its door, moves a
pallet on or off the map and refreshes the passage list) and as many zone events
(a pallet moved to another zone: it glides there), while the page counts its
``requestAnimationFrame`` callbacks (the frames the browser gave the page: a busy
main thread gives fewer) and what the map itself drew (its redraws and their time).

Figures per repeat: frames/s (goal 30+), the map's redraws/s and its mean draw
time (ms). Checked: pallets drawn at the start, passages the page heard on its live
feed against those published. Targets only 127.0.0.1 (PostgreSQL on 5432, Mosquitto on 1883).

    .venv/bin/python bench/bench_map.py [--pallets 2000] [--passages 50] [--seconds 30]
        [--repeats 3] [--screenshot map.png]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import benchkit
import psycopg

from cloud.api.app import create_app
from cloud.api.server import CloudServer
from cloud.db import stock, users
from cloud.db.migrate import apply_migrations
from cloud.settings import CloudSettings
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, Position, StockState, receipt
from cloud.warehouse.roles import Role
from protocols.epc import Sscc96
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic

log = logging.getLogger("bench_map")

GOAL_FPS = 30.0
PREFIX = "0614141"
SKU = "00614141123452"
VIEWPORT = {"width": 1024, "height": 768}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

COUNT_FRAMES = """
async (ms) => {
  const stats = window.rfidwmsMap.stats;
  const drawn0 = stats.frames, drawMs0 = stats.drawMs;
  return await new Promise((resolve) => {
    let frames = 0;
    const t0 = performance.now();
    const tick = (t) => {
      frames += 1;
      if (t - t0 < ms) { requestAnimationFrame(tick); return; }
      resolve({ frames, elapsed: t - t0, drawn: stats.frames - drawn0,
                drawMs: stats.drawMs - drawMs0, onMap: window.rfidwmsMap.drawn.size });
    };
    requestAnimationFrame(tick);
  });
}
"""


def pallet(n: int) -> tuple[str, str]:
    """(SSCC-96 EPC hex, SSCC) of bench pallet ``n``."""
    p = Sscc96(company_prefix=PREFIX, serial_reference=f"7{n:09d}", filter=0)
    return p.to_hex(), p.sscc


async def stock_pallets(url: str, site: str, n: int, zones: list[str]) -> str:
    """``n`` received pallets of 10 cases spread over ``zones``; an operator's token."""
    t = datetime.now(UTC) - timedelta(days=1)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute(
            "INSERT INTO items (sku, name, case_weight_kg, pallet_tare_kg, created_at, updated_at)"
            " VALUES (%s, 'bench item', 10, 25, %s, %s)",
            [SKU, t, t],
        )
        await conn.execute(
            "INSERT INTO lots (sku, lot, expiry, created_at) VALUES (%s, 'B1', %s, %s)",
            [SKU, date.today() + timedelta(days=90), t],
        )
        for i in range(n):
            epc, sscc = pallet(i)
            zone = zones[i % len(zones)]
            await conn.execute(
                "INSERT INTO pallets (site, sscc, epc, sku, lot, expiry, status, received_at,"
                " created_at, updated_at) VALUES (%s, %s, %s, %s, 'B1', NULL, 'received', %s,"
                " %s, %s)",
                [site, sscc, epc, SKU, t, t, t],
            )
            where = Position(Bucket(site, SKU, "B1", zone, StockState.AVAILABLE), sscc)
            await stock.post(
                conn,
                receipt(where, 10, cause=Cause(CauseKind.USER, "bench"), time=t),
                recorded_at=t,
            )
        user = await users.create_user(conn, "bench-map", Role.OPERATOR, None, at=t)
        token = (await users.issue_token(conn, user, at=t)).token
        await conn.commit()
    return token


@asynccontextmanager
async def running_cloud(settings: CloudSettings) -> AsyncIterator[str]:
    await apply_migrations(settings.database_url)
    app = create_app(settings)
    async with CloudServer(app, "127.0.0.1", 0) as server:
        await asyncio.wait_for(app.state.cloud.ingester.subscribed.wait(), 30)
        yield server.url


class Floor:
    """What the bench's edge does: door passages and zone moves, as event batches."""

    def __init__(
        self, site: str, pallets: int, zones: list[str], doors: list[str], read_zones: list[str]
    ) -> None:
        self.topic = topic(site, "edge-1", TopicKind.EVENTS)
        self.spool = uuid.uuid4().hex
        self.seq = 0
        self.zones = zones
        self.doors = doors
        self.read_zones = read_zones
        """Zones with a reader: the only ones a zone event can name."""
        self.where = {i: zones[i % len(zones)] for i in range(pallets)}
        self.next_new = pallets
        self.passages = 0
        self.moves = 0

    def _batch(self, event: dict[str, Any], at: datetime) -> bytes:
        self.seq += 1
        return json.dumps(
            {
                "v": 1,
                "edge_id": "edge-1",
                "spool": self.spool,
                "seq": self.seq,
                "sent_at": at.isoformat(),
                "events": [event],
            }
        ).encode()

    def passage(self, at: datetime) -> bytes:
        door = self.doors[self.passages % len(self.doors)]
        if self.passages % 2 == 0:  # a new pallet comes in
            n, direction = self.next_new, "inbound"
            self.next_new += 1
        else:  # a stocked one goes out
            n, direction = next(iter(self.where)), "outbound"
            del self.where[n]
        self.passages += 1
        side = {
            "reads": 6,
            "peak_rssi_dbm": -48.0,
            "first_seen": at.isoformat(),
            "last_seen": at.isoformat(),
        }
        event = {
            "type": "passage",
            "door": door,
            "direction": direction,
            "epc": pallet(n)[0],
            "cases": [],
            "confidence": 0.95,
            "time": at.isoformat(),
            "evidence": {"outside": side, "inside": side},
        }
        return self._batch(event, at)

    def move(self, at: datetime) -> bytes:
        n = list(self.where)[(self.moves * 37) % len(self.where)]
        old = self.where[n]
        new = next(
            z
            for z in self.read_zones[self.moves % len(self.read_zones) :] + self.read_zones
            if z != old
        )
        self.where[n] = new
        self.moves += 1
        event = {
            "type": "zone",
            "kind": "moved",
            "epc": pallet(n)[0],
            "zone": new,
            "from_zone": old,
            "time": at.isoformat(),
        }
        return self._batch(event, at)


async def drive(mqtt_url: str, floor: Floor, per_minute: float, seconds: float) -> None:
    """Publish ``per_minute`` passages and as many zone moves a minute for ``seconds``."""
    m = parse_mqtt_url(mqtt_url)
    gap = 60.0 / per_minute
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    async with aiomqtt.Client(
        m.host, m.port, identifier=f"bench-map-{uuid.uuid4().hex[:6]}"
    ) as client:
        tick = 0
        while loop.time() < end:
            now = datetime.now(UTC)
            await client.publish(floor.topic, floor.passage(now), qos=1)
            await asyncio.sleep(gap / 2)
            await client.publish(floor.topic, floor.move(datetime.now(UTC)), qos=1)
            tick += 1
            await asyncio.sleep(max(0.0, gap / 2))


async def run(args: argparse.Namespace) -> benchkit.Result:
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("bench_map: needs Debian's chromium (apt-get install chromium)")
    layout = load_layout(None)
    zones = [z.id for z in layout.zones]
    doors = [d.id for d in layout.doors]
    site = "bench-map"
    result = benchkit.Result(
        name="map",
        title="Live warehouse map: frames per second in a real browser",
        description=(
            f"`/map` in headless chromium (1024x768, software rendering) with "
            f"{args.pallets:,} pallets on the demo layout while {args.passages:g} door passages "
            f"and {args.passages:g} zone moves a minute arrive through MQTT, the ingester and the "
            "live feed; frames counted with requestAnimationFrame over "
            f"{args.seconds:g} s per repeat."
        ),
        repeats=args.repeats,
    )
    fps = result.add(
        benchkit.Figure("frames/s", "frames/s", [], goal=f">= {GOAL_FPS:g}", goal_min=GOAL_FPS)
    )
    redraws = result.add(benchkit.Figure("map redraws/s", "redraws/s", []))
    draw_ms = result.add(benchkit.Figure("map draw time", "ms/redraw", []))
    with benchkit.fresh_database(args.database_url, "rfidwms_bench_map") as url:
        await apply_migrations(url)
        token = await stock_pallets(url, site, args.pallets, zones)
        settings = CloudSettings(
            database_url=url,
            mqtt_url=args.mqtt_url,
            site=site,
            ingest_client_id=f"bench-map-{uuid.uuid4().hex[:6]}",
            http_port=0,
        )
        read_zones = [z for z in zones if layout.readers_at(z)]
        floor = Floor(site, args.pallets, zones, doors, read_zones)
        async with running_cloud(settings) as base, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport=VIEWPORT)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                await page.goto(f"{base}map#token={token}")
                await page.wait_for_function(
                    f"window.rfidwmsMap && window.rfidwmsMap.drawn.size >= {args.pallets}",
                    timeout=120_000,
                )
                on_map = await page.evaluate("window.rfidwmsMap.drawn.size")
                for i in range(args.repeats):
                    load = asyncio.create_task(
                        drive(args.mqtt_url, floor, args.passages, args.seconds + 3)
                    )
                    await asyncio.sleep(2)  # the load under way
                    got = await page.evaluate(COUNT_FRAMES, args.seconds * 1000)
                    await load
                    seconds = got["elapsed"] / 1000
                    fps.values.append(got["frames"] / seconds)
                    redraws.values.append(got["drawn"] / seconds)
                    draw_ms.values.append(got["drawMs"] / max(got["drawn"], 1))
                    log.info(
                        "repeat %d: %.1f frames/s, %.1f redraws/s, %.2f ms/redraw, %d on the map",
                        i + 1,
                        fps.values[-1],
                        redraws.values[-1],
                        draw_ms.values[-1],
                        got["onMap"],
                    )
                published = floor.passages
                with contextlib.suppress(PlaywrightTimeout):  # counted below either way
                    await page.wait_for_function(
                        f"window.rfidwmsMap.stats.passages >= {published}", timeout=20_000
                    )
                heard = await page.evaluate("window.rfidwmsMap.stats.passages")
                if args.screenshot:
                    await page.screenshot(path=args.screenshot)
            finally:
                await browser.close()
    result.checks["pallets on the map at the start"] = f"{on_map:,} of {args.pallets:,}"
    result.checks["passages the page heard / published"] = f"{heard} / {published}"
    result.checks["page errors"] = len(errors)
    result.notes.append(
        "frames/s is what the browser gave the page (requestAnimationFrame callbacks); the "
        "map redraws its canvas only while something moves or a door is lit, which under "
        "this load is most of the time (redraws/s)."
    )
    result.extra = {
        "pallets": args.pallets,
        "passages_per_minute": args.passages,
        "seconds": args.seconds,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pallets", type=int, default=2000)
    parser.add_argument("--passages", type=float, default=50.0, help="door passages a minute")
    parser.add_argument("--seconds", type=float, default=30.0, help="counted per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--screenshot", type=Path, default=None, help="a PNG of the map at the end")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("cloud").setLevel(logging.WARNING)
    result = asyncio.run(run(args))
    path = benchkit.write(result)
    f = result.figure("frames/s")
    lo, med, hi = f.summary()
    sys.stdout.write(f"frames/s min {lo:.1f} median {med:.1f} max {hi:.1f} -> {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
