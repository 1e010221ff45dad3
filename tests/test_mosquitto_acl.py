"""The project's real Mosquitto config (deploy/mosquitto/) confines each edge to its own topics.

A private ``mosquitto`` runs ``mosquitto.conf`` and ``acl`` as shipped, with only the
listener (a free 127.0.0.1 port) and the file locations (a temporary directory)
rewritten; the password file is made with ``mosquitto_passwd`` and handed to the
broker's user the way the compose entrypoint does it.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest
from conftest import give_to_mosquitto, mosquitto_binary, require_system_tool, running_mosquitto

from protocols.commands import command_topic, result_subscription, result_topic
from protocols.mqtt import (
    MAX_PAYLOAD_BYTES,
    TopicKind,
    ack_topic,
    live_subscription,
    live_topic,
    topic,
)
from rfidwms.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy/mosquitto"
QUIET = 1.0  # seconds a subscriber waits to be sure a denied message does not come


@dataclass(frozen=True)
class Broker:
    port: int
    passwords: dict[str, str]

    def client(self, user: str | None = None) -> aiomqtt.Client:
        """A client logged in as ``user`` with its password (anonymous for None)."""
        password = self.passwords[user] if user else None
        return aiomqtt.Client("127.0.0.1", self.port, username=user, password=password)


def project_config(tmp: Path, port: int) -> str:
    """deploy/mosquitto/mosquitto.conf with the listener and the paths moved into ``tmp``."""
    rewrite = {
        "listener": f"listener {port} 127.0.0.1",
        "password_file": f"password_file {tmp / 'passwd'}",
        "acl_file": f"acl_file {tmp / 'acl'}",
        "persistence_location": f"persistence_location {tmp / 'data'}/",
    }
    seen: list[str] = []
    lines = []
    for line in (CONFIG / "mosquitto.conf").read_text().splitlines():
        key = line.split()[0] if line.strip() and not line.lstrip().startswith("#") else ""
        if key in rewrite:
            seen.append(key)
            line = rewrite[key]
        lines.append(line)
    assert sorted(seen) == sorted(rewrite), f"expected each of {sorted(rewrite)} once: {seen}"
    text = "\n".join(lines) + "\n"
    settings = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert not [ln for ln in settings if "/mosquitto/" in ln], "a path this test does not move"
    return text


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    require_system_tool(mosquitto_binary(), "mosquitto")
    passwd_tool = require_system_tool("mosquitto_passwd", "mosquitto")
    tmp = Path(tempfile.mkdtemp(prefix="rfidwms-test-mosquitto-acl-"))
    try:
        port = free_port()
        (tmp / "data").mkdir()
        (tmp / "mosquitto.conf").write_text(project_config(tmp, port))
        shutil.copyfile(CONFIG / "acl", tmp / "acl")
        passwords = {"cloud": secrets.token_urlsafe(16), "edge-1": secrets.token_urlsafe(16)}
        # As the compose entrypoint: -c for the first user, then add the next.
        for i, (user, password) in enumerate(passwords.items()):
            create = ["-c"] if i == 0 else []
            subprocess.run(
                [passwd_tool, "-b", *create, str(tmp / "passwd"), user, password],
                check=True,
                capture_output=True,
                timeout=30,
            )
        (tmp / "passwd").chmod(0o700)
        (tmp / "acl").chmod(0o700)
        give_to_mosquitto(tmp)
        with running_mosquitto(tmp / "mosquitto.conf", port):
            yield Broker(port, passwords)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def next_message(client: aiomqtt.Client, timeout: float) -> aiomqtt.Message | None:
    try:
        async with asyncio.timeout(timeout):
            return await anext(client.messages)
    except TimeoutError:
        return None


async def received(client: aiomqtt.Client, until_topic: str) -> list[str]:
    """Topics of the messages ``client`` gets until one on ``until_topic`` and then
    ``QUIET`` seconds without any."""
    topics: list[str] = []
    while True:
        m = await next_message(client, QUIET if until_topic in topics else 10.0)
        if m is None:
            break
        topics.append(m.topic.value)
    assert until_topic in topics, f"the control message on {until_topic} never came: {topics}"
    return topics


async def test_no_client_gets_in_without_a_valid_password(broker):
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed"):
        async with broker.client():
            pass
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed"):
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username="edge-1", password="not-its-password"
        ):
            pass


async def test_an_edge_publishes_its_own_topics_to_the_cloud(broker, site):
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        await cloud.subscribe(f"rfidwms/v1/{site}/#", qos=1)
        mine = [topic(site, "edge-1", kind) for kind in TopicKind]
        for t in mine:
            await edge.publish(t, b"{}", qos=1)
        assert await received(cloud, mine[-1]) == mine


async def test_an_edge_cannot_publish_as_another_edge_or_as_the_cloud(broker, site):
    denied = [
        topic(site, "edge-2", TopicKind.OBSERVATIONS),
        topic(site, "edge-2", TopicKind.HEALTH),
        topic(site, "edge-2", TopicKind.STATUS),
        f"rfidwms/v1/{site}/edge-1/commands/reload",
        f"rfidwms/v1/{site}/edge-2/commands/reload",
        live_topic(site, "ingest-1"),  # an edge must not make up live deltas
        ack_topic(site, "edge-1"),  # an edge must not confirm its own batches
        ack_topic(site, "edge-2"),
    ]
    control = topic(site, "edge-1", TopicKind.OBSERVATIONS)
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        await cloud.subscribe(f"rfidwms/v1/{site}/#", qos=1)
        # MQTT 3.1.1 has no way to refuse a PUBLISH: Mosquitto acknowledges the denied
        # ones too and drops them, so the proof is that only the control message,
        # published after them on the same connection, reaches the cloud.
        for t in denied:
            await edge.publish(t, b"{}", qos=1)
        await edge.publish(control, b"{}", qos=1)
        assert await received(cloud, control) == [control]


async def test_a_message_over_the_size_limit_never_reaches_the_cloud(broker, site):
    control = topic(site, "edge-1", TopicKind.HEALTH)
    big = topic(site, "edge-1", TopicKind.OBSERVATIONS)
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        await cloud.subscribe(f"rfidwms/v1/{site}/#", qos=1)
        await edge.publish(big, b"x" * MAX_PAYLOAD_BYTES, qos=1)  # at the limit: delivered
        await edge.publish(big, b"x" * (MAX_PAYLOAD_BYTES + 1), qos=1)
        await edge.publish(control, b"{}", qos=1)
        assert await received(cloud, control) == [big, control]


async def test_an_edge_reads_only_its_own_commands(broker, site):
    other = f"rfidwms/v1/{site}/edge-2/commands/#"
    mine = f"rfidwms/v1/{site}/edge-1/commands/reload"
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        # Mosquitto (2.0.11 here) grants these subscriptions and applies the ACL's
        # `read` rights to each message it would deliver, so the proof is delivery.
        await edge.subscribe(other, qos=1)
        await edge.subscribe(f"rfidwms/v1/{site}/#", qos=1)
        await edge.publish(topic(site, "edge-1", TopicKind.OBSERVATIONS), b"{}", qos=1)
        await cloud.publish(topic(site, "edge-2", TopicKind.OBSERVATIONS), b"{}", qos=1)
        await cloud.publish(f"rfidwms/v1/{site}/edge-2/commands/reload", b"{}", qos=1)
        await cloud.publish(mine, b"{}", qos=1)
        assert await received(edge, mine) == [mine]


async def test_an_edge_answers_its_own_commands_only(broker, site):
    mine = result_topic(site, "edge-1")
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        await cloud.subscribe(result_subscription(site), qos=1)
        await edge.publish(result_topic(site, "edge-2"), b"{}", qos=1)  # denied
        await edge.publish(command_topic(site, "edge-1"), b"{}", qos=1)  # denied: cloud's
        await edge.publish(mine, b"{}", qos=1)
        assert await received(cloud, mine) == [mine]


async def test_the_cloud_sends_an_edge_its_commands_on_the_topic_it_reads(broker, site):
    mine = command_topic(site, "edge-1")
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        await edge.subscribe(mine, qos=1)
        await cloud.publish(mine, b"{}", qos=1)
        assert await received(edge, mine) == [mine]


async def test_an_edge_reads_only_its_own_acknowledgements(broker, site):
    mine, other = ack_topic(site, "edge-1"), ack_topic(site, "edge-2")
    async with broker.client("cloud") as cloud, broker.client("edge-1") as edge:
        await edge.subscribe(other, qos=1)
        await edge.subscribe(f"rfidwms/v1/{site}/_cloud/#", qos=1)
        await cloud.publish(other, b"{}", qos=1)
        await cloud.publish(live_topic(site, "ingest-1"), b"{}", qos=1)
        await cloud.publish(mine, b"{}", qos=1)
        assert await received(edge, mine) == [mine]


async def test_a_cloud_node_hears_the_live_deltas_an_ingester_retains(broker, site):
    delta = live_topic(site, "ingest-1")
    async with broker.client("cloud") as ingester:
        await ingester.publish(delta, b"delta", qos=1, retain=True)
    try:
        async with broker.client("cloud") as node:  # subscribing later: the retained one
            await node.subscribe(live_subscription(site), qos=1)
            m = await next_message(node, 10.0)
            assert m is not None and (m.topic.value, m.payload, m.retain) == (delta, b"delta", True)
    finally:
        async with broker.client("cloud") as ingester:
            await ingester.publish(delta, b"", qos=1, retain=True)


EDGE_THAT_DIES = """
import asyncio, sys
import aiomqtt

async def main():
    port, password, status = sys.argv[1:]
    will = aiomqtt.Will(status, b"offline", qos=1, retain=True)
    async with aiomqtt.Client(
        "127.0.0.1", int(port), username="edge-1", password=password, will=will
    ):
        print("connected", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_an_edges_last_will_reaches_the_cloud_when_it_dies(broker, site):
    status = topic(site, "edge-1", TopicKind.STATUS)
    async with broker.client("cloud") as cloud:
        await cloud.subscribe(status, qos=1)
        edge = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            EDGE_THAT_DIES,
            str(broker.port),
            broker.passwords["edge-1"],
            status,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert edge.stdout is not None
            async with asyncio.timeout(20):
                assert await edge.stdout.readline() == b"connected\n"
            edge.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker sends the will
            await edge.wait()
            will = await next_message(cloud, 10.0)
        finally:
            if edge.returncode is None:
                edge.kill()
                await edge.wait()
    assert will is not None, "the last will did not come"
    assert (will.topic.value, will.payload) == (status, b"offline")
    # Retained, so a dashboard that connects later also sees the edge offline.
    async with broker.client("cloud") as late:
        await late.subscribe(status, qos=1)
        retained = await next_message(late, 10.0)
    assert retained is not None and retained.retain and retained.payload == b"offline"
