"""``rfidwms sim`` as its users start it: a process printing its devices, serving them,
stopping on a signal or after ``--duration``, and refusing bad input by name."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import signal
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bigsite import fifty_reader_site
from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

from firmware_sim.world import TruthWriter, WarehouseWorld, load_scenario, parse_iso_utc
from protocols.epc import decode_epc
from protocols.layout import load_layout
from rfidwms.cli import main
from rfidwms.embedded import free_port_range

LINE = re.compile(
    r"^(?P<id>[a-z0-9][a-z0-9_-]*) (?P<scheme>llrp|mtsics)://127\.0\.0\.1:(?P<port>\d+)$"
)
READER_EVENT_NOTIFICATION = 63


def free_port_base(count: int) -> int:
    """A base where ``count`` consecutive ports are free right now."""
    return free_port_range(0, count)


class SimProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.endpoints: dict[str, tuple[str, int]] = {}

    async def read_endpoints(self, count: int) -> list[str]:
        assert self.proc.stdout is not None
        lines = []
        for _ in range(count):
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout=20)
            line = raw.decode().rstrip("\n")
            m = LINE.match(line)
            assert m, f"unexpected line {line!r}"
            self.endpoints[m["id"]] = (m["scheme"], int(m["port"]))
            lines.append(line)
        return lines

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout=15)


@contextlib.asynccontextmanager
async def sim(*args: str) -> AsyncIterator[SimProcess]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rfidwms", "--log-level", "WARNING", "sim", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    process = SimProcess(proc)
    try:
        yield process
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def greeting(port: int) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    try:
        header = await asyncio.wait_for(reader.readexactly(10), 5)
    finally:
        writer.close()
    return int.from_bytes(header[:2], "big") & 0x3FF


async def test_sim_prints_each_device_on_consecutive_ports_and_stops_on_sigterm() -> None:
    layout = load_layout(None)
    readers, scales = len(layout.readers), len(layout.scales)
    llrp_base, scale_base = free_port_base(readers), free_port_base(scales)
    async with sim("--llrp-port-base", str(llrp_base), "--scale-port-base", str(scale_base)) as p:
        lines = await p.read_endpoints(readers + scales)
        expected = [
            f"{r.id} llrp://127.0.0.1:{llrp_base + i}" for i, r in enumerate(layout.readers)
        ]
        expected += [
            f"{s.id} mtsics://127.0.0.1:{scale_base + i}" for i, s in enumerate(layout.scales)
        ]
        assert lines == expected
        ports = [port for scheme, port in p.endpoints.values() if scheme == "llrp"]
        assert await asyncio.gather(*(greeting(port) for port in ports)) == [63] * readers
        assert await p.stop(signal.SIGTERM) == 0
        assert p.proc.stdout is not None
        assert await p.proc.stdout.read() == b""  # nothing but the device lines on stdout


async def test_sim_demo_serves_shelved_case_epcs_to_sllurp_from_the_start() -> None:
    async with sim("--llrp-port-base", "0", "--scale-port-base", "0") as p:
        await p.read_endpoints(9)
        _, port = p.endpoints["reader-zone-b"]
        seen: set[str] = set()
        got_case = threading.Event()

        def on_tags(_reader: Any, tags: list[dict[str, Any]]) -> None:
            for tag in tags:
                epc = tag["EPC"].decode()
                seen.add(epc)
                if decode_epc(epc).scheme == "sgtin":
                    got_case.set()

        client = LLRPReaderClient(
            "127.0.0.1",
            port,
            LLRPReaderConfig({"antennas": [0], "report_every_n_tags": 1}),
            timeout=3,
        )
        client.add_tag_report_callback(on_tags)
        await asyncio.to_thread(client.connect)
        try:
            assert await asyncio.to_thread(got_case.wait, 5.0), "no SGTIN-96 case EPC within 5 s"
        finally:
            await asyncio.wait_for(asyncio.to_thread(client.disconnect, 3), 5)
        assert await p.stop(signal.SIGINT) == 0


async def test_a_ten_minute_demo_at_speed_10_writes_the_truth_the_engine_accounts_for(
    tmp_path: Path,
) -> None:
    """The real process, ten simulated minutes at --speed 10 (a minute of wall time), writes
    exactly the truth of the pure engine with the same seed and start; that truth accounts
    for every pallet (test_ten_minute_demo_at_speed_10_accounts_for_every_pallet)."""
    truth = tmp_path / "truth.jsonl"
    start = "2025-01-06T08:00:00Z"
    async with sim(
        "--llrp-port-base", "0", "--scale-port-base", "0", "--seed", "5", "--speed", "10",
        "--duration", "10m", "--start", start, "--truth", str(truth),
    ) as p:  # fmt: skip
        await p.read_endpoints(9)
        assert await asyncio.wait_for(p.proc.wait(), timeout=120) == 0

    expected = io.StringIO()
    t0 = parse_iso_utc(start)
    world = WarehouseWorld(
        load_layout(None), load_scenario("demo"), seed=5, start=t0, truth=TruthWriter(expected)
    )
    world.advance(t0 + 600)
    assert truth.read_text() == expected.getvalue()
    events = [json.loads(line)["event"] for line in expected.getvalue().splitlines()]
    assert {"arrival", "putaway", "pick", "pack", "weigh", "outbound"} <= set(events)


def fifty_reader_layout(path: Path) -> Path:
    path.write_text(yaml.safe_dump(fifty_reader_site()))
    return path


async def test_one_sim_process_serves_fifty_readers_on_consecutive_ports(tmp_path: Path) -> None:
    layout = fifty_reader_layout(tmp_path / "big.yaml")
    llrp_base, scale_base = free_port_base(50), free_port_base(2)
    async with sim(
        "--layout", str(layout), "--llrp-port-base", str(llrp_base),
        "--scale-port-base", str(scale_base), "--speed", "5",
    ) as p:  # fmt: skip
        await p.read_endpoints(52)
        ports = sorted(port for scheme, port in p.endpoints.values() if scheme == "llrp")
        assert ports == list(range(llrp_base, llrp_base + 50))
        answers = await asyncio.gather(*(greeting(port) for port in ports))
        assert answers == [READER_EVENT_NOTIFICATION] * 50
        assert await p.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "reader-door-2:silnt@30s"], "unknown kind 'silnt'"),
        (["--fault", "reader-door-2:silent@soon"], "time after '@': 'soon' is not a duration"),
        (["--fault", "reader-door-2"], "expected TARGET:KIND"),
        (["--duration", "-5"], "--duration"),
        (["--speed", "0"], "must be more than 0"),
        (["--start", "yesterday"], "'yesterday' is not an ISO-8601 time"),
    ],
)
def test_malformed_options_are_refused_naming_the_bad_part(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "reader-door-9:silent@30s"], "'reader-door-9' is not a reader of the layout"),
        (["--fault", "scale-1:drop"], "(it is a scale)"),
        (["--scenario", "no-such-scenario"], "cannot read scenario file"),
        (["--layout", "/nonexistent/layout.yaml"], "cannot read layout file"),
    ],
)
def test_inputs_that_do_not_fit_the_layout_are_refused_by_name(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--llrp-port-base", "0", "--scale-port-base", "0", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_a_wrong_scenario_file_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("inbound:\n  truck_every_s: [3m, 1m]\n")
    assert main(["sim", "--scenario", str(bad)]) == 2
    assert "inbound.truck_every_s: range min 180.0 is above max 60.0" in capsys.readouterr().err
