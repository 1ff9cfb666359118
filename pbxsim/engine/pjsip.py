"""Dial() to PJSIP endpoints: an agent's phone (``PJSIP/1001``) and the carrier trunk
(``PJSIP/<number>@trunk``), as app_dial and chan_pjsip show them on AMI in Asterisk 22.

One real channel per call (no Local pair). What the dialling channel sees follows app_dial.c and
the lab's verify_* captures (asterisk-config against a SIP carrier):

* answered: ``Newstate Up`` on the far channel, ``DIALSTATUS=ANSWER``, ``DialEnd ANSWER``, both
  bridged; the far end hanging up ends the caller's call too;
* ``180 Ringing``: ``Newstate Ringing`` and ``DialState RINGING``;
* ``486 Busy`` / ``503``: ``HangupRequest`` (17 / 34), ``DialEnd BUSY`` / ``CONGESTION``,
  ``DIALSTATUS`` the same, the far channel's ``Hangup``; the caller keeps the cause;
* a far end that hangs up before answering with another cause (``404`` → 1, ``480`` → 19):
  ``DialEnd`` says ``ast_hangup_cause_to_dial_status(cause)`` (NOANSWER for both) while
  ``DIALSTATUS`` follows ``handle_cause`` (CHANUNAVAIL for 1, NOANSWER for 19);
* the Dial timeout: ``DialEnd NOANSWER``, ``DIALSTATUS=NOANSWER``, the far channel is hung up
  (cause 0) after the caller went on;
* no channel at all (the trunk cannot be reached, an unknown endpoint): no DialBegin, only
  ``DIALSTATUS=CHANUNAVAIL``, the caller's cause 3 (no route);
* the caller hangs up first: ``DialEnd CANCEL``.

Options: ``b(context^exten^priority)``, the pre-dial handler, runs on the new channel before it
is called (asterisk-config's ``vigil-autoanswer`` adds the ``Call-Info`` auto-answer header;
:func:`pbxsim.engine.dialplan.run_instant`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .channels import RINGING, UP, Channel
from .dialplan import Pbx, run_instant
from .phones import TrunkScript

if TYPE_CHECKING:
    from .core import Engine

_PREDIAL = re.compile(r"b\(([^)]*)\)")
NO_ROUTE, NORMAL, BUSY_CAUSE, NO_ANSWER, CONGESTION = 3, 16, 17, 19, 34
#: the cause a premises number's failure hangs the far channel up with
FAIL_CAUSES = {"busy": BUSY_CAUSE, "congestion": CONGESTION, "invalid": 1, "absent": NO_ANSWER}


def cause_to_dial_status(cause: int) -> str:
    """main/dial.c ast_hangup_cause_to_dial_status: what DialEnd says of a far hangup."""
    if cause == BUSY_CAUSE:
        return "BUSY"
    if cause == CONGESTION:
        return "CONGESTION"
    if cause in (NO_ROUTE, 20):  # no route, unregistered
        return "CHANUNAVAIL"
    return "NOANSWER"


def dialstatus_of_cause(cause: int) -> str:
    """app_dial's handle_cause, for one destination: what DIALSTATUS ends up as."""
    if cause == BUSY_CAUSE:
        return "BUSY"
    if cause == CONGESTION:
        return "CONGESTION"
    if cause in (NO_ANSWER, NORMAL, 0):
        return "NOANSWER"
    return "CHANUNAVAIL"


def parse_pjsip(dest: str) -> tuple[str, str | None]:
    """``PJSIP/1001`` -> (``1001``, None); ``PJSIP/139@trunk`` -> (``trunk``, ``139``)."""
    target = dest.split("/", 1)[1] if "/" in dest else dest
    number, at, endpoint = target.partition("@")
    return (endpoint, number) if at else (number, None)


def dial_pjsip(pbx: Pbx, parts: list[str], started: float) -> bool:
    """``Dial(PJSIP/…[,timeout[,options]])`` on ``pbx``'s channel; see the module docstring."""
    eng, caller = pbx.engine, pbx.ch
    dest = parts[0]
    timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else 0.0
    options = parts[2] if len(parts) > 2 else ""
    phones = eng.phones
    endpoint, number = parse_pjsip(dest) if dest.upper().startswith("PJSIP/") else ("", None)
    script: TrunkScript | None = None
    if endpoint == phones.trunk_endpoint and number:
        script = phones.script_for(number)
        context = phones.trunk_context
    else:
        context = phones.endpoints.get(endpoint, "")
    if not context or (script is not None and script.outcome == "unavailable"):
        # the channel cannot even be created: no DialBegin, no DialEnd
        caller.extra["hangupcause"] = NO_ROUTE
        eng.set_var(caller, "DIALSTATUS", "CHANUNAVAIL")
        return True
    far = eng.simple_channel(f"PJSIP/{endpoint}", context, "s", linkedid=caller.linkedid)
    for name, value in far.inherit_from(caller):
        eng.chan_event("VarSet", far, [("Variable", name), ("Value", value)], "dialplan,all")
    if caller.local_peer is not None and caller.local_peer.extra.get("originated"):
        far.extra["originated"] = True  # the user's own phone, rung for an Originate
    handler = _PREDIAL.search(options)
    if handler is not None:
        run_instant(eng, far, handler.group(1).replace("^", ","))
    if number is not None:
        far.exten = number
        eng.set_callerid(far, number, "")
        eng.set_connected(far, caller.cid_num, caller.cid_name)
    dial = OneDial(pbx, far, f"{number}@{endpoint}" if number else endpoint, started)
    dial.begin(timeout)
    if script is not None:
        TrunkCall(dial, script).start()
    else:
        dial.ringing()
        phones.endpoint_ringing(endpoint, far)
    return False


class OneDial:
    """app_dial with one destination channel that is not a Local pair."""

    def __init__(self, pbx: Pbx, far: Channel, dialstring: str, started: float) -> None:
        self.pbx, self.far, self.dialstring, self.started = pbx, far, dialstring, started
        self.eng: Engine = pbx.engine
        self.caller = pbx.ch
        self.timer: Any = None
        self.answered_at: float | None = None
        self.over = False

    def _dial_event(self, event: str, status: str | None = None) -> None:
        extra = [("DialStatus", status)] if status is not None else [
            ("DialString", self.dialstring)]
        self.eng.emit(event, "call,all", self.caller.snapshot() + self.far.snapshot("Dest")
                      + extra)

    def _vars(self, status: str) -> None:
        eng, now = self.eng, self.eng.sched.now()
        if self.answered_at is not None:
            talk = now - self.answered_at
            eng.set_var(self.caller, "ANSWEREDTIME", str(int(talk)))
            eng.set_var(self.caller, "ANSWEREDTIME_MS", str(int(talk * 1000)))
        eng.set_var(self.caller, "DIALEDTIME", str(int(now - self.started)))
        eng.set_var(self.caller, "DIALEDTIME_MS", str(int((now - self.started) * 1000)))
        eng.set_var(self.caller, "DIALSTATUS", status)

    def begin(self, timeout: float) -> None:
        self._dial_event("DialBegin")
        far = self.far
        far.on_answer = self.answered
        far.on_hangup = lambda: self.failed(int(far.extra.get("req_cause", NORMAL)))
        far.on_busy = lambda cause: self.failed(cause)
        self.pbx.cleanup = self.caller_gone
        if timeout > 0:
            self.timer = self.eng.later(timeout, self.timed_out)

    def _stop(self) -> bool:
        if self.over:
            return False
        self.over = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        far = self.far
        far.on_answer = far.on_busy = None
        far.on_hangup = None
        return True

    def ringing(self) -> None:
        """The far end sent 180 Ringing."""
        if self.over or self.far.dead or self.far.state == UP:
            return
        self.eng.newstate(self.far, RINGING)
        self._dial_event("DialState", "RINGING")

    def answered(self) -> None:
        if not self._stop():
            return
        eng, caller, far, pbx = self.eng, self.caller, self.far, self.pbx
        self.answered_at = eng.sched.now()
        eng.set_var(caller, "DIALSTATUS", "ANSWER")
        self._dial_event("DialEnd", "ANSWER")
        if caller.state != UP:
            eng.answer(caller)
        br = eng.bridge_create()
        far.exten = ""
        eng.bridge_enter(br, far)
        eng.bridge_enter(br, caller)
        eng.set_var(far, "BRIDGEPEER", caller.name)
        eng.set_var(caller, "BRIDGEPEER", far.name)
        pbx.bridged = True

        def far_gone() -> None:  # the called party hung up: so does the caller
            eng.set_var(far, "BRIDGEPEER", "")
            eng.set_var(caller, "BRIDGEPEER", "")
            eng.bridge_leave(far)
            eng.hangup(far, NORMAL)
            eng.bridge_leave(caller)
            eng.bridge_destroy(br)
            self._vars("ANSWER")
            pbx.end()

        def caller_gone() -> None:
            eng.set_var(caller, "BRIDGEPEER", "")
            eng.set_var(far, "BRIDGEPEER", "")
            eng.bridge_leave(caller)
            self._vars("ANSWER")
            pbx.end()
            eng.bridge_leave(far)
            eng.bridge_destroy(br)
            eng.hangup(far, NORMAL)

        far.on_hangup = far_gone
        pbx.cleanup = caller_gone

    def failed(self, cause: int) -> None:
        """The far end gave up before answering (busy, congestion, an error, hung up)."""
        if not self._stop():
            return
        eng, far = self.eng, self.far
        if not far.dead:
            if not far.extra.get("hangup_requested"):
                far.extra["hangup_requested"] = True
                eng.chan_event("HangupRequest", far, [("Cause", str(cause))])
        self._dial_event("DialEnd", cause_to_dial_status(cause))
        status = dialstatus_of_cause(cause)
        if status in ("BUSY", "CONGESTION"):  # the status is set before the far hangup
            self._vars(status)
            eng.hangup(far, cause)
        else:
            eng.hangup(far, cause)
            self._vars(status)
        self.caller.extra["hangupcause"] = cause
        self.pbx.resume()

    def timed_out(self) -> None:
        self.timer = None
        if not self._stop():
            return
        self._dial_event("DialEnd", "NOANSWER")
        self._vars("NOANSWER")
        # the CANCEL goes out while the caller already moves on (the lab's order)
        self.eng.later(0, self._drop_far, 0)
        self.pbx.resume()

    def caller_gone(self) -> None:
        if not self._stop():
            return
        self._dial_event("DialEnd", "CANCEL")
        self._drop_far(NORMAL)
        self._vars("CANCEL")
        self.pbx.end()

    def _drop_far(self, cause: int) -> None:
        if not self.far.dead:
            self.eng.hangup(self.far, cause)


class TrunkCall:
    """A premises number behind the carrier, as scripted (:class:`TrunkScript`)."""

    def __init__(self, dial: OneDial, script: TrunkScript) -> None:
        self.dial, self.script = dial, script
        self.eng = dial.eng

    def start(self) -> None:
        s, later = self.script, self.eng.later
        if s.outcome == "noanswer" or (s.outcome in ("answer", "voicemail") and s.after > 0):
            later(min(1.0, s.after / 2), self.dial.ringing)  # 180 Ringing, then the outcome
        if s.outcome in ("answer", "voicemail"):
            later(s.after, self._answer)
        elif s.outcome in FAIL_CAUSES:
            later(s.after, self._fail, FAIL_CAUSES[s.outcome])

    def _answer(self) -> None:
        far = self.dial.far
        if far.dead or self.dial.over:
            return
        self.eng.answer(far)
        talk = self.script.talk
        if self.script.outcome == "voicemail":
            talk += self.eng.prompt_duration("vm-intro") or 0.0
        self.eng.later(talk, self._far_hangs_up)

    def _far_hangs_up(self) -> None:
        far = self.dial.far
        if not far.dead:
            self.eng.request_hangup(far, NORMAL)

    def _fail(self, cause: int) -> None:
        if not self.dial.far.dead:
            self.dial.failed(cause)
