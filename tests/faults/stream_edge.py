"""An edge that streams a known set of batches through the edge's real spool and publisher.

``python stream_edge.py <mqtt-url> <site> <spool-dir> <batches> <per-batch> <per-second>
[max-bytes]`` spools batches numbered 0 .. batches-1 (each observation a unique EPC made
from the batch's seq and its index), at ``per-second``, resuming after a restart where the
spool's numbering left off, and publishes them with :class:`edge.publisher.SpoolPublisher`
exactly as ``rfidwms edge`` does (same spool, same confirmations). It prints one line per
fact a test counts, each printed only after it is true on disk:

- ``spooled <seq>``: batch ``seq`` is in the spool (it must reach the database once);
- ``refused <n>``: the spool was full and refused a batch (no seq taken);
- ``full`` / ``room``: the spool's :attr:`~edge.spool.Spool.full` changed;
- ``empty``: every batch was spooled and the cloud confirmed them all;
- ``depth <batches> <bytes> <full|room> <refused>``: once a second, what waits in the
  spool and how many batches it refused so far; the same goes to the cloud in a health
  message (``spool``, as ``rfidwms edge`` sends it), when the broker takes it.

It runs until killed (``kill -9`` is one of the faults) or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from edge.publisher import SpoolPublisher
from edge.spool import Spool, SpoolFull
from protocols.mqtt import (
    EdgeHealth,
    Observation,
    ObservationBatch,
    SpoolHealth,
    TopicKind,
    encode,
    topic,
)

EDGE_ID = "edge-1"
READER, ANTENNA, READ_POINT = "reader-door-1", 1, "door-1/outside"


def epc(seq: int, index: int) -> str:
    return f"30{seq:014X}{index:08X}"


def payload(spool_id: str, per_batch: int, seq: int) -> bytes:
    now = datetime.now(UTC)
    return encode(
        ObservationBatch(
            edge_id=EDGE_ID,
            spool=spool_id,
            seq=seq,
            sent_at=now,
            observations=[
                Observation(
                    epc=epc(seq, i),
                    reader_id=READER,
                    antenna=ANTENNA,
                    read_point=READ_POINT,
                    rssi_dbm=-50.0,
                    first_seen=now,
                    last_seen=now,
                    seen_count=1,
                )
                for i in range(per_batch)
            ],
        )
    )


def say(line: str) -> None:
    print(line, flush=True)


async def report_depth(
    spool: Spool, publisher: SpoolPublisher, refused: list[int], max_bytes: int | None
) -> None:
    """Once a second: say the spool's depth, and send it in a health message (given 2 s
    to reach the broker, so a cut-off link never holds up the next line)."""
    sending: asyncio.Task[bool] | None = None
    while True:
        say(f"depth {len(spool)} {spool.bytes} {'full' if spool.full else 'room'} {refused[0]}")
        if sending is None or sending.done():
            health = EdgeHealth(
                edge_id=EDGE_ID,
                at=datetime.now(UTC),
                spool=SpoolHealth(
                    batches=len(spool),
                    bytes=spool.bytes,
                    max_bytes=max_bytes or 0,
                    full=spool.full,
                    refused_batches=refused[0],
                ),
            )
            sending = asyncio.create_task(asyncio.wait_for(publisher.publish_health(health), 2.0))
            sending.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.sleep(1.0)


async def main(argv: list[str]) -> None:
    url, site, spool_dir = argv[0], argv[1], Path(argv[2])
    batches, per_batch, rate = int(argv[3]), int(argv[4]), float(argv[5])
    max_bytes = int(argv[6]) if len(argv) > 6 else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with Spool(spool_dir / "stream.spool.sqlite", max_bytes=max_bytes) as spool:
        publisher = SpoolPublisher(
            url, site, EDGE_ID, spool, reconnect_max_s=1.0, ack_timeout_s=5.0
        )
        publishing = asyncio.create_task(publisher.run())
        refused = [0]
        reporting = asyncio.create_task(report_depth(spool, publisher, refused, max_bytes))
        obs_topic = topic(site, EDGE_ID, TopicKind.OBSERVATIONS)
        full = False
        try:
            while (seq := await spool.next_seq()) < batches and not stop.is_set():
                try:
                    (batch,) = await spool.append_all(
                        obs_topic, [lambda s: payload(spool.spool_id, per_batch, s)]
                    )
                except SpoolFull:
                    refused[0] += 1
                    say(f"refused {seq}")
                else:
                    say(f"spooled {batch.seq}")
                    publisher.notify()
                if spool.full != full:
                    full = spool.full
                    say("full" if full else "room")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1 / rate)
            while not stop.is_set():
                if await publisher.drain(1.0):
                    say("empty")
                    break
            await stop.wait()
        finally:
            for task in (reporting, publishing):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main(sys.argv[1:]))
