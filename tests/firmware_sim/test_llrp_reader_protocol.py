"""Simulated reader behaviours sllurp cannot ask for, exercised over TCP with our codec:
start/stop/report triggers, reader configuration, spec lifecycles, framing errors."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting
from protocols import llrp

pytestmark = pytest.mark.timeout(30)

M = TypeVar("M", bound=llrp.Message)
EPCS = [f"30340000000000000000000{i}" for i in range(4)]
WEAK_EPC = "3034000000000000000000FF"
NEW_EPC = "3034000000000000000000AA"


class FakeField:
    def __init__(self) -> None:
        self.by_antenna: dict[int, list[Sighting]] = {
            1: [Sighting(e, -50.0) for e in EPCS] + [Sighting(WEAK_EPC, -75.0)],
            2: [Sighting(EPCS[0], -60.0)],
        }
        self.fail = False

    def sightings(self, reader_id: str, antenna_id: int, now: float) -> Sequence[Sighting]:
        if self.fail:
            raise RuntimeError("the world broke")
        return self.by_antenna.get(antenna_id, [])


class RawClient:
    """A minimal LLRP client on our codec: send messages, wait for a given type."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = llrp.LLRPFramer()
        self.pending: list[llrp.Message] = []
        self.seen: list[llrp.Message] = []
        self.next_id = 100

    async def send(self, message: llrp.Message | bytes) -> None:
        self.writer.write(message if isinstance(message, bytes) else llrp.encode_message(message))
        await self.writer.drain()

    async def request(self, message: llrp.Message, response: type[M]) -> M:
        self.next_id += 1
        await self.send(dataclasses.replace(message, message_id=self.next_id))
        answer = await self.expect(response)
        assert answer.message_id == self.next_id
        return answer

    async def receive(self, timeout: float = 3.0) -> llrp.Message:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionError("reader closed the connection")
            self.pending.extend(llrp.decode_message(f) for f in self.framer.frames(data))
        message = self.pending.pop(0)
        self.seen.append(message)
        return message

    async def expect(self, kind: type[M], timeout: float = 3.0) -> M:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.receive(timeout)
                if isinstance(message, kind):
                    return message

    async def reports(self, count: int, timeout: float = 3.0) -> list[llrp.ROAccessReport]:
        return [await self.expect(llrp.ROAccessReport, timeout) for _ in range(count)]


@asynccontextmanager
async def reader_and_client(**kwargs: Any) -> AsyncIterator[tuple[LLRPReaderServer, RawClient]]:
    field = kwargs.pop("field", FakeField())
    round_interval_s = kwargs.pop("round_interval_s", 0.02)
    async with LLRPReaderServer(
        "reader-p",
        (1, 2, 3, 4),
        field,
        lambda: 1_700_000_000.0,
        port=0,
        round_interval_s=round_interval_s,
    ) as server:
        client = await connect(server.port)
        try:
            yield server, client
        finally:
            client.writer.close()


async def connect(port: int) -> RawClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = RawClient(reader, writer)
    greeting = await client.expect(llrp.ReaderEventNotification)
    assert greeting.data.connection_attempt is not None
    assert greeting.data.connection_attempt.status is llrp.ConnectionAttemptStatus.Success
    return client


def rospec(
    rospec_id: int = 1,
    start: llrp.ROSpecStartTrigger | None = None,
    stop: llrp.ROSpecStopTrigger | None = None,
    ai_stop: llrp.AISpecStopTrigger | None = None,
    report: llrp.ROReportSpec | None = None,
    antennas: tuple[int, ...] = (1,),
    configs: tuple[llrp.AntennaConfiguration, ...] = (),
) -> llrp.ROSpec:
    return llrp.ROSpec(
        rospec_id=rospec_id,
        priority=0,
        current_state=llrp.ROSpecState.Disabled,
        boundary=llrp.ROBoundarySpec(
            start or llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Null),
            stop or llrp.ROSpecStopTrigger(llrp.ROSpecStopTriggerType.Null),
        ),
        ai_specs=(
            llrp.AISpec(
                antennas,
                ai_stop or llrp.AISpecStopTrigger(llrp.AISpecStopTriggerType.Null),
                (llrp.InventoryParameterSpec(1, antenna_configurations=configs),),
            ),
        ),
        report_spec=report,
    )


def report_spec(trigger: int, n: int, **selector: bool) -> llrp.ROReportSpec:
    return llrp.ROReportSpec(
        llrp.ROReportTriggerType(trigger),
        n,
        llrp.TagReportContentSelector(enable_antenna_id=True, **selector),
    )


def epcs(reports: list[llrp.ROAccessReport]) -> set[str]:
    return {t.epc_hex for r in reports for t in r.tag_reports}


async def test_capabilities_describe_antennas_power_table_and_modes() -> None:
    async with reader_and_client() as (_server, client):
        caps = await client.request(
            llrp.GetReaderCapabilities(), llrp.GetReaderCapabilitiesResponse
        )
    assert caps.general_device is not None and caps.regulatory is not None
    assert caps.general_device.max_number_of_antenna_supported == 4
    band = caps.regulatory.uhf_band_capabilities
    assert band is not None
    powers = [e.dbm for e in band.transmit_power_levels]
    assert (powers[0], powers[-1], len(powers)) == (10.0, 32.5, 91)
    assert len(band.rf_mode_tables[0].entries) >= 3


async def test_set_reader_config_is_reflected_by_get_reader_config() -> None:
    async with reader_and_client() as (_server, client):
        update = llrp.SetReaderConfig(
            reader_event_notification_spec=llrp.ReaderEventNotificationSpec(
                (llrp.EventNotificationState(llrp.EventType.ROSpec_Event, True),)
            ),
            antenna_configurations=(
                llrp.AntennaConfiguration(2, rf_transmitter=llrp.RFTransmitter(1, 0, 41)),
            ),
            keepalive_spec=llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Periodic, 5000),
            ro_report_spec=report_spec(1, 7, enable_peak_rssi=True),
        )
        assert (await client.request(update, llrp.SetReaderConfigResponse)).status.is_success
        config = await client.request(
            llrp.GetReaderConfig(antenna_id=2), llrp.GetReaderConfigResponse
        )
        refused = await client.request(
            llrp.GetReaderConfig(antenna_id=9), llrp.GetReaderConfigResponse
        )
    (antenna,) = config.antenna_configurations
    assert antenna.rf_transmitter is not None and antenna.rf_transmitter.transmit_power == 41
    assert config.keepalive_spec == llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Periodic, 5000)
    assert config.ro_report_spec == report_spec(1, 7, enable_peak_rssi=True)
    assert config.reader_event_notification_spec is not None
    assert llrp.EventType.ROSpec_Event in config.reader_event_notification_spec.enabled()
    assert refused.status.status_code is llrp.StatusCode.M_ParameterError
    assert "antenna 9" in refused.status.error_description


async def test_invalid_transmit_power_is_refused_and_changes_nothing() -> None:
    async with reader_and_client() as (_server, client):
        bad = llrp.SetReaderConfig(
            antenna_configurations=(
                llrp.AntennaConfiguration(0, rf_transmitter=llrp.RFTransmitter(1, 0, 92)),
            ),
            keepalive_spec=llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Periodic, 10),
        )
        answer = await client.request(bad, llrp.SetReaderConfigResponse)
        config = await client.request(llrp.GetReaderConfig(), llrp.GetReaderConfigResponse)
    assert answer.status.status_code is llrp.StatusCode.M_ParameterError
    assert "transmit_power" in answer.status.error_description
    assert config.keepalive_spec == llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Null, 0)


async def test_reader_level_transmit_power_sets_read_range() -> None:
    async with reader_and_client() as (_server, client):
        low_power = llrp.SetReaderConfig(
            antenna_configurations=(
                llrp.AntennaConfiguration(1, rf_transmitter=llrp.RFTransmitter(1, 0, 51)),
            )
        )
        await client.request(low_power, llrp.SetReaderConfigResponse)  # 22.5 dBm: -10 dB
        spec = rospec(report=report_spec(1, 1, enable_peak_rssi=True))
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        await client.request(llrp.StartROSpec(1), llrp.StartROSpecResponse)
        reports = await client.reports(10)
    assert epcs(reports) == set(EPCS)  # -75 - 10 = -85 dBm is below the -84 dBm floor
    assert {t.peak_rssi for r in reports for t in r.tag_reports} == {-60}


async def test_rospec_lifecycle_follows_llrp_states() -> None:
    state = llrp.ROSpecState
    async with reader_and_client() as (_server, client):

        async def states() -> dict[int, llrp.ROSpecState]:
            answer = await client.request(llrp.GetROSpecs(), llrp.GetROSpecsResponse)
            return {r.rospec_id: r.current_state for r in answer.rospecs}

        async def status(message: llrp.Message, response: type[Any]) -> llrp.StatusCode:
            return (await client.request(message, response)).status.status_code  # type: ignore[no-any-return]

        ok = llrp.StatusCode.M_Success
        assert await status(llrp.AddROSpec(rospec(1)), llrp.AddROSpecResponse) == ok
        assert await status(llrp.AddROSpec(rospec(2)), llrp.AddROSpecResponse) == ok
        assert await states() == {1: state.Disabled, 2: state.Disabled}
        duplicate = await status(llrp.AddROSpec(rospec(1)), llrp.AddROSpecResponse)
        assert duplicate == llrp.StatusCode.M_ParameterError
        not_enabled = await status(llrp.StartROSpec(1), llrp.StartROSpecResponse)
        assert not_enabled == llrp.StatusCode.M_FieldError
        assert await status(llrp.EnableROSpec(0), llrp.EnableROSpecResponse) == ok
        assert await states() == {1: state.Inactive, 2: state.Inactive}
        assert await status(llrp.StartROSpec(1), llrp.StartROSpecResponse) == ok
        assert (await states())[1] is state.Active
        assert await status(llrp.StopROSpec(1), llrp.StopROSpecResponse) == ok
        assert (await states())[1] is state.Inactive
        assert await status(llrp.DisableROSpec(2), llrp.DisableROSpecResponse) == ok
        assert await states() == {1: state.Inactive, 2: state.Disabled}
        assert await status(llrp.DeleteROSpec(2), llrp.DeleteROSpecResponse) == ok
        unknown = await status(llrp.DeleteROSpec(2), llrp.DeleteROSpecResponse)
        assert unknown == llrp.StatusCode.M_FieldError
        assert await status(llrp.DeleteROSpec(0), llrp.DeleteROSpecResponse) == ok
        assert await states() == {}


async def test_duration_stop_trigger_ends_the_rospec_with_one_report() -> None:
    async with reader_and_client() as (_server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            stop=llrp.ROSpecStopTrigger(llrp.ROSpecStopTriggerType.Duration, 200),
            report=report_spec(2, 0, enable_tag_seen_count=True),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        (report,) = await client.reports(1)
        assert epcs([report]) == {*EPCS, WEAK_EPC}
        assert all((t.tag_seen_count or 0) > 3 for t in report.tag_reports)
        await asyncio.sleep(0.1)
        answer = await client.request(llrp.GetROSpecs(), llrp.GetROSpecsResponse)
    assert answer.rospecs[0].current_state is llrp.ROSpecState.Inactive
    assert sum(isinstance(m, llrp.ROAccessReport) for m in client.seen) == 1


async def reports_within(client: RawClient, seconds: float) -> list[llrp.ROAccessReport]:
    """Every report the reader sends in the next ``seconds``."""
    got: list[llrp.ROAccessReport] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    with contextlib.suppress(TimeoutError):
        while (left := end - loop.time()) > 0:
            got.append(await client.expect(llrp.ROAccessReport, timeout=left))
    return got


AISPECS_OF_200_MS = {
    "duration": llrp.AISpecStopTrigger(llrp.AISpecStopTriggerType.Duration, 200),
    # what sllurp asks for with report_every_n_tags and report_timeout_ms
    "n-tags-or-timeout": llrp.AISpecStopTrigger(
        llrp.AISpecStopTriggerType.Tag_Observation,
        tag_observation=llrp.TagObservationTrigger(
            llrp.TagObservationTriggerType.Upon_Seeing_N_Tags_Or_Timeout,
            number_of_tags=200,
            timeout_ms=200,
        ),
    ),
}


@pytest.mark.parametrize("aispec", AISPECS_OF_200_MS)
@pytest.mark.parametrize("woken", [True, False])
async def test_a_woken_reader_reads_a_tag_new_to_its_field_at_once(
    woken: bool, aispec: str
) -> None:
    """Rounds a second apart, a report at the end of each 200 ms AISpec (its time limit
    ends it between rounds too): a tag put into the field is read at once when the
    reader is woken, and reported when that AISpec ends, not a round later."""
    field = FakeField()
    async with reader_and_client(field=field, round_interval_s=1.0) as (server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            ai_stop=AISPECS_OF_200_MS[aispec],
            report=report_spec(1, 0),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        (first,) = await client.reports(1)  # the first round, at once
        assert epcs([first]) == {*EPCS, WEAK_EPC}
        field.by_antenna[1] = [*field.by_antenna[1], Sighting(NEW_EPC, -50.0)]
        if woken:
            server.field_changed()
        seen = epcs(await reports_within(client, 0.4))
    assert (NEW_EPC in seen) is woken


async def test_periodic_start_trigger_runs_the_rospec_again_each_period() -> None:
    async with reader_and_client() as (_server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(
                llrp.ROSpecStartTriggerType.Periodic, periodic=llrp.PeriodicTriggerValue(0, 150)
            ),
            stop=llrp.ROSpecStopTrigger(llrp.ROSpecStopTriggerType.Duration, 50),
            report=report_spec(2, 0),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        loop = asyncio.get_running_loop()
        first = loop.time()
        await client.reports(3)
        assert loop.time() - first >= 0.25


async def test_every_n_tags_report_trigger_splits_reports() -> None:
    async with reader_and_client() as (_server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            report=report_spec(2, 2),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        reports = await client.reports(6)
    assert {len(r.tag_reports) for r in reports} == {2}


async def test_tag_observation_stop_ends_each_aispec_and_reports_it() -> None:
    async with reader_and_client() as (_server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            ai_stop=llrp.AISpecStopTrigger(
                llrp.AISpecStopTriggerType.Tag_Observation,
                tag_observation=llrp.TagObservationTrigger(
                    llrp.TagObservationTriggerType.N_Attempts_To_See_All_Tags_In_FOV_Or_Timeout,
                    number_of_attempts=3,
                ),
            ),
            report=report_spec(1, 0, enable_tag_seen_count=True),
            antennas=(0,),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        reports = await client.reports(3)
    for report in reports:
        counts = {(t.epc_hex, t.antenna_id): t.tag_seen_count for t in report.tag_reports}
        assert counts[(EPCS[0], 1)] == 3
        assert counts[(EPCS[0], 2)] == 3


async def test_get_report_delivers_held_tags_when_reporting_is_off() -> None:
    async with reader_and_client() as (_server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            report=report_spec(0, 0),
            antennas=(2,),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        await asyncio.sleep(0.1)
        assert not any(isinstance(m, llrp.ROAccessReport) for m in client.pending)
        await client.send(llrp.GetReport(message_id=7))
        (report,) = await client.reports(1)
    assert [(t.epc_hex, t.antenna_id) for t in report.tag_reports] == [(EPCS[0], 2)]


async def test_epc_memory_selector_adds_pc_bits_and_crc() -> None:
    async with reader_and_client() as (_server, client):
        selector = llrp.TagReportContentSelector(
            epc_memory_selectors=(llrp.C1G2EPCMemorySelector(True, True),)
        )
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            report=llrp.ROReportSpec(
                llrp.ROReportTriggerType.Upon_N_Tags_Or_End_Of_AISpec, 1, selector
            ),
            antennas=(2,),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        (report,) = await client.reports(1)
    (tag,) = report.tag_reports
    assert tag.c1g2_pc == 0x3000
    assert tag.c1g2_crc is not None and tag.antenna_id is None


async def test_access_spec_lifecycle() -> None:
    spec = llrp.AccessSpec(
        access_spec_id=3,
        antenna_id=0,
        protocol_id=llrp.AirProtocol.EPCGlobalClass1Gen2,
        current_state=llrp.AccessSpecState.Disabled,
        rospec_id=0,
        stop_trigger=llrp.AccessSpecStopTrigger(llrp.enums.AccessSpecStopTriggerType.Null),
        access_command=llrp.AccessCommand(
            llrp.C1G2TagSpec(
                (llrp.C1G2TargetTag(1, True, 32, llrp.BitString(0, b""), llrp.BitString(0, b"")),)
            ),
            (llrp.C1G2Read(1, 0, 3, 0, 2),),
        ),
    )
    async with reader_and_client() as (_server, client):
        added = await client.request(llrp.AddAccessSpec(spec), llrp.AddAccessSpecResponse)
        again = await client.request(llrp.AddAccessSpec(spec), llrp.AddAccessSpecResponse)
        await client.request(llrp.EnableAccessSpec(3), llrp.EnableAccessSpecResponse)
        listed = await client.request(llrp.GetAccessSpecs(), llrp.GetAccessSpecsResponse)
        await client.request(llrp.DisableAccessSpec(0), llrp.DisableAccessSpecResponse)
        await client.request(llrp.DeleteAccessSpec(3), llrp.DeleteAccessSpecResponse)
        gone = await client.request(llrp.DeleteAccessSpec(3), llrp.DeleteAccessSpecResponse)
        empty = await client.request(llrp.GetAccessSpecs(), llrp.GetAccessSpecsResponse)
    assert added.status.is_success
    assert again.status.status_code is llrp.StatusCode.M_ParameterError
    assert [s.current_state for s in listed.access_specs] == [llrp.AccessSpecState.Active]
    assert gone.status.status_code is llrp.StatusCode.M_FieldError
    assert empty.access_specs == ()


async def test_close_connection_is_answered_then_the_reader_accepts_a_new_client() -> None:
    async with reader_and_client() as (server, client):
        answer = await client.request(llrp.CloseConnection(), llrp.CloseConnectionResponse)
        assert answer.status.is_success
        assert await client.reader.read() == b""
        second = await connect(server.port)
        second.writer.close()


async def test_errors_for_unframeable_unsupported_and_reader_side_messages() -> None:
    async with reader_and_client() as (_server, client):
        await client.send(bytes.fromhex("0401 00000002 00000009"))
        unframeable = await client.expect(llrp.ErrorMessage)
        await client.send(llrp.Keepalive(message_id=10))
        reader_side = await client.expect(llrp.ErrorMessage)
        await client.send(llrp.CustomMessage(message_id=11, vendor_id=25882, subtype=21))
        custom = await client.expect(llrp.ErrorMessage)
        await client.send(bytes.fromhex("0841 0000000a 0000000c"))
        version = await client.expect(llrp.ErrorMessage)
        still = await client.request(llrp.GetROSpecs(), llrp.GetROSpecsResponse)
    assert "offset 2" in unframeable.status.error_description
    assert reader_side.status.status_code is llrp.StatusCode.M_UnsupportedMessage
    assert (reader_side.message_id, custom.message_id) == (10, 11)
    assert custom.status.status_code is llrp.StatusCode.M_UnsupportedMessage
    assert version.status.status_code is llrp.StatusCode.M_UnsupportedVersion
    assert still.status.is_success


async def test_a_failing_tag_field_does_not_stop_the_reader() -> None:
    field = FakeField()
    field.fail = True
    async with reader_and_client(field=field) as (_server, client):
        spec = rospec(
            start=llrp.ROSpecStartTrigger(llrp.ROSpecStartTriggerType.Immediate),
            report=report_spec(2, 1),
        )
        await client.request(llrp.AddROSpec(spec), llrp.AddROSpecResponse)
        await client.request(llrp.EnableROSpec(1), llrp.EnableROSpecResponse)
        await asyncio.sleep(0.1)
        field.fail = False
        assert epcs(await client.reports(2))


async def test_fault_hooks_work_from_another_thread() -> None:
    async with reader_and_client() as (server, client):
        await asyncio.to_thread(server.antenna_event, 3, False)
        event = await client.expect(llrp.ReaderEventNotification)
        assert event.data.antenna == llrp.AntennaEvent(
            llrp.AntennaEventType.Antenna_Disconnected, 3
        )
        config = await client.request(
            llrp.GetReaderConfig(antenna_id=3), llrp.GetReaderConfigResponse
        )
        assert not config.antenna_properties[0].antenna_connected
        await asyncio.to_thread(server.drop_connection)
        with pytest.raises(ConnectionError):
            await client.expect(llrp.Keepalive)
