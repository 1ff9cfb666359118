"""app_dial for one Local destination, as the lab's outbound context uses it (PJSIP
destinations: :mod:`pbxsim.engine.pjsip`)."""

from __future__ import annotations

from .channels import UP, Channel
from .dialplan import Pbx

_DIAL_VARS_START = ["ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME",
                    "RINGTIME_MS", "PROGRESSTIME", "PROGRESSTIME_MS"]


def app_dial(pbx: Pbx, data: str) -> bool:
    eng, caller = pbx.engine, pbx.ch
    parts = data.split(",")
    dest = parts[0]
    timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else 0.0
    started = eng.sched.now()
    for name in ("DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME"):
        eng.set_var(caller, name, "")
    for name in _DIAL_VARS_START:
        eng.set_var(caller, name, "")
    if not dest.lower().startswith("local/"):
        from .pjsip import dial_pjsip

        return dial_pjsip(pbx, parts, started)
    a, b = eng.local_pair(dest, linkedid=caller.linkedid)
    a.inherit_from(caller)
    b.variables.update(a.variables)  # core_local hands ;1's whole list to ;2
    target = a.extra["dialstring"]
    eng.set_var(a, "DIALEDPEERNUMBER", target)
    a.appl, a.data = "AppDial", "(Outgoing Line)"
    a.cid_num, a.cid_name = a.exten, caller.cid_name
    a.con_num, a.con_name = caller.cid_num, caller.cid_name
    eng.chan_event("Newexten", a, [("Extension", a.exten), ("Application", "AppDial"),
                                   ("AppData", "(Outgoing Line)")], "dialplan,all")
    eng.set_callerid(a, a.cid_num, a.cid_name)
    eng.set_connected(a, a.con_num, a.con_name)
    eng.set_var(b, "DIALEDPEERNUMBER", target)
    b.cid_num, b.cid_name = caller.cid_num, caller.cid_name
    eng.set_callerid(b, b.cid_num, b.cid_name)
    eng.set_connected(b, a.cid_num, a.cid_name)
    eng.local_bridge_event(a, b)
    eng.emit("DialBegin", "call,all", caller.snapshot() + a.snapshot("Dest")
             + [("DialString", target)])
    st: dict[str, object] = {"answered_at": None, "timer": None}

    def finish_vars(status: str) -> None:
        now = eng.sched.now()
        ans = st["answered_at"]
        if isinstance(ans, float):
            eng.set_var(caller, "ANSWEREDTIME", str(int(now - ans)))
            eng.set_var(caller, "ANSWEREDTIME_MS", str(int((now - ans) * 1000)))
        eng.set_var(caller, "DIALEDTIME", str(int(now - started)))
        eng.set_var(caller, "DIALEDTIME_MS", str(int((now - started) * 1000)))
        eng.set_var(caller, "DIALSTATUS", status)

    def answered() -> None:
        if st["timer"] is not None:
            st["timer"].cancel()  # type: ignore[attr-defined]
        st["answered_at"] = eng.sched.now()
        eng.set_var(caller, "DIALSTATUS", "ANSWER")
        eng.set_var(caller, "DIALEDPEERNAME", a.name)
        eng.set_var(caller, "DIALEDPEERNUMBER", target)
        eng.emit("DialEnd", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialStatus", "ANSWER")])
        if caller.state != UP:  # features.c pre_bridge_setup answers the caller
            eng.answer(caller)
        br = eng.bridge_create()
        a.exten, a.appl = "", "AppDial"
        eng.chan_event("Newexten", a, [("Extension", ""), ("Application", "AppDial"),
                                       ("AppData", "(Outgoing Line)")], "dialplan,all")
        eng.bridge_enter(br, a)
        eng.bridge_enter(br, caller)
        eng.set_var(a, "BRIDGEPEER", caller.name)
        eng.set_var(caller, "BRIDGEPEER", a.name)
        pbx.bridged = True

        def dest_gone() -> None:  # the called party hung up: the caller is hung up too
            eng.set_var(a, "BRIDGEPEER", "")
            eng.set_var(caller, "BRIDGEPEER", "")
            eng.bridge_leave(a)
            eng.hangup(a, 16)
            eng.bridge_leave(caller)
            eng.bridge_destroy(br)
            finish_vars("ANSWER")
            pbx.end()

        def caller_gone() -> None:
            eng.set_var(caller, "BRIDGEPEER", "")
            eng.set_var(a, "BRIDGEPEER", "")
            eng.bridge_leave(caller)
            finish_vars("ANSWER")
            pbx.end()
            eng.bridge_leave(a)
            eng.bridge_destroy(br)
            eng.hangup(a, 16)

        a.on_hangup = dest_gone
        pbx.cleanup = caller_gone

    def unanswered(status: str) -> None:
        eng.emit("DialEnd", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialStatus", status)])
        if not a.dead:
            eng.hangup(a, 16)
        finish_vars(status)
        pbx.resume()

    def caller_gone_early() -> None:
        eng.emit("DialEnd", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialStatus", "CANCEL")])
        eng.hangup(a, 16)
        finish_vars("CANCEL")
        pbx.end()

    a.on_answer = answered
    a.on_hangup = lambda: unanswered("NOANSWER" if False else "CHANUNAVAIL")
    a.on_busy = lambda cause: unanswered("BUSY")
    pbx.cleanup = caller_gone_early
    if timeout > 0:
        st["timer"] = eng.sched.call_later(timeout, _timeout, a, unanswered)
    Pbx(eng, b, b.context, b.exten, 1).start()
    return False


def _timeout(a: Channel, unanswered: object) -> None:
    if a.dead or a.state == UP:
        return
    a.on_answer = None
    unanswered("NOANSWER")  # type: ignore[operator]
