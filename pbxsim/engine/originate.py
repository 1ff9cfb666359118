"""Originate: what manager Originate does with a Local channel (AppDial2, LocalBridge, the
OriginateResponse event carrying the client's ActionID)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .channels import Pairs
from .core import Engine
from .dialplan import Pbx, Step


@dataclass
class OriginateRequest:
    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    cid_num: str = ""
    cid_name: str = ""
    variables: list[tuple[str, str]] = field(default_factory=list)
    channel_id: str = ""
    other_channel_id: str = ""
    timeout: float = 30.0


Result = Callable[[Pairs], None]


def _response(req: OriginateRequest, ok: bool, chan: str, reason: int, uid: str,
              cid_num: str, cid_name: str) -> Pairs:
    pairs: Pairs = [("Response", "Success" if ok else "Failure"), ("Channel", chan)]
    if req.application:
        pairs += [("Application", req.application), ("Data", req.data)]
    else:
        pairs += [("Context", req.context), ("Exten", req.exten)]
    pairs += [("Reason", str(reason)), ("Uniqueid", uid),
              ("CallerIDNum", cid_num or "<unknown>"), ("CallerIDName", cid_name or "<unknown>")]
    return pairs


def originate(engine: Engine, req: OriginateRequest, result: Result) -> None:
    """Start the call; ``result`` gets the OriginateResponse headers when the outcome is known."""
    a, b = engine.local_pair(req.channel, uid1=req.channel_id or None,
                             uid2=req.other_channel_id or None)
    a.appl, a.data = "AppDial2", "(Outgoing Line)"
    a.extra["originated"] = True  # the phone rings for its own user (pbxsim.engine.phones)
    engine.chan_event("Newexten", a, [("Extension", a.exten), ("Application", "AppDial2"),
                                      ("AppData", "(Outgoing Line)")], "dialplan,all")
    if not engine.dialplan.exists(b.context, b.exten):
        b.extra["invalid"] = a.extra["invalid"] = True
        a.extra["hangup_requested"] = True
        engine.hangup(b, 0)
        result(_response(req, False, req.channel, 0, "<unknown>", "", ""))
        engine.hangup(a, 0)
        return
    for k, v in reversed(req.variables):
        engine.set_var(a, k, v)
    a.extra["var_order"] = list(req.variables)
    if req.cid_num or req.cid_name:
        engine.set_callerid(a, req.cid_num, req.cid_name)
        engine.set_connected(a, req.cid_num, req.cid_name)
    engine.local_call(a)
    engine.emit("DialBegin", "call,all",
                a.snapshot("Dest") + [("DialString", a.extra["dialstring"])])
    state = {"done": False}

    def answered() -> None:
        state["done"] = True
        engine.emit("DialEnd", "call,all", a.snapshot("Dest") + [("DialStatus", "ANSWER")])
        result(_response(req, True, a.name, 4, a.uniqueid, a.cid_num, a.cid_name))
        if req.application:
            pbx = Pbx(engine, a, a.context, a.exten, 1, steps=[Step(req.application, req.data)])
            pbx.single_app = True
            a.appl, a.data = req.application, req.data
            engine.sched.call_later(0.1, _run_app, pbx)
        else:
            Pbx(engine, a, req.context, req.exten, req.priority).start()

    def failed(status: str, reason: int) -> None:
        if state["done"]:
            return
        state["done"] = True
        engine.emit("DialEnd", "call,all", a.snapshot("Dest") + [("DialStatus", status)])
        result(_response(req, False, req.channel, reason, "<unknown>", "", ""))
        if not a.dead:
            engine.hangup(a, 16)

    a.on_answer = answered
    a.on_hangup = lambda: failed("CANCEL", 1)
    a.on_busy = lambda cause: failed("BUSY", 5)

    def timeout() -> None:
        if not state["done"]:
            a.on_answer = None
            failed("NOANSWER", 3)

    engine.sched.call_later(req.timeout, timeout)
    Pbx(engine, b, b.context, b.exten, 1).start()


def _run_app(pbx: Pbx) -> None:
    from .dialplan import APPS

    step = pbx.steps[0]
    app = APPS.get(step.app.lower())
    if app is None or app(pbx, step.data, step):
        pbx.end()
