"""The agent's flushes: events are spooled within ``event_flush_s`` of being decided,
on their own; the observations go every ``flush_interval_s`` (not with every event)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta

from edge.agent import EdgeAgent
from edge.event_messages import event_message
from edge.events import ZoneEvent, ZoneEventKind
from edge.reads import TagRead
from edge.scale_watch import ScaleRead, StableLoad
from edge.settings import EdgeSettings
from protocols.layout import load_layout
from protocols.mqtt import WeightMessage

PALLET = "3114257BF400EBA58A000000"


def pallet_heard(agent: EdgeAgent) -> None:
    """One read of the pallet by the first reader, into the agent's window."""
    now = datetime.now(UTC)
    agent.window.add(TagRead(agent.readers[0].id, 1, PALLET, -50.0, now, now, 3))


async def test_events_are_spooled_at_once_on_their_own_and_observations_at_the_interval(
    tmp_path,
):
    settings = EdgeSettings(
        spool_dir=tmp_path, flush_interval_s=0.6, event_flush_s=0.01, site="site-1"
    )
    agent = EdgeAgent(settings, load_layout(None))
    now = datetime.now(UTC)
    async with agent.spool:
        pallet_heard(agent)
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


async def test_observations_taken_from_the_window_are_spooled_though_their_flush_is_cancelled(
    tmp_path,
):
    # they are built and encoded on a worker thread: a stop that cancels the flush
    # meanwhile must not lose them (the stop's last flush waits for them)
    settings = EdgeSettings(spool_dir=tmp_path, site="site-1")
    agent = EdgeAgent(settings, load_layout(None))
    async with agent.spool:
        pallet_heard(agent)
        flushing = asyncio.create_task(agent._spool_observations())
        await asyncio.sleep(0)  # it took the window and went to encode it
        assert len(agent.window) == 0
        flushing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flushing
        await agent._flush()
        [spooled] = await agent.spool.pending()
        observed = json.loads(spooled.payload)["observations"]
        assert [o["epc"] for o in observed] == [PALLET]


async def test_a_full_spool_refuses_a_flush_and_the_health_says_so_until_it_takes_again(
    tmp_path, caplog
):
    settings = EdgeSettings(spool_dir=tmp_path, site="site-1")
    agent = EdgeAgent(settings, load_layout(None))
    async with agent.spool:
        agent.spool.max_bytes = 100  # smaller than one batch: as good as a full disk
        pallet_heard(agent)
        await agent._flush()
        spool = agent.health().spool
        assert spool is not None
        assert (spool.full, spool.refused_batches, spool.batches) == (True, 1, 0)
        assert "spool is full" in caplog.text
        agent.spool.max_bytes = None  # room again (the cloud confirmed what was there)
        pallet_heard(agent)
        await agent._flush()
        spool = agent.health().spool
        assert spool is not None
        assert (spool.full, spool.refused_batches, spool.batches) == (False, 1, 1)
        assert spool.bytes == len((await agent.spool.pending())[0].payload)
        assert "the spool takes batches again" in caplog.text


def test_a_weight_with_more_rising_cases_than_a_message_carries_goes_without_them(tmp_path, caplog):
    # seed 107's edge stopped on a WeightMessage of 559 cases (a crowded packing area):
    # the weight and its pallet still go; a weight whose message cannot be built is
    # dropped with its reason, and the edge goes on
    settings = EdgeSettings(spool_dir=tmp_path, site="site-1")
    agent = EdgeAgent(settings, load_layout(None))
    scale = agent.scales[0].id
    settled = datetime.now(UTC) - timedelta(seconds=60)
    log = agent._point_logs[scale]
    cases = [f"3074257BF7194E40000{k:05X}" for k in range(600)]
    for epc in [PALLET, *cases]:  # none heard before the load rolled on
        log.add(ScaleRead(settled + timedelta(seconds=1), epc, -45.0))
    agent._loads += [
        StableLoad(scale, 412.5, settled),
        StableLoad(scale, float("nan"), settled),
    ]
    with caplog.at_level(logging.WARNING, logger="edge.agent"):
        agent._tick()
    [weight] = [m for m in agent._events if isinstance(m, WeightMessage)]
    assert (weight.epc, weight.weight_kg, weight.cases) == (PALLET, 412.5, [])
    assert "600 cases rose with the load" in caplog.text
    assert f"scale {scale}: the weight at" in caplog.text and "weight_kg" in caplog.text
    assert agent._loads == []


def test_a_doors_readers_report_more_often_than_a_zones(tmp_path):
    # a passage is decided on the reads after the crossing: it waits for their report
    settings = EdgeSettings(
        spool_dir=tmp_path, site="site-1", llrp_report_interval_ms=50,
        llrp_door_report_interval_ms=20,
    )  # fmt: skip
    agent = EdgeAgent(settings, load_layout(None))
    intervals = {r.id: agent.report_interval_ms(r.id) for r in agent.readers}
    assert intervals["reader-door-1"] == 20
    assert intervals["reader-zone-a"] == 50
    assert intervals["reader-packing"] == 50
    assert sorted(set(intervals.values())) == [20, 50]
