"""Stopping the edge's tasks when one of them swallows a cancellation (as Python 3.11's
asyncio.wait_for can, and aiomqtt waits with it on every publish)."""

from __future__ import annotations

import asyncio

from edge.agent import cancel_until_done


async def swallows_first_cancel(log: list[str]) -> None:
    swallowed = False
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallowed:
                log.append("ended")
                raise
            swallowed = True
            log.append("swallowed")


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again_until_it_ends():
    log: list[str] = []
    task = asyncio.create_task(swallows_first_cancel(log))
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_until_done([task], grace_s=0.1), timeout=5)
    assert task.cancelled() and log == ["swallowed", "ended"]


async def test_a_task_gets_its_grace_period_to_finish_a_clean_stop():
    finished_cleanly = asyncio.Event()

    async def stops_cleanly() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)  # e.g. publishing "offline"
            finished_cleanly.set()
            raise

    task = asyncio.create_task(stops_cleanly())
    await asyncio.sleep(0)
    await cancel_until_done([task], grace_s=1.0)
    assert finished_cleanly.is_set()
