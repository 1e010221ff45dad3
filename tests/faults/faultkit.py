"""Private services a fault test may break, and the count that proves nothing was lost.

Every fault test runs its own Mosquitto (persistent, like the supplied configuration)
and, for a database fault, its own PostgreSQL cluster, on free 127.0.0.1 ports, so it
can kill and restart them without touching the machine's services. The cloud is
``rfidwms cloud``; the edge is :mod:`stream_edge` (the edge's real spool and publisher
fed a known set of batches). What the edge printed as ``spooled`` is what was sent;
:func:`assert_exactly_once` compares it with the database.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from conftest import give_to_mosquitto, mosquitto_binary, require_system_tool
from running import RunningProcess

from rfidwms.embedded import free_port, port_answers

STREAM_EDGE = Path(__file__).with_name("stream_edge.py")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60.0
"""Seconds a process or service gets to come up on a loaded machine."""
CATCH_UP_TIMEOUT = 120.0
"""Seconds the edge gets to have every batch confirmed after the fault."""


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class PrivateBroker:
    """A ``mosquitto`` of one test with persistence (saved every second, as
    deploy/mosquitto/mosquitto.conf does), restartable on the same port."""

    def __init__(self, tmp: Path) -> None:
        require_system_tool(mosquitto_binary(), "mosquitto")
        self.dir = tmp / "mosquitto"
        (self.dir / "data").mkdir(parents=True)
        self.port = free_port()
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self.dir / 'data'}/\n"
            "autosave_interval 1\nautosave_on_changes false\nmax_queued_messages 100000\n"
        )
        give_to_mosquitto(self.dir)
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.dir / "mosquitto.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not port_answers("127.0.0.1", self.port, timeout=0.2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log_text = (self.dir / "mosquitto.log").read_text(errors="replace")
                raise RuntimeError(f"mosquitto did not start on {self.port}:\n{log_text}")
            time.sleep(0.05)

    def kill(self) -> None:
        """``kill -9``: whatever it acknowledged and had not saved is gone."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: int) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> PrivateBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrivatePostgres:
    """A PostgreSQL 15 cluster of one test (``initdb`` into a temporary directory of its
    own, removed afterwards), restartable.

    As root, the server runs as the ``postgres`` user (PostgreSQL refuses root), so the
    directory is not under pytest's (which only root may enter)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            from conftest import unavailable

            unavailable(f"needs PostgreSQL 15 server binaries in {PG_BIN} (postgresql-15)")
        self.dir = Path(tempfile.mkdtemp(prefix="rfidwms-test-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(PG_BIN / tool), *args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c max_connections=50"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
            "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def __enter__(self) -> PrivatePostgres:
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            with contextlib.suppress(RuntimeError):
                self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)


# -- the parts ---------------------------------------------------------------------------


def start_cloud(database_url: str, mqtt_url: str, site: str) -> RunningProcess:
    """``rfidwms cloud`` on a free port, once its ingester is subscribed; it retries a
    broker or database that went away every second at most."""
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_HTTP_PORT": str(free_port()),
        "RFIDWMS_INGEST_RETRY_MAX_S": "1",
    }
    cloud = RunningProcess(["cloud"], env)
    try:
        subscribed(cloud, after=0)
    except BaseException:
        kill(cloud)
        raise
    return cloud


def subscribed(cloud: RunningProcess, after: int) -> None:
    """Until the cloud's ingester says (in a line after the first ``after``) it is
    subscribed."""
    cloud.wait_for(lambda ls: any("subscribed to" in x for x in ls[after:]), timeout=START_TIMEOUT)


def start_edge(
    mqtt_url: str,
    site: str,
    spool_dir: Path,
    *,
    batches: int,
    per_batch: int = 5,
    per_second: float = 40.0,
    max_bytes: int | None = None,
) -> RunningProcess:
    argv = [mqtt_url, site, str(spool_dir), str(batches), str(per_batch), str(per_second)]
    if max_bytes is not None:
        argv.append(str(max_bytes))
    return RunningProcess(argv, {}, script=STREAM_EDGE)


def kill(process: RunningProcess) -> None:
    """``kill -9``, and wait for it to be gone."""
    if process.proc.poll() is None:
        process.proc.kill()
    process.proc.wait(30)


_SPOOLED = re.compile(r"^spooled (\d+)$")


def spooled(*edges: RunningProcess) -> set[int]:
    """Every batch the edge processes say they spooled (each must arrive once)."""
    return {int(m[1]) for e in edges for line in list(e.lines) if (m := _SPOOLED.match(line))}


def lines_like(process: RunningProcess, prefix: str) -> int:
    return sum(line.startswith(prefix) for line in list(process.lines))


def wait_spooled(edge: RunningProcess, at_least: int) -> None:
    edge.wait_for(
        lambda ls: sum(x.startswith("spooled ") for x in ls) >= at_least, timeout=START_TIMEOUT
    )


def wait_empty(edge: RunningProcess) -> None:
    """Until every batch is spooled and confirmed by the cloud."""
    edge.wait_for(lambda ls: "empty" in ls, timeout=CATCH_UP_TIMEOUT)


def assert_exactly_once(database_url: str, seqs: set[int], per_batch: int) -> None:
    """Every observation of every batch in ``seqs`` is stored once, and nothing else."""
    with psycopg.connect(database_url) as conn:
        rows, epcs, stored_seqs = conn.execute(
            "SELECT count(*), count(DISTINCT epc), array_agg(DISTINCT seq) FROM observations"
        ).fetchone()  # type: ignore[misc]
        (batches,) = conn.execute("SELECT count(*) FROM ingested_batches").fetchone()  # type: ignore[misc]
    stored = set(stored_seqs or [])
    lost, extra = sorted(seqs - stored), sorted(stored - seqs)
    assert not lost, f"lost {len(lost)} batches: {lost[:20]}"
    assert not extra, f"stored {len(extra)} batches never spooled: {extra[:20]}"
    assert batches == len(seqs), f"{batches} batches claimed for {len(seqs)} sent"
    assert rows == epcs == len(seqs) * per_batch, (
        f"{rows} observations stored ({epcs} distinct) for {len(seqs) * per_batch} sent"
    )


@contextlib.contextmanager
def stopped_at_end(*processes: RunningProcess) -> Iterator[list[RunningProcess]]:
    """Processes started in the block (add them to the list) are stopped however it ends."""
    started = list(processes)
    try:
        yield started
    finally:
        for p in reversed(started):
            if p.proc.poll() is None:
                with contextlib.suppress(AssertionError):
                    p.stop(timeout=20)
            if p.proc.poll() is None:
                kill(p)
