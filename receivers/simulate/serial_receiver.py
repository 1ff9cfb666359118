"""A Sur-Gard (or Ademco 685) central-station receiver on one end of a pseudo-terminal pair.

It behaves as the receiver does towards its automation software: one line at a time, waiting for
ACK (0x06); NAK (0x15) or silence for ``ack_timeout`` seconds makes it send the line again; after
``tries`` attempts it reports an automation failure, keeps the line in its buffer and tries again
later. Heartbeats (``1RRL ... @``) go out every ``heartbeat`` seconds and need an ACK too.
Vigil opens the other end (the printed path) as its serial receiver line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import tty
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from receivers import ademco685, contact_id, surgard
from receivers.serial_lines import ACK, NAK

Format = Literal["surgard", "ademco685"]

EVENTS: tuple[tuple[int, str, str, str], ...] = (  # weight, qualifier, code, group/zone kind
    (10, "new", "130", "zone"), (10, "restore", "130", "zone"), (12, "new", "401", "user"),
    (12, "restore", "401", "user"), (20, "new", "602", "none"), (6, "new", "301", "none"),
    (6, "restore", "301", "none"), (2, "new", "110", "zone"),
)


@dataclass
class ReceiverReport:
    lines: int = 0
    heartbeats: int = 0
    acked: int = 0
    naks: int = 0
    timeouts: int = 0
    automation_failures: int = 0
    sent_lines: list[bytes] = field(default_factory=list)  # each event line once, as ACKed

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines, "heartbeats": self.heartbeats, "acked": self.acked,
                "naks": self.naks, "timeouts": self.timeouts,
                "automation_failures": self.automation_failures}


class PtyPair:
    """A pseudo-terminal pair in raw mode: we keep the master, Vigil opens ``path``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class SerialReceiverSim:
    """Plays the receiver on a file descriptor (the pty master)."""

    def __init__(self, fd: int, fmt: Format = "surgard", *, receiver_no: str = "01",
                 line_no: str = "1", ack_timeout: float = 4.0, tries: int = 4,
                 heartbeat: float = 30.0, seed: int = 1) -> None:
        self.fd = fd
        self.fmt = fmt
        self.receiver_no, self.line_no = receiver_no, line_no
        self.ack_timeout = ack_timeout
        self.tries = tries
        self.heartbeat = heartbeat
        self.rng = random.Random(seed)
        self.report = ReceiverReport()
        self.buffer: deque[bytes] = deque()
        self._replies: asyncio.Queue[bytes] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the other end went away (EIO on a pty)
            return
        for b in data:
            if bytes([b]) in (ACK, NAK):
                self._replies.put_nowait(bytes([b]))

    def close(self) -> None:
        self._loop.remove_reader(self.fd)

    def event_line(self, account: str) -> bytes:
        _, qualifier, code, concerns = self.rng.choices(EVENTS, [e[0] for e in EVENTS])[0]
        number = f"{self.rng.randint(1, 16):03d}" if concerns != "none" else "000"
        msg = contact_id.parse(contact_id.build(account, qualifier, code,
                                                "01" if concerns != "none" else "00", number))
        if self.fmt == "surgard":
            return surgard.build_contact_id_line(self.receiver_no, self.line_no, msg)
        return ademco685.build_line(self.receiver_no[-1], self.line_no, msg)

    def heartbeat_line(self) -> bytes:
        if self.fmt == "surgard":
            return surgard.build_heartbeat(self.receiver_no, self.line_no)
        return f"\n{self.receiver_no[-1]}{self.line_no} OKAY @ \r".encode("ascii")

    async def send(self, line: bytes) -> bool:
        """Send until ACKed, at most ``tries`` times; False = automation failure."""
        for _ in range(self.tries):
            while not self._replies.empty():
                self._replies.get_nowait()
            os.write(self.fd, line)
            try:
                async with asyncio.timeout(self.ack_timeout):
                    reply = await self._replies.get()
            except TimeoutError:
                self.report.timeouts += 1
                continue
            if reply == ACK:
                self.report.acked += 1
                return True
            self.report.naks += 1
        self.report.automation_failures += 1
        return False

    async def run(self, accounts: list[str], rate: float = 1.0, count: int | None = None,
                  duration: float | None = None) -> ReceiverReport:
        """Send ``count`` event lines (or for ``duration`` s) at ``rate`` lines/s, heartbeats in
        between; unacknowledged lines stay buffered and are retried first."""
        end = time.monotonic() + duration if duration is not None else None
        next_beat = time.monotonic() + self.heartbeat
        made = 0
        while True:
            now = time.monotonic()
            if end is not None and now >= end:
                break
            if count is not None and made >= count and not self.buffer:
                break
            if now >= next_beat:
                self.report.heartbeats += 1
                await self.send(self.heartbeat_line())
                next_beat = time.monotonic() + self.heartbeat
            if not self.buffer and (count is None or made < count):
                self.buffer.append(self.event_line(self.rng.choice(accounts)))
                self.report.lines += 1
                made += 1
            line = self.buffer[0]
            if await self.send(line):
                self.buffer.popleft()
                self.report.sent_lines.append(line)
                await asyncio.sleep(1 / rate if rate > 0 else 0)
            else:
                await asyncio.sleep(self.ack_timeout)  # automation down: wait, then retry
        return self.report
