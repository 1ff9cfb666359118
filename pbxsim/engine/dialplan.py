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


def _pattern_match(pattern: str, exten: str) -> bool:
    rx = ""
    for c in pattern:
        rx += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(c, re.escape(c))
    return re.fullmatch(rx, exten) is not None


_IF_DEFAULT = re.compile(r"\$\{IF\(\$\[\"\$\{(\w+)\}\"=\"\"\]\?([^:]*):\$\{\1\}\)\}")
_VAR = re.compile(r"\$\{([\w()]+)\}")


def expand(ch: Channel, text: str) -> str:
    """Substitute the variable forms the lab dialplan uses."""

    def if_default(m: re.Match[str]) -> str:
        val = ch.variables.get(m.group(1), "")
        return val if val else m.group(2)

    text = _IF_DEFAULT.sub(if_default, text)

    def var(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "EXTEN":
            return ch.exten
        if name == "CONTEXT":
            return ch.context
        if name == "CALLERID(num)":
            return ch.cid_num
        return ch.variables.get(name, "")

    return _VAR.sub(var, text)


def _std(var_default: str) -> str:
    """``${IF($["${VAR}"=""]?default:${VAR})}`` for ``VAR:default``."""
    var, default = var_default.split(":")
    return '${IF($["${' + var + '}"=""]?' + default + ":${" + var + "})}"


def lab_dialplan() -> Dialplan:
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
        Step("AGI", "agi://127.0.0.1:4573/ivr"), Step("Hangup")])
    dp.add("callers", "talk", [
        Step("Answer", options={"delay": 0.02}), Step("Wait", _std("CALLTIME:20")),
        Step("Hangup")])
    dp.add("callers", "dtmf", [
        Step("Answer", options={"delay": 0.02}), Step("Wait", "3"),
        Step("SendDTMF", "${DIGITS},250"), Step("Wait", _std("CALLTIME:10")), Step("Hangup")])
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
        self.priority += 1
        if delay > 0:
            self.timer = self.engine.sched.call_later(delay, self._resume_now)
        else:
            self.run()

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
        self.finished = True
        if not self.ch.dead:
            self.engine.soft_hangup_request(self.ch, 16)
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
    cause = int(data) if data.strip().isdigit() else 16
    pbx.end(cause)
    return False


def app_busy(pbx: Pbx, data: str, step: Step) -> bool:
    pbx.engine.busy(pbx.ch)
    pbx.end(17)
    return False


def app_senddtmf(pbx: Pbx, data: str, step: Step) -> bool:
    digits = data.split(",")[0]
    eng = pbx.engine
    for d in digits:
        eng.chan_event("DTMFBegin", pbx.ch, [("Digit", d), ("Direction", "Sent")], "dtmf,all")
        eng.chan_event("DTMFEnd", pbx.ch, [("Digit", d), ("DurationMs", "250"),
                                             ("Direction", "Sent")], "dtmf,all")
    pbx.resume(0.25 * len(digits))
    return False


def app_queue(pbx: Pbx, data: str, step: Step) -> bool:
    return pbx.engine.queues.app_queue(pbx, data)


def app_dial(pbx: Pbx, data: str, step: Step) -> bool:
    from .dial import app_dial as dial

    return dial(pbx, data)


def app_chanspy(pbx: Pbx, data: str, step: Step) -> bool:
    return pbx.engine.features.app_chanspy(pbx, data)


def app_playback(pbx: Pbx, data: str, step: Step) -> bool:
    pbx.resume(1.0)
    return False


def app_agi(pbx: Pbx, data: str, step: Step) -> bool:
    """FastAGI is not implemented yet: the call goes on as if the script returned."""
    return True


APPS: dict[str, App] = {
    "noop": app_noop,
    "answer": app_answer,
    "wait": app_wait,
    "hangup": app_hangup,
    "busy": app_busy,
    "senddtmf": app_senddtmf,
    "queue": app_queue,
    "dial": app_dial,
    "chanspy": app_chanspy,
    "playback": app_playback,
    "agi": app_agi,
}
