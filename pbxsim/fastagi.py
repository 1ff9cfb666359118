"""The FastAGI client: ``AGI(agi://host:port/path)`` opens a TCP session to the IVR, sends the
``agi_*`` environment and executes its commands on the channel, replying as res_agi does.

The socket is a thin asyncio shell; each command runs on the engine (prompts and keypresses in
engine time). While the script is expected to speak, ``engine.io_waiting`` counts the session,
so a virtual clock can stand still until the script has answered (``drive.run_until``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from .agi_protocol import (
    DEAD,
    DEAD_OK,
    INVALID,
    Target,
    environment,
    match_command,
    parse_target,
    split_command,
    usage,
)
from .engine.channels import UP
from .engine.dialplan import APPS, Step, expand
from .engine.media import number_prompts

if TYPE_CHECKING:
    from .engine.dialplan import Pbx

ANY_DIGIT = "0123456789*#"


def start_agi(pbx: Pbx, data: str) -> bool:
    """The AGI application. Returns True (go on at once) when no session could start."""
    eng, ch = pbx.engine, pbx.ch
    target = parse_target(data)
    if target is None:
        eng.set_var(ch, "AGISTATUS", "FAILURE")
        return True
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        eng.set_var(ch, "AGISTATUS", "FAILURE")
        return True
    session = AgiSession(pbx, target)
    task = loop.create_task(session.run())
    eng.agi_tasks.add(task)
    task.add_done_callback(eng.agi_tasks.discard)
    return False


def lookup(pbx: Pbx, name: str) -> str | None:
    """GET VARIABLE: a channel variable or one of the functions IVRs read."""
    ch = pbx.ch
    funcs = {"CALLERID(num)": ch.cid_num, "CALLERID(name)": ch.cid_name,
             "CALLERID(all)": f'"{ch.cid_name}" <{ch.cid_num}>', "CHANNEL(name)": ch.name,
             "CHANNEL": ch.name, "UNIQUEID": ch.uniqueid, "EXTEN": ch.exten,
             "CONTEXT": ch.context, "PRIORITY": str(ch.priority),
             "CHANNEL(language)": ch.language, "CONNECTEDLINE(num)": ch.con_num,
             "CONNECTEDLINE(name)": ch.con_name}
    if name in funcs:
        return funcs[name]
    return ch.get_var(name)


class AgiSession:
    def __init__(self, pbx: Pbx, target: Target) -> None:
        self.pbx, self.engine, self.ch, self.target = pbx, pbx.engine, pbx.ch, target
        self.writer: asyncio.StreamWriter | None = None
        self.dead = False
        self.explicit_hangup = False
        self.cause = 16
        self.hangup_sent = False
        self.waiting = False
        self.over = False
        self.cancel_running: Callable[[], None] | None = None
        self.cmd_id = ""
        self.cmd_text = ""
        self.replied = asyncio.Event()
        pbx.end_hook = self._hung_up
        self._wait(True)  # from now until the script has connected and spoken

    # -- the socket ---------------------------------------------------------------------
    def _wait(self, on: bool) -> None:
        if on != self.waiting:
            self.engine.io_waiting += 1 if on else -1
            self.waiting = on

    async def run(self) -> None:
        host, port = self.engine.agi_address(self.target.host, self.target.port)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            self._wait(False)
            self._finish(connected=False)
            return
        self.writer = writer
        writer.write(environment(self.ch, self.target))
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                text = line.decode("utf-8", errors="replace").strip("\r\n")
                if not text.strip():
                    continue
                self._wait(False)
                self.replied.clear()
                self.command(text)
                await self.replied.wait()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._wait(False)
            writer.close()
            self._finish(connected=True)

    def _send(self, text: str) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(text.encode())

    # -- commands -----------------------------------------------------------------------
    def command(self, text: str) -> None:
        eng = self.engine
        self.cmd_id, self.cmd_text = str(random.randint(10**8, 2**31 - 1)), text
        eng.chan_event("AGIExecStart", self.ch, [("CommandId", self.cmd_id),
                                                  ("Command", text)], "agi,all")
        found = match_command(split_command(text))
        if found is None:
            self.reply(INVALID, 510, "Invalid or unknown command")
            return
        name, args = found
        if self.dead and name not in DEAD_OK:
            self.reply(DEAD, 511, "Command Not Permitted on a dead channel or intercept routine")
            return
        handler = getattr(self, "c_" + name.replace(" ", "_"), None)
        if handler is None:
            self.reply("200 result=0\n")
            return
        try:
            handler(args)
        except (ValueError, IndexError):
            self.reply(usage(name), 520, "Usage")

    def reply(self, line: str, code: int = 200, result: str = "Success") -> None:
        self.cancel_running = None
        self._send(line)
        self.engine.chan_event("AGIExecEnd", self.ch, [
            ("CommandId", self.cmd_id), ("Command", self.cmd_text), ("ResultCode", str(code)),
            ("Result", result)], "agi,all")
        if self.dead and not self.hangup_sent:
            self.hangup_sent = True
            self._send("HANGUP\n")
        self._wait(True)
        self.replied.set()

    def c_answer(self, args: list[str]) -> None:
        if self.ch.state != UP:
            self.engine.answer(self.ch)
        self.reply("200 result=0\n")

    def _stream(self, prompts: list[str], escape: str, form: str,
                after: Callable[[str, int], None] | None = None) -> None:
        """Play prompts; reply with ``form`` (result, endpos) unless ``after`` takes over."""
        media = self.engine.media
        if any(media.duration(p) is None for p in prompts):
            self.reply(form.format(-1, 0))
            return

        def done(digit: str, endpos: int) -> None:
            if after is not None:
                after(digit, endpos)
                return
            if "endpos" in form:  # STREAM FILE reports how the playback ended
                self.engine.set_var(self.ch, "PLAYBACKSTATUS", "FAILED" if digit else "SUCCESS")
            self.reply(form.format(ord(digit) if digit else 0, endpos))

        cancel = media.play(self.ch, prompts, escape, done)

        def on_hangup() -> None:
            self.reply(form.format(-1, cancel()))

        self.cancel_running = on_hangup

    def c_stream_file(self, args: list[str]) -> None:
        self._stream([args[0]], args[1] if len(args) > 1 else "",
                     "200 result={} endpos={}\n")

    c_control_stream_file = c_stream_file

    def c_get_option(self, args: list[str]) -> None:
        escape = args[1] if len(args) > 1 else ""
        timeout = float(args[2]) / 1000 if len(args) > 2 and float(args[2]) > 0 else 5.0

        def after(digit: str, endpos: int) -> None:
            if digit:
                self.reply(f"200 result={ord(digit)} endpos={endpos}\n")
                return
            self._wait_digit(escape, timeout, f" endpos={endpos}")

        self._stream([args[0]], escape, "200 result={} endpos={}\n", after)

    def c_wait_for_digit(self, args: list[str]) -> None:
        ms = float(args[0]) if args else -1
        self._wait_digit(ANY_DIGIT, ms / 1000 if ms >= 0 else None, "")

    def _wait_digit(self, escape: str, timeout: float | None, suffix: str) -> None:
        ch, eng = self.ch, self.engine
        timer = None

        def finish(d: str) -> None:
            if timer is not None:
                timer.cancel()
            ch.extra.pop("dtmf_sink", None)
            self.reply(f"200 result={ord(d) if d else 0}{suffix}\n")

        def on_digit(d: str) -> None:
            if d in escape:
                finish(d)

        ch.extra["dtmf_sink"] = on_digit
        if timeout is not None:
            timer = eng.sched.call_later(timeout, finish, "")

        def on_hangup() -> None:
            if timer is not None:
                timer.cancel()
            ch.extra.pop("dtmf_sink", None)
            self.reply(f"200 result=-1{suffix}\n")

        self.cancel_running = on_hangup

    def c_get_data(self, args: list[str]) -> None:
        """As ast_app_getdata_full: the prompt (any key stops it, and is the first digit), then
        keys until ``#``, the maximum or the timeout; an empty file name plays nothing."""
        timeout = float(args[1]) / 1000 if len(args) > 1 and float(args[1]) > 0 else 5.0
        maxdigits = int(args[2]) if len(args) > 2 and int(args[2]) > 0 else 1024

        def after(first: str, endpos: int) -> None:
            def done(digits: str, timed_out: bool) -> None:
                self.reply(f"200 result={digits}{' (timeout)' if timed_out else ''}\n")

            cancel = self.engine.media.collect(self.ch, first, maxdigits, timeout, done)

            def on_hangup() -> None:
                cancel()
                self.reply("200 result=-1\n")

            self.cancel_running = on_hangup

        if not args[0]:
            after("", 0)
            return
        self._stream([args[0]], ANY_DIGIT, "200 result={}\n", after)

    def c_say_digits(self, args: list[str]) -> None:
        names = {"*": "digits/star", "#": "digits/pound", "-": "digits/minus"}
        prompts = [f"digits/{c}" if c.isdigit() else names.get(c, f"letters/{c.lower()}")
                   for c in args[0]]
        self._stream(prompts, args[1] if len(args) > 1 else "", "200 result={}\n")

    c_say_alpha = c_say_digits

    def c_say_number(self, args: list[str]) -> None:
        number = int(args[0])
        self._stream(number_prompts(number), args[1] if len(args) > 1 else "",
                     "200 result={}\n")

    def c_set_variable(self, args: list[str]) -> None:
        self.engine.set_var(self.ch, args[0], args[1] if len(args) > 1 else "")
        self.reply("200 result=1\n")

    def c_get_variable(self, args: list[str]) -> None:
        value = lookup(self.pbx, args[0])
        self.reply("200 result=0\n" if value is None else f"200 result=1 ({value})\n")

    def c_get_full_variable(self, args: list[str]) -> None:
        self.reply(f"200 result=1 ({expand(self.ch, args[0])})\n")

    def c_verbose(self, args: list[str]) -> None:
        self.reply("200 result=1\n")

    def c_noop(self, args: list[str]) -> None:
        self.reply("200 result=0\n")

    def c_channel_status(self, args: list[str]) -> None:
        ch = self.engine.find_channel(args[0]) if args else self.ch
        self.reply(f"200 result={ch.state}\n" if ch is not None else "200 result=-1\n")

    def c_set_context(self, args: list[str]) -> None:
        self.pbx.context = self.ch.context = args[0]
        self.reply("200 result=0\n")

    def c_set_extension(self, args: list[str]) -> None:
        self.pbx.exten = self.ch.exten = args[0]
        self.reply("200 result=0\n")

    def c_set_priority(self, args: list[str]) -> None:
        self.pbx.priority = self.ch.priority = int(args[0])
        self.reply("200 result=0\n")

    def c_set_callerid(self, args: list[str]) -> None:
        text = args[0]
        name, _, num = text.rpartition("<")
        self.engine.set_callerid(self.ch, num.rstrip(">") if _ else text,
                                 name.strip().strip('"') if _ else self.ch.cid_name)
        self.reply("200 result=1\n")

    def c_database_get(self, args: list[str]) -> None:
        value = self.engine.astdb.get(f"/{args[0]}/{args[1]}")
        self.reply("200 result=0\n" if value is None else f"200 result=1 ({value})\n")

    def c_database_put(self, args: list[str]) -> None:
        self.engine.astdb[f"/{args[0]}/{args[1]}"] = args[2]
        self.reply("200 result=1\n")

    def c_database_del(self, args: list[str]) -> None:
        found = self.engine.astdb.pop(f"/{args[0]}/{args[1]}", None) is not None
        self.reply(f"200 result={int(found)}\n")

    def c_hangup(self, args: list[str]) -> None:
        if args and args[0] != self.ch.name:
            other = self.engine.find_channel(args[0])
            if other is None:
                self.reply("200 result=-1\n")
                return
            self.engine.request_hangup(other)
            self.reply("200 result=1\n")
            return
        self.engine.soft_hangup_request(self.ch, 32)
        self.dead = self.explicit_hangup = True
        self.reply("200 result=1\n")

    def c_exec(self, args: list[str]) -> None:
        app = APPS.get(args[0].lower())
        data = args[1] if len(args) > 1 else ""
        if app is None:
            self.reply("200 result=-2\n")
            return
        pbx = self.pbx

        def done() -> None:
            self.reply("200 result=0\n")

        def on_hangup() -> None:
            self.reply("200 result=-1\n")

        pbx.app_done = done
        self.cancel_running = on_hangup
        if app(pbx, data, Step(args[0], data)):
            pbx.app_done = None
            done()

    def c_record_file(self, args: list[str]) -> None:
        from .engine.features import write_wav

        name, fmt, escape = args[0], args[1], args[2]
        timeout = float(args[3]) / 1000 if float(args[3]) > 0 else None
        eng, ch = self.engine, self.ch
        started = eng.sched.now()
        timer = None

        def finish(d: str, result: str) -> None:
            if timer is not None:
                timer.cancel()
            ch.extra.pop("dtmf_sink", None)
            secs = eng.sched.now() - started
            import os

            path = name if os.path.isabs(name) else os.path.join(eng.recordings_dir, name)
            write_wav(f"{path}.{fmt}" if fmt == "wav" else f"{path}.wav", max(0.1, secs))
            self.reply(f"200 result={result} endpos={int(secs * 8000)}\n")

        def on_digit(d: str) -> None:
            if d in escape:
                finish(d, f"{ord(d)} (dtmf)")

        ch.extra["dtmf_sink"] = on_digit
        if timeout is not None:
            timer = eng.sched.call_later(timeout, finish, "", "0 (timeout)")
        self.cancel_running = lambda: finish("", "-1 (hangup)")

    # -- the channel going away, the session ending ----------------------------------------
    def _hung_up(self, cause: int) -> None:
        """The channel was hung up (or an EXEC'd application ended it): commands now get -1
        and 511, the script is told HANGUP, the channel goes when the script closes."""
        if self.over:
            return
        self.pbx.end_hook = self._hung_up
        if self.dead and self.cancel_running is None:
            return
        self.dead = True
        self.cause = cause
        self.ch.extra.pop("dtmf_sink", None)
        if self.cancel_running is not None:
            cancel, self.cancel_running = self.cancel_running, None
            self.pbx.app_done = None
            cancel()
        elif not self.hangup_sent:
            self.hangup_sent = True
            self._send("HANGUP\n")

    def _finish(self, connected: bool) -> None:
        if self.over:
            return
        self.over = True
        eng, ch, pbx = self.engine, self.ch, self.pbx
        pbx.end_hook = None
        if pbx.finished or ch.dead:
            return
        if not connected:
            eng.set_var(ch, "AGISTATUS", "FAILURE")
            pbx.resume()
        elif not self.dead:
            eng.set_var(ch, "AGISTATUS", "SUCCESS")
            pbx.resume()
        else:
            eng.set_var(ch, "AGISTATUS", "HANGUP")
            self._teardown()

    def _teardown(self) -> None:
        """Destroy the channel as Asterisk did after an AGI HANGUP: the Local other half is
        asked (cause 0) and goes first, then this one."""
        eng, ch, pbx = self.engine, self.ch, self.pbx
        cause = 0 if self.explicit_hangup else self.cause
        peer = ch.local_peer
        if peer is None or peer.dead or peer.extra.get("hangup_requested"):
            pbx.end(cause)
            return
        pbx.finished = True
        eng.soft_hangup_request(ch, 16)
        ch.extra["hangup_requested"] = True
        peer.extra["hangup_requested"] = True
        peer.extra["req_cause"] = 0
        eng.chan_event("HangupRequest", peer, [("Cause", "0")])
        if peer.pbx is not None and not peer.pbx.finished:
            peer.pbx.hangup_requested()
        else:
            eng.hangup(peer, 0)
        eng.hangup(ch, cause)
