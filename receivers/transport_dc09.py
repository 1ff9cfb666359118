"""DC-09 over TCP (many messages per connection) and UDP: a thin shell around
:class:`receivers.dc09.Dc09Receiver`. Replies go out only after the sink has stored.

Abuse is bounded per source address (:mod:`receivers.source_guard`): connections per address
and in total, rejections answered and logged within a budget; UDP answers only frames with a
valid envelope (no reflection of junk at a forged address); blank frames (bare CR/LF, line
noise) are counted, never answered. A TCP connection whose sender is over its budget is closed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from receivers import dc09
from receivers.dc09 import Dc09Receiver
from receivers.outcome import Rejected
from receivers.sink import SignalSink
from receivers.source_guard import GuardLimits, SourceGuard

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send back for one frame (``reply``), and why nothing when it is None."""

    reply: bytes | None
    why: str


class Dc09Server:
    """Serves one DC-09 receiver on TCP and/or UDP."""

    def __init__(
        self,
        receiver: Dc09Receiver,
        sink: SignalSink,
        clock: Clock,
        idle_timeout: float = 300.0,
        limits: GuardLimits | None = None,
    ) -> None:
        self.receiver = receiver
        self.sink = sink
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.guard = SourceGuard(limits or GuardLimits())
        self.blank_frames = 0
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def process(self, raw: bytes, source: str = "", udp: bool = False) -> Answer:
        """Decide, store, and say what to send: the reply, or nothing because the frame was
        blank (line noise), the sender is over its rejection budget (``held``; on UDP also a
        datagram that is not a frame at all), or storing failed (``unstored``: the panel
        retransmits)."""
        if not raw.strip(b"\r\n\x00 "):
            self.blank_frames += 1
            return Answer(None, "blank")
        loud = self.guard.may_reject(source)
        outcome = self.receiver.handle(raw, self.clock.now(), log_rejection=loud)
        if isinstance(outcome, Rejected):
            summary = self.guard.rejected(source, answered=loud)
            if summary:
                log.warning("dc09 %s: %s", self.name, summary)
            if not loud or (udp and outcome.malformed):
                return Answer(None, "held")
            return Answer(outcome.reply, "rejected")
        if outcome.signals:
            try:
                await self.sink.store(list(outcome.signals))
            except Exception:
                log.exception("dc09 %s: storing failed, not acknowledging", self.name)
                return Answer(None, "unstored")
        return Answer(outcome.reply, "accepted")

    def stats(self) -> dict[str, int]:
        return {"connections": self.guard.open_connections,
                "refused_connections": self.guard.refused_connections,
                "rejections_held_back": self.guard.held_back, "blank_frames": self.blank_frames}

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
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        if not self.guard.connect(source):
            if self.guard.refused_connections % 100 == 1:  # one line per hundred refused
                log.warning("dc09 %s: connection from %s refused (%d open from it, %d in all)",
                            self.name, source, self.guard.connections.get(source, 0),
                            self.guard.open_connections)
            writer.close()
            if task is not None:
                self._tasks.discard(task)
            return
        self._writers.add(writer)
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
                    answer = await self.process(frame, source)
                    if answer.reply is not None:
                        writer.write(answer.reply)
                        await writer.drain()
                    elif answer.why == "held":
                        log.info("dc09 %s: %s over its rejection budget, closing", self.name,
                                 source)
                        return
                    elif answer.why == "unstored":
                        return  # the panel retransmits on a new connection
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("dc09 %s: %s dropped: %s", self.name, peer, exc)
        finally:
            self.guard.disconnect(source)
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
        reply = (await self.process(data, str(addr[0]) if isinstance(addr, tuple) else "",
                                    udp=True)).reply
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
