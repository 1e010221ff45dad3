"""One LLRP reader, reached through sllurp, kept connected.

sllurp's ``LLRPReaderClient`` runs its socket loop in a thread of its own and
calls back from there. A :class:`ReaderLink` owns one such client at a time:
it connects, lets sllurp configure the reader and start inventory, hands every
tag report to ``on_reads`` (still on sllurp's thread: the callback must only
hand the reads over), and when the connection is lost or cannot be made it
tries again with exponential backoff until stopped.

A connection counts as made only once the reader has spoken LLRP: a real reader
greets every client with a READER_EVENT_NOTIFICATION carrying a
ConnectionAttemptEvent. A peer that accepts TCP and then says nothing, or sends
bytes that are not LLRP, within ``hello_timeout_s`` is reported as such (it is
probably not an LLRP reader, or the port is wrong) and retried with backoff; a
reader that refuses the session (another client holds it) is reported as that.
Until then the link's state stays ``connecting``, never ``connected``.

Commands from the cloud (blocking calls, made from a worker thread, each waiting for
the reader to confirm): :meth:`reconnect`, :meth:`stop_inventory`,
:meth:`start_inventory`, :meth:`set_power`. They go through sllurp's own client
(``stopPolitely``, ``startInventory``, ``setTxPower``: sllurp sets transmit power in
the ROSpec, so a new power replaces the running ROSpec); a lock keeps sllurp's socket
thread from handling the reader's answer before sllurp has noted what it waits for. A
stopped inventory and a set power outlast a reconnection of the link (not a restart
of the edge, which starts from the layout again). A command the reader cannot do
raises :class:`CommandFailed` saying why.

A reader can die with its TCP connection still up. The link asks the reader
for a keepalive every ``keepalive_ms``; two intervals without any message
(keepalive, report or event) make it *silent* (``on_silence(reader, True)``, and
``False`` once it speaks again), three a lost connection. A reader that keeps the
connection up and answers keepalives but does not get as far as inventorying within
``setup_timeout_s`` of connecting (its configuration stalled: an answer sllurp waits for
never came) counts as lost too, and is connected again. The backoff starts
over only once a connection got as far as inventorying, so a reader that
accepts TCP and then refuses the configuration is not hammered.

What goes wrong is told to ``on_event(reader, event, time)``
(:mod:`edge.reader_events`): a connection that cannot be made (``unreachable``), a peer
that refuses the session or does not speak LLRP (``refused``), a connection that ends
(``connection_lost``), the first inventory after any of these (``reconnected``), silence
and speech again, the reader's AntennaEvents, ReaderExceptionEvents, report buffer
warnings and ERROR_MESSAGEs. The same connection fault again (every retry of a reader
that stays unreachable) is told once.

The ROSpec asks for a report every ``report_interval_ms`` (sllurp's report
timeout: the AISpec ends after that long, or after ``report_every_n_tags`` tags,
and a report follows each end). So every message from an inventorying reader is
also a *heartbeat*: by the time a report or a keepalive arrives, the reader has
reported every read it made more than a report interval (and one inventory round
of slack) before. ``on_heard(reader, through)`` passes that time, on the reads'
clock, for each keepalive and each empty report (a reader that ends a report period
with nothing to say may send one, and sllurp passes it on); a report with tags needs
no heartbeat, its newest read says as much. Times come from ``clock`` (the process
clock, ``RFIDWMS_CLOCK``), whose ``speed`` turns the reader's wall-time report
interval into clock time.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sllurp.llrp import (
    LLRPReaderClient,
    LLRPReaderConfig,
    LLRPReaderState,
    ReaderConfigurationError,
)

from edge.backoff import next_backoff
from edge.clock_offset import ClockOffset, clock_speed, reported_through
from edge.reader_events import FaultStreak, SeenEvent, error_message_event, notification_events
from edge.reads import BadTagReport, TagRead, tag_read_from_sllurp
from protocols.clock import Clock, wall_clock
from protocols.llrp import HEADER_LENGTH
from protocols.mqtt import ReaderEventKind, ReaderState

log = logging.getLogger(__name__)


class _ClosedSocketNoise(logging.Filter):
    """sllurp logs a traceback when its socket is closed under its receive loop, which
    is what closing a connection from another thread does. Drop exactly that record."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, OSError) and exc.errno == errno.EBADF)


logging.getLogger("sllurp.llrp").addFilter(_ClosedSocketNoise())

ReadsCallback = Callable[[list[TagRead]], None]
StateCallback = Callable[[str, ReaderState], None]
HeardCallback = Callable[[str, datetime], None]
"""(reader id, through): the reader has reported every read it made before ``through``."""
SilenceCallback = Callable[[str, bool], None]
"""(reader id, silent): the connected reader stopped saying anything, or spoke again."""
EventCallback = Callable[[str, SeenEvent, datetime], None]
"""(reader id, event, time on the reads' clock): a fault of the reader or an antenna event."""

REPORT_SLACK_S = 0.1
"""A reader ends a report period at the end of an inventory round: up to one round late."""

TAG_CONTENT = {
    "EnableROSpecID": False,
    "EnableSpecIndex": False,
    "EnableInventoryParameterSpecID": False,
    "EnableAntennaID": True,
    "EnableChannelIndex": False,
    "EnablePeakRSSI": True,
    "EnableFirstSeenTimestamp": True,
    "EnableLastSeenTimestamp": True,
    "EnableTagSeenCount": True,
    "EnableAccessSpecID": False,
}


def whole_messages(buffer: bytearray) -> int:
    """How many bytes at the start of ``buffer`` are whole LLRP messages; all of it when
    a header's length cannot be a message's (garbage: sllurp says what it makes of it,
    where :class:`protocols.llrp.LLRPFramer` would drop it, and sllurp wants the bytes)."""
    end, size = 0, len(buffer)
    while size - end >= HEADER_LENGTH:
        length = int.from_bytes(buffer[end + 2 : end + 6], "big")
        if length < HEADER_LENGTH:
            return size
        if size - end < length:
            break
        end += length
    return end


MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The longest message the link waits for. A zone reader's report of a crowded field
is a few hundred kilobytes; a header claiming more than this is garbage, not a report."""


def pending_length(buffer: bytearray) -> int:
    """The length the header at the start of ``buffer`` claims; 0 with no whole header."""
    if len(buffer) < HEADER_LENGTH:
        return 0
    return int.from_bytes(buffer[2:6], "big")


class CommandFailed(Exception):
    """The reader did not do a command; the message says why."""


class _LLRPClient(LLRPReaderClient):  # type: ignore[misc]  # sllurp is untyped
    """sllurp's client, counting the bytes it receives (a peer that talks, but not LLRP,
    is then told apart from one that says nothing) and handing it whole messages only.
    sllurp reads 4 KB at a time and joins a message's pieces by copying what it has so
    far on every piece: for a zone reader's report of a few hundred kilobytes, dozens of
    times a second, that copying was quadratic in the report's size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes_received = 0
        self.dropped_because: str | None = None
        """Why this client dropped the connection itself (a message it will not wait for)."""
        self._pieces = bytearray()
        self.lock = threading.Lock()
        """Held while sllurp handles what the reader sent, and while a command talks to
        sllurp from another thread (sllurp sends a request before it notes the answer
        it waits for: the answer must not be handled in between)."""

    def raw_data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        pieces = self._pieces
        pieces += data
        whole = whole_messages(pieces)
        if whole:
            messages = bytes(pieces[:whole])
            del pieces[:whole]
            with self.lock:
                super().raw_data_received(messages)
        claimed = pending_length(pieces)
        if claimed > MAX_MESSAGE_BYTES:
            pieces.clear()
            self.dropped_because = (
                f"sent a message header claiming {claimed} bytes (more than "
                f"{MAX_MESSAGE_BYTES}): not LLRP we can read, connection dropped"
            )
            # sllurp's receive loop answers this by closing the socket and calling the
            # disconnected callbacks: the link reconnects at once instead of buffering
            # towards a length that will never come until the silence limit.
            raise ReaderConfigurationError(self.dropped_because)


def connection_attempt_status(message: Any) -> str | None:
    """The ConnectionAttemptEvent status of a sllurp READER_EVENT_NOTIFICATION, if any."""
    try:
        data = message.msgdict["READER_EVENT_NOTIFICATION"]["ReaderEventNotificationData"]
        return str(data["ConnectionAttemptEvent"]["Status"])
    except (AttributeError, KeyError, TypeError):
        return None


def no_llrp_cause(bytes_received: int, waited_s: float, closed: bool, spoke: bool) -> str:
    """Why a peer that accepted TCP is not a connected reader (no greeting from it)."""
    if spoke:
        said = "accepted TCP and spoke LLRP but sent no ConnectionAttemptEvent"
    elif bytes_received:
        said = f"accepted TCP but sent {bytes_received} bytes and no LLRP message"
    else:
        said = "accepted TCP but sent no LLRP message"
    if closed:
        return f"{said} before the connection closed"
    return f"{said} within {waited_s:g} s"


class ReaderLink:
    def __init__(
        self,
        reader_id: str,
        host: str,
        port: int,
        antennas: list[int],
        on_reads: ReadsCallback,
        on_state: StateCallback,
        *,
        report_every_n_tags: int = 200,
        report_timeout_ms: int = 250,
        keepalive_ms: int = 5000,
        reconnect_max_s: float = 30.0,
        hello_timeout_s: float = 5.0,
        setup_timeout_s: float = 30.0,
        clock: Clock = wall_clock,
        on_heard: HeardCallback | None = None,
        on_silence: SilenceCallback | None = None,
        report_antennas: bool = True,
        on_event: EventCallback | None = None,
    ) -> None:
        self.reader_id = reader_id
        self._on_event = on_event
        self._streak = FaultStreak()
        self.report_antennas = report_antennas
        """Reports per tag and antenna (True), or per tag with its strongest read over
        every antenna (False: for a reader whose antennas all watch one read point, a
        report a fraction the size; its reads are filed under its first antenna)."""
        self.host = host
        self.port = port
        self.antennas = antennas
        self._on_reads = on_reads
        self._on_state = on_state
        self._on_heard = on_heard
        self._on_silence = on_silence
        self._now = clock
        self._heartbeat_lag = timedelta(
            seconds=(report_timeout_ms / 1000 + REPORT_SLACK_S) * clock_speed(clock)
        )
        self._silent = False
        self._last_delay_s = 0.0
        """How late the last report with tags came (arrival minus its newest read)."""
        self._report_n = report_every_n_tags
        self._report_timeout_ms = report_timeout_ms
        self._keepalive_ms = keepalive_ms
        self._reconnect_max = reconnect_max_s
        self._hello_timeout = hello_timeout_s
        self._setup_timeout = setup_timeout_s
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._hello = threading.Event()
        self._hello_status: str | None = None
        self._spoke = False
        self._attempt: _LLRPClient | None = None
        self._thread: threading.Thread | None = None
        self._client: LLRPReaderClient | None = None
        self._heard_at = 0.0
        self._inventorying = False
        self._clock = ClockOffset()
        self._correcting = False
        self.state = ReaderState.DISCONNECTED
        self._changed = threading.Condition()
        """Notified on every state change and inventory start (commands wait on it)."""
        self._connections = 0
        self._starts = 0
        self._wake = threading.Event()
        """Cuts a backoff pause short (stop, reconnect)."""
        self._reconnect_asked = threading.Event()
        self._inventory_wanted = True
        self._tx_power: dict[int, int] = {}
        """Power table index per antenna set by command (0, the default: highest)."""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"reader-link-{self.reader_id}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the link to disconnect and end; returns at once (see :meth:`join`)."""
        self._stop.set()
        self._lost.set()
        self._wake.set()

    def join(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("reader %s: link did not stop within %.0f s", self.reader_id, timeout)
            self._thread = None

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        self.join(timeout)

    # -- sllurp ------------------------------------------------------------------------

    def _config(self) -> LLRPReaderConfig:
        return LLRPReaderConfig(
            {
                "antennas": self.antennas,
                "tx_power": {a: self._tx_power.get(a, 0) for a in self.antennas},  # 0: highest
                "report_every_n_tags": self._report_n,
                "report_timeout_ms": self._report_timeout_ms,
                "tag_content_selector": {**TAG_CONTENT, "EnableAntennaID": self.report_antennas},
                "event_selector": {"AntennaEvent": True, "ReaderExceptionEvent": True},
                "keepalive_interval": self._keepalive_ms,
                "reconnect": False,  # this link reconnects, with backoff
                "start_inventory": self._inventory_wanted,
                "reset_on_connect": True,
            }
        )

    @property
    def silence_limit_s(self) -> float:
        """How long a connected reader may say nothing before it counts as lost."""
        return 3 * self._keepalive_ms / 1000

    @property
    def silent_after_s(self) -> float:
        """How long a connected reader may say nothing before it counts as silent."""
        return 2 * self._keepalive_ms / 1000

    def _heard(self, client: object, *_: object) -> None:
        if client is self._attempt:
            self._heard_at = time.monotonic()
            self._spoke = True
            if self._silent:
                self._set_silent(False)

    def _keepalive(self, client: object, *_: object) -> None:
        self._heard(client)
        if client is self._attempt:
            self._heartbeat(self._now())

    def _heartbeat(self, arrived: datetime) -> None:
        """Every read made a report interval before ``arrived`` has been reported."""
        if self._on_heard is None or not self._inventorying:
            return
        through = reported_through(
            arrived, self._heartbeat_lag, self._clock.uncorrected_s, self._last_delay_s
        )
        self._on_heard(self.reader_id, through)

    def _set_silent(self, silent: bool, *, tell: bool = True) -> None:
        """``tell``: a fault event too (not when the connection ends: that is one)."""
        self._silent = silent
        if silent:
            log.warning("reader %s: silent with the connection up", self.reader_id)
        else:
            log.info("reader %s: speaking again", self.reader_id)
        if tell:
            if silent:
                after = f"nothing heard for {self.silent_after_s:g} s with the connection up"
                self._tell(SeenEvent(ReaderEventKind.SILENT, None, after))
            else:
                self._tell(SeenEvent(ReaderEventKind.SPEAKING, None, "heard again"))
        if self._on_silence is not None:
            self._on_silence(self.reader_id, silent)

    def _tell(self, event: SeenEvent) -> None:
        if self._on_event is not None:
            self._on_event(self.reader_id, event, self._now())

    def _fault(self, event: SeenEvent) -> None:
        """A connection fault: told when it is news (not every retry of the same one)."""
        if self._streak.fault(event, time.monotonic()):
            self._tell(event)

    def _error_message(self, client: object, message: Any) -> None:
        if client is self._attempt:
            self._heard(client)
            event = error_message_event(message)
            log.warning("reader %s: %s", self.reader_id, event.detail)
            self._tell(event)

    def _event(self, client: object, message: Any) -> None:
        if client is not self._attempt:
            return  # a late callback of an earlier connection
        self._heard(client)
        status = connection_attempt_status(message)
        if status is not None and not self._hello.is_set():
            self._hello_status = status
            self._hello.set()
        for event in notification_events(message):
            log.warning(
                "reader %s: %s%s%s",
                self.reader_id,
                event.kind.value,
                f" {event.antenna}" if event.antenna is not None else "",
                f": {event.detail}" if event.detail else "",
            )
            self._tell(event)

    def _gone(self, client: object) -> None:
        if client is self._attempt:
            self._lost.set()

    def _now_inventorying(self, *_: object) -> None:
        self._inventorying = True
        recovered = self._streak.recovered(time.monotonic())
        if recovered is not None:
            self._tell(recovered)
        with self._changed:
            self._starts += 1
            self._changed.notify_all()
        self._set_state(ReaderState.INVENTORYING)

    def _set_state(self, state: ReaderState) -> None:
        if state != self.state:
            with self._changed:
                self.state = state
                if state is ReaderState.CONNECTED:
                    self._connections += 1
                self._changed.notify_all()
            log.info("reader %s: %s", self.reader_id, state.value)
            self._on_state(self.reader_id, state)

    @property
    def clock_offset_s(self) -> float | None:
        """The reader's clock offset (edge minus reader) estimated on this connection."""
        offset = self._clock.offset_s
        return None if offset is None else round(offset, 3)

    def _tag_reports(self, client: Any, reports: list[dict[str, Any]]) -> None:
        now = self._now()
        reads: list[TagRead] = []
        antenna = None if self.report_antennas else self.antennas[0]
        for report in reports:
            try:
                reads.append(tag_read_from_sllurp(self.reader_id, report, now, antenna))
            except BadTagReport as e:
                log.warning("reader %s: dropped a tag report: %s", self.reader_id, e)
        if reads:  # its newest read says as much as a heartbeat would, and costs less
            self._take_reads(reads, now)
        elif client is self._attempt:
            self._heartbeat(now)

    def _take_reads(self, reads: list[TagRead], now: datetime) -> None:
        self._clock.observe(now, max(r.last_seen for r in reads))
        shift = self._clock.correction
        if bool(shift) != self._correcting:
            self._correcting = bool(shift)
            if shift:
                log.warning(
                    "reader %s: its clock is %.1f s off; correcting its timestamps",
                    self.reader_id,
                    -shift.total_seconds(),
                )
            else:
                log.info("reader %s: its clock agrees again", self.reader_id)
        if shift:
            reads = [
                replace(r, first_seen=r.first_seen + shift, last_seen=r.last_seen + shift)
                for r in reads
            ]
        newest = max(r.last_seen for r in reads)
        self._last_delay_s = (now - newest).total_seconds() - self._clock.uncorrected_s
        self._on_reads(reads)

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            self._lost.clear()
            self._hello.clear()
            self._hello_status = None
            self._spoke = False
            self._inventorying = False
            if self._silent:
                self._set_silent(False, tell=False)  # the connection ended: a fault of its own
            self._clock = ClockOffset()  # a reconnected reader may have been reset
            self._last_delay_s = 0.0
            client = _LLRPClient(self.host, self.port, self._config(), timeout=5.0)
            self._attempt = client
            client.add_tag_report_callback(self._tag_reports)  # before the message hooks below
            client.add_message_callback("RO_ACCESS_REPORT", self._heard)
            client.add_message_callback("KEEPALIVE", self._keepalive)
            client.add_message_callback("READER_EVENT_NOTIFICATION", self._event)
            client.add_message_callback("ERROR_MESSAGE", self._error_message)
            client.add_disconnected_callback(self._gone)
            client.add_state_callback(LLRPReaderState.STATE_INVENTORYING, self._now_inventorying)
            self._set_state(ReaderState.CONNECTING)
            try:
                self._heard_at = time.monotonic()
                client.connect()
            except OSError as e:
                self._set_state(ReaderState.DISCONNECTED)
                where = f"{self.host}:{self.port}"
                self._fault(SeenEvent(ReaderEventKind.UNREACHABLE, None, f"{where}: {e}"))
                backoff = next_backoff(backoff, self._reconnect_max)
                log.warning(
                    "reader %s at %s:%d: cannot connect (%s); retrying in %.1f s",
                    self.reader_id,
                    self.host,
                    self.port,
                    e,
                    backoff,
                )
                self._pause(backoff)
                continue
            refused = self._await_hello(client)
            if refused is not None:
                self._set_state(ReaderState.DISCONNECTED)
                self._disconnect(client, politely=False)
                if self._stop.is_set():
                    break
                self._fault(SeenEvent(ReaderEventKind.REFUSED, None, refused))
                backoff = next_backoff(backoff, self._reconnect_max)
                log.warning(
                    "reader %s at %s:%d %s; retrying in %.1f s",
                    self.reader_id,
                    self.host,
                    self.port,
                    refused,
                    backoff,
                )
                self._pause(backoff)
                continue
            self._client = client
            self._set_state(ReaderState.CONNECTED)
            why = self._watch(client)
            self._client = None
            if self._inventorying:
                backoff = 0.0
            self._set_state(ReaderState.DISCONNECTED)
            self._disconnect(client, politely=True)
            if self._stop.is_set():
                break
            if self._reconnect_asked.is_set():
                self._reconnect_asked.clear()
                log.info("reader %s: reconnecting as asked", self.reader_id)
                continue
            self._fault(SeenEvent(ReaderEventKind.CONNECTION_LOST, None, why))
            backoff = next_backoff(backoff, self._reconnect_max)
            log.warning("reader %s: %s; reconnecting in %.1f s", self.reader_id, why, backoff)
            self._pause(backoff)
        self._attempt = None
        self._set_state(ReaderState.DISCONNECTED)

    def _await_hello(self, client: _LLRPClient) -> str | None:
        """Wait for the reader's greeting; None once it accepted the session, else why not."""
        deadline = time.monotonic() + self._hello_timeout
        while not self._hello.wait(0.05):
            if self._stop.is_set():
                return "stopping"
            closed = self._lost.is_set() or not client.is_alive()
            if closed or time.monotonic() >= deadline:
                cause = no_llrp_cause(
                    client.bytes_received, self._hello_timeout, closed, self._spoke
                )
                return f"{cause}: is it an LLRP reader (port {self.port})?"
        if self._hello_status != "Success":
            return f"refused the session (ConnectionAttemptEvent: {self._hello_status})"
        return None

    def _watch(self, client: _LLRPClient) -> str:
        """Wait until the connection ends; say why."""
        connected_at = time.monotonic()
        ever_inventoried = False
        while not self._lost.wait(min(0.5, self.silent_after_s / 4)):
            if not client.is_alive():
                return client.dropped_because or "connection closed"
            now = time.monotonic()
            silent_for = now - self._heard_at
            if silent_for > self.silence_limit_s:
                return f"silent for {silent_for:.1f} s with the connection up"
            ever_inventoried = ever_inventoried or self._inventorying
            setting_up = now - connected_at
            if self._inventory_wanted and not ever_inventoried:
                if setting_up > self._setup_timeout:
                    state = LLRPReaderState.getStateName(client.llrp.state)
                    return (
                        f"not inventorying {setting_up:.1f} s after connecting"
                        f" (the reader's setup stalled in {state})"
                    )
            else:
                connected_at = now  # inventory stopped by a command: the clock starts again
            if silent_for > self.silent_after_s and not self._silent and self._inventorying:
                self._set_silent(True)
        if self._stop.is_set():
            return "stopping"
        if self._reconnect_asked.is_set():
            return "reconnect asked"
        return client.dropped_because or "connection lost"

    def _pause(self, seconds: float) -> None:
        """Wait out a backoff, unless the link is stopped or asked to reconnect."""
        self._wake.wait(seconds)
        self._wake.clear()

    def _disconnect(self, client: LLRPReaderClient, *, politely: bool) -> None:
        """Close the connection; ``politely`` first asks the reader to stop its ROSpec
        (pointless, and a 2 s wait, with a peer that never spoke LLRP)."""
        if politely:
            try:
                client.disconnect(timeout=2.0)
            except Exception:
                log.debug("reader %s: disconnect raised", self.reader_id, exc_info=True)
        try:
            client.hard_disconnect()
        except Exception:
            log.debug("reader %s: hard disconnect raised", self.reader_id, exc_info=True)

    # -- commands (blocking: call from a worker thread) ------------------------------------

    def _wait(self, done: Callable[[], bool], timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(done, timeout_s)

    def _configured_client(self, what: str, *states: int) -> _LLRPClient:
        """The connected client, once sllurp has finished configuring the reader (in one
        of ``states``); CommandFailed otherwise."""
        client = self._client
        if client is None:
            raise CommandFailed(f"cannot {what}: the reader is {self.state.value}")
        state = client.llrp.state
        if state not in states:
            name = LLRPReaderState.getStateName(state)
            raise CommandFailed(f"cannot {what} now: the reader is being set up ({name})")
        return client  # type: ignore[no-any-return]

    def reconnect(self, timeout_s: float) -> str:
        """Drop the connection and connect again at once; returns once connected again
        (and inventorying, unless inventory was stopped)."""
        if self._thread is None or self._stop.is_set():
            raise CommandFailed("the reader link is not running")
        with self._changed:
            before = self._connections
        self._reconnect_asked.set()
        self._lost.set()
        self._wake.set()
        wanted = ReaderState.INVENTORYING if self._inventory_wanted else ReaderState.CONNECTED
        if not self._wait(lambda: self._connections > before and self.state is wanted, timeout_s):
            raise CommandFailed(
                f"not {wanted.value} again within {timeout_s:g} s (now {self.state.value})"
            )
        return f"reconnected; {wanted.value}"

    def stop_inventory(self, timeout_s: float) -> str:
        """Stop inventory (delete the ROSpec); the connection stays up. Kept across
        reconnections until :meth:`start_inventory`."""
        self._inventory_wanted = False
        if self._client is None:
            return f"the reader is {self.state.value}: it will not inventory once connected"
        if self.state is not ReaderState.INVENTORYING and self._client.llrp.state == (
            LLRPReaderState.STATE_CONNECTED
        ):
            return "inventory was already stopped"
        client = self._configured_client("stop inventory", LLRPReaderState.STATE_INVENTORYING)
        done = threading.Event()
        outcome: list[bool] = []

        def stopped(_state: object, is_success: bool, *_: object) -> None:
            if is_success:
                client.llrp.setState(LLRPReaderState.STATE_CONNECTED)
            outcome.append(bool(is_success))
            done.set()

        with client.lock:
            client.llrp.stopPolitely(onCompletion=stopped)
        if not done.wait(timeout_s):
            raise CommandFailed(f"the reader did not confirm the stop within {timeout_s:g} s")
        if not outcome[0]:
            raise CommandFailed("the reader refused to delete its ROSpec")
        self._inventorying = False
        self._set_state(ReaderState.CONNECTED)
        return "inventory stopped"

    def start_inventory(self, timeout_s: float) -> str:
        """Start inventory (add and enable the ROSpec); kept across reconnections."""
        self._inventory_wanted = True
        if self._client is None:
            return f"the reader is {self.state.value}: it will inventory once connected"
        if self.state is ReaderState.INVENTORYING:
            return "already inventorying"
        client = self._configured_client("start inventory", LLRPReaderState.STATE_CONNECTED)
        with self._changed:
            before = self._starts
        with client.lock:
            client.llrp.startInventory()
        if not self._wait(lambda: self._starts > before, timeout_s):
            raise CommandFailed(f"the reader did not start inventory within {timeout_s:g} s")
        return "inventorying"

    def set_power(self, antenna: int, power_dbm: float, timeout_s: float) -> str:
        """Set ``antenna``'s transmit power to the reader's table entry nearest
        ``power_dbm``; a running inventory is restarted with it (sllurp puts the power
        in the ROSpec)."""
        if antenna not in self.antennas:
            raise CommandFailed(f"antenna {antenna} is not one of this reader's {self.antennas}")
        client = self._configured_client(
            "set power", LLRPReaderState.STATE_INVENTORYING, LLRPReaderState.STATE_CONNECTED
        )
        with client.lock:
            table: list[float] = list(client.llrp.tx_power_table)
            levels = table[1:]  # sllurp's table: index 0 is a placeholder
            if not levels:
                raise CommandFailed("the reader has not told its power table")
            low, high = min(levels), max(levels)
            if not low - 0.01 <= power_dbm <= high + 0.01:
                raise CommandFailed(
                    f"{power_dbm:g} dBm is outside the reader's range {low:g}-{high:g} dBm"
                )
            index = min(range(1, len(table)), key=lambda i: (abs(table[i] - power_dbm), i))
            inventorying = client.llrp.state == LLRPReaderState.STATE_INVENTORYING
            changed = client.llrp.config.tx_power.get(antenna) != index
            with self._changed:
                before = self._starts
            client.llrp.setTxPower({antenna: index})
            self._tx_power[antenna] = index
        done = f"antenna {antenna}: {table[index]:g} dBm (power table index {index})"
        if not inventorying:
            return f"{done}; used when inventory starts"
        if changed and not self._wait(lambda: self._starts > before, timeout_s):
            raise CommandFailed(f"the reader did not restart inventory within {timeout_s:g} s")
        return done
