"""A simulated LLRP reader on TCP that real LLRP clients (sllurp) accept.

    async with LLRPReaderServer("door-3", (1, 2, 3, 4), field, time.time) as server:
        ...  # clients connect to 127.0.0.1:server.port

Like a real reader it greets each client with a READER_EVENT_NOTIFICATION, serves
one client at a time (a second one is refused with ConnectionAttemptEvent
``Failed_A_Client_Initiated_Connection_Already_Exists`` and the first is told
``Another_Connection_Attempted``), answers capabilities and configuration requests,
runs ROSpecs (immediate or periodic start; null or duration stop; AISpecs stopping
on duration or tag observation) and reports tags as the client's ROReportSpec and
TagReportContentSelector ask. Transmit power (an index into the power table, from
SET_READER_CONFIG or the ROSpec) sets the read range: a tag is heard when
``rssi - (max_power - power) >= sensitivity``. Malformed bytes get an ERROR_MESSAGE.

Fault hooks for tests and the world simulator: :meth:`drop_connection`,
:meth:`go_silent`, :meth:`antenna_event`, and the ``clock_skew_s`` attribute. They
may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, fields, replace
from types import TracebackType
from typing import Any

from firmware_sim.llrp_inventory import Heard, RoundSighting, Singulation
from firmware_sim.llrp_reader_config import ConfigProblem, ReaderSettings
from firmware_sim.llrp_reader_model import FCC_HOP_TABLE_KHZ, ReaderModel, capabilities_response
from firmware_sim.llrp_specs import SpecBook
from firmware_sim.world_view import Clock, TagField
from protocols import llrp

logger = logging.getLogger(__name__)

LLRP_PORT = 5084
WRITE_BUFFER_LIMIT = 8 * 1024 * 1024
"""Unsent bytes beyond which reports are dropped (a client that stopped reading)."""
HOP_DWELL_S = 0.4


@functools.lru_cache(maxsize=65536)
def _epc_bytes(epc_hex: str) -> bytes:
    return bytes.fromhex(epc_hex)


class _ReaderLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[reader {self.extra['reader_id']}] {msg}", kwargs  # type: ignore[index]


@dataclass(slots=True)
class _Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer: str
    closing: bool = False
    keepalive: asyncio.Task[None] | None = None
    dropped_reports: int = 0


class LLRPReaderServer:
    """One simulated reader listening on ``host:port`` (port 0 picks a free port)."""

    def __init__(
        self,
        reader_id: str,
        antenna_ids: Sequence[int],
        field: TagField,
        clock: Clock = time.time,
        host: str = "127.0.0.1",
        port: int = LLRP_PORT,
        *,
        round_interval_s: float = 0.1,
        model: ReaderModel | None = None,
    ) -> None:
        if not antenna_ids or min(antenna_ids) < 1:
            raise ValueError(f"antenna ids must be positive, got {tuple(antenna_ids)}")
        self.reader_id = reader_id
        self.model = replace(model or ReaderModel(), antenna_ids=tuple(antenna_ids))
        self.field = field
        self.clock = clock
        self.host = host
        self.round_interval_s = round_interval_s
        self.clock_skew_s = 0.0
        """Added to every timestamp the reader sends (a reader whose clock is off)."""
        self._requested_port = port
        self._port: int | None = None
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: _Client | None = None
        self._silent = False
        self._message_id = 0
        self._settings = ReaderSettings(self.model, reader_id)
        self._singulation = Singulation(self.model.reads_per_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.Task[Any]] = set()
        self.log = _ReaderLog(logger, {"reader_id": reader_id})
        self._book = SpecBook(self, self._settings, self._spawn, self.log)
        self._handlers = self._request_handlers()

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the reader is not started")
        return self._port

    @property
    def client_connected(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._on_connect, self.host, self._requested_port)
        self._port = self._server.sockets[0].getsockname()[1]
        self.log.info("listening on %s:%d", self.host, self._port)

    async def stop(self) -> None:
        self._book.clear()
        if self._client is not None:
            self._client.writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._connections:  # an aborted transport ends its handler; no need to cancel it
            _done, stuck = await asyncio.wait(list(self._connections), timeout=2.0)
            for task in stuck:
                task.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.log.info("stopped")

    async def __aenter__(self) -> LLRPReaderServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- fault hooks (callable from any thread) ----------------------------------------

    def field_changed(self) -> None:
        """The tags in this reader's field changed: inventory them now, as a reader that
        never pauses between rounds would read a tag new to its field at once."""
        self._in_loop(self._book.wake)

    def drop_connection(self) -> None:
        """Close the client's TCP connection abruptly, as a power cut or cable pull would."""
        self._in_loop(self._drop_connection)

    def go_silent(self, on: bool) -> None:
        """Keep TCP open but stop answering and reporting (keepalives included)."""
        self.log.warning("going silent" if on else "speaking again")
        self._silent = on

    def antenna_event(self, antenna_id: int, connected: bool) -> None:
        """Connect or disconnect an antenna; the client hears an AntennaEvent if it asked."""
        self._in_loop(self._antenna_event, antenna_id, connected)

    def _in_loop(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _drop_connection(self) -> None:
        if self._client is not None:
            self.log.warning("dropping the connection to %s", self._client.peer)
            self._client.writer.transport.abort()

    def _antenna_event(self, antenna_id: int, connected: bool) -> None:
        self._settings.antenna_connected[antenna_id] = connected
        self.log.info("antenna %d %s", antenna_id, "connected" if connected else "disconnected")
        if llrp.EventType.Antenna_Event in self._settings.events:
            kind = llrp.AntennaEventType
            event_type = kind.Antenna_Connected if connected else kind.Antenna_Disconnected
            self._notify(antenna=llrp.AntennaEvent(event_type, antenna_id))

    # --- connections -------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        peer = str(writer.get_extra_info("peername"))
        if self._client is not None:
            await self._refuse(writer, peer)
            return
        client = _Client(reader, writer, peer)
        self._client = client
        self.log.info("client %s connected", peer)
        try:
            self._notify(
                connection_attempt=llrp.ConnectionAttemptEvent(llrp.ConnectionAttemptStatus.Success)
            )
            self._restart_keepalive()
            await self._serve(client)
        except (ConnectionError, OSError) as exc:
            self.log.info("connection to %s lost: %s", peer, exc)
        except Exception:
            self.log.exception("unexpected error serving %s", peer)
        finally:
            if client.keepalive is not None:
                client.keepalive.cancel()
            if self._client is client:
                self._client = None
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self.log.info("client %s disconnected", peer)

    async def _refuse(self, writer: asyncio.StreamWriter, peer: str) -> None:
        self.log.warning("refusing %s: a client is already connected", peer)
        status = llrp.ConnectionAttemptStatus
        with contextlib.suppress(Exception):
            if not self._silent:
                writer.write(
                    llrp.encode_message(
                        self._event_message(
                            connection_attempt=llrp.ConnectionAttemptEvent(
                                status.Failed_A_Client_Initiated_Connection_Already_Exists
                            )
                        )
                    )
                )
                await writer.drain()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        self._notify(
            connection_attempt=llrp.ConnectionAttemptEvent(status.Another_Connection_Attempted)
        )

    async def _serve(self, client: _Client) -> None:
        framer = llrp.LLRPFramer()
        while not client.closing:
            data = await client.reader.read(65536)
            if not data:
                return
            framer.feed(data)
            while not client.closing:
                try:
                    frame = framer.pop()
                except llrp.LLRPDecodeError as exc:
                    self.log.warning("unframeable bytes from %s: %s", client.peer, exc)
                    self._send(_error(llrp.StatusCode.M_ParameterError, str(exc), 0))
                    break
                if frame is None:
                    break
                if not self._silent:
                    self._on_frame(frame)
        with contextlib.suppress(Exception):
            await client.writer.drain()

    def _on_frame(self, frame: bytes) -> None:
        message_id = int.from_bytes(frame[6:10], "big")
        try:
            message = llrp.decode_message(frame)
        except llrp.LLRPDecodeError as exc:
            version = (frame[0] >> 2) & 0x7
            message_type = int.from_bytes(frame[0:2], "big") & 0x3FF
            if version != 1:
                code = llrp.StatusCode.M_UnsupportedVersion
            elif message_type not in llrp.MESSAGES:
                code = llrp.StatusCode.M_UnsupportedMessage
            else:
                code = llrp.StatusCode.M_ParameterError
            self.log.warning("malformed message: %s", exc)
            self._send(_error(code, str(exc), message_id))
            return
        handler = self._handlers.get(type(message))
        if handler is None:
            self.log.warning("unsupported message %s", message.NAME)
            text = f"message {message.NAME} is not supported by this reader"
            self._send(_error(llrp.StatusCode.M_UnsupportedMessage, text, message_id))
            return
        try:
            response = handler(message)
        except Exception:
            self.log.exception("failed to handle %s", message.NAME)
            text = f"internal error handling {message.NAME}"
            response = _error(llrp.StatusCode.R_DeviceError, text, message_id)
        if response is not None:
            self._send(response)

    def _next_id(self) -> int:
        self._message_id = self._message_id % 0xFFFFFFFF + 1
        return self._message_id

    def _send(self, message: llrp.Message) -> None:
        client = self._client
        if client is None or self._silent or client.writer.is_closing():
            return
        if isinstance(message, llrp.ROAccessReport):
            if client.writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                if not client.dropped_reports:
                    self.log.warning("client %s is not reading; dropping reports", client.peer)
                client.dropped_reports += len(message.tag_reports)
                return
        client.writer.write(llrp.encode_message(message))

    def _event_message(self, **events: Any) -> llrp.ReaderEventNotification:
        return llrp.ReaderEventNotification(
            message_id=self._next_id(),
            data=llrp.ReaderEventNotificationData(
                timestamp=llrp.UTCTimestamp(self.now_us()), **events
            ),
        )

    def _notify(self, **events: Any) -> None:
        self._send(self._event_message(**events))

    def _restart_keepalive(self) -> None:
        client = self._client
        if client is None:
            return
        if client.keepalive is not None:
            client.keepalive.cancel()
            client.keepalive = None
        spec = self._settings.keepalive
        if spec.trigger_type is llrp.KeepaliveTriggerType.Periodic and spec.time_interval_ms:
            client.keepalive = asyncio.get_running_loop().create_task(
                self._keepalive_loop(client, spec.time_interval_ms / 1000.0)
            )

    async def _keepalive_loop(self, client: _Client, interval_s: float) -> None:
        while self._client is client:
            await asyncio.sleep(interval_s)
            self._send(llrp.Keepalive(message_id=self._next_id()))

    # --- InventoryHost -----------------------------------------------------------------

    def antennas_for(self, antenna_ids: Sequence[int]) -> tuple[int, ...]:
        if 0 in antenna_ids:
            return self.model.antenna_ids
        return tuple(a for a in antenna_ids if a in self.model.antenna_ids)

    def hear(self, antenna_id: int, power_index: int | None) -> Sequence[RoundSighting]:
        if not self._settings.antenna_connected.get(antenna_id, False):
            return ()
        index = power_index if power_index is not None else self._settings.power_index(antenna_id)
        power_dbm = self.model.power_dbm(index)
        loss = self.model.max_power_dbm - (power_dbm if power_dbm is not None else 0.0)
        floor = self.model.sensitivity_dbm
        try:
            sightings = self.field.sightings(self.reader_id, antenna_id, self.clock())
        except Exception:
            self.log.exception("the tag field failed for antenna %d", antenna_id)
            return ()
        heard: list[RoundSighting] = []
        for sighting in sightings:
            rssi = sighting.rssi_dbm - loss
            if rssi >= floor:
                try:
                    heard.append((_epc_bytes(sighting.epc_hex), rssi))
                except ValueError:
                    self.log.warning("ignoring sighting with bad EPC %r", sighting.epc_hex)
        return heard

    def now_us(self) -> int:
        return int((self.clock() + self.clock_skew_s) * 1_000_000)

    def singulate(self, heard: Sequence[Heard]) -> Sequence[Heard]:
        return self._singulation.select(heard, self.clock())

    def channel_index(self, antenna_id: int) -> int:
        return int(time.monotonic() / HOP_DWELL_S) % len(FCC_HOP_TABLE_KHZ) + 1

    def deliver_report(self, reports: tuple[llrp.TagReportData, ...]) -> None:
        self._send(llrp.ROAccessReport(message_id=self._next_id(), tag_reports=reports))

    def rospec_event(self, event_type: llrp.ROSpecEventType, rospec_id: int) -> None:
        if llrp.EventType.ROSpec_Event in self._settings.events:
            self._notify(rospec=llrp.ROSpecEvent(event_type, rospec_id))

    def aispec_event(self, rospec_id: int, spec_index: int) -> None:
        if llrp.EventType.AISpec_Event in self._settings.events:
            event_type = llrp.AISpecEventType.End_Of_AISpec
            self._notify(aispec=llrp.AISpecEvent(event_type, rospec_id, spec_index))

    # --- requests ----------------------------------------------------------------------

    def _request_handlers(self) -> dict[type[llrp.Message], Callable[[Any], llrp.Message | None]]:
        book = self._book

        def answer(
            response: Callable[..., llrp.Message], action: Callable[[Any], dict[str, Any] | None]
        ) -> Callable[[Any], llrp.Message]:
            def handle(message: Any) -> llrp.Message:
                try:
                    fields = action(message) or {}
                except ConfigProblem as problem:
                    self.log.warning("%s refused: %s", message.NAME, problem)
                    return response(message_id=message.message_id, status=problem.status)
                return response(message_id=message.message_id, **fields)

            return handle

        def ignore(_message: Any) -> None:
            return None

        access = llrp.AccessSpecState
        return {
            llrp.GetReaderCapabilities: lambda m: capabilities_response(self.model, m),
            llrp.GetReaderConfig: answer(llrp.GetReaderConfigResponse, self._describe_config),
            llrp.SetReaderConfig: answer(llrp.SetReaderConfigResponse, self._set_config),
            llrp.EnableEventsAndReports: ignore,
            llrp.KeepaliveAck: ignore,
            llrp.GetReport: lambda _m: book.flush_reports(),
            llrp.CloseConnection: answer(llrp.CloseConnectionResponse, self._close_requested),
            llrp.AddROSpec: answer(llrp.AddROSpecResponse, lambda m: book.add_rospec(m.rospec)),
            llrp.DeleteROSpec: answer(
                llrp.DeleteROSpecResponse, lambda m: book.delete(m.rospec_id)
            ),
            llrp.EnableROSpec: answer(
                llrp.EnableROSpecResponse, lambda m: book.enable(m.rospec_id)
            ),
            llrp.DisableROSpec: answer(
                llrp.DisableROSpecResponse, lambda m: book.disable(m.rospec_id)
            ),
            llrp.StartROSpec: answer(llrp.StartROSpecResponse, lambda m: book.start(m.rospec_id)),
            llrp.StopROSpec: answer(llrp.StopROSpecResponse, lambda m: book.stop(m.rospec_id)),
            llrp.GetROSpecs: answer(
                llrp.GetROSpecsResponse, lambda _m: {"rospecs": book.snapshot()}
            ),
            llrp.AddAccessSpec: answer(
                llrp.AddAccessSpecResponse, lambda m: book.add_access_spec(m.access_spec)
            ),
            llrp.DeleteAccessSpec: answer(
                llrp.DeleteAccessSpecResponse, lambda m: book.delete_access_spec(m.access_spec_id)
            ),
            llrp.EnableAccessSpec: answer(
                llrp.EnableAccessSpecResponse,
                lambda m: book.set_access_state(m.access_spec_id, access.Active),
            ),
            llrp.DisableAccessSpec: answer(
                llrp.DisableAccessSpecResponse,
                lambda m: book.set_access_state(m.access_spec_id, access.Disabled),
            ),
            llrp.GetAccessSpecs: answer(
                llrp.GetAccessSpecsResponse,
                lambda _m: {"access_specs": tuple(book.access_specs.values())},
            ),
        }

    def _describe_config(self, message: llrp.GetReaderConfig) -> dict[str, Any]:
        described = self._settings.describe(message)
        return {
            f.name: getattr(described, f.name) for f in fields(described) if f.name != "message_id"
        }

    def _set_config(self, message: llrp.SetReaderConfig) -> None:
        self._settings.apply(message)
        if message.reset_to_factory_defaults:
            self._book.clear()
        self._restart_keepalive()

    def _close_requested(self, _message: llrp.CloseConnection) -> None:
        if self._client is not None:
            self._client.closing = True


def _error(code: llrp.StatusCode, description: str, message_id: int) -> llrp.ErrorMessage:
    return llrp.ErrorMessage(message_id=message_id, status=llrp.LLRPStatus(code, description))
