"""The edge's commands from the cloud: which it refuses (a table), and an agent doing
them over a real broker against a simulated reader over TCP (real sllurp), answering
each with its result."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest

from edge.agent import EdgeAgent
from edge.commands import refusal
from edge.settings import EdgeSettings
from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting
from protocols.commands import (
    CommandResult,
    ReaderCommand,
    command_topic,
    decode_result,
    encode,
    result_topic,
)
from protocols.layout import Layout
from protocols.mqtt import ReaderState, parse_mqtt_url

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ANTENNAS = {"reader-door-1": [1, 2]}


def cmd(name: str = "stop", *, reader: str = "reader-door-1", edge: str = "edge-1",
        antenna: int | None = None, power: float | None = None, life_s: float = 30,
        sent: datetime = NOW) -> ReaderCommand:  # fmt: skip
    return ReaderCommand(
        id=uuid.uuid4().hex, edge_id=edge, reader_id=reader, command=name,  # type: ignore[arg-type]
        antenna=antenna, power_dbm=power, sent_at=sent,
        expires_at=sent + timedelta(seconds=life_s),
    )  # fmt: skip


EXPIRED = "expired at 2026-03-01T07:59:59+00:00 before it reached the edge"


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (cmd("stop"), None),
        (cmd("set_power", antenna=2, power=20.0), None),
        (cmd("stop", edge="edge-2"), "the command is for edge 'edge-2', this is 'edge-1'"),
        (
            cmd("start", reader="reader-zone-b"),
            "reader 'reader-zone-b' is not served by edge 'edge-1'",
        ),
        (
            cmd("set_power", antenna=3, power=20.0),
            "reader 'reader-door-1' has no antenna 3 (antennas: [1, 2])",
        ),
        (cmd("reconnect", sent=NOW - timedelta(seconds=31)), EXPIRED),
    ],
)
def test_which_commands_the_edge_refuses(command, why):
    assert refusal(command, "edge-1", ANTENNAS, NOW) == why


class OneTag:
    def sightings(self, reader_id: str, antenna_id: int, now: float) -> list[Sighting]:
        return [Sighting("3034257BF7194E4000001A85", -50.0)] if antenna_id == 1 else []


def layout_for(port: int) -> Layout:
    return Layout.model_validate(
        {
            "warehouse": {"id": "wh-1", "name": "Test", "width_m": 50, "depth_m": 30},
            "zones": [{"id": "zone-a", "name": "A", "area": {"x": 0, "y": 0, "w": 10, "h": 10}}],
            "doors": [
                {"id": "door-1", "name": "Door 1", "area": {"x": 20, "y": 0, "w": 4, "h": 2}}
            ],
            "readers": [
                {"id": "reader-door-1", "edge": "edge-1", "door": "door-1", "host": "127.0.0.1",
                 "port": port, "antennas": [{"id": 1, "read_point": "door-1/outside"},
                                            {"id": 2, "read_point": "door-1/inside"}]},
            ],
        }
    )  # fmt: skip


async def results_of(client: aiomqtt.Client, into: list[CommandResult]) -> None:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        into.append(decode_result(message.payload))


async def wait_until(predicate, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():  # noqa: ASYNC110 - polling state owned by other tasks
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_an_edge_does_its_commands_and_answers_each_with_its_result(mqtt_url, site, tmp_path):
    async with LLRPReaderServer("reader-door-1", [1, 2], OneTag(), port=0) as server:
        settings = EdgeSettings(
            spool_dir=tmp_path, site=site, mqtt_url=mqtt_url, llrp_keepalive_s=0.3,
            reconnect_max_s=0.5,
        )  # fmt: skip
        u = parse_mqtt_url(mqtt_url)
        results: list[CommandResult] = []
        async with (
            aiomqtt.Client(u.host, u.port, identifier=f"cloud-{site}") as cloud,
            EdgeAgent(settings, layout_for(server.port)) as agent,
        ):
            await cloud.subscribe(result_topic(site, "edge-1"), qos=1)
            listening = asyncio.create_task(results_of(cloud, results))
            running = asyncio.create_task(agent.run())
            try:
                link = agent._links[0]
                await wait_until(lambda: link.state is ReaderState.INVENTORYING, 30, "inventory")
                await wait_until(agent.publisher.subscribed.is_set, 30, "the subscriptions")

                async def send(command: ReaderCommand) -> CommandResult:
                    n = len(results)
                    await cloud.publish(command_topic(site, "edge-1"), encode(command), qos=1)
                    await wait_until(lambda: len(results) > n, 40, f"the result of {command}")
                    assert results[-1].id == command.id
                    return results[-1]

                now = datetime.now(UTC)
                stopped = await send(cmd("stop", sent=now))
                assert (stopped.status, stopped.detail) == ("ok", "inventory stopped")
                assert link.state is ReaderState.CONNECTED
                assert agent.health().readers[0].state is ReaderState.CONNECTED

                started = await send(cmd("start", sent=datetime.now(UTC)))
                assert (started.status, started.detail) == ("ok", "inventorying")

                power = await send(cmd("set_power", antenna=2, power=20.0, sent=datetime.now(UTC)))
                assert power.status == "ok"
                assert power.detail == "antenna 2: 20 dBm (power table index 41)"

                too_much = await send(
                    cmd("set_power", antenna=1, power=39.0, sent=datetime.now(UTC))
                )
                assert (too_much.status, too_much.detail) == (
                    "error",
                    "39 dBm is outside the reader's range 10-32.5 dBm",
                )

                expired = await send(
                    cmd("reconnect", sent=datetime.now(UTC) - timedelta(minutes=5))
                )
                assert expired.status == "error" and expired.detail.startswith("expired at")

                back = await send(cmd("reconnect", sent=datetime.now(UTC)))
                assert (back.status, back.detail) == ("ok", "reconnected; inventorying")
                assert all(
                    r.edge_id == "edge-1" and r.reader_id == "reader-door-1" for r in results
                )
            finally:
                for task in (running, listening):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
