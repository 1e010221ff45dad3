"""The agent's flushes: events are spooled within ``event_flush_s`` of being decided,
on their own; the observations go every ``flush_interval_s`` (not with every event)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime

from edge.agent import EdgeAgent
from edge.event_messages import event_message
from edge.events import ZoneEvent, ZoneEventKind
from edge.reads import TagRead
from edge.settings import EdgeSettings
from protocols.layout import load_layout

PALLET = "3114257BF400EBA58A000000"


async def test_events_are_spooled_at_once_on_their_own_and_observations_at_the_interval(
    tmp_path,
):
    settings = EdgeSettings(
        spool_dir=tmp_path, flush_interval_s=0.6, event_flush_s=0.01, site="site-1"
    )
    agent = EdgeAgent(settings, load_layout(None))
    now = datetime.now(UTC)
    reader = agent.readers[0]
    async with agent.spool:
        agent.window.add(TagRead(reader.id, 1, PALLET, -50.0, now, now, 3))
        flushing = asyncio.create_task(agent._flush_forever())
        try:
            await asyncio.sleep(0.05)
            for kind in (ZoneEventKind.ARRIVED, ZoneEventKind.MOVED):
                agent._events.append(
                    event_message(ZoneEvent(kind, PALLET, "zone-b", now, "zone-a"))
                )
                agent._events_waiting.set()
                await asyncio.sleep(0.1)
            early = [b.topic.rsplit("/", 1)[-1] for b in await agent.spool.pending()]
            assert early == ["events", "events"], "each event flush spooled the events alone"
            await asyncio.sleep(0.7)
            late = await agent.spool.pending()
            kinds = [b.topic.rsplit("/", 1)[-1] for b in late]
            assert kinds == ["events", "events", "observations"]
            observed = json.loads(late[-1].payload)["observations"]
            assert [o["epc"] for o in observed] == [PALLET]
        finally:
            flushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flushing


async def test_a_full_spool_refuses_a_flush_and_the_health_says_so_until_it_takes_again(
    tmp_path, caplog
):
    settings = EdgeSettings(spool_dir=tmp_path, site="site-1")
    agent = EdgeAgent(settings, load_layout(None))
    now = datetime.now(UTC)
    reader = agent.readers[0]
    async with agent.spool:
        agent.spool.max_bytes = 100  # smaller than one batch: as good as a full disk
        agent.window.add(TagRead(reader.id, 1, PALLET, -50.0, now, now, 3))
        await agent._flush()
        spool = agent.health().spool
        assert spool is not None
        assert (spool.full, spool.refused_batches, spool.batches) == (True, 1, 0)
        assert "spool is full" in caplog.text
        agent.spool.max_bytes = None  # room again (the cloud confirmed what was there)
        agent.window.add(TagRead(reader.id, 1, PALLET, -50.0, now, now, 3))
        await agent._flush()
        spool = agent.health().spool
        assert spool is not None
        assert (spool.full, spool.refused_batches, spool.batches) == (False, 1, 1)
        assert spool.bytes == len((await agent.spool.pending())[0].payload)
        assert "the spool takes batches again" in caplog.text
