"""Real services for the tests: PostgreSQL and an MQTT broker.

Chosen in this order: ``RFIDWMS_TEST_DATABASE_URL`` / ``RFIDWMS_TEST_MQTT_URL``
when set; else the local services on 127.0.0.1:5432 and 127.0.0.1:1883 when
they answer; else, for MQTT, a private ``mosquitto`` process on a free port when
the binary is installed (Debian package ``mosquitto``); else embedded ones
started for this run. Every test that asks for ``database_url`` gets a database
of its own (dropped afterwards), and every ``site`` is unique, so MQTT topics of
parallel runs never meet.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

from rfidwms.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, port_answers

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_MQTT = "mqtt://127.0.0.1:1883"
RUN_ID = uuid.uuid4().hex[:8]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_can_connect(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A URL of a PostgreSQL database with the right to create databases."""
    explicit = os.environ.get("RFIDWMS_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    if port_answers("127.0.0.1", 5432) and _pg_can_connect(LOCAL_PG):
        yield LOCAL_PG
        return
    tmp = Path(tempfile.mkdtemp(prefix="rfidwms-test-pg-"))
    try:
        with EmbeddedPostgres(tmp / "data") as pg:
            yield pg.url("postgres")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; dropped afterwards."""
    name = f"{prefix}_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped after it."""
    with fresh_database(pg_admin_url, "rfidwms_t") as url:
        yield url


@pytest.fixture
def timescale_url() -> Iterator[str]:
    """A fresh database on a PostgreSQL with TimescaleDB preloaded
    (``RFIDWMS_TEST_TIMESCALE_URL``, e.g. from ``../shared/tools/timescaledb start``);
    skipped, saying why, where there is none (under CI=true it fails instead)."""
    admin = os.environ.get("RFIDWMS_TEST_TIMESCALE_URL")
    if not admin:
        unavailable(
            "RFIDWMS_TEST_TIMESCALE_URL is not set: the TimescaleDB tests need a PostgreSQL "
            "with the timescaledb extension preloaded (e.g. ../shared/tools/timescaledb start)"
        )
    with fresh_database(admin, "rfidwms_ts") as url:
        yield url


def mosquitto_binary() -> str:
    """Where ``mosquitto`` is: on PATH, or in /usr/sbin where Debian puts it (not on a
    normal user's PATH); plain ``mosquitto`` when it is not installed."""
    return (
        shutil.which("mosquitto")
        or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
        or "mosquitto"
    )


def mosquitto_run_user() -> pwd.struct_passwd:
    """The user a ``mosquitto`` started as root switches to when the config sets no
    ``user``: ``mosquitto``, or ``nobody`` where that user does not exist (mosquitto.conf(5))."""
    try:
        return pwd.getpwnam("mosquitto")
    except KeyError:
        return pwd.getpwnam("nobody")


def give_to_mosquitto(directory: Path) -> None:
    """As root, hand ``directory`` and everything in it to the user mosquitto will run
    as, the way the compose entrypoint does (``chown -R mosquitto``), so the broker can
    still read its password and ACL files and write persistence after dropping root.
    As any other user mosquitto keeps running as that user, so nothing changes."""
    if os.geteuid() != 0:
        return
    user = mosquitto_run_user()
    for p in [directory, *directory.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid)


@contextmanager
def running_mosquitto(conf: Path, port: int, timeout: float = 10.0) -> Iterator[None]:
    """Run ``mosquitto -c conf`` until the block ends; ready when 127.0.0.1:``port``
    answers. Its output goes to ``mosquitto.log`` beside ``conf`` and is quoted when it
    does not start. Stopped with SIGTERM (SIGKILL after 5 s) however the block ends."""
    log_path = conf.parent / "mosquitto.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while not port_answers("127.0.0.1", port, timeout=0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = log_path.read_text(errors="replace")
                raise RuntimeError(
                    f"mosquitto -c {conf} did not start on port {port} "
                    f"(exit code {proc.poll()}):\n{out}"
                )
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def private_mosquitto() -> Iterator[str]:
    """A ``mosquitto`` of this test run only: anonymous, no persistence, on a free
    127.0.0.1 port; yields its URL and stops it (and removes its files) afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="rfidwms-test-mosquitto-"))
    try:
        port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        give_to_mosquitto(tmp)
        with running_mosquitto(conf, port):
            yield f"mqtt://127.0.0.1:{port}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """The URL of a running MQTT broker: ``RFIDWMS_TEST_MQTT_URL``; else the local one on
    127.0.0.1:1883 if it answers; else a private ``mosquitto`` on a free port if the
    binary is installed; else the embedded amqtt broker. A started broker is stopped at
    the end of the session."""
    explicit = os.environ.get("RFIDWMS_TEST_MQTT_URL")
    if explicit:
        yield explicit
        return
    if port_answers("127.0.0.1", 1883):
        yield LOCAL_MQTT
        return
    if shutil.which(mosquitto_binary()):
        with private_mosquitto() as url:
            yield url
        return
    with EmbeddedBroker() as broker:
        yield broker.url


@pytest.fixture
def site() -> str:
    """A site name no other test or run uses: the topic prefix that isolates a test."""
    return f"t{RUN_ID}{uuid.uuid4().hex[:6]}"


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing here: skip, naming it; under CI=true, fail."""
    if IN_CI:
        pytest.fail(f"CI=true, so this does not skip: {message}")
    pytest.skip(message)


def require_system_tool(path: str, package: str) -> str:
    """Return ``path`` if the tool is installed; otherwise :func:`unavailable`,
    naming the Debian package that provides it."""
    found = shutil.which(path)
    if found:
        return found
    unavailable(f"needs Debian package {package!r} ({path} not found); `make test` installs it")
