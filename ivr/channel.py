"""One caller's channel as a FastAGI session sees it: typed commands over a stream pair.

panoramisk 1.4's ``Request.send_command`` is not used for the dialogue because, checked against
Asterisk's real replies, it (1) raises ``ValueError`` when the socket closes (it parses an empty
line as a status code), (2) keeps reading the reply of a command after ``HANGUP`` as if it were
the next command's, and (3) reads only one more line of a multi-line ``520`` usage reply, leaving
the rest to be taken for later replies. Here every way the caller can leave -- ``HANGUP``, ``511``,
a ``result=-1`` from an application, or the socket closing -- becomes :class:`CallerHungUp`, and
after that no command is sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr import agi


class AgiError(Exception):
    """Asterisk refused a command (510/520): a bug in the flow, not the caller's doing."""


class CallerHungUp(Exception):  # noqa: N818 - it is an event, not a programming error
    """The caller left; no further command can reach the channel."""


@dataclass(slots=True)
class Exchange:
    """One command and its reply, with the round trip in seconds and the time the IVR took
    since the previous reply (its own work: flow logic, database) for the session log/bench."""

    command: str
    reply: str
    rtt: float
    gap: float = 0.0


@dataclass(frozen=True, slots=True)
class DataResult:
    """What GET DATA collected; ``timed_out`` also when some digits came before the timeout."""

    digits: str
    timed_out: bool


@dataclass(slots=True)
class AgiChannel:
    """Commands of one AGI session. Methods raise :class:`CallerHungUp` once the caller is gone."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    env: Mapping[str, str]
    reply_timeout: float | None = None
    keep_log: bool = True
    log: list[Exchange] = field(default_factory=list)
    dead: bool = False
    commands: int = 0
    rtt_total: float = 0.0
    last_reply_at: float | None = None

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def caller_id(self) -> str:
        num = self.env.get("agi_callerid", "")
        return "" if num in ("unknown", "") else num

    async def _readline(self) -> str:
        try:
            raw = await asyncio.wait_for(self.reader.readline(), self.reply_timeout)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            raise CallerHungUp("connection lost") from exc
        if not raw:
            raise CallerHungUp("connection closed")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def command(self, text: str) -> agi.Reply:
        """Send one command line and read its reply (skipping ``100 Trying``)."""
        if self.dead:
            raise CallerHungUp("channel already hung up")
        start = time.perf_counter()
        try:
            self.writer.write(text.encode("utf-8") + b"\n")
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            self.dead = True
            raise CallerHungUp("connection lost") from exc
        try:
            line = await self._readline()
            while line.startswith(f"{agi.TRYING} "):
                line = await self._readline()
            if agi.is_continuation(line):
                usage = [line]
                while not usage[-1].startswith(f"{agi.USAGE_ERROR} "):
                    usage.append(await self._readline())
                line = "\n".join(usage)
        except CallerHungUp:
            self.dead = True
            raise
        now = time.perf_counter()
        rtt = now - start
        gap = start - self.last_reply_at if self.last_reply_at is not None else 0.0
        self.last_reply_at = now
        self.commands += 1
        self.rtt_total += rtt
        if self.keep_log:
            self.log.append(Exchange(text, line, rtt, gap))
        reply = agi.parse_reply(line.split("\n", 1)[0])
        if reply.hangup:
            self.dead = True
            raise CallerHungUp(reply.text)
        if reply.code in (agi.INVALID_COMMAND, agi.USAGE_ERROR) or not reply.ok:
            raise AgiError(f"{text!r} -> {line!r}")
        return reply

    async def _app(self, text: str) -> agi.Reply:
        """A command whose ``result=-1`` means the channel went away during it."""
        reply = await self.command(text)
        if reply.result_int == -1:
            self.dead = True
            raise CallerHungUp(f"{text}: result=-1")
        return reply

    async def answer(self) -> None:
        await self._app(agi.answer())

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play a sound file; the key that interrupted it, if any.

        ``result=-1`` here also means the file could not be played, so it is not taken for a
        hang-up: a missing prompt must not end the call, and a real hang-up shows in the next
        reply (Asterisk sends ``HANGUP`` and then ``511``)."""
        reply = await self.command(agi.stream_file(name, escape_digits))
        code = reply.result_int or 0
        return chr(code) if code > 0 else None

    async def get_data(self, name: str, timeout_ms: int, max_digits: int) -> DataResult:
        reply = await self._app(agi.get_data(name, timeout_ms, max_digits))
        return DataResult(digits=reply.result, timed_out=reply.timed_out)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        reply = await self._app(agi.say_digits(digits, escape_digits))
        code = reply.result_int or 0
        return chr(code) if code > 0 else None

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        reply = await self._app(agi.say_number(number, escape_digits))
        code = reply.result_int or 0
        return chr(code) if code > 0 else None

    async def say_datetime(self, epoch: int, escape_digits: str = "", fmt: str = "",
                           tz: str = "") -> None:
        await self._app(agi.say_datetime(epoch, escape_digits, fmt, tz))

    async def exec(self, app: str, args: str = "") -> agi.Reply:
        """Run a dialplan application (Playback, Queue, Record, ...)."""
        return await self._app(agi.exec_app(app, args))

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(agi.set_variable(name, value))

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set (``200 result=0``)."""
        reply = await self.command(agi.get_variable(name))
        return reply.data if reply.result == "1" else None

    async def hangup(self) -> None:
        """Hang up the channel; a caller who is already gone is not an error."""
        if self.dead:
            return
        try:
            await self.command(agi.hangup())
        except CallerHungUp:
            pass
        self.dead = True
