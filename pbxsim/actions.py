"""AMI actions: each turns a request into engine calls and returns the messages Asterisk sends
back (response first, then list events carrying the client's ActionID)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .engine.channels import STATE_DESC, Channel
from .engine.originate import OriginateRequest, originate
from .framing import Message

if TYPE_CHECKING:
    from .ami_server import AmiServer, Session

from .ami_server import ack, error, parse_eventmask, response

Result = list[Message] | Awaitable[list[Message]]
Handler = Callable[["AmiServer", "Session", Message], Result]
TRUE = {"yes", "true", "y", "t", "1", "on"}


def _list_event(msg: Message, name: str, pairs: list[tuple[str, str]],
                aid_first: bool = False) -> Message:
    out = Message([("Event", name)])
    if aid_first and msg.has("ActionID"):
        out.add("ActionID", msg.get("ActionID"))
    out.pairs.extend(pairs)
    if not aid_first and msg.has("ActionID"):
        out.add("ActionID", msg.get("ActionID"))
    return out


def _complete(msg: Message, name: str, items: int, *extra: tuple[str, str]) -> Message:
    out = Message([("Event", name)])
    if msg.has("ActionID"):
        out.add("ActionID", msg.get("ActionID"))
    out.add("EventList", "Complete").add("ListItems", items)
    for k, v in extra:
        out.add(k, v)
    return out


def listack(msg: Message, text: str) -> Message:
    return response(msg, "Success", ("EventList", "start"), ("Message", text))


def a_ping(srv: AmiServer, s: Session, m: Message) -> Result:
    stamp = f"{srv.engine.sched.now():.6f}"
    return [response(m, "Success", ("Ping", "Pong"), ("Timestamp", stamp))]


def a_events(srv: AmiServer, s: Session, m: Message) -> Result:
    mask = parse_eventmask(m.get("EventMask"))
    if mask is None:
        return [error(m, "Invalid event mask")]
    s.events = mask
    return [response(m, "Success", ("Events", "On" if mask else "Off"))]


def a_command(srv: AmiServer, s: Session, m: Message) -> Result:
    cmd = m.get("Command").strip()
    if not cmd:
        return [error(m, "No command provided")]
    if cmd.lower() == "core show version":
        out = f"Asterisk {srv.version} built by pbxsim @ localhost on a x86_64 running Linux"
    elif cmd.lower() == "core show uptime":
        up = int(srv.engine.sched.now() - srv.engine.boot_time)
        out = f"System uptime: {up} seconds"
    else:
        out = (f"No such command '{cmd}' (type 'core show help {cmd.split()[0]}' "
               "for other possible commands)")
    return [response(m, "Success", ("Message", "Command output follows"), ("Output", out))]


def _bool(v: str) -> bool:
    return v.strip().lower() in TRUE


def a_queueadd(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Queue"):
        return [error(m, "'Queue' not specified.")]
    if not m.get("Interface"):
        return [error(m, "'Interface' not specified.")]
    pen = m.get("Penalty").strip()
    err = srv.engine.queues.add_member(m.get("Queue"), m.get("Interface"), m.get("MemberName"),
                                       int(pen) if pen.isdigit() else 0, _bool(m.get("Paused")),
                                       m.get("Reason"), m.get("StateInterface"))
    return [error(m, err) if err else ack(m, "Added interface to queue")]


def a_queueremove(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Queue") or not m.get("Interface"):
        return [error(m, "Need 'Queue' and 'Interface' parameters.")]
    err = srv.engine.queues.remove_member(m.get("Queue"), m.get("Interface"))
    return [error(m, err) if err else ack(m, "Removed interface from queue")]


def a_queuepause(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Interface") or not m.get("Paused"):
        return [error(m, "Need 'Interface' and 'Paused' parameters.")]
    paused = _bool(m.get("Paused"))
    err = srv.engine.queues.pause_member(m.get("Queue"), m.get("Interface"), paused,
                                         m.get("Reason"))
    if err:
        return [error(m, err)]
    text = "Interface paused successfully" if paused else "Interface unpaused successfully"
    return [ack(m, text)]


def a_queuestatus(srv: AmiServer, s: Session, m: Message) -> Result:
    qm, now = srv.engine.queues, srv.engine.sched.now()
    out = [listack(m, "Queue status will follow")]
    for q in qm.queues.values():
        if m.get("Queue") and m.get("Queue") != q.cfg.name:
            continue
        out.append(_list_event(m, "QueueParams", [
            ("Queue", q.cfg.name), ("Max", str(q.cfg.maxlen)), ("Strategy", q.cfg.strategy),
            ("Calls", str(len(q.callers))), ("Holdtime", str(int(q.holdtime))),
            ("TalkTime", str(int(q.talktime))), ("Completed", str(q.completed)),
            ("Abandoned", str(q.abandoned)), ("ServiceLevel", str(q.cfg.servicelevel)),
            ("ServicelevelPerf", "0.0"), ("ServicelevelPerf2", "0.0"),
            ("Weight", str(q.cfg.weight))]))
        for mem in q.members:
            if m.get("Member") and m.get("Member") != mem.interface:
                continue
            p = dict(mem.pairs(0))
            out.append(_list_event(m, "QueueMember", [
                ("Queue", q.cfg.name), ("Name", mem.name), ("Location", mem.interface)] + [
                (k, p[k]) for k in ("StateInterface", "Membership", "Penalty", "CallsTaken",
                                    "LastCall", "LastPause", "LoginTime")] + [
                ("InCall", "1" if mem.status == 2 else "0"), ("Status", p["Status"]),
                ("Paused", p["Paused"]), ("PausedReason", p["PausedReason"]),
                ("Wrapuptime", "0")]))
        for i, e in enumerate(q.callers, 1):
            c = e.ch
            out.append(_list_event(m, "QueueEntry", [
                ("Queue", q.cfg.name), ("Position", str(i)), ("Channel", c.name),
                ("Uniqueid", c.uniqueid), ("CallerIDNum", c.cid_num or "<unknown>"),
                ("CallerIDName", c.cid_name or "<unknown>"),
                ("ConnectedLineNum", c.con_num or "<unknown>"),
                ("ConnectedLineName", c.con_name or "<unknown>"),
                ("Wait", str(int(now - e.start))), ("Priority", "0")]))
    out.append(_complete(m, "QueueStatusComplete", len(out) - 1))
    return out


def a_queuesummary(srv: AmiServer, s: Session, m: Message) -> Result:
    qm, now = srv.engine.queues, srv.engine.sched.now()
    out = [listack(m, "Queue summary will follow")]
    for q in qm.queues.values():
        if m.get("Queue") and m.get("Queue") != q.cfg.name:
            continue
        avail = sum(1 for mem in q.members if qm._available(q, mem))
        longest = max((int(now - e.start) for e in q.callers), default=0)
        out.append(_list_event(m, "QueueSummary", [
            ("Queue", q.cfg.name), ("LoggedIn", str(len(q.members))), ("Available", str(avail)),
            ("Callers", str(len(q.callers))), ("HoldTime", str(int(q.holdtime))),
            ("TalkTime", str(int(q.talktime))), ("LongestHoldTime", str(longest))]))
    out.append(_complete(m, "QueueSummaryComplete", len(out) - 1))
    return out


def _dur(secs: float) -> str:
    s = int(secs)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def a_coreshowchannels(srv: AmiServer, s: Session, m: Message) -> Result:
    now = srv.engine.sched.now()
    out = [listack(m, "Channels will follow")]
    for c in srv.engine.channels.values():
        out.append(_list_event(m, "CoreShowChannel", c.snapshot() + [
            ("Application", c.appl), ("ApplicationData", c.data),
            ("Duration", _dur(now - c.created)),
            ("BridgeId", c.bridge.uniqueid if c.bridge else "")], aid_first=True))
    out.append(_complete(m, "CoreShowChannelsComplete", len(out) - 1))
    return out


def _status_pairs(c: Channel, now: float) -> list[tuple[str, str]]:
    return c.snapshot() + [
        ("Type", c.name.split("/")[0]), ("DNID", ""),
        ("EffectiveConnectedLineNum", c.con_num or "<unknown>"),
        ("EffectiveConnectedLineName", c.con_name or "<unknown>"), ("TimeToHangup", "0"),
        ("BridgeID", c.bridge.uniqueid if c.bridge else ""), ("Application", c.appl),
        ("Data", c.data), ("Nativeformats", "(slin)"), ("Readformat", "slin"),
        ("Readtrans", ""), ("Writeformat", "slin"), ("Writetrans", ""), ("Callgroup", "0"),
        ("Pickupgroup", "0"), ("Seconds", str(int(now - c.created)))]


def a_status(srv: AmiServer, s: Session, m: Message) -> Result:
    now = srv.engine.sched.now()
    name = m.get("Channel")
    chans = list(srv.engine.channels.values())
    if name:
        c = srv.engine.find_channel(name)
        if c is None:
            return [error(m, "No such channel")]
        chans = [c]
    out = [listack(m, "Channel status will follow")]
    for c in chans:
        ev = Message([("Event", "Status"), ("Privilege", "Call")] + _status_pairs(c, now))
        if m.has("ActionID"):
            ev.add("ActionID", m.get("ActionID"))
        out.append(ev)
    out.append(_complete(m, "StatusComplete", len(chans), ("Items", str(len(chans)))))
    return out


def a_devicestatelist(srv: AmiServer, s: Session, m: Message) -> Result:
    out = [listack(m, "Device State Changes will follow")]
    for dev, state in srv.engine.device_states.items():
        if not dev.startswith("Queue:"):
            continue
        out.append(_list_event(m, "DeviceStateChange", [("Device", dev), ("State", state)],
                               aid_first=True))
    out.append(_complete(m, "DeviceStateListComplete", len(out) - 1))
    return out


_CID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Zhang Wei" <+8613800000001>`` -> (number, name)."""
    mt = _CID.match(text)
    if mt:
        return mt.group(2).strip(), mt.group(1).strip()
    return text.strip(), ""


def a_originate(srv: AmiServer, s: Session, m: Message) -> Result:
    eng = srv.engine
    chan = m.get("Channel")
    if not chan:
        return [error(m, "Channel not specified")]
    pr = m.get("Priority").strip()
    if pr and not pr.lstrip("-").isdigit():
        return [error(m, "Invalid priority")]
    to = m.get("Timeout").strip()
    if to and not to.isdigit():
        return [error(m, "Invalid timeout")]
    if "/" not in chan:
        return [error(m, "Invalid channel")]
    if m.get("Exten") and (not m.get("Context") or not pr) and not m.get("Application"):
        return [error(m, "Originate with 'Exten' requires 'Context' and 'Priority'")]
    if not chan.lower().startswith("local/"):
        return [error(m, "Originate failed")] if not _bool(m.get("Async")) else [
            error(m, "Invalid channel")]
    variables: list[tuple[str, str]] = []
    for raw in m.getall("Variable"):
        for part in raw.split(","):
            k, sep, v = part.partition("=")
            if sep:
                variables.append((k.strip(), v))
    num, name = parse_callerid(m.get("CallerID"))
    req = OriginateRequest(
        channel=chan, context=m.get("Context"), exten=m.get("Exten"),
        priority=int(pr) if pr else 1, application=m.get("Application"), data=m.get("Data"),
        cid_num=num, cid_name=name, variables=variables, channel_id=m.get("ChannelId"),
        other_channel_id=m.get("OtherChannelId"),
        timeout=(int(to) / 1000.0) if to else 30.0)
    aid = m.get("ActionID") if m.has("ActionID") else None

    def event_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return ([("ActionID", aid)] if aid is not None else []) + pairs

    if _bool(m.get("Async")):
        def result(pairs: list[tuple[str, str]]) -> None:
            eng.emit("OriginateResponse", "call,all", event_pairs(pairs))

        out = [ack(m, "Originate successfully queued")]
        eng.sched.call_later(0, originate, eng, req, result)
        return out

    fut: asyncio.Future[list[tuple[str, str]]] = asyncio.get_running_loop().create_future()

    def sync_result(pairs: list[tuple[str, str]]) -> None:
        eng.emit("OriginateResponse", "call,all", event_pairs(pairs))
        if not fut.done():
            fut.set_result(pairs)

    originate(eng, req, sync_result)

    async def wait() -> list[Message]:
        pairs = await fut
        ok = dict(pairs).get("Response") == "Success"
        return [ack(m, "Originate successfully queued") if ok else error(m, "Originate failed")]

    return wait()


def _chan(srv: AmiServer, m: Message) -> Channel | None:
    return srv.engine.find_channel(m.get("Channel"))


def a_hangup(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "No channel specified")]
    c = _chan(srv, m)
    if c is None:
        return [error(m, "No such channel")]
    cause = m.get("Cause").strip()
    c.extra["explicit_hangup"] = True  # ast_softhangup: whatever the channel runs stops now
    srv.engine.request_hangup(c, int(cause) if cause.isdigit() else 16)
    return [ack(m, "Channel Hungup")]


def a_redirect(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "Channel not specified")]
    if not m.get("Context"):
        return [error(m, "Context not specified")]
    if not m.get("Exten"):
        return [error(m, "Exten not specified")]
    if not m.get("Priority"):
        return [error(m, "Priority not specified")]
    pri = m.get("Priority").strip()
    if not pri.isdigit() or int(pri) < 1:
        return [error(m, "Priority is invalid")]
    name2 = m.get("ExtraChannel")
    if name2 and m.get("ExtraContext"):
        if not m.get("ExtraExten"):
            return [error(m, "ExtraExten not specified")]
        if not m.get("ExtraPriority"):
            return [error(m, "ExtraPriority not specified")]
        if not m.get("ExtraPriority").strip().isdigit():
            return [error(m, "ExtraPriority is invalid")]
    c = _chan(srv, m)
    if c is None or c.dead:
        return [error(m, f"Channel does not exist: {m.get('Channel')}")]
    moves = [(c, m.get("Context"), m.get("Exten"), int(pri))]
    if not name2:
        srv.engine.redirect(moves)
        return [ack(m, "Redirect successful")]
    c2 = srv.engine.find_channel(name2)
    if c2 is None or c2.dead:
        return [error(m, f"ExtraChannel does not exist: {name2}")]
    if m.get("ExtraContext"):
        moves.append((c2, m.get("ExtraContext"), m.get("ExtraExten"),
                      int(m.get("ExtraPriority"))))
    else:
        moves.append((c2, m.get("Context"), m.get("Exten"), int(pri)))
    srv.engine.redirect(moves)
    return [ack(m, "Dual Redirect successful")]


def a_blindtransfer(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "No channel specified")]
    if not m.get("Exten"):
        return [error(m, "No extension specified")]
    c = _chan(srv, m)
    if c is None:
        return [error(m, "Channel specified does not exist")]
    context = m.get("Context") or c.context
    out = [ack(m, "Transfer succeeded")]
    err = srv.engine.features.blind_transfer(c, context, m.get("Exten"))
    return [error(m, err)] if err else out


def a_atxfer(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "No channel specified")]
    if not m.get("Exten"):
        return [error(m, "No extension specified")]
    c = _chan(srv, m)
    if c is None:
        return [error(m, "Channel specified does not exist")]
    err = srv.engine.features.atxfer(c, m.get("Context") or c.context, m.get("Exten"))
    return [error(m, err)] if err else [ack(m, "Atxfer successfully queued")]


def a_park(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "Channel not specified")]
    c = _chan(srv, m)
    if c is None:
        return [error(m, "Channel does not exist")]
    to = m.get("Timeout").strip()
    timeout = int(to) / 1000.0 if to.isdigit() else 45.0
    parker = srv.engine.find_channel(m.get("TimeoutChannel")) if m.get("TimeoutChannel") else None
    out = [ack(m, "Park successful")]
    srv.engine.sched.call_later(0, srv.engine.features.park, c, timeout, parker)
    return out


def a_parkedcalls(srv: AmiServer, s: Session, m: Message) -> Result:
    f = srv.engine.features
    out = [listack(m, "Parked calls will follow")]
    for space in sorted(f.parked):
        out.append(_list_event(m, "ParkedCall", f.park_pairs(f.parked[space], space)))
    n = len(out) - 1
    out.append(_complete(m, "ParkedCallsComplete", n, ("Total", str(n))))
    return out


def a_playdtmf(srv: AmiServer, s: Session, m: Message) -> Result:
    c = _chan(srv, m)
    if c is None:
        return [error(m, "Channel not found")]
    digit = m.get("Digit")
    if not digit:
        return [error(m, "No digit specified")]
    duration = m.get("Duration").strip()
    if duration and not duration.isdigit():
        return [error(m, "Could not convert Duration parameter")]
    if _bool(m.get("Receive")):
        # app_senddtmf.c: a DTMF end frame queued on the channel, read as if it came from its
        # own side; ast_read announces it (DTMFEnd, Received) and the application gets it
        srv.engine.media.receive_end(c, digit[0], int(duration or 0))
        return [ack(m, "DTMF successfully queued")]
    for ev, extra in (("DTMFBegin", []), ("DTMFEnd", [("DurationMs", duration or "250")])):
        srv.engine.chan_event(ev, c, [("Digit", digit)] + extra + [("Direction", "Sent")],
                              "dtmf,all")
    return [ack(m, "DTMF successfully queued")]


def a_mixmonitor(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "No channel specified")]
    c = _chan(srv, m)
    if c is None:
        return [error(m, "No such channel")]
    fname = m.get("File") or f"{c.uniqueid}.wav"
    srv.engine.features.mixmonitor(c, fname)
    return [response(m, "Success")]


def a_stopmixmonitor(srv: AmiServer, s: Session, m: Message) -> Result:
    if not m.get("Channel"):
        return [error(m, "No channel specified")]
    c = _chan(srv, m)
    if c is None:
        return [error(m, "No such channel")]
    if not srv.engine.features.stop_mixmonitor(c):
        return [error(m, "Could not stop MixMonitor")]
    return [response(m, "Success")]


def a_getvar(srv: AmiServer, s: Session, m: Message) -> Result:
    var = m.get("Variable")
    if not var:
        return [error(m, "No variable specified")]
    c = None
    if m.get("Channel"):
        c = _chan(srv, m)
        if c is None:
            return [error(m, "No such channel")]
    value = ""
    if c is not None:
        value = {"CALLERID(num)": c.cid_num, "CALLERID(name)": c.cid_name,
                 "UNIQUEID": c.uniqueid, "CHANNEL": c.name}.get(var, c.get_var(var) or "")
    return [response(m, "Success", ("Variable", var), ("Value", value))]


def a_setvar(srv: AmiServer, s: Session, m: Message) -> Result:
    var = m.get("Variable")
    if not var:
        return [error(m, "No variable specified")]
    c = None
    if m.get("Channel"):
        c = _chan(srv, m)
        if c is None:
            return [error(m, "No such channel")]
    if c is not None:
        srv.engine.set_var(c, var, m.get("Value"))
    return [ack(m, "Variable Set")]


def a_listcommands(srv: AmiServer, s: Session, m: Message) -> Result:
    return [response(m, "Success", *[(name, name) for name in sorted(ACTIONS)])]


ACTIONS: dict[str, Handler] = {
    "ping": a_ping, "events": a_events, "command": a_command, "queueadd": a_queueadd,
    "queueremove": a_queueremove, "queuepause": a_queuepause, "queuestatus": a_queuestatus,
    "queuesummary": a_queuesummary, "coreshowchannels": a_coreshowchannels, "status": a_status,
    "devicestatelist": a_devicestatelist, "originate": a_originate, "hangup": a_hangup,
    "redirect": a_redirect, "blindtransfer": a_blindtransfer, "atxfer": a_atxfer,
    "park": a_park, "parkedcalls": a_parkedcalls, "playdtmf": a_playdtmf,
    "mixmonitor": a_mixmonitor, "stopmixmonitor": a_stopmixmonitor, "getvar": a_getvar,
    "setvar": a_setvar, "listcommands": a_listcommands,
}

_ = STATE_DESC
