"""The configuration a simulated reader keeps between messages (GET/SET_READER_CONFIG).

:class:`ReaderSettings` is plain state with two operations: :meth:`apply` checks a
SET_READER_CONFIG and, only if all of it is valid, applies it; :meth:`describe`
answers a GET_READER_CONFIG. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from firmware_sim.llrp_reader_model import (
    DEFAULT_EVENTS,
    DEFAULT_RO_REPORT_SPEC,
    ReaderModel,
    default_antenna_configuration,
)
from protocols import llrp


class ConfigProblem(Exception):
    """A request the reader refuses; ``status`` is what goes back to the client."""

    def __init__(self, status: llrp.StatusCode, description: str) -> None:
        super().__init__(description)
        self.status = llrp.LLRPStatus(status, description)


@dataclass(slots=True)
class ReaderSettings:
    model: ReaderModel
    reader_id: str
    events: frozenset[llrp.EventType] = DEFAULT_EVENTS
    ro_report_spec: llrp.ROReportSpec = DEFAULT_RO_REPORT_SPEC
    access_report_spec: llrp.AccessReportSpec = field(
        default_factory=lambda: llrp.AccessReportSpec(
            llrp.enums.AccessReportTriggerType.Whenever_ROReport_Is_Generated
        )
    )
    keepalive: llrp.KeepaliveSpec = field(
        default_factory=lambda: llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Null, 0)
    )
    hold_events_and_reports: bool = False
    antenna_configurations: dict[int, llrp.AntennaConfiguration] = field(default_factory=dict)
    antenna_connected: dict[int, bool] = field(default_factory=dict)
    configuration_state: int = 1

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Factory defaults (antenna connection state is hardware, it stays)."""
        self.events = DEFAULT_EVENTS
        self.ro_report_spec = DEFAULT_RO_REPORT_SPEC
        self.access_report_spec = llrp.AccessReportSpec(
            llrp.enums.AccessReportTriggerType.Whenever_ROReport_Is_Generated
        )
        self.keepalive = llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Null, 0)
        self.hold_events_and_reports = False
        self.antenna_configurations = {
            a: default_antenna_configuration(self.model, a) for a in self.model.antenna_ids
        }
        for antenna_id in self.model.antenna_ids:
            self.antenna_connected.setdefault(antenna_id, True)

    def power_index(self, antenna_id: int) -> int:
        config = self.antenna_configurations.get(antenna_id)
        if config is None or config.rf_transmitter is None:
            return self.model.max_power_index
        return config.rf_transmitter.transmit_power

    def check_antenna(self, antenna_id: int, where: str, allow_all: bool = True) -> None:
        if (antenna_id == 0 and allow_all) or antenna_id in self.model.antenna_ids:
            return
        raise ConfigProblem(
            llrp.StatusCode.M_ParameterError,
            f"{where}: antenna {antenna_id} does not exist (antennas: {self.model.antenna_ids})",
        )

    def check_antenna_configuration(self, config: llrp.AntennaConfiguration, where: str) -> None:
        self.check_antenna(config.antenna_id, f"{where}.antenna_id")
        transmitter = config.rf_transmitter
        if transmitter is not None and self.model.power_dbm(transmitter.transmit_power) is None:
            raise ConfigProblem(
                llrp.StatusCode.M_ParameterError,
                f"{where}.RFTransmitter.transmit_power: index {transmitter.transmit_power} "
                f"not in the power table 1..{self.model.max_power_index}",
            )
        if transmitter is not None and transmitter.hop_table_id not in (0, 1):
            raise ConfigProblem(
                llrp.StatusCode.M_ParameterError,
                f"{where}.RFTransmitter.hop_table_id: {transmitter.hop_table_id} is not 1",
            )

    def apply(self, request: llrp.SetReaderConfig) -> None:
        """Apply a SET_READER_CONFIG, or raise ConfigProblem and change nothing."""
        for config in request.antenna_configurations:
            self.check_antenna_configuration(config, "SET_READER_CONFIG.AntennaConfiguration")
        if request.keepalive_spec is not None:
            spec = request.keepalive_spec
            if (
                spec.trigger_type is llrp.KeepaliveTriggerType.Periodic
                and spec.time_interval_ms == 0
            ):
                raise ConfigProblem(
                    llrp.StatusCode.M_ParameterError,
                    "SET_READER_CONFIG.KeepaliveSpec.time_interval_ms: 0 with a periodic trigger",
                )
        if request.reset_to_factory_defaults:
            self.reset()
        if request.reader_event_notification_spec is not None:
            states = {
                s.event_type: s.notification_state
                for s in request.reader_event_notification_spec.states
            }
            enabled = set(self.events)
            for event_type, on in states.items():
                (enabled.add if on else enabled.discard)(event_type)
            self.events = frozenset(enabled)
        for config in request.antenna_configurations:
            targets = self.model.antenna_ids if config.antenna_id == 0 else (config.antenna_id,)
            for antenna_id in targets:
                self.antenna_configurations[antenna_id] = _merge(
                    self.antenna_configurations[antenna_id], config, antenna_id
                )
        if request.ro_report_spec is not None:
            self.ro_report_spec = request.ro_report_spec
        if request.access_report_spec is not None:
            self.access_report_spec = request.access_report_spec
        if request.keepalive_spec is not None:
            self.keepalive = request.keepalive_spec
        if request.events_and_reports is not None:
            self.hold_events_and_reports = (
                request.events_and_reports.hold_events_and_reports_upon_reconnect
            )
        self.configuration_state += 1

    def describe(self, request: llrp.GetReaderConfig) -> llrp.GetReaderConfigResponse:
        """Answer a GET_READER_CONFIG (raises ConfigProblem for an unknown antenna)."""
        self.check_antenna(request.antenna_id, "GET_READER_CONFIG.antenna_id")
        wanted = request.requested_data
        kinds = llrp.ConfigRequest

        def asked(kind: llrp.ConfigRequest) -> bool:
            return wanted is kinds.All or wanted is kind

        antennas = self.model.antenna_ids if request.antenna_id == 0 else (request.antenna_id,)
        return llrp.GetReaderConfigResponse(
            message_id=request.message_id,
            identification=llrp.Identification(
                llrp.enums.IdentificationType.MAC_Address, self.model.reader_mac(self.reader_id)
            )
            if asked(kinds.Identification)
            else None,
            antenna_properties=tuple(
                llrp.AntennaProperties(self.antenna_connected.get(a, True), a, 0) for a in antennas
            )
            if asked(kinds.AntennaProperties)
            else (),
            antenna_configurations=tuple(self.antenna_configurations[a] for a in antennas)
            if asked(kinds.AntennaConfiguration)
            else (),
            reader_event_notification_spec=llrp.ReaderEventNotificationSpec(
                tuple(
                    llrp.EventNotificationState(event_type, event_type in self.events)
                    for event_type in llrp.EventType
                )
            )
            if asked(kinds.ReaderEventNotificationSpec)
            else None,
            ro_report_spec=self.ro_report_spec if asked(kinds.ROReportSpec) else None,
            access_report_spec=self.access_report_spec if asked(kinds.AccessReportSpec) else None,
            configuration_state=llrp.LLRPConfigurationStateValue(self.configuration_state)
            if asked(kinds.LLRPConfigurationStateValue)
            else None,
            keepalive_spec=self.keepalive if asked(kinds.KeepaliveSpec) else None,
            events_and_reports=llrp.EventsAndReports(self.hold_events_and_reports)
            if asked(kinds.EventsAndReports)
            else None,
        )


def _merge(
    current: llrp.AntennaConfiguration, update: llrp.AntennaConfiguration, antenna_id: int
) -> llrp.AntennaConfiguration:
    """A SET_READER_CONFIG AntennaConfiguration changes only the parts it carries."""
    return replace(
        current,
        antenna_id=antenna_id,
        rf_receiver=update.rf_receiver or current.rf_receiver,
        rf_transmitter=update.rf_transmitter or current.rf_transmitter,
        inventory_commands=update.inventory_commands or current.inventory_commands,
    )
