"""The ROSpecs and AccessSpecs a simulated reader holds, and their state machines.

ROSpec states follow LLRP 1.0.1 section 10.2: added Disabled; ENABLE makes it
Inactive (and starts it at once for an Immediate start trigger, or schedules it for a
Periodic one); START makes it Active; it goes back to Inactive when its stop trigger
fires or on STOP; DISABLE and DELETE halt it. Id 0 means "all" for ENABLE, DISABLE
and DELETE. AccessSpecs are validated and kept; their tag operations are not run.
Every refusal is a :class:`ConfigProblem` carrying the LLRPStatus to send back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from firmware_sim.llrp_inventory import InventoryHost, ROSpecRun
from firmware_sim.llrp_reader_config import ConfigProblem, ReaderSettings
from protocols import llrp

MAX_ROSPECS = 8
MAX_ACCESS_SPECS = 16

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


@dataclass(slots=True)
class ROSpecEntry:
    rospec: llrp.ROSpec
    state: llrp.ROSpecState = llrp.ROSpecState.Disabled
    run: ROSpecRun | None = None
    schedule: asyncio.Task[None] | None = None


def _invalid(description: str) -> ConfigProblem:
    return ConfigProblem(llrp.StatusCode.M_ParameterError, description)


class SpecBook:
    def __init__(
        self,
        host: InventoryHost,
        settings: ReaderSettings,
        spawn: Spawn,
        log: logging.LoggerAdapter,  # type: ignore[type-arg]
    ) -> None:
        self.host = host
        self.settings = settings
        self.spawn = spawn
        self.log = log
        self.rospecs: dict[int, ROSpecEntry] = {}
        self.access_specs: dict[int, llrp.AccessSpec] = {}

    # --- ROSpecs -----------------------------------------------------------------------

    def add_rospec(self, rospec: llrp.ROSpec) -> None:
        self._check(rospec)
        self.rospecs[rospec.rospec_id] = ROSpecEntry(rospec)
        self.log.info("added ROSpec %d", rospec.rospec_id)

    def _check(self, rospec: llrp.ROSpec) -> None:
        if rospec.rospec_id == 0:
            raise _invalid("ROSpec.rospec_id: 0 is reserved")
        if rospec.rospec_id in self.rospecs:
            raise _invalid(f"ROSpec.rospec_id: {rospec.rospec_id} already exists")
        if len(self.rospecs) >= MAX_ROSPECS:
            raise ConfigProblem(llrp.StatusCode.M_OverflowParameter, "too many ROSpecs")
        if rospec.current_state is not llrp.ROSpecState.Disabled:
            raise _invalid("ROSpec.current_state: a new ROSpec must be Disabled")
        if rospec.priority > 7:
            raise _invalid(f"ROSpec.priority: {rospec.priority} is above 7")
        start = rospec.boundary.start_trigger
        if start.trigger_type is llrp.ROSpecStartTriggerType.Periodic and start.periodic is None:
            raise _invalid("ROSpecStartTrigger: Periodic without PeriodicTriggerValue")
        if start.trigger_type is llrp.ROSpecStartTriggerType.GPI:
            raise ConfigProblem(llrp.StatusCode.M_UnsupportedParameter, "ROSpecStartTrigger: GPI")
        for ai_spec in rospec.ai_specs:
            for antenna_id in ai_spec.antenna_ids:
                self.settings.check_antenna(antenna_id, "AISpec.antenna_ids")
            trigger = ai_spec.stop_trigger
            if (
                trigger.trigger_type is llrp.AISpecStopTriggerType.Tag_Observation
                and trigger.tag_observation is None
            ):
                raise _invalid("AISpecStopTrigger: Tag_Observation without TagObservationTrigger")
            for inventory in ai_spec.inventory_parameter_specs:
                for config in inventory.antenna_configurations:
                    self.settings.check_antenna_configuration(config, "InventoryParameterSpec")

    def _select(self, rospec_id: int, allow_all: bool) -> list[ROSpecEntry]:
        if rospec_id == 0 and allow_all:
            return list(self.rospecs.values())
        entry = self.rospecs.get(rospec_id)
        if entry is None:
            raise ConfigProblem(llrp.StatusCode.M_FieldError, f"no ROSpec with id {rospec_id}")
        return [entry]

    def enable(self, rospec_id: int) -> None:
        for entry in self._select(rospec_id, allow_all=True):
            if entry.state is not llrp.ROSpecState.Disabled:
                continue
            entry.state = llrp.ROSpecState.Inactive
            start = entry.rospec.boundary.start_trigger
            if start.trigger_type is llrp.ROSpecStartTriggerType.Immediate:
                self._run(entry)
            elif start.trigger_type is llrp.ROSpecStartTriggerType.Periodic and start.periodic:
                entry.schedule = self.spawn(self._periodic(entry, start.periodic))

    def disable(self, rospec_id: int) -> None:
        for entry in self._select(rospec_id, allow_all=True):
            self._halt(entry)
            entry.state = llrp.ROSpecState.Disabled

    def delete(self, rospec_id: int) -> None:
        for entry in self._select(rospec_id, allow_all=True):
            self._halt(entry)
            entry.state = llrp.ROSpecState.Disabled
            del self.rospecs[entry.rospec.rospec_id]
            self.log.info("deleted ROSpec %d", entry.rospec.rospec_id)

    def start(self, rospec_id: int) -> None:
        (entry,) = self._select(rospec_id, allow_all=False)
        if entry.state is not llrp.ROSpecState.Inactive:
            raise ConfigProblem(
                llrp.StatusCode.M_FieldError,
                f"ROSpec {rospec_id} is {entry.state.name}, not Inactive",
            )
        self._run(entry)

    def stop(self, rospec_id: int) -> None:
        (entry,) = self._select(rospec_id, allow_all=False)
        if entry.state is not llrp.ROSpecState.Active:
            raise ConfigProblem(llrp.StatusCode.M_FieldError, f"ROSpec {rospec_id} is not Active")
        if entry.run is not None:
            entry.run.halt()
            entry.run = None
        entry.state = llrp.ROSpecState.Inactive

    def snapshot(self) -> tuple[llrp.ROSpec, ...]:
        """Every ROSpec with its current state (GET_ROSPECS)."""
        return tuple(replace(e.rospec, current_state=e.state) for e in self.rospecs.values())

    def flush_reports(self) -> None:
        """Report what every running ROSpec holds now (GET_REPORT)."""
        for entry in self.rospecs.values():
            if entry.run is not None:
                entry.run.flush()

    def wake(self) -> None:
        """Every running ROSpec runs a round now (:meth:`ROSpecRun.wake`)."""
        for entry in self.rospecs.values():
            if entry.run is not None:
                entry.run.wake()

    def clear(self) -> None:
        for entry in self.rospecs.values():
            self._halt(entry)
        self.rospecs.clear()
        self.access_specs.clear()

    def _halt(self, entry: ROSpecEntry) -> None:
        if entry.schedule is not None:
            entry.schedule.cancel()
            entry.schedule = None
        if entry.run is not None:
            entry.run.halt()
            entry.run = None
        if entry.state is llrp.ROSpecState.Active:
            entry.state = llrp.ROSpecState.Inactive

    def _run(self, entry: ROSpecEntry) -> None:
        report_spec = entry.rospec.report_spec or self.settings.ro_report_spec
        run = ROSpecRun(self.host, entry.rospec, report_spec)
        entry.run = run
        entry.state = llrp.ROSpecState.Active
        self.log.info("ROSpec %d started", entry.rospec.rospec_id)
        self.spawn(self._drive(entry, run))

    async def _drive(self, entry: ROSpecEntry, run: ROSpecRun) -> None:
        try:
            await run.run()
        except Exception:
            self.log.exception("ROSpec %d failed", entry.rospec.rospec_id)
        finally:
            if entry.run is run:
                entry.run = None
                if entry.state is llrp.ROSpecState.Active:
                    entry.state = llrp.ROSpecState.Inactive
                self.log.info("ROSpec %d done", entry.rospec.rospec_id)

    async def _periodic(self, entry: ROSpecEntry, period: llrp.PeriodicTriggerValue) -> None:
        delay = period.offset_ms / 1000.0
        if period.utc_timestamp is not None:
            now_s = self.host.now_us() / 1e6
            delay += max(0.0, period.utc_timestamp.microseconds / 1e6 - now_s)
        await asyncio.sleep(delay)
        while entry.state is not llrp.ROSpecState.Disabled:
            if entry.state is llrp.ROSpecState.Inactive:
                self._run(entry)
            if period.period_ms == 0:
                return
            await asyncio.sleep(period.period_ms / 1000.0)

    # --- AccessSpecs -------------------------------------------------------------------

    def add_access_spec(self, spec: llrp.AccessSpec) -> None:
        if spec.access_spec_id == 0 or spec.access_spec_id in self.access_specs:
            raise _invalid(f"AccessSpec.access_spec_id: {spec.access_spec_id} is 0 or taken")
        if spec.current_state is not llrp.AccessSpecState.Disabled:
            raise _invalid("AccessSpec.current_state: a new AccessSpec must be Disabled")
        if spec.rospec_id and spec.rospec_id not in self.rospecs:
            raise _invalid(f"AccessSpec.rospec_id: no ROSpec {spec.rospec_id}")
        if spec.antenna_id:
            self.settings.check_antenna(spec.antenna_id, "AccessSpec.antenna_id")
        if len(self.access_specs) >= MAX_ACCESS_SPECS:
            raise ConfigProblem(llrp.StatusCode.M_OverflowParameter, "too many AccessSpecs")
        self.access_specs[spec.access_spec_id] = spec

    def _access_ids(self, access_spec_id: int) -> list[int]:
        if access_spec_id == 0:
            return list(self.access_specs)
        if access_spec_id not in self.access_specs:
            raise ConfigProblem(
                llrp.StatusCode.M_FieldError, f"no AccessSpec with id {access_spec_id}"
            )
        return [access_spec_id]

    def set_access_state(self, access_spec_id: int, state: llrp.AccessSpecState) -> None:
        for key in self._access_ids(access_spec_id):
            self.access_specs[key] = replace(self.access_specs[key], current_state=state)

    def delete_access_spec(self, access_spec_id: int) -> None:
        for key in self._access_ids(access_spec_id):
            del self.access_specs[key]
