"""Real services for the tests: PostgreSQL and an MQTT broker.

Chosen in this order: ``RFIDWMS_TEST_DATABASE_URL`` / ``RFIDWMS_TEST_MQTT_URL``
when set; else the local services on 127.0.0.1:5432 and 127.0.0.1:1883 when
they answer; else embedded ones started for this run. Every test that asks for
``database_url`` gets a database of its own (dropped afterwards), and every
``site`` is unique, so MQTT topics of parallel runs never meet.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

from rfidwms.embedded import EmbeddedBroker, EmbeddedPostgres, port_answers

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


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped after it."""
    name = f"rfidwms_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_admin_url, dbname=name)
    try:
        yield url
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """The URL of a running MQTT broker."""
    explicit = os.environ.get("RFIDWMS_TEST_MQTT_URL")
    if explicit:
        yield explicit
        return
    if port_answers("127.0.0.1", 1883):
        yield LOCAL_MQTT
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
