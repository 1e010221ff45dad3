"""An edge for the cloud's command tests: a plain MQTT client that answers each command
as an edge does (the edge itself is tested against a simulated reader in tests/edge)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiomqtt

from protocols.commands import (
    CommandResult,
    CommandStatus,
    command_topic,
    decode_command,
    encode,
    result_topic,
)
from protocols.mqtt import parse_mqtt_url


async def answering_edge(mqtt_url: str, site: str, heard: list[dict], ready: asyncio.Event):
    """An edge-1 that answers every command: ok, except set_power above 30 dBm."""
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(u.host, u.port, identifier=f"edge-1-{site}") as client:
        await client.subscribe(command_topic(site, "edge-1"), qos=1)
        ready.set()
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            command = decode_command(message.payload)
            heard.append(json.loads(message.payload))
            too_much = command.power_dbm is not None and command.power_dbm > 30
            result = CommandResult(
                id=command.id, edge_id="edge-1", reader_id=command.reader_id,
                command=command.command,
                status=CommandStatus.ERROR if too_much else CommandStatus.OK,
                detail="too much" if too_much else f"{command.command.value} done",
                at=datetime.now(UTC),
            )  # fmt: skip
            await client.publish(result_topic(site, "edge-1"), encode(result), qos=1)
