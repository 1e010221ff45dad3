"""Running one ROSpec: inventory rounds, stop triggers, and when to report.

:class:`TagTally` is the pure part: it folds sightings into TagReportData the way a
reader does (one entry per tag, or per tag and antenna when antenna ids are
reported; peak RSSI, first/last seen, seen count). :class:`ROSpecRun` drives the
rounds of a ROSpec against an :class:`InventoryHost` (the simulated reader) and
hands finished reports back to it; it never touches sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from protocols import llrp

RoundSighting = tuple[bytes, float]
"""(EPC bytes, RSSI in dBm as received at the current transmit power)."""


WOKEN_ROUND_GAP = 0.1
"""A woken round (:meth:`ROSpecRun.wake`) comes at least this share of a round interval
after the one before."""

Heard = tuple[int, bytes, float]
"""(antenna id, EPC bytes, RSSI in dBm): one tag an antenna could read this round."""


class Singulation:
    """A reader's Gen2 throughput: it reads at most ``reads_per_s`` tags a second (its
    own clock), over all its antennas. Pure; one per reader.

    A round may read what the credit since the last round allows (at most
    ``burst_s`` worth). When the antennas hear more tags than that, the tags read
    longest ago go first, and tags never read before all: a tag just inventoried stays
    quiet until its session flag decays, so a reader with more tags in its field than
    it can read in a round reads the population in turns, and a tag new to the field is
    read at once. Ties go by a fixed hash of the EPC. ``reads_per_s`` None: no limit
    (every tag heard is read)."""

    def __init__(self, reads_per_s: float | None, *, burst_s: float = 1.0) -> None:
        if reads_per_s is not None and not reads_per_s > 0:
            raise ValueError(f"reads_per_s: {reads_per_s!r} must be positive")
        self.reads_per_s = reads_per_s
        self.burst_s = burst_s
        self._credit = 0.0
        self._at: float | None = None
        self._last_read: dict[bytes, float] = {}
        self._forget_at = -math.inf

    def select(self, heard: Sequence[Heard], now: float) -> Sequence[Heard]:
        """The sightings of ``heard`` read in a round at ``now`` (seconds)."""
        rate = self.reads_per_s
        if rate is None:
            return heard
        cap = rate * self.burst_s
        elapsed = cap / rate if self._at is None else max(0.0, now - self._at)
        self._at = now
        self._credit = min(cap, self._credit + rate * elapsed)
        budget = int(self._credit)
        last = self._last_read
        if len(heard) <= budget:
            chosen: Sequence[Heard] = heard
        else:
            never = -math.inf
            chosen = heapq.nsmallest(
                budget, heard, key=lambda h: (last.get(h[1], never), zlib.crc32(h[1]))
            )
        self._credit -= len(chosen)
        for _, epc, _ in chosen:
            last[epc] = now
        if now >= self._forget_at:  # tags not read for a long while: forget them
            old = now - 600.0
            for epc in [e for e, t in last.items() if t < old]:
                del last[epc]
            self._forget_at = now + 60.0
        return chosen


class InventoryHost(Protocol):
    """What a running ROSpec needs from its reader."""

    round_interval_s: float

    def antennas_for(self, antenna_ids: Sequence[int]) -> tuple[int, ...]:
        """The reader's antennas an AISpec names (0 = all)."""
        ...

    def hear(self, antenna_id: int, power_index: int | None) -> Sequence[RoundSighting]:
        """What ``antenna_id`` hears now at ``power_index`` (None: the reader's setting)."""
        ...

    def now_us(self) -> int:
        """Reader time (UTC microseconds, with any skew)."""
        ...

    def channel_index(self, antenna_id: int) -> int: ...

    def singulate(self, heard: Sequence[Heard]) -> Sequence[Heard]:
        """Of what the antennas could read this round, what the reader reads
        (:class:`Singulation`)."""
        ...

    def deliver_report(self, reports: tuple[llrp.TagReportData, ...]) -> None: ...

    def rospec_event(self, event_type: llrp.ROSpecEventType, rospec_id: int) -> None: ...

    def aispec_event(self, rospec_id: int, spec_index: int) -> None: ...


@dataclass(slots=True)
class _Entry:
    epc: bytes
    antenna_id: int
    channel_index: int
    spec_index: int
    inventory_parameter_spec_id: int
    peak_rssi: int
    first_seen_us: int
    last_seen_us: int
    count: int


def gen2_crc16(data: bytes) -> int:
    """The CRC-16 a Gen2 tag backscatters over PC + EPC (ISO/IEC 13239)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc ^ 0xFFFF


class TagTally:
    """Sightings folded into report entries, as selected by a TagReportContentSelector."""

    def __init__(self, rospec_id: int, selector: llrp.TagReportContentSelector) -> None:
        self.rospec_id = rospec_id
        self.selector = selector
        self._entries: dict[tuple[bytes, int, int, int, int], _Entry] = {}
        self.enable_pc = any(s.enable_pc_bits for s in selector.epc_memory_selectors)
        self.enable_crc = any(s.enable_crc for s in selector.epc_memory_selectors)

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self,
        epc: bytes,
        antenna_id: int,
        rssi_dbm: int,
        channel_index: int,
        now_us: int,
        spec_index: int = 1,
        inventory_parameter_spec_id: int = 1,
    ) -> None:
        sel = self.selector
        key = (
            epc,
            antenna_id if sel.enable_antenna_id else 0,
            channel_index if sel.enable_channel_index else 0,
            spec_index if sel.enable_spec_index else 0,
            inventory_parameter_spec_id if sel.enable_inventory_parameter_spec_id else 0,
        )
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(
                epc,
                antenna_id,
                channel_index,
                spec_index,
                inventory_parameter_spec_id,
                rssi_dbm,
                now_us,
                now_us,
                1,
            )
            return
        entry.count += 1
        entry.last_seen_us = now_us
        if rssi_dbm > entry.peak_rssi:
            entry.peak_rssi = rssi_dbm

    def drain(self) -> tuple[llrp.TagReportData, ...]:
        """Every entry as TagReportData; the tally starts empty again."""
        sel = self.selector
        reports = tuple(
            llrp.TagReportData(
                epc=llrp.EPC96(e.epc)
                if len(e.epc) == 12
                else llrp.EPCData(llrp.BitString.of_bytes(e.epc)),
                rospec_id=self.rospec_id if sel.enable_rospec_id else None,
                spec_index=e.spec_index if sel.enable_spec_index else None,
                inventory_parameter_spec_id=e.inventory_parameter_spec_id
                if sel.enable_inventory_parameter_spec_id
                else None,
                antenna_id=e.antenna_id if sel.enable_antenna_id else None,
                peak_rssi=e.peak_rssi if sel.enable_peak_rssi else None,
                channel_index=e.channel_index if sel.enable_channel_index else None,
                first_seen_utc=e.first_seen_us if sel.enable_first_seen_timestamp else None,
                last_seen_utc=e.last_seen_us if sel.enable_last_seen_timestamp else None,
                tag_seen_count=min(e.count, 0xFFFF) if sel.enable_tag_seen_count else None,
                c1g2_pc=_pc_bits(e.epc) if self.enable_pc else None,
                c1g2_crc=gen2_crc16(_pc_bits(e.epc).to_bytes(2, "big") + e.epc)
                if self.enable_crc
                else None,
                access_spec_id=0 if sel.enable_access_spec_id else None,
            )
            for e in self._entries.values()
        )
        self._entries.clear()
        return reports


def _pc_bits(epc: bytes) -> int:
    return ((len(epc) + 1) // 2) << 11


class ROSpecRun:
    """One execution of a ROSpec, from its start until its stop trigger or ``stop``."""

    def __init__(
        self, host: InventoryHost, rospec: llrp.ROSpec, report_spec: llrp.ROReportSpec
    ) -> None:
        self.host = host
        self.rospec = rospec
        self.report_spec = report_spec
        self.stop = asyncio.Event()
        self.tally = TagTally(rospec.rospec_id, report_spec.content_selector)
        self._next_round: float | None = None
        self._last_round = -math.inf
        self._woken = False
        self._nudge = asyncio.Event()
        """Set by :meth:`halt` and :meth:`wake`: the pause between rounds ends early."""

    def halt(self) -> None:
        """End the run (its last report is still sent, as on a stop trigger)."""
        self.stop.set()
        self._nudge.set()

    def wake(self) -> None:
        """Run a round now rather than at the next round's time: the reader's field
        changed (a tag new to it is read at once, as a reader inventorying without pause
        would; the simulated one pauses ``round_interval_s`` between rounds to save CPU)."""
        self._woken = True
        self._nudge.set()

    async def _pause(self, until: float) -> None:
        """Wait until loop time ``until``, or until halted or woken."""
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            if self._woken:
                # a woken round waits a tenth of a round after the last (bursts of changes)
                until = min(until, self._last_round + WOKEN_ROUND_GAP * self.host.round_interval_s)
            left = until - loop.time()
            if left <= 0:
                return
            self._nudge.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), left)

    def flush(self) -> None:
        """Send what the tally holds (also used for GET_REPORT)."""
        if len(self.tally):
            self.host.deliver_report(self.tally.drain())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stop_trigger = self.rospec.boundary.stop_trigger
        deadline: float | None = None
        if stop_trigger.trigger_type is llrp.ROSpecStopTriggerType.Duration:
            deadline = loop.time() + stop_trigger.duration_ms / 1000.0
        self.host.rospec_event(llrp.ROSpecEventType.Start_Of_ROSpec, self.rospec.rospec_id)
        try:
            while not self.stop.is_set():
                for spec_index, ai_spec in enumerate(self.rospec.ai_specs, start=1):
                    finished = await self._run_ai_spec(spec_index, ai_spec, deadline)
                    if not finished:
                        return
                    self.host.aispec_event(self.rospec.rospec_id, spec_index)
                    if (
                        self.report_spec.trigger
                        is llrp.ROReportTriggerType.Upon_N_Tags_Or_End_Of_AISpec
                    ):
                        self.flush()
                if deadline is not None and loop.time() >= deadline:
                    return
        finally:
            if self.report_spec.trigger is not llrp.ROReportTriggerType.None_:
                self.flush()
            self.host.rospec_event(llrp.ROSpecEventType.End_Of_ROSpec, self.rospec.rospec_id)

    async def _run_ai_spec(
        self, spec_index: int, ai_spec: llrp.AISpec, rospec_deadline: float | None
    ) -> bool:
        """Run rounds until the AISpec's stop trigger (True) or the ROSpec ends (False)."""
        loop = asyncio.get_running_loop()
        host = self.host
        trigger = ai_spec.stop_trigger
        observation = trigger.tag_observation
        kind = trigger.trigger_type
        started = last_new_tag = loop.time()
        seen: set[bytes] = set()
        attempts = 0
        antennas = host.antennas_for(ai_spec.antenna_ids)
        inventory_spec = ai_spec.inventory_parameter_specs[0]
        power = {
            config.antenna_id: config.rf_transmitter.transmit_power
            for config in inventory_spec.antenna_configurations
            if config.rf_transmitter is not None
        }
        every_n = self.report_spec.n if self.report_spec.trigger.value in (1, 2) else 0
        # the AISpec's time limit (its duration, or its tag observation's timeout) ends
        # it when it comes, between rounds too
        duration_end: float | None = None
        if kind is llrp.AISpecStopTriggerType.Duration:
            duration_end = started + trigger.duration_ms / 1000.0
        elif (
            kind is llrp.AISpecStopTriggerType.Tag_Observation
            and observation is not None
            and observation.timeout_ms
        ):
            duration_end = started + observation.timeout_ms / 1000.0
        while True:
            if self._next_round is not None:
                until = self._next_round
                if duration_end is not None:
                    until = min(until, duration_end)
                if rospec_deadline is not None:
                    until = min(until, rospec_deadline)
                await self._pause(until)
                if self.stop.is_set():
                    return False
                now = loop.time()
                if rospec_deadline is not None and now >= rospec_deadline:
                    return False
                if (
                    duration_end is not None
                    and now >= duration_end
                    and now < self._next_round
                    and not self._woken
                ):
                    return True  # the AISpec's time limit came between rounds
            self._last_round = loop.time()
            self._next_round = self._last_round + host.round_interval_s
            now_us = host.now_us()
            channels = {a: host.channel_index(a) for a in antennas}
            heard = [
                (antenna_id, epc, rssi)
                for antenna_id in antennas
                for epc, rssi in host.hear(antenna_id, power.get(antenna_id, power.get(0)))
            ]
            self._woken = False  # this round heard the field as it is now
            for antenna_id, epc, rssi in host.singulate(heard):
                self.tally.add(
                    epc,
                    antenna_id,
                    max(-128, min(127, round(rssi))),
                    channels[antenna_id],
                    now_us,
                    spec_index,
                    inventory_spec.spec_id,
                )
                if epc not in seen:
                    seen.add(epc)
                    last_new_tag = loop.time()
                if every_n and len(self.tally) >= every_n:
                    self.flush()
            attempts += 1
            now = loop.time()
            if duration_end is not None and now >= duration_end:
                return True  # the AISpec's duration, or its tag observation's timeout
            if kind is llrp.AISpecStopTriggerType.Tag_Observation and observation is not None:
                if _observation_done(observation, len(seen), attempts, now - last_new_tag):
                    return True
            if rospec_deadline is not None and now >= rospec_deadline:
                return False


def _observation_done(
    observation: llrp.TagObservationTrigger, unique_tags: int, attempts: int, silence_s: float
) -> bool:
    kinds = llrp.TagObservationTriggerType
    if observation.trigger_type is kinds.Upon_Seeing_N_Tags_Or_Timeout:
        return unique_tags >= max(1, observation.number_of_tags)
    if observation.trigger_type is kinds.Upon_Seeing_No_More_New_Tags_For_Tms_Or_Timeout:
        return silence_s >= observation.t_ms / 1000.0
    return attempts >= max(1, observation.number_of_attempts)
