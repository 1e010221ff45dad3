"""MQTT over TLS (``mqtts://``) with a private CA: edge -> broker -> ingester.

The test makes a CA and a broker certificate for 127.0.0.1 (``cryptography``), starts a
``mosquitto`` of its own with only a TLS listener on a free port, and runs the edge's
publisher and the cloud's ingester against ``mqtts://127.0.0.1:<port>`` with
``RFIDWMS_MQTT_CA_FILE`` pointing at the CA: a batch from the edge's spool is stored
and confirmed back to the edge. A client that does not trust the CA is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from cloudkit import eventually, rows, running_ingester, settings_for, until
from conftest import give_to_mosquitto, mosquitto_binary, require_system_tool, running_mosquitto
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.publisher import SpoolPublisher
from edge.spool import Spool
from protocols.mqtt import (
    Observation,
    ObservationBatch,
    TopicKind,
    encode,
    parse_mqtt_url,
    tls_context,
    topic,
)
from protocols.settings import CommonSettings, SettingsError, load_settings
from rfidwms.embedded import free_port

EPC = "3074257BF7194E4000001A85"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_ca_and_broker_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for a broker at 127.0.0.1 / localhost:
    (ca.pem, broker.pem, broker.key)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("rfidwms test CA"))
        .issuer_name(_name("rfidwms test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = (
        directory / "ca.pem",
        directory / "broker.pem",
        directory / "broker.key",
    )
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_pem, cert_pem, key_pem


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[tuple[str, Path]]:
    """A private mosquitto with only a TLS listener: (its mqtts:// URL, the CA file)."""
    require_system_tool(mosquitto_binary(), "mosquitto")
    tmp = Path(tempfile.mkdtemp(prefix="rfidwms-test-mqtts-"))
    try:
        ca, cert, key = write_ca_and_broker_cert(tmp)
        port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\n"
            f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
            "allow_anonymous true\npersistence false\n"
        )
        give_to_mosquitto(tmp)
        with running_mosquitto(conf, port):
            yield f"mqtts://127.0.0.1:{port}", ca
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _batch(spool_id: str, seq: int) -> bytes:
    now = datetime.now(UTC)
    obs = Observation(
        epc=EPC,
        reader_id="reader-door-1",
        antenna=1,
        read_point="door-1/outside",
        rssi_dbm=-50,
        first_seen=now,
        last_seen=now,
        seen_count=1,
    )
    return encode(
        ObservationBatch(edge_id="edge-1", spool=spool_id, seq=seq, sent_at=now, observations=[obs])
    )


async def test_edge_to_broker_to_ingester_over_mqtts_with_a_private_ca(
    tls_broker: tuple[str, Path], database_url: str, site: str, tmp_path: Path
) -> None:
    url, ca = tls_broker
    settings = settings_for(database_url, url, site, mqtt_ca_file=ca)
    async with running_ingester(settings) as rig, Spool(tmp_path / "spool.sqlite") as spool:
        obs_topic = topic(site, "edge-1", TopicKind.OBSERVATIONS)
        for _ in range(3):
            await spool.append(obs_topic, lambda seq: _batch(spool.spool_id, seq))
        publisher = SpoolPublisher(url, site, "edge-1", spool, reconnect_max_s=0.5, ca_file=ca)
        task = asyncio.create_task(publisher.run())
        try:
            await until(lambda: rig.ingester.stats.batches >= 3, timeout=30, what="3 batches")
            stored = await rows(database_url, "SELECT count(*) FROM ingested_batches")
            assert stored == [(3,)]

            async def spool_empty() -> bool:
                return not await spool.pending()

            await eventually(spool_empty, timeout=30, what="the spool emptied by the acks")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_client_that_does_not_trust_the_private_ca_is_refused(
    tls_broker: tuple[str, Path],
) -> None:
    url, _ca = tls_broker
    u = parse_mqtt_url(url)
    with pytest.raises(aiomqtt.MqttError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        async with aiomqtt.Client(u.host, u.port, tls_context=tls_context(u, None), timeout=10):
            pass


def test_a_ca_file_that_is_not_there_is_named_in_the_settings_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RFIDWMS_MQTT_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(SettingsError, match="RFIDWMS_MQTT_CA_FILE: not a readable PEM file"):
        load_settings(CommonSettings)
