"""DC-09 panel simulator: N panels send a mix of events to a receiver and check every ACK.

Each panel works as a real one does: one message at a time (stop and wait), the same sequence
number on every retry of a message, a retry on NAK, on timeout and on a dropped connection (after
reconnecting), and a new sequence number only after the ACK. The report says what was sent, what
was acknowledged (the exact (account, sequence) pairs, so a test can compare them with the
journal) and the ACK latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from receivers import dc09
from receivers.dc09 import Dc09Error, Dc09Key

log = logging.getLogger(__name__)

Transport = Literal["tcp", "udp"]

# (weight, message id, data after "#acct|", kind); Z = zone, U = user digits filled in
MIX: tuple[tuple[int, str, str, str], ...] = (
    (10, "ADM-CID", "1130 01 Z", "alarm"),
    (10, "ADM-CID", "3130 01 Z", "restore"),
    (12, "ADM-CID", "1401 01 U", "open"),
    (12, "ADM-CID", "3401 01 U", "close"),
    (20, "ADM-CID", "1602 00 000", "test"),
    (6, "ADM-CID", "1301 00 000", "trouble"),
    (6, "ADM-CID", "3301 00 000", "restore"),
    (4, "ADM-CID", "1302 00 000", "trouble"),
    (2, "ADM-CID", "1110 01 Z", "alarm"),
    (6, "SIA-DCS", "Nri1/BAZ", "alarm"),
    (6, "SIA-DCS", "Nri1/BRZ", "restore"),
    (3, "SIA-DCS", "Nri1/OPU", "open"),
    (3, "SIA-DCS", "Nri1/CLU", "close"),
)


def _fill(data: str, rng: random.Random, sia: bool) -> str:
    zone = f"{rng.randint(1, 32):0{2 if sia else 3}d}"
    user = f"{rng.randint(1, 8):0{2 if sia else 3}d}"
    return data.replace("Z", zone).replace("U", user)


def pick_message(rng: random.Random) -> tuple[str, str, str]:
    """A random (message id, event data, kind) from the mix."""
    weights = [m[0] for m in MIX]
    _, mid, data, kind = rng.choices(MIX, weights)[0]
    return mid, _fill(data, rng, mid == "SIA-DCS"), kind


@dataclass
class PanelReport:
    """What the panels saw; ``acked`` lists (account, sequence) of every ACKed message."""

    sent: int = 0  # distinct messages
    attempts: int = 0  # including retransmissions
    acked_messages: int = 0
    retransmissions: int = 0
    naks: int = 0
    duhs: int = 0
    timeouts: int = 0
    reconnects: int = 0
    bad_acks: int = 0
    gave_up: int = 0
    latencies: list[float] = field(default_factory=list)
    acked: list[tuple[str, str]] = field(default_factory=list)
    retried: list[tuple[str, str]] = field(default_factory=list)  # messages needing a retry
    kinds: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)

        elapsed = (self.finished or time.perf_counter()) - self.started
        return {
            "sent": self.sent, "acked": self.acked_messages, "attempts": self.attempts,
            "retransmissions": self.retransmissions, "naks": self.naks, "duhs": self.duhs,
            "timeouts": self.timeouts, "reconnects": self.reconnects,
            "bad_acks": self.bad_acks, "gave_up": self.gave_up, "kinds": dict(self.kinds),
            "elapsed_s": round(elapsed, 3),
            "acked_per_s": round(self.acked_messages / elapsed, 1) if elapsed > 0 else None,
            "ack_latency_ms": {"p50": pct(0.50), "p99": pct(0.99), "max": pct(1.0)},
        }


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replies.put_nowait(data)


class Panel:
    """One simulated panel with its own account and sequence counter."""

    def __init__(
        self,
        account: str,
        host: str,
        port: int,
        report: PanelReport,
        *,
        transport: Transport = "tcp",
        key: Dc09Key | None = None,
        receiver: str | None = "1",
        line: str = "1",
        ack_timeout: float = 5.0,
        retry_delay: float = 0.2,
        give_up_after: float = 120.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        first_sequence: int = 1,
    ) -> None:
        self.account = account
        self.host, self.port = host, port
        self.report = report
        self.transport = transport
        self.key = key
        self.receiver, self.line = receiver, line
        self.ack_timeout = ack_timeout
        self.retry_delay = retry_delay
        self.give_up_after = give_up_after
        self.now = now
        self.sequence = first_sequence
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_proto: _Udp | None = None

    async def close(self) -> None:
        await self._drop()
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    async def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def _connect(self) -> None:
        if self.transport == "udp":
            if self._udp is None:
                loop = asyncio.get_running_loop()
                self._udp, self._udp_proto = await loop.create_datagram_endpoint(
                    _Udp, remote_addr=(self.host, self.port))
            return
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def _exchange(self, frame: bytes) -> bytes:
        """Send one frame and wait for the reply; raises on timeout or a dropped line."""
        await self._connect()
        if self.transport == "udp":
            assert self._udp is not None and self._udp_proto is not None
            while not self._udp_proto.replies.empty():  # late replies to earlier attempts
                self._udp_proto.replies.get_nowait()
            self._udp.sendto(frame)
            async with asyncio.timeout(self.ack_timeout):
                return await self._udp_proto.replies.get()
        assert self._reader is not None and self._writer is not None
        self._writer.write(frame)
        await self._writer.drain()
        async with asyncio.timeout(self.ack_timeout):
            reply = await self._reader.readuntil(b"\r")
        return reply[reply.rfind(b"\n"):]

    async def send(self, message_id: str, data: str, kind: str = "") -> bool:
        """Send one message until it is ACKed (True) or refused with DUH / given up (False)."""
        seq = f"{self.sequence:04d}"
        self.sequence = self.sequence % 9999 + 1
        r = self.report
        r.sent += 1
        if kind:
            r.kinds[kind] = r.kinds.get(kind, 0) + 1
        deadline = time.monotonic() + self.give_up_after
        first = retried = False
        first = True
        while True:
            if not first:
                r.retransmissions += 1
                if not retried:
                    r.retried.append((self.account, seq))
                    retried = True
            first = False
            if time.monotonic() > deadline:
                r.gave_up += 1
                log.warning("panel %s: gave up on sequence %s", self.account, seq)
                return False
            frame = dc09.build_message(
                message_id, seq, self.account, f"#{self.account}|{data}",
                receiver=self.receiver, line=self.line, now=self.now(), key=self.key)
            r.attempts += 1
            t0 = time.perf_counter()
            try:
                raw = await self._exchange(frame)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                if isinstance(exc, TimeoutError):
                    r.timeouts += 1
                await self._drop()
                r.reconnects += 1
                await asyncio.sleep(self.retry_delay)
                continue
            latency = time.perf_counter() - t0
            verdict = self._check_reply(raw, seq)
            if verdict == "ACK":
                r.acked_messages += 1
                r.latencies.append(latency)
                r.acked.append((self.account, seq))
                return True
            if verdict == "DUH":
                r.duhs += 1
                return False
            if verdict == "NAK":
                r.naks += 1
            await asyncio.sleep(self.retry_delay)

    def _check_reply(self, raw: bytes, seq: str) -> str:
        """ACK (a correct one for this message), NAK, DUH, or BAD (then retransmit)."""
        try:
            reply = dc09.parse_frame(raw)
        except Dc09Error:
            self.report.bad_acks += 1
            return "BAD"
        if reply.message_id in ("NAK", "DUH"):
            return reply.message_id
        if reply.message_id != "ACK" or reply.sequence != seq or reply.account != self.account:
            self.report.bad_acks += 1
            return "BAD"
        if reply.encrypted != (self.key is not None):
            self.report.bad_acks += 1
            return "BAD"
        if self.key is not None:
            try:
                dc09.open_content(reply, self.key)
            except Dc09Error:
                self.report.bad_acks += 1
                return "BAD"
        return "ACK"


def panel_accounts(count: int, first: int = 100001) -> list[str]:
    """Distinct panel account numbers (decimal digits, 6 long)."""
    return [f"{first + i}" for i in range(count)]


async def run_panels(
    host: str,
    port: int,
    *,
    count: int = 10,
    rate: float = 10.0,
    messages: int | None = None,
    duration: float | None = None,
    transport: Transport = "tcp",
    key: Dc09Key | None = None,
    accounts: list[str] | None = None,
    seed: int = 1,
    report: PanelReport | None = None,
    **panel_kw: Any,
) -> PanelReport:
    """Run ``count`` panels against ``host:port`` at ``rate`` messages/s in total (0 = as fast
    as each panel's stop-and-wait allows), for ``messages`` messages in total or ``duration``
    seconds (or until cancelled)."""
    report = report or PanelReport()
    accounts = accounts or panel_accounts(count)
    panels = [Panel(accounts[i % len(accounts)], host, port, report, transport=transport,
                    key=key, line=str(1 + i // len(accounts)), **panel_kw)
              for i in range(count)]
    quota = [messages // count + (1 if i < messages % count else 0) for i in range(count)] \
        if messages is not None else [None] * count
    end = time.monotonic() + duration if duration is not None else None

    async def one(i: int, panel: Panel) -> None:
        rng = random.Random(seed * 100_003 + i)
        interval = count / rate if rate > 0 else 0.0
        next_at = time.monotonic() + (i / rate if rate > 0 else 0.0)
        left = quota[i]
        try:
            while left is None or left > 0:
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at = max(next_at + interval, time.monotonic() - interval)
                if end is not None and time.monotonic() >= end:
                    return
                mid, data, kind = pick_message(rng)
                await panel.send(mid, data, kind)
                if left is not None:
                    left -= 1
        finally:
            await panel.close()

    try:
        await asyncio.gather(*(one(i, p) for i, p in enumerate(panels)))
    finally:
        report.finished = time.perf_counter()
    return report
