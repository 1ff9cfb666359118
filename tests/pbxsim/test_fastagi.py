"""pbxsim's FastAGI client against a small IVR server in the test: the environment Asterisk
sends, its reply forms, the caller's keypresses, EXEC Queue carrying the IVR's variables."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pbxsim.agi_protocol import split_command
from pbxsim.drive import advance
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.framing import Message

from .amicompare import diff
from .replay import CAPTURES, replay

AGI_CAPTURE = CAPTURES / "fastagi_ivr.agi.jsonl"
Script = Callable[["Ivr"], Awaitable[None]]


class Ivr:
    """One FastAGI session as the IVR sees it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.env: list[tuple[str, str]] = []
        self.replies: list[str] = []
        self.extra_lines: list[str] = []

    async def read_env(self) -> None:
        while True:
            line = (await self.reader.readline()).decode().rstrip("\n")
            if not line:
                return
            key, _, value = line.partition(": ")
            self.env.append((key, value))

    async def cmd(self, text: str) -> str:
        self.writer.write(text.encode() + b"\n")
        reply = (await self.reader.readline()).decode()
        while reply.startswith("520-") and not reply.splitlines()[-1].startswith("520 "):
            reply += (await self.reader.readline()).decode()
        self.replies.append(reply)
        return reply


class IvrServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.sessions: list[Ivr] = []
        self.done = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ivr = Ivr(reader, writer)
        self.sessions.append(ivr)
        try:
            await ivr.read_env()
            await self.script(ivr)
        finally:
            writer.close()
            self.done.set()


@pytest.fixture
async def ivr_server() -> AsyncIterator[Callable[[Script], Awaitable[tuple[IvrServer, int]]]]:
    servers: list[asyncio.base_events.Server] = []

    async def start(script: Script) -> tuple[IvrServer, int]:
        ivr = IvrServer(script)
        srv = await asyncio.start_server(ivr.handle, "127.0.0.1", 0)
        servers.append(srv)
        return ivr, int(srv.sockets[0].getsockname()[1])

    yield start
    for srv in servers:
        srv.close()
        await srv.wait_closed()


def capture_session() -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(environment, commands, replies) of the recorded session."""
    rows = [json.loads(line) for line in AGI_CAPTURE.read_text().splitlines()]
    env = [tuple(line.split(": ", 1)) if ": " in line else (line.rstrip(":"), "")
           for line in rows[0]["text"].splitlines() if line]
    cmds = [r["text"].rstrip("\n") for r in rows[1:] if r["dir"] == "sent"]
    replies = [r["text"] for r in rows[1:] if r["dir"] == "recv"]
    return env, cmds, replies  # type: ignore[return-value]


LAB_PROMPTS = {"agent-user": 6.0, "vm-password": 1.2, "beep": 0.44}


def lab_prompt(name: str) -> float | None:
    return LAB_PROMPTS.get(name, 0.835 if name.startswith("digits/") else None)


async def test_fastagi_ivr_capture_environment_replies_and_events(ivr_server) -> None:  # type: ignore[no-untyped-def]
    env, cmds, want = capture_session()

    async def script(ivr: Ivr) -> None:
        for c in cmds:
            await ivr.cmd(c)

    ivr, port = await ivr_server(script)

    def setup(engine: Engine) -> None:
        engine.agi_address = lambda host, p: ("127.0.0.1", port)
        engine.prompt_duration = lab_prompt

    r = await replay("fastagi_ivr", setup=setup)
    got = ivr.sessions[0]
    assert [k for k, _ in got.env] == [k for k, _ in env]
    varying = {"agi_channel", "agi_uniqueid", "agi_threadid"}
    assert [kv for kv in got.env if kv[0] not in varying] == [
        kv for kv in env if kv[0] not in varying]
    assert re.fullmatch(r"Local/dtmf@callers-[0-9a-f]{8};1", dict(got.env)["agi_channel"])

    def no_endpos(lines: list[str]) -> list[str]:
        return [re.sub(r"endpos=\d+", "endpos=N", line) for line in lines]

    assert no_endpos(got.replies) == no_endpos(want)
    assert int(re.search(r"endpos=(\d+)", got.replies[1]).group(1)) > 0  # type: ignore[union-attr]
    assert diff(r.capture, r.sim) == []


def test_command_lines_split_like_res_agi() -> None:
    assert split_command('STREAM FILE agent-user "0123456789#"') == [
        "STREAM", "FILE", "agent-user", "0123456789#"]
    assert split_command('SAY DIGITS 1234 ""') == ["SAY", "DIGITS", "1234", ""]
    assert split_command(r'SET VARIABLE X "a \"b\" c"') == ["SET", "VARIABLE", "X", 'a "b" c']


class Rig:
    def __init__(self, port: int) -> None:
        self.sched = VirtualScheduler()
        self.engine = Engine(self.sched)
        self.engine.agi_address = lambda host, p: ("127.0.0.1", port)
        self.events: list[Message] = []
        self.engine.listeners.append(self.events.append)

    def call(self, script: str = "", calltime: int = 60, cid: str = "+8613800000013") -> None:
        originate(self.engine, OriginateRequest(
            channel="Local/script@callers", context="from-pstn", exten="4100", cid_num=cid,
            cid_name="Zhang Wei", variables=[("SCRIPT", script), ("CALLTIME", str(calltime))]),
            lambda p: None)

    async def advance(self, seconds: float) -> None:
        await advance(self.sched, self.engine, seconds)

    def named(self, event: str) -> list[Message]:
        return [e for e in self.events if e.get("Event") == event]


async def test_replies_for_unknown_commands_vars_and_a_dead_channel(ivr_server) -> None:  # type: ignore[no-untyped-def]
    async def script(ivr: Ivr) -> None:
        await ivr.cmd("ANSWER")
        await ivr.cmd("FROBNICATE NOW")
        await ivr.cmd("GET VARIABLE NOT_SET_ANYWHERE")
        await ivr.cmd("SET VARIABLE EMPTY \"\"")
        await ivr.cmd("GET VARIABLE EMPTY")
        await ivr.cmd("SAY NUMBER twelve \"\"")
        await ivr.cmd("STREAM FILE welcome \"\"")
        await ivr.cmd("HANGUP")
        ivr.extra_lines.append((await ivr.reader.readline()).decode())
        await ivr.cmd("STREAM FILE welcome \"\"")
        await ivr.cmd("GET VARIABLE CALLERID(name)")

    ivr, port = await ivr_server(script)
    rig = Rig(port)
    rig.call()
    await rig.advance(10)
    r = ivr.sessions[0].replies
    assert r[:5] == ["200 result=0\n", "510 Invalid or unknown command\n", "200 result=0\n",
                     "200 result=1\n", "200 result=1 ()\n"]
    assert r[5].startswith("520-Invalid command syntax.") and r[5].endswith(
        "520 End of proper usage.\n")
    assert r[6] == "200 result=0 endpos=8000\n"  # default prompt: one second at 8 kHz
    assert r[7] == "200 result=1\n"
    assert ivr.sessions[0].extra_lines == ["HANGUP\n"]
    assert r[8] == "511 Command Not Permitted on a dead channel or intercept routine\n"
    assert r[9] == "200 result=1 (Zhang Wei)\n"
    assert [e.get("Value") for e in rig.events if e.get("Variable") == "AGISTATUS"] == ["HANGUP"]
    assert not rig.engine.channels


async def test_caller_keys_interrupt_prompts_and_get_data_collects(ivr_server) -> None:  # type: ignore[no-untyped-def]
    async def script(ivr: Ivr) -> None:
        await ivr.cmd("ANSWER")
        await ivr.cmd('STREAM FILE menu "12"')
        await ivr.cmd("GET DATA enter-account 3000 10")
        await ivr.cmd("GET DATA enter-pin 2000 4")
        await ivr.cmd('SAY DIGITS 42 "#"')

    ivr, port = await ivr_server(script)
    rig = Rig(port)
    rig.engine.prompt_duration = lambda name: 10.0 if name == "menu" else 1.0
    # 2 s in: '2' during the menu; then an account ended by '#'; then 2 digits and silence
    rig.call(script="2:2;1:123456#;1:12;2:#")
    await rig.advance(40)
    r = ivr.sessions[0].replies
    assert r[1].startswith("200 result=50 endpos=")
    assert r[2] == "200 result=123456\n"
    assert r[3] == "200 result=12 (timeout)\n"
    assert r[4] == "200 result=35\n"  # '#' interrupted SAY DIGITS
    received = [e.get("Digit") for e in rig.named("DTMFEnd")]
    assert received == list("2123456#12#")


async def test_exec_queue_puts_the_caller_in_queue_with_the_ivr_variables(ivr_server) -> None:  # type: ignore[no-untyped-def]
    async def script(ivr: Ivr) -> None:
        await ivr.cmd("ANSWER")
        await ivr.cmd('SET VARIABLE VIGIL_ACCOUNT_ID "A-1042"')
        await ivr.cmd('SET VARIABLE VIGIL_IVR_PATH "1>2"')
        await ivr.cmd('EXEC Queue "support,t,,,120"')
        await ivr.cmd("GET VARIABLE QUEUESTATUS")

    ivr, port = await ivr_server(script)
    rig = Rig(port)
    rig.engine.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    rig.call(calltime=30)
    await rig.advance(5)
    join = rig.named("QueueCallerJoin")
    assert len(join) == 1
    caller = join[0].get("Channel")
    sets = {e.get("Variable"): e.get("Value") for e in rig.events
            if e.get("Event") == "VarSet" and e.get("Channel") == caller}
    assert sets["VIGIL_ACCOUNT_ID"] == "A-1042" and sets["VIGIL_IVR_PATH"] == "1>2"
    names = [e.get("Event") for e in rig.events]
    assert names.index("AgentConnect") > names.index("QueueCallerJoin")
    # the caller hangs up after CALLTIME (30 s), before the agent's PHONETIME (60 s): Queue
    # returns -1 and the script's next command hears that the channel is gone
    await rig.advance(70)
    r = ivr.sessions[0].replies
    assert r[3:] == ["200 result=-1\n", "HANGUP\n"]


async def test_caller_hangup_during_a_prompt_gives_minus_one_and_hangup(ivr_server) -> None:  # type: ignore[no-untyped-def]
    async def script(ivr: Ivr) -> None:
        await ivr.cmd("ANSWER")
        await ivr.cmd('STREAM FILE long-story ""')
        ivr.extra_lines.append((await ivr.reader.readline()).decode())

    ivr, port = await ivr_server(script)
    rig = Rig(port)
    rig.engine.prompt_duration = lambda name: 30.0
    rig.call(calltime=3)
    await rig.advance(40)
    s = ivr.sessions[0]
    assert re.fullmatch(r"200 result=-1 endpos=\d+\n", s.replies[1])
    assert s.extra_lines == ["HANGUP\n"]
    assert not rig.engine.channels
    assert rig.named("Hangup")


async def test_unreachable_agi_server_sets_failure_and_the_dialplan_goes_on(
        tmp_path: Path) -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(srv.sockets[0].getsockname()[1])
    srv.close()
    await srv.wait_closed()
    rig = Rig(port)
    rig.call(calltime=2)
    await rig.advance(10)
    assert [e.get("Value") for e in rig.events if e.get("Variable") == "AGISTATUS"] == [
        "FAILURE"]
    apps = [e.get("Application") for e in rig.named("Newexten") if e.get("Exten") == "4100"]
    assert apps == ["NoOp", "Answer", "AGI", "Hangup"]


async def test_a_key_ends_a_prompt_only_with_escape_digits_else_it_is_lost(ivr_server) -> None:  # type: ignore[no-untyped-def]
    """As res_agi: STREAM FILE with escape digits stops at such a key and returns it with the
    offset reached; without them (or for another key) playback goes on to the end and the key
    is gone -- the next GET DATA does not see it. GET DATA "" reads keys without a prompt."""

    async def script(ivr: Ivr) -> None:
        await ivr.cmd("ANSWER")
        await ivr.cmd('STREAM FILE welcome ""')  # '2' at 2 s: lost
        await ivr.cmd("GET DATA menu 1000 1")  # nothing pressed: a timeout
        await ivr.cmd('STREAM FILE welcome "12"')  # '5' at 2 s: not an escape digit, lost
        await ivr.cmd('STREAM FILE welcome "0123456789*#"')  # '2' at 2 s: stops it
        await ivr.cmd('GET DATA "" 2000 3')  # no prompt: reads 4 and 5 at once

    ivr, port = await ivr_server(script)
    rig = Rig(port)
    rig.engine.prompt_duration = lambda name: 5.0
    # keys 2 s into the first prompt, 2 s into the third and fourth, then in the GET DATA ""
    rig.call(script="2:2;10:5;5:2;0.3:45")
    await rig.advance(40)
    r = ivr.sessions[0].replies
    assert r[1] == "200 result=0 endpos=40000\n"  # played to the end: the key was lost
    assert r[2] == "200 result= (timeout)\n"
    assert r[3] == "200 result=0 endpos=40000\n"
    assert re.fullmatch(r"200 result=50 endpos=(\d+)\n", r[4])
    assert 0 < int(re.search(r"endpos=(\d+)", r[4]).group(1)) < 40000  # type: ignore[union-attr]
    assert r[5] == "200 result=45 (timeout)\n"
    assert [e.get("Digit") for e in rig.named("DTMFEnd")] == list("25245")
