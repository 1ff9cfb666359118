"""A scripted stand-in for Asterisk's side of a FastAGI session, over a real socket.

It answers each command the way Asterisk 22 does (reply forms from the ``fastagi_ivr`` capture)
and plays a caller: ``keys`` are what the caller enters at each GET DATA (``None`` = silence,
``HANG_UP`` = the caller leaves during that prompt). pbxsim's FastAGI client replaces this later.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

HANG_UP = "<hangup>"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


def environment(script: str, caller: str = "+8613800000013", uniqueid: str = "1795300126.58",
                port: int = 4573) -> bytes:
    env = {
        "agi_network": "yes", "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1:{port}/{script}",
        "agi_channel": "Local/dtmf@callers-0000001d;1", "agi_language": "en",
        "agi_type": "Local", "agi_uniqueid": uniqueid,
        "agi_version": "GIT-22-22.0.0-pre1-541-g69535d4837", "agi_callerid": caller or "unknown",
        "agi_calleridname": "Zhang Wei", "agi_callingpres": "0", "agi_dnid": "unknown",
        "agi_rdnis": "unknown", "agi_context": "from-pstn", "agi_extension": "4100",
        "agi_priority": "3", "agi_enhanced": "0.0", "agi_accountcode": "",
        "agi_threadid": "139651223135936",
    }
    return ("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n").encode()


@dataclass
class Session:
    """What the IVR did in one call."""

    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    executed: list[tuple[str, str]] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    hung_up_by_ivr: bool = False
    closed_by_ivr: bool = False

    def prompts(self) -> list[str]:
        """Prompt names in play order (``vigil/en/main-menu`` -> ``main-menu``)."""
        return [p.rsplit("/", 1)[-1] for p in self.played]

    @property
    def queue(self) -> str | None:
        """The queue the IVR handed the caller to: ``VIGIL_QUEUE`` set and the session ended
        by the IVR without a hang-up, so the dialplan goes on to ``vigil-queue``."""
        if self.hung_up_by_ivr or not self.closed_by_ivr:
            return None
        return self.variables.get("VIGIL_QUEUE")


class FakeAsterisk:
    """Drives one session: connect, send the environment, answer commands until the end."""

    MEDIA = ("STREAM FILE", "GET DATA", "SAY ", "EXEC ")

    def __init__(self, keys: Sequence[str | None] = (), variables: dict[str, str] | None = None,
                 hangup_after: int | None = None, media_delay: float = 0.0) -> None:
        self.keys = list(keys)
        self.channel_vars = dict(variables or {})
        self.hangup_after = hangup_after
        self.media_delay = media_delay  # how long a prompt or an application "plays"
        self.dead = False
        self.turnarounds: list[float] = []  # reply written -> next command read (the IVR's time)

    def reply(self, cmd: str, s: Session) -> list[str]:
        if self.dead:
            return [DEAD]
        if self.hangup_after is not None and len(s.commands) > self.hangup_after:
            self.dead = True
            return ["HANGUP", DEAD]
        words = shlex.split(cmd)
        verb = " ".join(words[:2]).upper()
        if words[0] == "ANSWER":
            return ["200 result=0"]
        if words[0] == "HANGUP":
            s.hung_up_by_ivr = True
            self.dead = True
            return ["200 result=1"]
        if verb == "STREAM FILE":
            s.played.append(words[2])
            return ["200 result=0 endpos=16000"]
        if verb == "GET DATA":
            if words[2]:  # GET DATA "" reads keys without a prompt
                s.played.append(words[2])
            max_digits = int(words[4])
            key = self.keys.pop(0) if self.keys else None
            if key == HANG_UP:
                self.dead = True
                return ["HANGUP", "200 result=-1"]
            if not key:
                return ["200 result= (timeout)"]
            if key.endswith("#"):
                return [f"200 result={key[:-1][:max_digits]}"]
            if len(key) >= max_digits:
                return [f"200 result={key[:max_digits]}"]
            return [f"200 result={key} (timeout)"]
        if verb in ("SAY DIGITS", "SAY NUMBER", "SAY DATETIME"):
            return ["200 result=0"]
        if verb == "SET VARIABLE":  # ``__NAME`` is NAME, inherited by the call's channels
            s.variables[words[2].lstrip("_")] = words[3]
            return ["200 result=1"]
        if verb == "GET VARIABLE":
            value = {**self.channel_vars, **s.variables}.get(words[2])
            return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]
        if words[0] == "EXEC":
            s.executed.append((words[1], words[2] if len(words) > 2 else ""))
            return ["200 result=0"]
        return ["510 Invalid or unknown command"]

    async def run(self, port: int, script: str = "ivr", caller: str = "+8613800000013",
                  uniqueid: str = "1795300126.58", host: str = "127.0.0.1") -> Session:
        s = Session()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(environment(script, caller, uniqueid, port))
            await writer.drain()
            sent_at: float | None = None
            while True:
                raw = await asyncio.wait_for(reader.readline(), 10)
                if not raw:
                    s.closed_by_ivr = True
                    return s
                if sent_at is not None:
                    self.turnarounds.append(time.perf_counter() - sent_at)
                cmd = raw.decode().rstrip("\n")
                s.commands.append(cmd)
                lines = self.reply(cmd, s)
                if self.media_delay and cmd.startswith(self.MEDIA) and not self.dead:
                    await asyncio.sleep(self.media_delay)
                writer.write("".join(f"{line}\n" for line in lines).encode())
                await writer.drain()
                sent_at = time.perf_counter()
        finally:
            writer.close()
            await writer.wait_closed()
