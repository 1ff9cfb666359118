"""``vigil simulate calls``: drive a running PBX harder from outside, over AMI.

Each simulated subscriber is an async Originate of ``Local/sim@callers`` into the IVR line or a
queue line, with the same Poisson arrivals, IVR key paths, patience and talk time as the demo's
own traffic (:mod:`pbxsim.traffic`). It talks only AMI, so it drives pbxsim inside ``vigil demo``
and any Asterisk whose dialplan has a ``callers,sim`` caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pbxsim.framing import Message, Parser
from pbxsim.traffic import TrafficProfile, plan_calls


@dataclass
class CallsReport:
    placed: int = 0
    queued_ok: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"placed": self.placed, "queued_ok": self.queued_ok, "refused": self.refused,
                "errors": self.errors[:10]}


class AmiConnection:
    """A minimal AMI client: login, send actions, count their responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = Parser()
        self.ids = itertools.count(1)
        self.pending: dict[str, asyncio.Future[Message]] = {}
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, host: str, port: int, user: str, secret: str,
                   within: float = 5.0) -> AmiConnection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
        await asyncio.wait_for(reader.readline(), within)  # the banner
        conn = cls(reader, writer)
        conn._task = asyncio.create_task(conn._read())
        reply = await conn.send([("Action", "Login"), ("Username", user), ("Secret", secret),
                                 ("Events", "off")], within)
        if reply.get("Response") != "Success":
            await conn.close()
            raise PermissionError(f"AMI login refused: {reply.get('Message')}")
        return conn

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            for msg in self.parser.feed(data):
                fut = self.pending.pop(msg.get("ActionID") or "", None)
                if fut is not None and not fut.done() and msg.get("Response"):
                    fut.set_result(msg)

    async def send(self, pairs: Sequence[tuple[str, str]], within: float = 5.0) -> Message:
        action_id = f"sim-{next(self.ids)}"
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending[action_id] = fut
        self.writer.write(Message([*pairs, ("ActionID", action_id)]).encode())
        await self.writer.drain()
        try:
            return await asyncio.wait_for(fut, within)
        finally:
            self.pending.pop(action_id, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.write(Message([("Action", "Logoff")]).encode())
            self.writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def originate_action(number: str, name: str, line: str, script: str, patience: float,
                     talk: float, path: str) -> list[tuple[str, str]]:
    """The Originate a simulated subscriber is, exactly as sent."""
    return [("Action", "Originate"), ("Channel", "Local/sim@callers"),
            ("Context", "from-pstn"), ("Exten", line), ("Priority", "1"),
            ("CallerID", f'"{name}" <{number}>'), ("Async", "true"),
            ("Variable", f"SCRIPT={script}"), ("Variable", f"PATIENCE={patience}"),
            ("Variable", f"TALK={talk}"), ("Variable", f"IVR_PATH={path}")]


async def run_calls(host: str, port: int, user: str, secret: str, rate_per_second: float,
                    duration: float, numbers: Sequence[tuple[str, str]],
                    seed: int | None = None, profile: TrafficProfile | None = None
                    ) -> CallsReport:
    """Place calls at ``rate_per_second`` (Poisson) for ``duration`` seconds."""
    prof = profile or TrafficProfile()
    prof.rate_per_minute = rate_per_second * 60.0
    if numbers:
        prof.numbers = list(numbers)
    rng = random.Random(seed)
    report = CallsReport()
    conn = await AmiConnection.open(host, port, user, secret)
    sends: set[asyncio.Task[None]] = set()

    async def place(plan_args: list[tuple[str, str]]) -> None:
        try:
            reply = await conn.send(plan_args)
        except (TimeoutError, ConnectionError) as exc:
            report.errors.append(repr(exc))
            return
        if reply.get("Response") == "Success":
            report.queued_ok += 1
        else:
            report.refused += 1
            report.errors.append(str(reply.get("Message")))

    try:
        end = time.monotonic() + duration
        while True:
            plan = plan_calls(prof, rng)
            if time.monotonic() + plan.at > end:
                break
            await asyncio.sleep(plan.at)
            report.placed += 1
            task = asyncio.create_task(place(originate_action(
                plan.number, plan.name, plan.line, plan.script, plan.patience, plan.talk,
                plan.path)))
            sends.add(task)
            task.add_done_callback(sends.discard)
        if sends:
            await asyncio.gather(*sends)
    finally:
        await conn.close()
    return report
