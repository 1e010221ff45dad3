"""Commands to edges over MQTT, and their results back: the API node's command relay.

``async with CommandRelay(...) as relay`` keeps one MQTT connection (clean session,
an id of its own per node) that publishes commands (:meth:`send`, QoS 1) on each
edge's command topic and subscribes to every edge's results of the site. Each result
is written to ``edge_commands`` (the first answer counts) and the command, as it then
stands, goes to this node's live hub. Every API node hears every result, so every
node's live pages show it, whichever node sent the command. A result that comes while
no node is connected is lost; the command is then shown ``unanswered`` once its time
is up (:mod:`cloud.warehouse.fleet_commands`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import aiomqtt
import psycopg

from cloud.background import BackgroundTask
from cloud.db import edge_commands as db
from cloud.db.pool import Pool
from cloud.live.hub import LiveHub
from cloud.warehouse.fleet_commands import command_document
from protocols.clock import Clock
from protocols.commands import (
    ReaderCommand,
    command_topic,
    decode_result,
    encode,
    parse_result_topic,
    result_subscription,
)
from protocols.mqtt import PayloadError, parse_mqtt_url, tls_context

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 5.0


class CommandNotSent(RuntimeError):
    """The broker could not take the command (not connected, or no PUBACK in time)."""


class CommandRelay(BackgroundTask):
    task_name = "command relay"

    def __init__(
        self,
        mqtt_url: str,
        site: str,
        pool: Pool,
        hub: LiveHub,
        clock: Clock,
        *,
        retry_max_s: float = 10.0,
        ca_file: Path | None = None,
    ) -> None:
        self._url = parse_mqtt_url(mqtt_url)
        self._tls = tls_context(self._url, ca_file)
        self._site = site
        self._pool = pool
        self._hub = hub
        self._now = clock
        self._retry_max_s = retry_max_s
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self.results = 0

    async def send(self, command: ReaderCommand) -> None:
        """Publish ``command`` to its edge (QoS 1); :class:`CommandNotSent` otherwise (no
        broker connection within :data:`PUBLISH_TIMEOUT_S`, or no PUBACK in that time)."""
        try:
            await asyncio.wait_for(self.connected.wait(), PUBLISH_TIMEOUT_S)
        except TimeoutError:
            raise CommandNotSent("not connected to the MQTT broker") from None
        client = self._client
        if client is None:
            raise CommandNotSent("not connected to the MQTT broker")
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await client.publish(
                    command_topic(self._site, command.edge_id), encode(command), qos=1
                )
        except (aiomqtt.MqttError, TimeoutError) as e:
            raise CommandNotSent(f"the MQTT broker did not take it: {e or 'timed out'}") from e

    async def _run(self) -> None:
        delay = 0.25
        identifier = f"rfidwms-commands-{self._site}-{secrets.token_hex(4)}"
        while True:
            try:
                async with aiomqtt.Client(
                    self._url.host,
                    self._url.port,
                    username=self._url.username,
                    password=self._url.password,
                    identifier=identifier,
                    keepalive=15,
                    tls_context=self._tls,
                ) as client:
                    await client.subscribe(result_subscription(self._site), qos=1)
                    self._client = client
                    self.connected.set()
                    delay = 0.25
                    log.info(
                        "command relay: connected to MQTT %s:%d", self._url.host, self._url.port
                    )
                    async for message in client.messages:
                        payload = message.payload
                        if isinstance(payload, bytes | bytearray):
                            await self._take_result(message.topic.value, bytes(payload))
            except aiomqtt.MqttError as e:
                log.warning("command relay: MQTT unavailable (%s); retrying in %.2f s", e, delay)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_s)

    async def _take_result(self, topic_name: str, payload: bytes) -> None:
        try:
            address = parse_result_topic(topic_name)
            result = decode_result(payload)
        except PayloadError as e:
            log.warning("command relay: dropped a result: %s", e)
            return
        if address.edge_id != result.edge_id:
            log.warning(
                "command relay: a result on %s speaks for edge %r; dropped",
                topic_name,
                result.edge_id,
            )
            return
        try:
            async with self._pool.connection() as conn:
                record = await db.answer(conn, self._site, result)
        except psycopg.Error as e:
            log.warning("command relay: result of %s not stored: %s", result.id, e)
            return
        if record is None:
            log.warning("command relay: a result for an unknown command %s; dropped", result.id)
            return
        self.results += 1
        self._hub.publish_command(command_document(record, self._now()))
