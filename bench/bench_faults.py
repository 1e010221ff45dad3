"""Faults at length: a long stream through every fault, counted against what was sent.

The long version of ``tests/faults/``: the same parts (a private persistent Mosquitto,
a private PostgreSQL cluster for the database case, ``rfidwms cloud`` as a process, and
``tests/faults/stream_edge.py``, the edge's real spool and publisher streaming known
batches), far more batches, and several faults of each kind during one stream:

- ``broker``: Mosquitto ``kill -9`` ``--kills`` times, started again after ``--down``
  seconds each time (what it had acknowledged and not saved is gone);
- ``cloud``: ``rfidwms cloud`` ``kill -9`` ``--kills`` times (the broker keeps its
  session), started again after ``--down`` seconds;
- ``edge``: the edge ``kill -9`` ``--kills`` times, started again on the same spool;
- ``postgres``: the private PostgreSQL stopped ``--kills`` times for ``--down`` seconds,
  ``pg_ctl -m fast`` and ``-m immediate`` (a crash: recovery at start) in turn;
- ``cut``: the edge alone cut off from the broker for ``--cut-minutes`` (10) by a relay
  that drops every byte and answers nothing (:class:`faultkit.CuttableLink`), the stream
  going on; then the link is back. Reports the spool's peak depth and how long the
  catch-up took (from the link's return until the spool is down to at most
  ``--rate`` x 2 batches), and when the cloud's GET /api/edges said the edge was offline;
- ``full``: the spool on a small tmpfs of its own (``--disk-kib``; as root, else a
  size limit, ``RFIDWMS_SPOOL_MAX_BYTES``'s equivalent, stands in for the disk) while the
  edge is cut off: the spool fills its disk, refuses new batches (they take no seq) and
  says so (``full`` on the edge, ``spool.full`` / ``refused_batches`` in its health
  message, read back from GET /api/edges), and once the link is back and the cloud
  confirms, takes batches again.

Each scenario counts what the edge's spool numbered (``--batches`` batches of
``--per-batch`` observations, each observation an EPC of its own) against the
database's ``observations`` and ``ingested_batches``: sent / stored / lost / duplicated,
and its wall time. The ``cut`` scenario runs beside the others (it mostly waits);
``--sequential`` runs it alone after them. The bench exits 1 if any observation is
lost, duplicated or stored without having been sent, or a scenario failed.

Shared code: ``tests/faults/faultkit.py`` stays where the short suite has it; this
bench puts ``tests/`` and ``tests/faults/`` on ``sys.path`` and imports it (and the
tests' ``running`` and ``authkit``). The bench needs the test extras (``make bench``
installs them).

Targets only 127.0.0.1 (PostgreSQL on 5432 for the databases of all but the
``postgres`` scenario, ``--database-url`` to change it; its own Mosquitto processes on
free ports) and stops by itself.

    .venv/bin/python bench/bench_faults.py [--cut-minutes 10] [--batches 5000] [--only cut]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchkit

sys.path.insert(0, str(benchkit.ROOT / "tests" / "faults"))
sys.path.insert(0, str(benchkit.ROOT / "tests"))
sys.path.insert(0, str(benchkit.ROOT))  # the project's cloud/, before tests/cloud/
import faultkit
from authkit import issue_token_now
from faultkit import (
    CuttableLink,
    Delivery,
    PrivateBroker,
    PrivatePostgres,
    create_database,
    delivery,
    depths,
    kill,
    start_cloud,
    start_edge,
    stopped_at_end,
)
from running import RunningProcess, get_json

from rfidwms.embedded import free_port

SCENARIOS = ("broker", "cloud", "edge", "postgres", "full", "cut")
_print_lock = threading.Lock()


def say(scenario: str, text: str) -> None:
    with _print_lock:
        sys.stdout.write(f"[{time.strftime('%H:%M:%S')} {scenario}] {text}\n")
        sys.stdout.flush()


def fault_points(batches: int, faults: int) -> list[int]:
    """How many batches are spooled when each of ``faults`` faults strikes: evenly
    through the stream, none at its very start or end."""
    return [batches * (i + 1) // (faults + 1) for i in range(faults)]


@dataclass
class Outcome:
    """One scenario: what it counted, how long it took, what happened on the way."""

    name: str
    title: str
    delivery: Delivery | None = None
    wall_s: float = 0.0
    events: list[str] = field(default_factory=list)
    figures: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Further measures: name -> (value, unit)."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.delivery is not None and self.delivery.exactly_once


class Stream:
    """The edge of one scenario: its processes (one killed is started again on the
    same spool) and what they said."""

    def __init__(
        self, args: argparse.Namespace, mqtt_url: str, site: str, spool_dir: Path, batches: int
    ) -> None:
        self.args, self.mqtt_url, self.site, self.spool_dir = args, mqtt_url, site, spool_dir
        self.batches = batches
        self.max_bytes: int | None = None
        self.edges: list[RunningProcess] = []

    def start(self) -> RunningProcess:
        edge = start_edge(
            self.mqtt_url,
            self.site,
            self.spool_dir,
            batches=self.batches,
            per_batch=self.args.per_batch,
            per_second=self.args.rate,
            max_bytes=self.max_bytes,
        )
        self.edges.append(edge)
        return edge

    @property
    def edge(self) -> RunningProcess:
        return self.edges[-1]

    def spooled_before(self) -> int:
        return sum(faultkit.lines_like(e, "spooled ") for e in self.edges[:-1])

    def wait_spooled(self, at_least: int) -> None:
        """Until the edges together said ``at_least`` batches are spooled."""
        earlier = self.spooled_before()
        timeout = 60 + 3 * (at_least - earlier) / self.args.rate
        faultkit.wait_spooled(self.edge, at_least - earlier, timeout=timeout)

    def wait_empty(self) -> None:
        """Until the stream is spooled and confirmed (given time for what is left)."""
        left = self.batches - self.spooled_before()
        faultkit.wait_empty(self.edge, timeout=300 + 3 * left / self.args.rate)

    def sent(self) -> set[int]:
        """The seqs the spool numbered: 0 .. batches-1 once the stream is done (a
        refused batch takes none). Each edge prints a seq once it is on disk; a kill
        between the two may leave one unprinted, so the numbering is the count."""
        printed = faultkit.spooled(*self.edges)
        numbered = set(range(self.batches))
        if not printed <= numbered:
            raise AssertionError(f"the edge spooled seqs past its stream: {printed - numbered}")
        return numbered

    def unprinted(self) -> int:
        return self.batches - len(faultkit.spooled(*self.edges))


@contextlib.contextmanager
def scenario_dir(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"rfidwms-bench-faults-{name}-"))
    path.chmod(0o755)  # the broker drops root and must reach its directory inside
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", str(path)], check=False)


def run_scenario(outcome: Outcome, body: Callable[[Outcome], Stream]) -> Outcome:
    """Run ``body`` (which counts its stream into ``outcome`` and returns it)."""
    say(outcome.name, f"start: {outcome.title}")
    started = time.monotonic()
    try:
        stream = body(outcome)
        outcome.wall_s = time.monotonic() - started
        if stream.unprinted():
            outcome.events.append(
                f"{stream.unprinted()} batch(es) spooled by an edge killed before it printed"
            )
    except Exception as e:  # a timeout or a part that failed: the scenario fails
        outcome.wall_s = time.monotonic() - started
        outcome.error = f"{type(e).__name__}: {e}"[:4000]
        say(outcome.name, f"FAILED: {outcome.error}\n{traceback.format_exc()[-3000:]}")
    if outcome.delivery is not None:
        say(outcome.name, f"{outcome.delivery} in {outcome.wall_s:.0f} s")
    return outcome


def count(outcome: Outcome, database_url: str, stream: Stream) -> None:
    outcome.delivery = delivery(database_url, stream.sent(), stream.args.per_batch)


# -- the scenarios ------------------------------------------------------------------------


def broker_kills(args: argparse.Namespace, admin_url: str) -> Outcome:
    def body(o: Outcome) -> Stream:
        with (
            benchkit.fresh_database(admin_url, "rfidwms_bench_faults") as db,
            scenario_dir(o.name) as tmp,
            PrivateBroker(tmp) as broker,
            stopped_at_end() as parts,
        ):
            site = f"bf{uuid.uuid4().hex[:8]}"
            parts.append(start_cloud(db, broker.url, site))
            stream = Stream(args, broker.url, site, tmp / "spool", args.batches)
            parts.append(stream.start())
            for at in fault_points(args.batches, args.kills):
                stream.wait_spooled(at)
                broker.kill()
                o.events.append(f"broker kill -9 at {at} batches spooled")
                say(o.name, o.events[-1])
                time.sleep(args.down)
                broker.start()
            stream.wait_empty()
            count(o, db, stream)
            return stream

    return run_scenario(Outcome("broker", f"Mosquitto kill -9 x{args.kills}"), body)


def cloud_kills(args: argparse.Namespace, admin_url: str) -> Outcome:
    def body(o: Outcome) -> Stream:
        with (
            benchkit.fresh_database(admin_url, "rfidwms_bench_faults") as db,
            scenario_dir(o.name) as tmp,
            PrivateBroker(tmp) as broker,
            stopped_at_end() as parts,
        ):
            site = f"bf{uuid.uuid4().hex[:8]}"
            cloud = start_cloud(db, broker.url, site)
            parts.append(cloud)
            stream = Stream(args, broker.url, site, tmp / "spool", args.batches)
            parts.append(stream.start())
            for at in fault_points(args.batches, args.kills):
                stream.wait_spooled(at)
                kill(cloud)
                o.events.append(f"cloud kill -9 at {at} batches spooled")
                say(o.name, o.events[-1])
                time.sleep(args.down)
                cloud = start_cloud(db, broker.url, site)
                parts.append(cloud)
            stream.wait_empty()
            count(o, db, stream)
            return stream

    return run_scenario(Outcome("cloud", f"rfidwms cloud kill -9 x{args.kills}"), body)


def edge_kills(args: argparse.Namespace, admin_url: str) -> Outcome:
    def body(o: Outcome) -> Stream:
        with (
            benchkit.fresh_database(admin_url, "rfidwms_bench_faults") as db,
            scenario_dir(o.name) as tmp,
            PrivateBroker(tmp) as broker,
            stopped_at_end() as parts,
        ):
            site = f"bf{uuid.uuid4().hex[:8]}"
            parts.append(start_cloud(db, broker.url, site))
            stream = Stream(args, broker.url, site, tmp / "spool", args.batches)
            parts.append(stream.start())
            for at in fault_points(args.batches, args.kills):
                stream.wait_spooled(at)
                kill(stream.edge)
                waiting = depths(stream.edge)
                o.events.append(
                    f"edge kill -9 at {at} batches spooled "
                    f"({waiting[-1].batches if waiting else '?'} unconfirmed a second before)"
                )
                say(o.name, o.events[-1])
                parts.append(stream.start())
            stream.wait_empty()
            count(o, db, stream)
            return stream

    return run_scenario(Outcome("edge", f"edge kill -9 x{args.kills} (spool kept)"), body)


def postgres_restarts(args: argparse.Namespace, admin_url: str) -> Outcome:
    def body(o: Outcome) -> Stream:
        with (
            PrivatePostgres() as pg,
            scenario_dir(o.name) as tmp,
            PrivateBroker(tmp) as broker,
            stopped_at_end() as parts,
        ):
            db = create_database(pg.url(), "rfidwms_bench_faults")
            site = f"bf{uuid.uuid4().hex[:8]}"
            parts.append(start_cloud(db, broker.url, site))
            stream = Stream(args, broker.url, site, tmp / "spool", args.batches)
            parts.append(stream.start())
            for i, at in enumerate(fault_points(args.batches, args.kills)):
                stream.wait_spooled(at)
                mode = ("fast", "immediate")[i % 2]
                pg.stop(mode)
                o.events.append(f"PostgreSQL stop -m {mode} at {at} batches spooled")
                say(o.name, o.events[-1])
                time.sleep(args.down)
                pg.start()
            stream.wait_empty()
            count(o, db, stream)
            return stream

    title = f"PostgreSQL restarted x{args.kills} (fast and immediate in turn)"
    return run_scenario(Outcome("postgres", title), body)


def edge_of(port: int, token: str) -> dict[str, Any] | None:
    """The stream's edge as GET /api/edges shows it (None if it answers otherwise)."""
    with contextlib.suppress(OSError, ValueError):
        status, page = get_json(f"http://127.0.0.1:{port}/api/edges", token=token)
        if status == 200:
            for e in page["items"]:
                if e["edge_id"] == "edge-1":
                    return dict(e)
    return None


def cut_off(args: argparse.Namespace, admin_url: str) -> Outcome:
    cut_s, lead_s, tail_s = args.cut_minutes * 60, 20.0, 40.0

    def body(o: Outcome) -> Stream:
        with (
            benchkit.fresh_database(admin_url, "rfidwms_bench_faults") as db,
            scenario_dir(o.name) as tmp,
            PrivateBroker(tmp) as broker,
            CuttableLink(broker.port) as link,
            stopped_at_end() as parts,
        ):
            site, port = f"bf{uuid.uuid4().hex[:8]}", free_port()
            parts.append(start_cloud(db, broker.url, site, http_port=port))
            token = issue_token_now(db, "admin")
            batches = int(args.rate * (lead_s + cut_s + tail_s))
            stream = Stream(args, link.url, site, tmp / "spool", batches)
            parts.append(stream.start())
            stream.wait_spooled(int(args.rate * lead_s))
            link.cut()
            cut_at = time.monotonic()
            say(o.name, f"edge cut off from the broker for {cut_s:.0f} s")
            offline_after: float | None = None
            last_report = cut_at
            while (now := time.monotonic()) < cut_at + cut_s:
                if offline_after is None and (e := edge_of(port, token)) is not None:
                    if e["state"] == "offline":
                        offline_after = now - cut_at
                        say(o.name, f"GET /api/edges: edge offline after {offline_after:.0f} s")
                if now - last_report >= 60:
                    last_report = now
                    d = depths(stream.edge)
                    say(o.name, f"{now - cut_at:.0f} s cut; spool {d[-1] if d else '?'}")
                time.sleep(min(2.0, max(0.0, cut_at + cut_s - now)))
            link.restore()
            back_at = time.monotonic()
            seen = depths(stream.edge)
            o.events.append(
                f"edge cut off {cut_s:.0f} s at {int(args.rate * lead_s)} batches spooled; "
                f"{seen[-1].batches if seen else '?'} batches waited when the link came back"
            )
            say(o.name, o.events[-1])
            caught_up = 2 * args.rate
            behind = len(seen)
            while True:
                now_depths = depths(stream.edge)
                if len(now_depths) > behind and now_depths[-1].batches <= caught_up:
                    catch_up_s = time.monotonic() - back_at
                    break
                if time.monotonic() - back_at > 30 + cut_s * 2:
                    raise AssertionError(f"no catch-up {time.monotonic() - back_at:.0f} s on")
                if stream.edge.proc.poll() is not None:
                    raise AssertionError(f"the edge exited:\n{stream.edge.output()[-3000:]}")
                time.sleep(0.2)
            peak = max(d.batches for d in depths(stream.edge))
            o.events.append(
                f"caught up in {catch_up_s:.1f} s (spool at most {caught_up:.0f} batches); "
                f"spool peak {peak} batches"
            )
            say(o.name, o.events[-1])
            o.figures["catch-up after the cut"] = (catch_up_s, "s")
            o.figures["spool peak depth"] = (float(peak), "batches")
            if offline_after is not None:
                o.figures["GET /api/edges says offline after"] = (offline_after, "s")
            else:
                o.events.append("GET /api/edges never said the edge was offline during the cut")
            stream.wait_empty()
            count(o, db, stream)
            return stream

    title = f"edge cut off from the broker for {args.cut_minutes:g} min, then catching up"
    return run_scenario(Outcome("cut", title), body)


@contextlib.contextmanager
def small_disk(path: Path, kib: int) -> Iterator[bool]:
    """A tmpfs of ``kib`` KiB at ``path`` (True), or just the directory (False) where
    one cannot be mounted (not root, or no right to mount)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def spool_full(args: argparse.Namespace, admin_url: str) -> Outcome:
    def body(o: Outcome) -> Stream:
        with (
            benchkit.fresh_database(admin_url, "rfidwms_bench_faults") as db,
            scenario_dir(o.name) as tmp,
            small_disk(tmp / "disk", args.disk_kib) as on_tmpfs,
            PrivateBroker(tmp) as broker,
            CuttableLink(broker.port) as link,
            stopped_at_end() as parts,
        ):
            site, port = f"bf{uuid.uuid4().hex[:8]}", free_port()
            parts.append(start_cloud(db, broker.url, site, http_port=port))
            token = issue_token_now(db, "admin")
            stream = Stream(args, link.url, site, tmp / "disk" / "spool", args.full_batches)
            if not on_tmpfs:
                stream.max_bytes = args.disk_kib * 1024
                o.events.append(f"no tmpfs (not root?): a {args.disk_kib} KiB size limit instead")
            else:
                o.events.append(f"spool on a {args.disk_kib} KiB tmpfs of its own")
            parts.append(stream.start())
            edge = stream.edge
            stream.wait_spooled(int(args.rate * 5))
            link.cut()
            cut_at = time.monotonic()
            edge.wait_for(lambda ls: "full" in ls, timeout=300)
            full_after = time.monotonic() - cut_at
            refuse = int(args.rate * 10)
            edge.wait_for(lambda ls: sum(x.startswith("refused ") for x in ls) >= refuse, 120)
            d = depths(edge)
            o.events.append(
                f"edge cut off; spool full after {full_after:.0f} s at "
                f"{d[-1].batches if d else '?'} batches ({d[-1].bytes if d else '?'} bytes)"
            )
            say(o.name, o.events[-1])
            link.restore()
            back_at = time.monotonic()
            seen_full: dict[str, Any] | None = None
            while "room" not in edge.lines:
                e = edge_of(port, token)
                if e and e["spool"] and e["spool"]["full"] and seen_full is None:
                    seen_full = e["spool"]
                if time.monotonic() - back_at > 300:
                    raise AssertionError("the spool took no batch again 300 s after the link")
                if edge.proc.poll() is not None:
                    raise AssertionError(f"the edge exited:\n{edge.output()[-3000:]}")
                time.sleep(0.2)
            room_s = time.monotonic() - back_at
            refused = faultkit.lines_like(edge, "refused ")
            o.events.append(f"{refused} batches refused; room again {room_s:.1f} s after the link")
            say(o.name, o.events[-1])
            o.figures["spool full after the cut"] = (full_after, "s")
            o.figures["refused while full"] = (float(refused), "batches")
            o.figures["room again after the link is back"] = (room_s, "s")
            stream.wait_empty()
            # the cloud's view: the edge's health says what it refused, and that it
            # takes batches again
            api: dict[str, Any] | None = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                e = edge_of(port, token)
                api = e["spool"] if e else None
                if api and api["refused_batches"] == refused and not api["full"]:
                    break
                time.sleep(0.5)
            if not api or api["refused_batches"] != refused or api["full"]:
                raise AssertionError(f"GET /api/edges spool {api}; the edge refused {refused}")
            o.events.append(
                "GET /api/edges: "
                + (f"spool full seen while recovering ({seen_full}); " if seen_full else "")
                + f"after: full {api['full']}, refused_batches {api['refused_batches']}"
            )
            say(o.name, o.events[-1])
            count(o, db, stream)
            return stream

    what = "a full disk" if os.geteuid() == 0 else "a full spool"
    return run_scenario(Outcome("full", f"{what} under the spool while cut off"), body)


RUNS: dict[str, Callable[[argparse.Namespace, str], Outcome]] = {
    "broker": broker_kills,
    "cloud": cloud_kills,
    "edge": edge_kills,
    "postgres": postgres_restarts,
    "full": spool_full,
    "cut": cut_off,
}


# -- the result ---------------------------------------------------------------------------


def table(outcomes: list[Outcome]) -> str:
    rows = [
        f"{'scenario':<10}{'sent':>10}{'stored':>10}{'lost':>7}{'dup':>6}{'never sent':>11}"
        f"{'batches':>9}{'wall s':>8}  result"
    ]
    for o in outcomes:
        d = o.delivery
        nums = (
            f"{d.sent:>10,}{d.stored:>10,}{d.lost:>7,}{d.duplicated:>6,}{d.unexpected:>11,}"
            f"{d.sent_batches:>9,}"
            if d
            else f"{'-':>10}{'-':>10}{'-':>7}{'-':>6}{'-':>11}{'-':>9}"
        )
        verdict = "ok" if o.ok else ("FAILED" if o.error else "LOST/DUPLICATED")
        rows.append(f"{o.name:<10}{nums}{o.wall_s:>8.0f}  {verdict}")
    return "\n".join(rows)


def result(args: argparse.Namespace, outcomes: list[Outcome]) -> benchkit.Result:
    r = benchkit.Result(
        name="faults",
        title="Faults at length: nothing lost, nothing duplicated",
        description=(
            f"`tests/faults/` at length: an edge (its real spool and publisher) streams "
            f"{args.batches:,} batches of {args.per_batch} observations at {args.rate:g} "
            f"batches/s through a private persistent Mosquitto to `rfidwms cloud`, while one "
            f"part is broken {args.kills} times (kill -9 of the broker, the cloud, the edge; "
            f"PostgreSQL stopped fast and immediate); the edge alone is cut off from the "
            f"broker for {args.cut_minutes:g} minutes (a relay that drops every byte) and "
            f"catches up; the spool's disk fills while the edge is cut off. Each scenario "
            f"counts every observation the spool numbered against the database: lost, "
            f"duplicated, stored without being sent."
        ),
        repeats=1,
    )
    for o in outcomes:
        if o.delivery is not None:
            bad = o.delivery.lost + o.delivery.duplicated + o.delivery.unexpected
            r.add(
                benchkit.Figure(
                    f"{o.name}: lost + duplicated", "observations", [float(bad)],
                    goal="0", goal_max=0.0,
                    note=f"of {o.delivery.sent:,} sent",
                )
            )  # fmt: skip
        r.add(benchkit.Figure(f"{o.name}: wall time", "s", [o.wall_s]))
        for name, (value, unit) in o.figures.items():
            r.add(benchkit.Figure(f"{o.name}: {name}", unit, [value]))
        d = o.delivery
        r.checks[o.name] = (
            f"sent {d.sent:,}, stored {d.stored:,}, lost {d.lost}, duplicated {d.duplicated}"
            if d
            else "not counted"
        ) + (f", FAILED ({o.error.splitlines()[0][:200]})" if o.error else "")
        for e in o.events:
            r.notes.append(f"{o.name}: {e}")
    r.attachments["Per scenario (observations)"] = table(outcomes)
    r.extra["parameters"] = {
        k: getattr(args, k)
        for k in ("batches", "per_batch", "rate", "kills", "down", "cut_minutes", "disk_kib")
    }
    r.extra["sequential"] = args.sequential
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5000, help="batches per kill scenario")
    parser.add_argument("--per-batch", type=int, default=10, help="observations per batch")
    parser.add_argument("--rate", type=float, default=25.0, help="batches the edge spools a second")
    parser.add_argument("--kills", type=int, default=3, help="faults of each kind per stream")
    parser.add_argument("--down", type=float, default=3.0, help="seconds a killed part stays down")
    parser.add_argument("--cut-minutes", type=float, default=10.0)
    parser.add_argument("--disk-kib", type=int, default=8192, help="the full scenario's disk")
    parser.add_argument("--full-batches", type=int, default=3000)
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these")
    parser.add_argument("--sequential", action="store_true", help="run 'cut' after the rest")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-write", action="store_true", help="print only, keep no result")
    args = parser.parse_args()
    chosen = [s for s in SCENARIOS if not args.only or s in args.only]
    outcomes: dict[str, Outcome] = {}
    beside: threading.Thread | None = None
    if "cut" in chosen and not args.sequential and len(chosen) > 1:
        beside = threading.Thread(
            target=lambda: outcomes.__setitem__("cut", cut_off(args, args.database_url))
        )
        beside.start()
        chosen.remove("cut")
    for name in chosen:
        outcomes[name] = RUNS[name](args, args.database_url)
    if beside is not None:
        beside.join()
    ordered = [outcomes[s] for s in SCENARIOS if s in outcomes]
    sys.stdout.write(table(ordered) + "\n")
    if not args.no_write:
        path = benchkit.write(result(args, ordered))
        sys.stdout.write(f"wrote {path.relative_to(benchkit.ROOT)}\n")
    failed = [o.name for o in ordered if not o.ok]
    if failed:
        sys.stdout.write(f"FAILED: {', '.join(failed)}: lost, duplicated, or did not finish\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
