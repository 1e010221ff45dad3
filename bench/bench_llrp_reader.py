"""How many tag reads per second one simulated LLRP reader sustains.

Starts an LLRPReaderServer whose field holds ``--tags`` tags spread over 4 antennas,
connects a client, and counts tag reads (the sum of TagSeenCount over every
RO_ACCESS_REPORT) for ``--seconds``. Two clients: the real sllurp client (what the
edge runs) and a bare client on our codec (the reader's own ceiling). Target: at
least 1,000 reads/s per reader.

Each repeat measures both clients one after the other; the sllurp client's figure is
judged against the bare client's of the same repeat. Writes
``bench/results/llrp_reader.json`` (and ``docs/benchmarks.md``) when both clients ran.

    .venv/bin/python bench/bench_llrp_reader.py [--tags 400] [--seconds 5] [--client both]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import benchkit
from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting
from protocols import llrp

TARGET_READS_PER_S = 1000.0
ANTENNAS = (1, 2, 3, 4)


class CrowdedField:
    def __init__(self, tags: int) -> None:
        self.by_antenna = {
            a: [Sighting(f"3034{a:04X}{i:016X}", -55.0) for i in range(tags // len(ANTENNAS))]
            for a in ANTENNAS
        }

    def sightings(self, reader_id: str, antenna_id: int, now: float) -> Sequence[Sighting]:
        return self.by_antenna[antenna_id]


async def with_sllurp(server: LLRPReaderServer, tags: int, seconds: float) -> float:
    lock = threading.Lock()
    reads = [0]

    def on_tags(_reader: Any, reports: list[dict[str, Any]]) -> None:
        with lock:
            reads[0] += sum(r.get("TagSeenCount", 1) for r in reports)

    config = LLRPReaderConfig(
        {
            "antennas": list(ANTENNAS),
            "report_every_n_tags": tags,
            "report_timeout_ms": 100,
            "tag_content_selector": {"EnableTagSeenCount": True, "EnableAntennaID": True},
        }
    )
    client = LLRPReaderClient("127.0.0.1", server.port, config)
    client.add_tag_report_callback(on_tags)
    await asyncio.to_thread(client.connect)
    try:
        await asyncio.sleep(1.0)  # connect, configure, first rounds
        with lock:
            start_reads = reads[0]
        start = time.monotonic()
        await asyncio.sleep(seconds)
        with lock:
            counted = reads[0] - start_reads
        return counted / (time.monotonic() - start)
    finally:
        await asyncio.to_thread(client.disconnect, 3.0)
        client.hard_disconnect()


async def with_codec(server: LLRPReaderServer, seconds: float) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    rospec = llrp.ROSpec(
        rospec_id=1,
        priority=0,
        current_state=llrp.ROSpecState.Disabled,
        boundary=llrp.ROBoundarySpec(
            llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            llrp.ROSpecStopTrigger(llrp.ROSpecStopTriggerType.Null),
        ),
        ai_specs=(
            llrp.AISpec(
                (0,),
                llrp.AISpecStopTrigger(llrp.AISpecStopTriggerType.Null),
                (llrp.InventoryParameterSpec(1),),
            ),
        ),
        report_spec=llrp.ROReportSpec(
            llrp.ROReportTriggerType.Upon_N_Tags_Or_End_Of_AISpec,
            100,
            llrp.TagReportContentSelector(enable_antenna_id=True, enable_tag_seen_count=True),
        ),
    )
    for message in (llrp.AddROSpec(rospec, message_id=1), llrp.EnableROSpec(1, message_id=2)):
        writer.write(llrp.encode_message(message))
    framer = llrp.LLRPFramer()
    reads = 0
    start = time.monotonic()
    deadline = start + seconds
    while (now := time.monotonic()) < deadline:
        try:
            data = await asyncio.wait_for(reader.read(1 << 16), deadline - now)
        except TimeoutError:
            break
        for frame in framer.frames(data):
            received = llrp.decode_message(frame)
            if isinstance(received, llrp.ROAccessReport):
                reads += sum(t.tag_seen_count or 1 for t in received.tag_reports)
    writer.close()
    return reads / (time.monotonic() - start)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=400, help="tags in the field (all antennas)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--client", choices=("sllurp", "codec", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    field = CrowdedField(args.tags)
    expected = args.tags * 10  # every tag heard once per 100 ms round
    print(
        f"{args.tags} tags over {len(ANTENNAS)} antennas, 100 ms rounds: {expected} reads/s offered"
    )
    clients = ("sllurp", "codec") if args.client == "both" else (args.client,)
    rates: dict[str, list[float]] = {c: [] for c in clients}
    for i in range(args.repeats):
        for name in clients:
            async with LLRPReaderServer("bench", ANTENNAS, field, time.time, port=0) as server:
                if name == "sllurp":
                    rate = await with_sllurp(server, args.tags, args.seconds)
                else:
                    rate = await with_codec(server, args.seconds)
            rates[name].append(rate)
            print(f"repeat {i + 1}: {name:>7} client: {rate:8.0f} tag reads/s")
    worst = min(min(r) for r in rates.values())
    verdict = "PASS" if worst >= TARGET_READS_PER_S else "FAIL"
    print(f"{verdict}: target {TARGET_READS_PER_S:.0f} reads/s per reader")
    if args.client == "both":
        result = benchkit.Result(
            name="llrp_reader",
            title="One simulated LLRP reader: tag reads per second",
            description=(
                f"A simulated reader on 127.0.0.1 with {args.tags} tags over "
                f"{len(ANTENNAS)} antennas in 100 ms rounds ({expected:,} reads/s offered), "
                f"counted for {args.seconds:g} s per client: the real sllurp client (what "
                "the edge runs) against a bare client on the project's own codec (the "
                "reader's ceiling)."
            ),
            repeats=args.repeats,
        )
        codec = "bare codec client (ceiling)"
        result.add(benchkit.Figure(codec, "tag reads/s", rates["codec"]))
        result.add(
            benchkit.Figure(
                "sllurp client",
                "tag reads/s",
                rates["sllurp"],
                reference=codec,
                goal=f">= {TARGET_READS_PER_S:,.0f} reads/s per reader",
                goal_min=TARGET_READS_PER_S,
            )
        )
        benchkit.write(result)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
