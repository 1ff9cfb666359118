"""A small dialplan interpreter: contexts of extensions, priorities of applications.

The lab configuration (lab-config/extensions.conf) is written here as data, with the few
expressions it uses (${EXTEN}, ${IF($["${X}"=""]?default:${X})}) evaluated by ``expand``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .channels import UP, Channel

if TYPE_CHECKING:
    from .core import Engine


@dataclass
class Step:
    app: str
    data: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)

    def add(self, context: str, pattern: str, steps: list[Step]) -> None:
        self.contexts.setdefault(context, {})[pattern] = steps

    def lookup(self, context: str, exten: str) -> list[Step] | None:
        ctx = self.contexts.get(context)
        if ctx is None:
            return None
        if exten in ctx:
            return ctx[exten]
        for pattern, steps in ctx.items():
            if pattern.startswith("_") and _pattern_match(pattern[1:], exten):
                return steps
        return None

    def exists(self, context: str, exten: str) -> bool:
        return self.lookup(context, exten) is not None


_CLASS = re.compile(r"\[([0-9A-Za-z*#+-]+)\]")


def _pattern_match(pattern: str, exten: str) -> bool:
    """Asterisk's pattern letters and character classes (``[12]``, ``[0-9+]``)."""
    rx, i = "", 0
    while i < len(pattern):
        cls = _CLASS.match(pattern, i)
        if cls is not None:
            rx += "[" + "".join(c if c == "-" else re.escape(c) for c in cls.group(1)) + "]"
            i = cls.end()
            continue
        c = pattern[i]
        rx += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(c, re.escape(c))
        i += 1
    return re.fullmatch(rx, exten) is not None


_IF_DEFAULT = re.compile(r"\$\{IF\(\$\[\"\$\{(\w+)\}\"=\"\"\]\?([^:]*):\$\{\1\}\)\}")
_VAR = re.compile(r"\$\{([\w()]+)\}")
_SUBSTRING = re.compile(r"\$\{(\w+):(-?\d+)(?::(\d+))?\}")


def expand(ch: Channel, text: str) -> str:
    """Substitute the variable forms the lab dialplan uses."""

    def if_default(m: re.Match[str]) -> str:
        val = ch.get_var(m.group(1)) or ""
        return val if val else m.group(2)

    text = _IF_DEFAULT.sub(if_default, text)

    def substring(m: re.Match[str]) -> str:
        """``${NAME:offset[:length]}`` (``${EXTEN:1}``)."""
        value = ch.exten if m.group(1) == "EXTEN" else ch.get_var(m.group(1)) or ""
        start = int(m.group(2))
        value = value[start:] if start >= 0 else value[len(value) + start:]
        return value[:int(m.group(3))] if m.group(3) is not None else value

    text = _SUBSTRING.sub(substring, text)

    def var(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "EXTEN":
            return ch.exten
        if name == "CONTEXT":
            return ch.context
        if name == "CALLERID(num)":
            return ch.cid_num
        return ch.get_var(name) or ""

    return _VAR.sub(var, text)


def _std(var_default: str) -> str:
    """``${IF($["${VAR}"=""]?default:${VAR})}`` for ``VAR:default``."""
    var, default = var_default.split(":")
    return '${IF($["${' + var + '}"=""]?' + default + ":${" + var + "})}"


def lab_dialplan(agi_url: str = "agi://127.0.0.1:4573/ivr") -> Dialplan:
    """The lab's extensions.conf, so pbxsim runs the same steps Asterisk ran in the captures."""
    dp = Dialplan()
    dp.add("agent-phones", "_XXXX", [
        Step("NoOp", "phone ${EXTEN} ringing"), Step("Wait", "2"), Step("Answer"),
        Step("Wait", _std("PHONETIME:60")), Step("Hangup")])
    dp.add("from-pstn", "4000", [
        Step("NoOp", "inbound support line"), Step("Answer"), Step("Queue", "support,t,,,120"),
        Step("Hangup")])
    dp.add("from-pstn", "4100", [
        Step("NoOp", "inbound IVR line"), Step("Answer"),
        Step("AGI", agi_url), Step("Hangup")])
    dp.add("callers", "talk", [
        Step("Answer", options={"delay": 0.02}), Step("Wait", _std("CALLTIME:20")),
        Step("Hangup")])
    dp.add("callers", "dtmf", [
        Step("Answer", options={"delay": 0.02}), Step("Wait", "3"),
        Step("SendDTMF", "${DIGITS},250"), Step("Wait", _std("CALLTIME:10")), Step("Hangup")])
    dp.add("callers", "script", [
        Step("Answer", options={"delay": 0.02}), Step("CallerScript", "${SCRIPT}"),
        Step("Wait", _std("CALLTIME:10")), Step("Hangup")])
    dp.add("outbound", "_X.", [
        Step("NoOp", "verification call to ${EXTEN}"),
        Step("Dial", "Local/${EXTEN}@pstn-out,30"), Step("Hangup")])
    dp.add("pstn-out", "_X.", [
        Step("NoOp", "premises ${EXTEN} ringing"), Step("Wait", "3"), Step("Answer"),
        Step("Wait", _std("PREMTIME:8")), Step("Hangup")])
    dp.add("slow-phones", "_XXXX", [Step("Wait", "120")])
    dp.add("parkedcalls", "700", [Step("Park")])
    return dp


App = Callable[["Pbx", str, Step], bool]
"""An application: returns True when done (go on at once), False when it will resume()."""


class Pbx:
    """Runs a channel through the dialplan, one priority at a time."""

    def __init__(self, engine: Engine, ch: Channel, context: str, exten: str, priority: int = 1,
                 steps: list[Step] | None = None) -> None:
        self.engine, self.ch = engine, ch
        self.context, self.exten, self.priority = context, exten, priority
        self.steps = steps if steps is not None else engine.dialplan.lookup(context, exten) or []
        self.timer: Any = None
        self.cleanup: Callable[[], None] | None = None  # what the running app does on hangup
        self.bridged: bool = False  # the running app keeps this channel in a bridge
        self.finished = False
        self.hangup_pending = False
        self.single_app = False
        # set while an application runs on behalf of another (AGI's EXEC): its completion and
        # the channel's end are reported to the caller instead of moving the dialplan on
        self.app_done: Callable[[], None] | None = None
        self.end_hook: Callable[[int], None] | None = None
        self.extra_timer: Any = None  # a timer an application keeps outside the dialplan's
        ch.pbx = self

    def start(self) -> None:
        self.ch.context, self.ch.exten, self.ch.priority = self.context, self.exten, self.priority
        self.run()

    def bridged_app_active(self) -> bool:
        return self.bridged and not self.finished

    def goto(self, context: str, exten: str, priority: int = 1) -> None:
        """Redirect / transfer: continue at another place (the running app is abandoned)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.cleanup = None
        self.bridged = False
        self.context, self.exten, self.priority = context, exten, priority
        self.steps = self.engine.dialplan.lookup(context, exten) or []
        self.single_app = False
        self.ch.context, self.ch.exten, self.ch.priority = context, exten, priority
        self.engine.sched.call_later(0, self.run)

    def run(self) -> None:
        """Execute priorities until an application blocks or the extension ends."""
        while not self.finished:
            if self.ch.dead:
                self.finished = True
                return
            if self.hangup_pending:
                self.end()
                return
            idx = self.priority - 1
            if idx >= len(self.steps):
                self.end()
                return
            step = self.steps[idx]
            if not step_applies(self.ch, step):
                self.priority += 1
                continue
            data = expand(self.ch, step.data)
            ch = self.ch
            ch.context, ch.exten, ch.priority = self.context, self.exten, self.priority
            self.ch.appl, self.ch.data = step.app, data
            self.engine.chan_event("Newexten", self.ch, [
                ("Extension", self.exten), ("Application", step.app), ("AppData", data)],
                "dialplan,all")
            app = APPS.get(step.app.lower())
            done = True if app is None else app(self, data, step)
            if not done:
                return
            self.priority += 1

    def resume(self, delay: float = 0.0) -> None:
        """The blocking application finished: go on with the next priority."""
        self.cleanup = None
        self.bridged = False
        if self.finished:
            return
        if self.app_done is not None:
            cb, self.app_done = self.app_done, None
            if delay > 0:
                self.timer = self.engine.sched.call_later(delay, self._app_done_now, cb)
            else:
                cb()
            return
        self.priority += 1
        if delay > 0:
            self.timer = self.engine.sched.call_later(delay, self._resume_now)
        else:
            self.run()

    def _app_done_now(self, cb: Callable[[], None]) -> None:
        self.timer = None
        cb()

    def _resume_now(self) -> None:
        self.timer = None
        self.run()

    def hangup_requested(self) -> None:
        """The far side or a manager asked this channel to hang up."""
        if self.finished:
            return
        self.hangup_pending = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        cb = self.cleanup
        self.cleanup = None
        if cb is not None:
            cb()
            return  # the app calls end() (or resume()) when it has cleaned up
        self.end(int(self.ch.extra.get("req_cause", 16)))

    def end(self, cause: int = 16) -> None:
        if self.finished:
            return
        if self.end_hook is not None:
            hook, self.end_hook = self.end_hook, None
            hook(cause)
            return
        self.finished = True
        if not self.ch.dead:
            self.engine.soft_hangup_request(self.ch, 16)
            before = self.ch.extra.pop("before_hangup", None)
            if before is not None:
                cause = before(cause)
            self.engine.hangup(self.ch, cause)


# -- applications -----------------------------------------------------------------------


def app_noop(pbx: Pbx, data: str, step: Step) -> bool:
    return True


def app_answer(pbx: Pbx, data: str, step: Step) -> bool:
    ch = pbx.ch
    if ch.state == UP:
        return True
    pbx.engine.answer(ch)
    delay = float(step.options.get("delay", 0.5))
    pbx.resume(delay)
    return False


def app_wait(pbx: Pbx, data: str, step: Step) -> bool:
    try:
        secs = float(data or 0)
    except ValueError:
        secs = 0.0
    pbx.timer = pbx.engine.sched.call_later(secs, pbx_resume_from_timer, pbx)
    return False


def pbx_resume_from_timer(pbx: Pbx) -> None:
    pbx.timer = None
    pbx.resume()


def app_hangup(pbx: Pbx, data: str, step: Step) -> bool:
    """Hangup([cause]): without a cause the channel keeps the one it has (a failed Dial leaves
    the far end's: 17 after a busy premises, 3 when there was no route)."""
    cause = int(data) if data.strip().isdigit() else int(pbx.ch.extra.get("hangupcause", 16))
    pbx.end(cause)
    return False


def step_applies(ch: Channel, step: Step) -> bool:
    """``Step(..., options={"when": "VAR=value"})`` runs only when the channel's variable has
    that value (``VAR!=value``: any other): pbxsim's stand-in for the ``GotoIf`` around a
    priority in extensions.conf."""
    when = step.options.get("when")
    if not when:
        return True
    name, _, value = str(when).partition("=")
    if name.endswith("!"):
        return (ch.get_var(name[:-1]) or "") != value
    return (ch.get_var(name) or "") == value


#: applications a handler (pre-dial, hangup) may run: they finish at once
_INSTANT_APPS = {"noop", "set"}


def run_instant(engine: Engine, ch: Channel, target: str) -> None:
    """Run a handler subroutine (``context,exten,priority``) on ``ch`` until ``Return``: a
    pre-dial handler (Dial's ``b()``) on the new channel before it is called, or a hangup
    handler (``CHANNEL(hangup_handler_push)``) before the channel's Hangup event. Newexten for
    each priority; only instant applications."""
    ctx, _, rest = target.partition(",")
    exten, _, prio = rest.partition(",")
    exten = exten or "s"
    start = int(prio) if prio.strip().isdigit() else 1
    steps = engine.dialplan.lookup(ctx, exten) or []
    saved = (ch.context, ch.exten, ch.priority)
    for priority, step in enumerate(steps[start - 1:], start=start):
        app = step.app.lower()
        if app == "return":
            break
        if app not in _INSTANT_APPS or not step_applies(ch, step):
            continue
        data = expand(ch, step.data)
        ch.context, ch.exten, ch.priority = ctx, exten, priority
        engine.chan_event("Newexten", ch, [("Extension", exten), ("Application", step.app),
                                           ("AppData", data)], "dialplan,all")
        if app == "set":
            set_on(engine, ch, data)
    ch.context, ch.exten, ch.priority = saved


def _push_hangup_handler(engine: Engine, ch: Channel, target: str) -> None:
    previous = ch.extra.get("pre_hangup")

    def run() -> None:
        if previous is not None:
            previous()
        run_instant(engine, ch, target)

    ch.extra["pre_hangup"] = run


def set_on(engine: Engine, ch: Channel, data: str) -> None:
    """``Set(NAME=value)`` on ``ch``: a channel variable (VarSet), ``CALLERID(num|name)``,
    ``CHANNEL(hangup_handler_push)`` (a handler run before the Hangup event), or
    ``PJSIP_HEADER(add,Name)``, which is kept on the channel for the SIP phone to read (the
    INVITE's header; no AMI event)."""
    name, sep, value = data.partition("=")
    if not sep:
        return
    name = name.strip()
    upper = name.upper()
    if upper == "CHANNEL(HANGUP_HANDLER_PUSH)":
        _push_hangup_handler(engine, ch, value)
    elif upper in ("CALLERID(NUM)", "CALLERID(NAME)"):
        num, cid_name = ch.cid_num, ch.cid_name
        if upper.endswith("(NUM)"):
            num = value
        else:
            cid_name = value
        engine.set_callerid(ch, num, cid_name)
    elif upper.startswith("PJSIP_HEADER(") and upper.endswith(")"):
        _, _, header = name[len("PJSIP_HEADER("):-1].partition(",")
        ch.extra.setdefault("sip_headers", {})[header.strip()] = value.replace("\\;", ";")
    else:
        engine.set_var(ch, name, value)


def app_set(pbx: Pbx, data: str, step: Step) -> bool:
    set_on(pbx.engine, pbx.ch, data)
    return True


def app_busy(pbx: Pbx, data: str, step: Step) -> bool:
    pbx.engine.busy(pbx.ch)
    pbx.end(17)
    return False


def app_senddtmf(pbx: Pbx, data: str, step: Step) -> bool:
    """SendDTMF(digits,gap_ms): the other side receives them (a Local pair's other half)."""
    parts = data.split(",")
    gap = float(parts[1]) / 1000 if len(parts) > 1 and parts[1].strip().isdigit() else 0.25
    took = pbx.engine.media.send_dtmf(pbx.ch, parts[0], gap)
    pbx.resume(took)
    return False


def app_callerscript(pbx: Pbx, data: str, step: Step) -> bool:
    """A simulated caller's keypresses: ``delay:digits;delay:digits`` (delays after the
    previous step), sent like SendDTMF."""
    total = 0.0
    for item in filter(None, data.split(";")):
        delay, _, digits = item.partition(":")
        total += float(delay or 0)
        pbx.engine.later(total, _send_if_up, pbx, digits)
        total += len(digits) * 0.35
    pbx.resume(total)
    return False


def _send_if_up(pbx: Pbx, digits: str) -> None:
    if not pbx.ch.dead and not pbx.finished:
        pbx.engine.media.send_dtmf(pbx.ch, digits)


def app_queue(pbx: Pbx, data: str, step: Step) -> bool:
    return pbx.engine.queues.app_queue(pbx, data)


def app_dial(pbx: Pbx, data: str, step: Step) -> bool:
    from .dial import app_dial as dial

    return dial(pbx, data)


def app_chanspy(pbx: Pbx, data: str, step: Step) -> bool:
    return pbx.engine.features.app_chanspy(pbx, data)


def app_playback(pbx: Pbx, data: str, step: Step) -> bool:
    """Playback(file1&file2,options): plays for the prompts' durations; PLAYBACKSTATUS."""
    files = data.split(",")[0].split("&")
    durations = [pbx.engine.prompt_duration(f) for f in files]
    ok = all(d is not None for d in durations)
    total = sum(d or 0.0 for d in durations)

    def done() -> None:
        pbx.engine.set_var(pbx.ch, "PLAYBACKSTATUS", "SUCCESS" if ok else "FAILED")
        pbx.resume()

    pbx.timer = pbx.engine.sched.call_later(total, _timer_then, pbx, done)
    return False


def _timer_then(pbx: Pbx, fn: Callable[[], None]) -> None:
    pbx.timer = None
    fn()


def app_record(pbx: Pbx, data: str, step: Step) -> bool:
    """Record(file.fmt,silence,maxduration,options): until '#', maxduration or hangup; writes a
    playable WAV and sets RECORDED_FILE / RECORD_STATUS."""
    import os

    from .features import write_wav

    eng, ch = pbx.engine, pbx.ch
    parts = data.split(",")
    name, _, fmt = parts[0].partition(".")
    if "%d" in name:
        n = 0
        while os.path.exists(os.path.join(eng.recordings_dir, f"{name % n}.{fmt or 'wav'}")):
            n += 1
        name = name % n
    maxdur = float(parts[2]) if len(parts) > 2 and parts[2].strip().isdigit() else 0.0
    path = name if os.path.isabs(name) else os.path.join(eng.recordings_dir, name)
    started = eng.sched.now()

    def finish(status: str) -> None:
        ch.extra.pop("dtmf_sink", None)
        write_wav(f"{path}.wav", max(0.1, eng.sched.now() - started))
        eng.set_var(ch, "RECORDED_FILE", name)
        eng.set_var(ch, "RECORD_STATUS", status)

    def on_digit(d: str) -> None:
        if d == "#":
            if pbx.timer is not None:
                pbx.timer.cancel()
                pbx.timer = None
            finish("DTMF")
            pbx.resume()

    def hung_up() -> None:
        finish("HANGUP")
        pbx.end()

    ch.extra["dtmf_sink"] = on_digit
    pbx.cleanup = hung_up
    if maxdur > 0:
        def timed_out() -> None:
            finish("TIMEOUT")
            pbx.resume()

        pbx.timer = eng.sched.call_later(maxdur, _timer_then, pbx, timed_out)
    return False


def app_agi(pbx: Pbx, data: str, step: Step) -> bool:
    """AGI(agi://host[:port][/script][,args]): a FastAGI session drives the channel."""
    from ..fastagi import start_agi

    return start_agi(pbx, data)


APPS: dict[str, App] = {
    "noop": app_noop,
    "answer": app_answer,
    "wait": app_wait,
    "hangup": app_hangup,
    "set": app_set,
    "busy": app_busy,
    "senddtmf": app_senddtmf,
    "queue": app_queue,
    "dial": app_dial,
    "chanspy": app_chanspy,
    "playback": app_playback,
    "agi": app_agi,
    "record": app_record,
    "callerscript": app_callerscript,
}
