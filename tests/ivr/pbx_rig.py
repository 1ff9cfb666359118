"""Callers through pbxsim into the real IVR server: virtual time, FastAGI over a real socket.

The dialplan mirrors asterisk-config's ``[vigil-ivr]``: answer, ``AGI(agi://…/<path>)``, then the
queue named in ``VIGIL_QUEUE`` (pbxsim has no ``GotoIf``; an empty ``VIGIL_QUEUE``, which in
production means "AGI failed", goes to ``emergency`` as the production fallback does). Callers
press keys when the IVR asks for them (at each ``GET DATA``), as a person would, so a test lists
what the caller answers rather than when; ``during`` presses keys while a named prompt plays
(barge-in). Each caller's events carry their virtual time, so tests can tell how long the
caller waited for something.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ivr import prompts
from pbxsim.drive import advance
from pbxsim.engine.channels import Channel
from pbxsim.engine.clock import Scheduler, VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.engine.dialplan import Dialplan, Step, lab_dialplan
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.engine.queues import QueueConfig
from pbxsim.framing import Message

HANG_UP = "<hangup>"
QUEUES = ("support", "emergency", "billing")
LINES = {"ivr": "4100", "ivr/subscriber": "4101", "ivr/message": "4102"}
FALLBACK = '${IF($["${VIGIL_QUEUE}"=""]?emergency:${VIGIL_QUEUE})}'
KEY_DELAY = 0.4  # seconds into a prompt before the caller starts keying


def vigil_dialplan(agi_port: int) -> Dialplan:
    dp = lab_dialplan(f"agi://127.0.0.1:{agi_port}/ivr")
    for path, line in LINES.items():
        dp.add("from-pstn", line, [
            Step("NoOp", f"Vigil {path}"), Step("Answer"),
            Step("AGI", f"agi://127.0.0.1:{agi_port}/{path}"),
            Step("Queue", f"{FALLBACK},t"), Step("Hangup")])
    return dp


prompt_seconds = prompts.played_seconds


@dataclass
class Caller:
    """One call: what the IVR sent (commands), what the caller keys (``keys``, one entry per
    GET DATA: digits, None for silence, HANG_UP to leave during that prompt)."""

    number: str
    keys: list[str | None]
    channel: str = ""
    uniqueid: str = ""
    commands: list[str] = field(default_factory=list)
    events: list[Message] = field(default_factory=list)
    hang_up_after: str | None = None  # leave as soon as the IVR sends a command starting so
    during: dict[str, str] = field(default_factory=dict)  # prompt name -> keys pressed in it
    times: list[tuple[float, Message]] = field(default_factory=list)

    def played(self) -> list[str]:
        """Sound files in play order (STREAM FILE and the prompt of GET DATA)."""
        out = []
        for c in self.commands:
            words = c.split()
            if c.startswith(("STREAM FILE ", "GET DATA ")):
                out.append(words[2])
        return out

    def prompts(self) -> list[str]:
        return [p.rsplit("/", 1)[-1] for p in self.played()]

    def var_sets(self) -> dict[str, str]:
        return {str(e.get("Variable")): str(e.get("Value")) for e in self.events
                if e.get("Event") == "VarSet"}

    def named(self, event: str) -> list[Message]:
        return [e for e in self.events if e.get("Event") == event]

    def first_time(self, event: str, **fields: str) -> float:
        """Virtual time of the caller's first ``event`` whose headers have ``fields``."""
        for t, msg in self.times:
            if msg.get("Event") == event and all(
                    str(msg.get(k) or "") == v for k, v in fields.items()):
                return t
        raise LookupError(f"no {event} {fields} for {self.number}")

    @property
    def answered_at(self) -> float:
        return self.first_time("Newstate", Channel=self.channel, ChannelStateDesc="Up")

    def prompt_end(self, prompt: str) -> float:
        """When the first command playing ``prompt`` (its last path part) ended."""
        for t, msg in self.times:
            words = str(msg.get("Command") or "").split(" ")
            if msg.get("Event") == "AGIExecEnd" and words[2:3] and words[2].endswith(
                    "/" + prompt):
                return t
        raise LookupError(f"{prompt} was not played to {self.number}")


class PbxRig:
    """pbxsim on virtual time with Vigil's IVR lines, talking FastAGI to ``agi_port``. The
    benchmark passes a real-time scheduler and short prompts instead."""

    def __init__(self, agi_port: int, recordings_dir: str = ".",
                 scheduler: Scheduler | None = None,
                 durations: Callable[[str], float | None] = prompt_seconds) -> None:
        self.sched = scheduler or VirtualScheduler()
        self.engine = Engine(self.sched, vigil_dialplan(agi_port))
        self.engine.prompt_duration = durations
        self.engine.recordings_dir = recordings_dir
        for name in QUEUES:
            self.engine.queues.add_queue(QueueConfig(name, timeout=15, retry=2, wrapuptime=2))
        self.keep_events = True
        self.events: list[Message] = []
        self.callers: list[Caller] = []
        self._by_uniqueid: dict[str, Caller] = {}
        self.engine.listeners.append(self._on_event)

    def add_agent(self, queue: str, extension: str = "1001") -> None:
        """A phone that answers after two seconds (the lab's ``agent-phones``)."""
        self.engine.queues.add_member(queue, f"Local/{extension}@agent-phones/n", extension)

    def call(self, number: str, keys: Sequence[str | None] = (), path: str = "ivr",
             talk_s: int = 600, hang_up_after: str | None = None,
             during: dict[str, str] | None = None) -> Caller:
        uniqueid = f"1795300000.{len(self.callers) + 1}"
        caller = Caller(number, list(keys), uniqueid=uniqueid, hang_up_after=hang_up_after,
                        during=dict(during or {}))
        self.callers.append(caller)
        self._by_uniqueid[uniqueid] = caller
        originate(self.engine, OriginateRequest(
            channel="Local/talk@callers", context="from-pstn", exten=LINES[path],
            cid_num=number, cid_name="Caller", variables=[("CALLTIME", str(talk_s))],
            channel_id=uniqueid), lambda p: None)
        return caller

    async def run(self, seconds: float = 300.0, step: float = 5.0) -> None:
        """Let virtual time pass until every call is over (or ``seconds``)."""
        waited = 0.0
        while waited < seconds:
            await self.advance(step)
            waited += step
            if not self.engine.channels:
                return

    async def advance(self, seconds: float) -> None:
        assert isinstance(self.sched, VirtualScheduler)
        await advance(self.sched, self.engine, seconds)

    # -- the callers' side -------------------------------------------------------------
    def _on_event(self, msg: Message) -> None:
        if self.keep_events:
            self.events.append(msg)
        caller = self._by_uniqueid.get(str(msg.get("Uniqueid") or ""))
        if caller is None:
            return
        caller.channel = caller.channel or str(msg.get("Channel") or "")
        if self.keep_events:
            caller.events.append(msg)
            caller.times.append((self.sched.now(), msg))
        if msg.get("Event") != "AGIExecStart" or msg.get("Channel") != caller.channel:
            return
        command = str(msg.get("Command") or "")
        caller.commands.append(command)
        ch = self.engine.find_channel(caller.channel)
        if ch is None:
            return
        if caller.hang_up_after and command.startswith(caller.hang_up_after):
            caller.hang_up_after = None
            self.engine.later(KEY_DELAY, self._hang_up, ch)
            return
        words = command.split(" ")
        playing = words[2].rsplit("/", 1)[-1] if len(words) > 2 else ""
        if command.startswith(("STREAM FILE", "GET DATA")) and playing in caller.during:
            self.engine.later(KEY_DELAY, self._press, ch, caller.during.pop(playing))
            if command.startswith("GET DATA"):
                return  # the key answers this prompt; ``keys`` are for the ones after
        if not command.startswith("GET DATA"):
            return
        key = caller.keys.pop(0) if caller.keys else None
        if key == HANG_UP:
            self.engine.later(KEY_DELAY, self._hang_up, ch)
        elif key:
            self.engine.later(KEY_DELAY, self._press, ch, key)

    def _press(self, ch: Channel, digits: str) -> None:
        sender = ch.local_peer
        if sender is not None and not sender.dead:
            self.engine.media.send_dtmf(sender, digits, 0.1)

    def _hang_up(self, ch: Channel) -> None:
        """The caller puts the phone down: their half of the Local pair goes."""
        sender = ch.local_peer
        if sender is not None and not sender.dead:
            self.engine.request_hangup(sender)
