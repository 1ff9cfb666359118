"""Serial receiver lines (Sur-Gard MLR2 / System 5, Ademco 685) on a serial device, a
pseudo-terminal, or TCP (System 5 style): a thin shell around the line codecs.

Each line is answered ACK only after its signals are stored; a garbled line gets NAK; a failed
store gets no answer, so the receiver retransmits (after ~4 s) and finally buffers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Literal

import serial

from core.clock import Clock
from receivers import ademco685, surgard
from receivers.outcome import Accepted, Outcome
from receivers.sink import SignalSink
from receivers.supervision import HeartbeatSupervisor

log = logging.getLogger(__name__)

LineFormat = Literal["surgard", "ademco685"]
Splitter = Callable[[bytes], tuple[list[bytes], bytes]]
Parser = Callable[[bytes, datetime, str], Outcome]
CODECS: Final[dict[str, tuple[Splitter, Parser]]] = {
    "surgard": (surgard.split, surgard.parse_line),
    "ademco685": (ademco685.split, ademco685.parse_line),
}


class LineReceiver:
    """Runs one receiver line: bytes in from a stream, ACK/NAK out."""

    def __init__(
        self,
        fmt: LineFormat,
        receiver: str,
        sink: SignalSink,
        clock: Clock,
        supervisor: HeartbeatSupervisor | None = None,
    ) -> None:
        self.split, self.parse = CODECS[fmt]
        self.receiver = receiver
        self.sink = sink
        self.clock = clock
        self.supervisor = supervisor

    async def handle_line(self, raw: bytes) -> bytes | None:
        """Reply for one line; None when storing failed (send nothing, the receiver retries)."""
        outcome = self.parse(raw, self.clock.now(), self.receiver)
        if isinstance(outcome, Accepted):
            if outcome.signals:
                try:
                    await self.sink.store(list(outcome.signals))
                except Exception:
                    log.exception("serial %s: storing failed, not acknowledging", self.receiver)
                    return None
            if self.supervisor is not None:
                try:
                    await self.supervisor.beat()
                except Exception:
                    log.exception("serial %s: storing the line restore failed", self.receiver)
        return outcome.reply

    async def run(self, reader: asyncio.StreamReader, writer: Any) -> None:
        """Serve until the stream ends. ``writer`` needs ``write`` and ``async drain``."""
        buffer = b""
        while True:
            chunk = await reader.read(1024)
            if not chunk:
                return
            lines, buffer = self.split(buffer + chunk)
            for line in lines:
                reply = await self.handle_line(line)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()


# --- serial device / pseudo-terminal ----------------------------------------------------------


class _SerialWriter:
    def __init__(self, port: serial.Serial) -> None:
        self.port = port

    def write(self, data: bytes) -> None:
        self.port.write(data)

    async def drain(self) -> None:
        return None


class SerialPort:
    """An open serial device feeding an asyncio StreamReader (pyserial for the settings,
    the event loop's reader callback for I/O)."""

    def __init__(
        self,
        path: str,
        baudrate: int = 19200,
        bytesize: int = serial.SEVENBITS,
        parity: str = serial.PARITY_EVEN,
        stopbits: float = serial.STOPBITS_ONE,
    ) -> None:
        self.port = serial.serial_for_url(
            path,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            timeout=0,
            write_timeout=2,
        )
        self.reader = asyncio.StreamReader()
        self.writer = _SerialWriter(self.port)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.port.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data = self.port.read(4096)
        except (serial.SerialException, OSError) as exc:
            log.warning("serial %s: read failed: %s", self.port.port, exc)
            self._stop_reading()
            self.reader.feed_eof()
            return
        if data:
            self.reader.feed_data(data)

    def _stop_reading(self) -> None:
        if self.port.is_open:
            self._loop.remove_reader(self.port.fileno())

    def close(self) -> None:
        self._stop_reading()
        self.port.close()
        if not self.reader.at_eof():
            self.reader.feed_eof()


async def serve_serial(
    line: LineReceiver, path: str, opened: asyncio.Event | None = None, **settings: Any
) -> None:
    """Serve a receiver line on a serial device path (e.g. ``/dev/ttyUSB0`` or a pty).

    Opening the port discards whatever was waiting in its input buffer (pyserial flushes it);
    ``opened`` is set once the port is open and configured.
    """
    port = SerialPort(path, **settings)
    if opened is not None:
        opened.set()
    try:
        await line.run(port.reader, port.writer)
    finally:
        port.close()


# --- TCP (System 5 style) ---------------------------------------------------------------------


async def serve_tcp(line: LineReceiver, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Accept receiver connections (the receiver connects to us) on TCP."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await line.run(reader, writer)
        except ConnectionError as exc:
            log.info("serial-tcp %s: connection dropped: %s", line.receiver, exc)
        finally:
            writer.close()

    return await asyncio.start_server(on_connect, host, port)


async def connect_tcp(line: LineReceiver, host: str, port: int, retry_delay: float = 5.0) -> None:
    """Connect to a receiver's automation port (System 5: 1025) and reconnect until cancelled."""
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            log.warning(
                "serial-tcp %s: cannot connect to %s:%d: %s", line.receiver, host, port, exc
            )
        else:
            try:
                await line.run(reader, writer)
            except ConnectionError as exc:
                log.info("serial-tcp %s: connection dropped: %s", line.receiver, exc)
            finally:
                writer.close()
        await line.clock.sleep(retry_delay)
