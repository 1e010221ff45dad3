"""What tests need to know about, and tidy up in, the MQTT broker they run against."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
from conftest import unavailable

from protocols.mqtt import parse_mqtt_url, tls_context


async def broker_version(mqtt_url: str) -> str:
    """The broker's ``$SYS/broker/version`` (Mosquitto publishes it retained), or ''."""
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(u.host, u.port, username=u.username, password=u.password) as c:
        await c.subscribe("$SYS/broker/version")
        try:
            async with asyncio.timeout(1.0):
                async for m in c.messages:
                    return bytes(m.payload).decode() if isinstance(m.payload, bytes) else ""
        except TimeoutError:
            pass
    return ""


async def require_mosquitto(mqtt_url: str, feature: str) -> None:
    """Skip (fail under CI=true) unless the broker is Mosquitto, naming the feature."""
    if "mosquitto" not in (await broker_version(mqtt_url)).lower():
        unavailable(
            f"{feature} needs Mosquitto (Debian package 'mosquitto'); "
            f"the broker at {mqtt_url} is the embedded amqtt broker"
        )


async def forget_session(mqtt_url: str, client_id: str, ca_file: Path | None = None) -> None:
    """End a persistent session so the broker stops keeping it."""
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(
        u.host,
        u.port,
        username=u.username,
        password=u.password,
        identifier=client_id,
        clean_session=True,
        tls_context=tls_context(u, ca_file),
    ):
        pass
