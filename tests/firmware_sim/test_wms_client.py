"""The simulator's WMS client against a real HTTP server on 127.0.0.1: bearer token,
retries with backoff on connection errors, timeouts and 5xx, never on a 4xx (logged
naming the request and the answer)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from firmware_sim.wms.client import WmsClient, WmsUnavailable
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
