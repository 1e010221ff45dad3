"""Private services a fault test may break, and the count that proves nothing was lost.

Every fault test runs its own Mosquitto (persistent, like the supplied configuration)
and, for a database fault, its own PostgreSQL cluster, on free 127.0.0.1 ports, so it
can kill and restart them without touching the machine's services; a
:class:`CuttableLink` between the edge and the broker cuts the edge off alone. The
cloud is ``rfidwms cloud``; the edge is :mod:`stream_edge` (the edge's real spool and
publisher fed a known set of batches). What the edge printed as ``spooled`` is what
was sent; :func:`delivery` counts it against the database (:func:`tally`, pure) and
:func:`assert_exactly_once` asserts the count.

``bench/bench_faults.py`` (the long version of these faults) imports this module too,
with ``tests/`` and ``tests/faults/`` on its ``sys.path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
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

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode``: ``fast`` (sessions ended, a checkpoint) or
        ``immediate`` (every process quits at once, as in a crash; recovery at start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

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


def start_cloud(
    database_url: str, mqtt_url: str, site: str, *, http_port: int | None = None
) -> RunningProcess:
    """``rfidwms cloud`` on ``http_port`` (a free one by default), once its ingester is
    subscribed; it retries a broker or database that went away every second at most."""
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_HTTP_PORT": str(http_port or free_port()),
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


def wait_spooled(edge: RunningProcess, at_least: int, timeout: float = START_TIMEOUT) -> None:
    edge.wait_for(lambda ls: sum(x.startswith("spooled ") for x in ls) >= at_least, timeout)


def wait_empty(edge: RunningProcess, timeout: float = CATCH_UP_TIMEOUT) -> None:
    """Until every batch is spooled and confirmed by the cloud."""
    edge.wait_for(lambda ls: "empty" in ls, timeout=timeout)


_DEPTH = re.compile(r"^depth (\d+) (\d+) (full|room) (\d+)$")


@dataclass(frozen=True)
class SpoolDepth:
    """What :mod:`stream_edge` said of its spool in a ``depth`` line (once a second)."""

    batches: int
    bytes: int
    full: bool
    refused: int


def depths(edge: RunningProcess) -> list[SpoolDepth]:
    """Every ``depth`` line the edge printed, in order."""
    return [
        SpoolDepth(int(m[1]), int(m[2]), m[3] == "full", int(m[4]))
        for line in list(edge.lines)
        if (m := _DEPTH.match(line))
    ]


@dataclass(frozen=True)
class Delivery:
    """What was sent counted against what the database holds (in observations, each
    with an EPC of its own, and in batches)."""

    sent_batches: int
    sent: int
    """Observations sent."""
    stored: int
    """Observation rows stored (duplicates included)."""
    lost: int
    """Observations sent and not stored."""
    duplicated: int
    """Rows stored beyond the first of their observation."""
    unexpected: int
    """Rows of observations never sent."""
    batches_claimed: int
    """Rows of ``ingested_batches``: the cloud's record of each (edge, spool, seq) it took."""
    lost_batches: tuple[int, ...]
    """Seqs of batches with an observation lost (the first 20)."""

    @property
    def exactly_once(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.unexpected == 0
            and self.batches_claimed == self.sent_batches
        )

    def __str__(self) -> str:
        return (
            f"sent {self.sent:,} observations in {self.sent_batches:,} batches, stored "
            f"{self.stored:,}: lost {self.lost:,}, duplicated {self.duplicated:,}, never "
            f"sent {self.unexpected:,}; {self.batches_claimed:,} batches claimed"
            + (f"; lost batches {list(self.lost_batches)}" if self.lost_batches else "")
        )


def tally(
    sent: Iterable[int],
    per_batch: int,
    stored: Mapping[int, tuple[int, int]],
    batches_claimed: int,
) -> Delivery:
    """Count batches ``sent`` (seqs, each of ``per_batch`` observations with distinct
    EPCs) against ``stored``: per seq, the rows stored and their distinct EPCs."""
    seqs = set(sent)
    lost = duplicated = unexpected = rows = 0
    lost_batches: list[int] = []
    for seq in sorted(seqs | set(stored)):
        n, distinct = stored.get(seq, (0, 0))
        rows += n
        if seq not in seqs:
            unexpected += n
            continue
        duplicated += n - distinct
        if distinct < per_batch:
            lost += per_batch - distinct
            lost_batches.append(seq)
    return Delivery(
        sent_batches=len(seqs),
        sent=len(seqs) * per_batch,
        stored=rows,
        lost=lost,
        duplicated=duplicated,
        unexpected=unexpected,
        batches_claimed=batches_claimed,
        lost_batches=tuple(lost_batches[:20]),
    )


def delivery(database_url: str, seqs: Iterable[int], per_batch: int) -> Delivery:
    """:func:`tally` of the batches ``seqs`` against the database's observations."""
    with psycopg.connect(database_url) as conn:
        stored = {
            seq: (rows, epcs)
            for seq, rows, epcs in conn.execute(
                "SELECT seq, count(*), count(DISTINCT epc) FROM observations GROUP BY seq"
            ).fetchall()
        }
        (claimed,) = conn.execute("SELECT count(*) FROM ingested_batches").fetchone()  # type: ignore[misc]
    return tally(seqs, per_batch, stored, claimed)


def assert_exactly_once(database_url: str, seqs: set[int], per_batch: int) -> None:
    """Every observation of every batch in ``seqs`` is stored once, and nothing else."""
    found = delivery(database_url, seqs, per_batch)
    assert found.exactly_once, str(found)


class CuttableLink:
    """A TCP relay on a free 127.0.0.1 port to ``target_port`` that can be cut like a
    network: while cut, bytes in both directions are dropped and a new connection is
    taken and left silent (no refusal, no reset, as when a cable is pulled), so each end
    finds out only by its own timeouts; once restored, the connections that lived through
    the cut are closed (what a reset does when packets flow again) and new ones relay.

    Runs its own event loop on a thread; ``cut`` and ``restore`` may be called from any
    thread."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._cut = False
        self._through_cut: set[asyncio.StreamWriter] = set()
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        if self._cut:  # the far end cannot be reached: hold the connection, say nothing
            self._through_cut.add(writer)
            with contextlib.suppress(OSError):
                while await reader.read(65536):
                    pass
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            self._open.discard(writer)
            return
        self._open.add(up_writer)
        pair = (writer, up_writer)
        await asyncio.gather(
            self._pump(reader, up_writer, pair), self._pump(up_reader, writer, pair)
        )

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if writer in self._through_cut:
                    continue  # dropped on the cut wire
                writer.write(data)
                await writer.drain()
        if writer not in self._through_cut:  # an end closed while the wire was whole
            for w in pair:
                w.close()
                self._open.discard(w)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the cuttable link did not start")

    def _call(self, fn: object) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()  # type: ignore[operator]
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def cut(self) -> None:
        def cut() -> None:
            self._cut = True
            self._through_cut |= self._open

        self._call(cut)

    def restore(self) -> None:
        def restore() -> None:
            self._cut = False
            for w in self._through_cut:
                w.close()
                self._open.discard(w)
            self._through_cut = set()

        self._call(restore)

    def stop(self) -> None:
        def stop() -> None:
            self._server.close()
            for w in self._open:
                w.close()
            self._loop.stop()

        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop)
            self._thread.join(10)

    def __enter__(self) -> CuttableLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
