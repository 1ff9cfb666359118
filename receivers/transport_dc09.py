"""DC-09 over TCP (many messages per connection) and UDP: a thin shell around
:class:`receivers.dc09.Dc09Receiver`. Replies go out only after the sink has stored."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from core.clock import Clock
from receivers import dc09
from receivers.dc09 import Dc09Receiver
from receivers.outcome import Accepted
from receivers.sink import SignalSink

log = logging.getLogger(__name__)


class Dc09Server:
    """Serves one DC-09 receiver on TCP and/or UDP."""

    def __init__(
        self,
        receiver: Dc09Receiver,
        sink: SignalSink,
        clock: Clock,
        idle_timeout: float = 300.0,
    ) -> None:
        self.receiver = receiver
        self.sink = sink
        self.clock = clock
        self.idle_timeout = idle_timeout
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def process(self, raw: bytes) -> bytes | None:
        """Decide, store, and return the reply; None when storing failed (no reply at all,
        so the panel retransmits)."""
        outcome = self.receiver.handle(raw, self.clock.now())
        if isinstance(outcome, Accepted) and outcome.signals:
            try:
                await self.sink.store(list(outcome.signals))
            except Exception:
                log.exception("dc09 %s: storing failed, not acknowledging", self.name)
                return None
        return outcome.reply

    @property
    def name(self) -> str:
        return self.receiver.config.receiver

    # --- TCP ----------------------------------------------------------------------------------

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on TCP; returns the bound port."""
        self._tcp = await asyncio.start_server(self._serve_connection, host, port)
        bound: int = self._tcp.sockets[0].getsockname()[1]
        log.info("dc09 %s: TCP on %s:%d", self.name, host, bound)
        return bound

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")
        buffer = b""
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):  # no task per read
                        chunk = await reader.read(4096)
                except TimeoutError:
                    log.info("dc09 %s: %s idle, closing", self.name, peer)
                    break
                if not chunk:
                    break
                frames, buffer = dc09.split_frames(buffer + chunk)
                for frame in frames:
                    reply = await self.process(frame)
                    if reply is None:
                        return  # close: the panel retransmits on a new connection
                    writer.write(reply)
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("dc09 %s: %s dropped: %s", self.name, peer, exc)
        finally:
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    # --- UDP ----------------------------------------------------------------------------------

    async def start_udp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on UDP (one frame per datagram); returns the bound port."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Dc09Datagram(self), local_addr=(host, port)
        )
        self._udp = transport
        bound: int = transport.get_extra_info("sockname")[1]
        log.info("dc09 %s: UDP on %s:%d", self.name, host, bound)
        return bound

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._answer_datagram(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_datagram(self, data: bytes, addr: Any) -> None:
        reply = await self.process(data)
        if reply is not None and self._udp is not None and not self._udp.is_closing():
            self._udp.sendto(reply, addr)

    # --- shutdown -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop listening, close connections and wait for in-flight work to end."""
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()
        for writer in list(self._writers):
            writer.close()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()


class _Dc09Datagram(asyncio.DatagramProtocol):
    def __init__(self, server: Dc09Server) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("dc09 %s: UDP error: %s", self.server.name, exc)
