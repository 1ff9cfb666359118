"""app_queue: queues, members, strategies, ringing, connecting, abandon, queue_log."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .channels import RINGING as RINGING_STATE
from .channels import Channel, Pairs

if TYPE_CHECKING:
    from .core import Engine
    from .dialplan import Pbx

STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear", "wrandom")
NOT_INUSE, INUSE, UNAVAILABLE, RINGING = 1, 2, 5, 6


@dataclass
class QueueConfig:
    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0
    retry: float = 2.0
    wrapuptime: float = 2.0
    joinempty: bool = True
    leavewhenempty: bool = False
    ringinuse: bool = False
    musicclass: str = "default"
    weight: int = 0
    maxlen: int = 0
    servicelevel: int = 0


@dataclass(eq=False)
class Member:
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    calls: int = 0
    lastcall: float = 0.0
    lastpause: float = 0.0
    logintime: float = 0.0
    status: int = NOT_INUSE
    in_call: bool = False
    ringing: bool = False
    wrapup_until: float = 0.0
    dynamic: bool = True

    def pairs(self, wrapuptime: int) -> Pairs:
        return [
            ("MemberName", self.name), ("Interface", self.interface),
            ("StateInterface", self.state_interface),
            ("Membership", "dynamic" if self.dynamic else "static"),
            ("Penalty", str(self.penalty)), ("CallsTaken", str(self.calls)),
            ("LastCall", str(int(self.lastcall))), ("LastPause", str(int(self.lastpause))),
            ("LoginTime", str(int(self.logintime))), ("InCall", "1" if self.in_call else "0"),
            ("Status", str(self.status)), ("Paused", "1" if self.paused else "0"),
            ("PausedReason", self.reason), ("Ringinuse", "0"), ("Wrapuptime", str(wrapuptime)),
        ]


@dataclass(eq=False)
class Entry:
    ch: Channel
    pbx: Pbx
    start: float
    orig_pos: int
    attempts: list[Any] = field(default_factory=list)  # live ring attempts
    retry_timer: Any = None
    done: bool = False


@dataclass(eq=False)
class Attempt:
    entry: Entry
    member: Member
    a: Channel
    b: Channel
    started: float
    timer: Any = None
    queue: Any = None  # set for PJSIP members, whose status the attempt drives


@dataclass(eq=False)
class Queue:
    cfg: QueueConfig
    members: list[Member] = field(default_factory=list)
    callers: list[Entry] = field(default_factory=list)
    rrpos: int = 0
    holdtime: float = 0.0
    talktime: float = 0.0
    completed: int = 0
    abandoned: int = 0


class QueueManager:
    def __init__(self, engine: Engine, rng: random.Random | None = None) -> None:
        self.engine = engine
        self.queues: dict[str, Queue] = {}
        self.rng = rng or random.Random(7)
        #: queues.conf [general] shared_lastcall (Asterisk's default: no)
        self.shared_lastcall = False
        self.add_queue(QueueConfig("support"))

    def add_queue(self, cfg: QueueConfig) -> Queue:
        if cfg.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {cfg.strategy}")
        q = Queue(cfg)
        self.queues[cfg.name] = q
        return q

    # -- member management (QueueAdd / QueueRemove / QueuePause) --------------------------
    def _member_event(self, event: str, q: Queue, m: Member) -> None:
        self.engine.emit(event, "agent,all", [("Queue", q.cfg.name)] + m.pairs(0))

    def _avail_state(self, q: Queue) -> None:
        avail = any(self._available(q, m) for m in q.members)
        self.engine.device_state(f"Queue:{q.cfg.name}_avail", "NOT_INUSE" if avail else "INUSE")

    def same_member(self, m: Member) -> list[tuple[Queue, Member]]:
        """The interface's member entry in every queue (``m``'s own included)."""
        return [(q, o) for q in self.queues.values() for o in q.members
                if o.interface.lower() == m.interface.lower()]

    def _set_status(self, q: Queue, m: Member, status: int, avail: bool = True) -> None:
        """A device state change reaches the member in every queue it is in (app_queue's
        device_state_cb), each with its QueueMemberStatus."""
        for qq, mm in [(q, m)] + [p for p in self.same_member(m) if p[1] is not m]:
            if mm is not m and mm.status == status:
                continue
            mm.status = status
            self._member_event("QueueMemberStatus", qq, mm)
            if avail:
                self._avail_state(qq)

    def find(self, queue: str, interface: str) -> tuple[Queue | None, Member | None]:
        q = self.queues.get(queue)
        if q is None:
            return None, None
        for m in q.members:
            if m.interface.lower() == interface.lower():
                return q, m
        return q, None

    def add_member(self, queue: str, interface: str, name: str = "", penalty: int = 0,
                   paused: bool = False, reason: str = "", state_interface: str = "") -> str:
        """Returns '' on success or Asterisk's error wording."""
        q, m = self.find(queue, interface)
        if q is None:
            return "Unable to add interface to queue: No such queue"
        if m is not None:
            return "Unable to add interface: Already there"
        now = self.engine.sched.now()
        m = Member(interface=interface, name=name or interface,
                   state_interface=state_interface or interface, penalty=penalty, paused=paused,
                   reason=reason if paused else "", logintime=now,
                   lastpause=now if paused else 0.0)
        q.members.append(m)
        self.engine.device_state(f"Queue:{q.cfg.name}_pause_{interface}",
                                 "INUSE" if paused else "NOT_INUSE")
        self._member_event("QueueMemberAdded", q, m)
        self.engine.queue_log("MANAGER", q.cfg.name, m.name, "ADDMEMBER", "")
        self._avail_state(q)
        self.kick(q)
        return ""

    def remove_member(self, queue: str, interface: str) -> str:
        q, m = self.find(queue, interface)
        if q is None:
            return "Unable to remove interface from queue: No such queue"
        if m is None:
            return "Unable to remove interface: Not there"
        q.members.remove(m)
        self._member_event("QueueMemberRemoved", q, m)
        # a paused member's pause device is cleared when it leaves (status_snapshot's Bob)
        self.engine.device_state(f"Queue:{q.cfg.name}_pause_{interface}", "NOT_INUSE")
        self.engine.queue_log("MANAGER", q.cfg.name, m.name, "REMOVEMEMBER", "")
        self._avail_state(q)
        if q.cfg.leavewhenempty and not q.members:
            for e in list(q.callers):
                self._leave_empty(q, e)
        return ""

    def pause_member(self, queue: str, interface: str, paused: bool, reason: str = "") -> str:
        """Pause in one queue, or in every queue holding the interface when ``queue`` is ''."""
        targets = [self.queues[queue]] if queue in self.queues else (
            list(self.queues.values()) if not queue else [])
        found = False
        for q in targets:
            _, m = self.find(q.cfg.name, interface)
            if m is None:
                continue
            found = True
            m.paused = paused
            m.reason = reason if paused else ""
            if paused:
                m.lastpause = self.engine.sched.now()
            self.engine.device_state(f"Queue:{q.cfg.name}_pause_{interface}",
                                     "INUSE" if paused else "NOT_INUSE")
            self._avail_state(q)
            self._member_event("QueueMemberPause", q, m)
            if paused:
                self.engine.queue_log("NONE", q.cfg.name, m.name, "PAUSE", reason)
            else:
                self.engine.queue_log("NONE", q.cfg.name, m.name, "UNPAUSE", "")
            if not paused:
                self.kick(q)
        return "" if found else "Interface not found"

    # -- the Queue() application -------------------------------------------------------
    def app_queue(self, pbx: Pbx, data: str) -> bool:
        eng, ch = self.engine, pbx.ch
        args = data.split(",")
        q = self.queues.get(args[0])
        for var in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT",
                    "QUEUEWAIT_MS"):
            eng.set_var(ch, var, "")
        if q is None:
            eng.set_var(ch, "QUEUESTATUS", "UNKNOWN")
            return True
        if not q.cfg.joinempty and not any(self._available(q, m, True, True) for m in q.members):
            eng.set_var(ch, "QUEUESTATUS", "JOINEMPTY")
            eng.queue_log(ch.uniqueid, q.cfg.name, "NONE", "EXITEMPTY", 1, 1, 0)
            return True
        if q.cfg.maxlen and len(q.callers) >= q.cfg.maxlen:
            eng.set_var(ch, "QUEUESTATUS", "FULL")
            return True
        entry = Entry(ch=ch, pbx=pbx, start=eng.sched.now(), orig_pos=len(q.callers) + 1)
        q.callers.append(entry)
        eng.device_state(f"Queue:{q.cfg.name}", "RINGING")
        eng.chan_event("QueueCallerJoin", ch, [("Queue", q.cfg.name),
                                               ("Position", str(len(q.callers))),
                                               ("Count", str(len(q.callers)))], "call,all")
        eng.queue_log(ch.uniqueid, q.cfg.name, "NONE", "ENTERQUEUE", "", ch.cid_num,
                      entry.orig_pos)
        eng.chan_event("MusicOnHoldStart", ch, [("Class", q.cfg.musicclass)])
        ch.extra["moh"] = True
        pbx.cleanup = lambda: self._abandon(q, entry)
        timeout = args[4] if len(args) > 4 else ""
        if timeout.strip().isdigit() and int(timeout) > 0:
            entry.retry_timer = None
            ch.extra["queue_timeout"] = eng.sched.call_later(float(timeout), self._timeout, q,
                                                             entry)
        self._try(q, entry)
        return False

    def position(self, q: Queue, entry: Entry) -> int:
        return q.callers.index(entry) + 1 if entry in q.callers else 0

    def _available(self, q: Queue, m: Member, ignore_wrapup: bool = False,
                   ignore_busy: bool = False) -> bool:
        if m.paused or m.status == UNAVAILABLE:
            return False
        if ignore_busy:
            return True
        if m.ringing:
            return False
        if not q.cfg.ringinuse and (m.in_call or m.status in (INUSE, RINGING)):
            return False
        if any(o.ringing for _, o in self.same_member(m) if o is not m):
            return False  # app_queue's pending member: being rung for another queue
        if not ignore_wrapup and m.wrapup_until > self.engine.sched.now():
            return False
        return True

    def order(self, q: Queue) -> list[Member]:
        """Members to ring next, in the strategy's order (ringall: all of the best penalty)."""
        cands = [m for m in q.members if self._available(q, m)]
        if not cands:
            return []
        strat = q.cfg.strategy
        if strat == "wrandom":
            scored = [(self.rng.random() * (m.penalty + 1) * 1000, m) for m in cands]
            return [min(scored, key=lambda t: t[0])[1]]
        best = min(m.penalty for m in cands)
        tier = [m for m in cands if m.penalty == best]
        if strat == "ringall":
            return tier
        if strat == "leastrecent":
            return [min(tier, key=lambda m: m.lastcall)]
        if strat == "fewestcalls":
            return [min(tier, key=lambda m: m.calls)]
        if strat == "random":
            return [self.rng.choice(tier)]
        if strat == "linear":
            return [tier[0]]
        # rrmemory: the next member after the last one tried, remembered across calls
        n = len(q.members)
        for i in range(n):
            m = q.members[(q.rrpos + i) % n]
            if m in tier:
                return [m]
        return [tier[0]]

    def kick(self, q: Queue) -> None:
        for e in list(q.callers):
            if not e.attempts and e.retry_timer is None:
                self._try(q, e)

    def _try(self, q: Queue, entry: Entry) -> None:
        if entry.done or entry.attempts:
            return
        entry.retry_timer = None
        for m in self.order(q):
            if q.cfg.strategy in ("rrmemory", "linear") and m in q.members:
                if q.cfg.strategy == "rrmemory":
                    q.rrpos = (q.members.index(m) + 1) % len(q.members)
            self._call_member(q, entry, m)

    def _call_member(self, q: Queue, entry: Entry, m: Member) -> None:
        eng, caller = self.engine, entry.ch
        m.ringing = True
        if m.interface.upper().startswith("PJSIP/"):
            self._call_endpoint(q, entry, m)
            return
        a, b = eng.local_pair(m.interface, linkedid=caller.linkedid)
        a.inherit_from(caller)
        b.variables.update(a.variables)  # core_local hands ;1's whole list to ;2
        a.cid_num, a.cid_name = caller.cid_num, caller.cid_name
        a.extra["answer_exten"] = caller.exten
        a.appl, a.data = "AppQueue", "(Outgoing Line)"
        eng.chan_event("Newexten", a, [("Extension", a.exten), ("Application", "AppQueue"),
                                       ("AppData", "(Outgoing Line)")], "dialplan,all")
        eng.set_callerid(a, caller.cid_num, caller.cid_name)
        target = m.interface.split("/", 1)[1]
        eng.set_var(a, "DIALEDPEERNUMBER", target)
        eng.set_var(b, "DIALEDPEERNUMBER", target)
        a.extra["var_order"] = []
        eng.local_call(a)
        att = Attempt(entry, m, a, b, eng.sched.now())
        entry.attempts.append(att)
        eng.emit("AgentCalled", "agent,all", caller.snapshot() + a.snapshot("Dest")
                 + [("Queue", q.cfg.name), ("Interface", m.interface), ("MemberName", m.name)])
        eng.emit("DialBegin", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialString", m.interface)])
        a.on_answer = lambda: self._connect(q, att)
        a.on_hangup = lambda: self._ring_failed(q, att, "CHANUNAVAIL")
        a.on_busy = lambda cause: self._ring_failed(q, att, "BUSY")
        att.timer = eng.sched.call_later(q.cfg.timeout, self._ring_timeout, q, att)
        from .dialplan import Pbx

        Pbx(eng, b, b.context, b.exten, 1).start()

    def _call_endpoint(self, q: Queue, entry: Entry, m: Member) -> None:
        """Ring a PJSIP member (the WebRTC softphone): one real channel, no Local pair, no
        dialplan on it; its device state drives the member's status (6 ringing, 2 in use)."""
        eng, caller = self.engine, entry.ch
        endpoint = m.interface.split("/", 1)[1]
        context = eng.phones.endpoints.get(endpoint, "default")
        a = eng.simple_channel(f"PJSIP/{endpoint}", context, "s", linkedid=caller.linkedid)
        a.inherit_from(caller)
        a.cid_num, a.cid_name = caller.cid_num, caller.cid_name
        a.appl, a.data = "AppQueue", "(Outgoing Line)"
        eng.chan_event("Newexten", a, [("Extension", a.exten), ("Application", "AppQueue"),
                                       ("AppData", "(Outgoing Line)")], "dialplan,all")
        eng.set_callerid(a, caller.cid_num, caller.cid_name)
        eng.set_var(a, "DIALEDPEERNUMBER", endpoint)
        att = Attempt(entry, m, a, a, eng.sched.now(), queue=q)
        entry.attempts.append(att)
        eng.emit("AgentCalled", "agent,all", caller.snapshot() + a.snapshot("Dest")
                 + [("Queue", q.cfg.name), ("Interface", m.interface), ("MemberName", m.name)])
        eng.emit("DialBegin", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialString", m.interface)])
        # the endpoint reports 180 Ringing
        a.exten = caller.exten
        eng.newstate(a, RINGING_STATE)
        eng.chan_event("Newexten", a, [("Extension", a.exten), ("Application", "AppQueue"),
                                       ("AppData", "(Outgoing Line)")], "dialplan,all")
        eng.set_connected(a, caller.cid_num, caller.cid_name)
        eng.emit("DialState", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialStatus", "RINGING")])
        self._set_status(q, m, RINGING)
        eng.device_state(a.device, "RINGING")
        a.extra["endpoint_member"] = True
        a.on_answer = lambda: self._connect(q, att)
        a.on_hangup = lambda: self._ring_failed(q, att, "CHANUNAVAIL")
        a.on_busy = lambda cause: self._ring_failed(q, att, "BUSY")
        att.timer = eng.sched.call_later(q.cfg.timeout, self._ring_timeout, q, att)
        eng.phones.endpoint_ringing(endpoint, a)

    def _end_attempt(self, att: Attempt, status: str, twice: bool = False) -> None:
        eng = self.engine
        if att.timer is not None:
            att.timer.cancel()
        att.member.ringing = False
        if att in att.entry.attempts:
            att.entry.attempts.remove(att)
        pairs = att.entry.ch.snapshot() + att.a.snapshot("Dest")
        eng.emit("DialEnd", "call,all", pairs + [("DialStatus", status)])
        if twice:
            eng.emit("DialEnd", "call,all", pairs + [("DialStatus", "CANCEL")])
        att.a.on_answer = att.a.on_hangup = None
        if att.a.extra.get("endpoint_member") and not att.a.dead:
            eng.hangup(att.a, 0)
            if isinstance(att.queue, Queue):
                self._set_status(att.queue, att.member, NOT_INUSE, avail=False)
            else:
                att.member.status = NOT_INUSE
            return
        if not att.a.dead:
            att.a.exten = att.a.extra.pop("answer_exten", att.a.exten)
            eng.hangup(att.a, 0)
            eng.set_connected(att.a, att.entry.ch.cid_num, att.entry.ch.cid_name)

    def _ring_timeout(self, q: Queue, att: Attempt) -> None:
        eng = self.engine
        ms = int((eng.sched.now() - att.started) * 1000)
        eng.emit("AgentRingNoAnswer", "agent,all", att.entry.ch.snapshot() + att.a.snapshot("Dest")
                 + [("Queue", q.cfg.name), ("Interface", att.member.interface),
                    ("MemberName", att.member.name), ("RingTime", str(ms))])
        eng.queue_log(att.entry.ch.uniqueid, q.cfg.name, att.member.name, "RINGNOANSWER", ms)
        self._end_attempt(att, "NOANSWER", twice=True)
        self._schedule_retry(q, att.entry)

    def _ring_failed(self, q: Queue, att: Attempt, status: str) -> None:
        self._end_attempt(att, status)
        self._schedule_retry(q, att.entry)

    def _schedule_retry(self, q: Queue, entry: Entry) -> None:
        if entry.attempts or entry.done:
            return
        entry.retry_timer = self.engine.sched.call_later(q.cfg.retry, self._try, q, entry)

    def _stop_moh(self, ch: Channel) -> None:
        if ch.extra.pop("moh", False):
            self.engine.chan_event("MusicOnHoldStop", ch)

    def _remove_caller(self, q: Queue, entry: Entry) -> int:
        pos = self.position(q, entry)
        entry.done = True
        if entry in q.callers:
            q.callers.remove(entry)
        if entry.retry_timer is not None:
            entry.retry_timer.cancel()
        t = entry.ch.extra.pop("queue_timeout", None)
        if t is not None:
            t.cancel()
        if not q.callers:
            self.engine.device_state(f"Queue:{q.cfg.name}", "NOT_INUSE")
        self.engine.chan_event("QueueCallerLeave", entry.ch, [
            ("Queue", q.cfg.name), ("Position", str(pos)), ("Count", str(len(q.callers)))])
        return pos

    def _connect(self, q: Queue, att: Attempt) -> None:
        eng, entry, m, a = self.engine, att.entry, att.member, att.a
        caller = entry.ch
        now = eng.sched.now()
        # other members still ringing (ringall) are cancelled
        for other in list(entry.attempts):
            if other is not att:
                eng.queue_log(caller.uniqueid, q.cfg.name, other.member.name, "RINGCANCELED",
                              int((now - other.started) * 1000))
                self._end_attempt(other, "CANCEL")
        if att.timer is not None:
            att.timer.cancel()
        m.ringing = False
        entry.attempts = []
        endpoint = bool(a.extra.get("endpoint_member"))
        if not endpoint:
            eng.chan_event("Newexten", a, [("Extension", a.exten), ("Application", "AppQueue"),
                                           ("AppData", "(Outgoing Line)")], "dialplan,all")
            eng.set_connected(a, caller.cid_num, caller.cid_name)
            self._set_status(q, m, INUSE)
        eng.emit("DialEnd", "call,all", caller.snapshot() + a.snapshot("Dest")
                 + [("DialStatus", "ANSWER")])
        self._stop_moh(caller)
        pos = self._remove_caller(q, entry)
        hold = now - entry.start
        ring = now - att.started
        eng.set_var(caller, "QUEUEPOSITION", str(pos))
        if endpoint:  # the endpoint's device went from ringing to in use
            self._set_status(q, m, INUSE, avail=False)
        eng.set_var(caller, "QUEUEWAIT", str(int(hold)))
        eng.set_var(caller, "QUEUEWAIT_MS", str(int(hold * 1000)))
        q.holdtime = (q.holdtime * 3 + hold) / 4 if q.completed else hold
        eng.emit("AgentConnect", "agent,all", caller.snapshot() + a.snapshot("Dest") + [
            ("Queue", q.cfg.name), ("Interface", m.interface), ("MemberName", m.name),
            ("HoldTime", str(int(hold))), ("RingTime", str(int(ring)))])
        eng.queue_log(caller.uniqueid, q.cfg.name, m.name, "CONNECT", int(hold), a.uniqueid,
                      int(ring))
        br = eng.bridge_two(a, caller)
        if endpoint:  # bridged with a SIP channel, the caller learns its Call-ID
            eng.set_var(caller, "BRIDGEPVTCALLID", eng.uuid_factory())
        entry.pbx.bridged = True
        m.in_call = False
        info = {"connected": now, "hold": hold, "done": False}
        caller.extra["queue_call"] = (q, att, info)

        def finish(reason: str) -> None:
            if info["done"]:
                return
            info["done"] = True
            talk = eng.sched.now() - now
            pairs = [("Queue", q.cfg.name), ("Interface", m.interface), ("MemberName", m.name),
                     ("HoldTime", str(int(hold))), ("TalkTime", str(int(talk))),
                     ("Reason", reason)]
            snap = (caller.snapshot() if not caller.dead else []) + (
                a.snapshot("Dest") if not a.dead else [])
            eng.emit("AgentComplete", "agent,all", snap + pairs)
            verb = {"caller": "COMPLETECALLER", "agent": "COMPLETEAGENT"}.get(reason)
            if verb:
                eng.queue_log(caller.uniqueid, q.cfg.name, m.name, verb, int(hold), int(talk),
                              entry.orig_pos)
            q.completed += 1
            q.talktime = (q.talktime * 3 + talk) / 4 if q.completed > 1 else talk
            self._last_call(q, m)

        def answered_vars() -> None:
            t = eng.sched.now()
            eng.set_var(caller, "ANSWEREDTIME", str(int(t - now)))
            eng.set_var(caller, "ANSWEREDTIME_MS", str(int((t - now) * 1000)))
            eng.set_var(caller, "DIALEDTIME", str(int(t - entry.start)))
            eng.set_var(caller, "DIALEDTIME_MS", str(int((t - entry.start) * 1000)))

        def caller_gone() -> None:
            # app_queue publishes AgentComplete from its stasis router, racing the caller's
            # own hangup. Alone, the router wins (queue_answered, recording, whisper...); with
            # other callers waiting in the queue (status_snapshot, where the waiting caller
            # hung up in the same moment) it falls behind the caller's Hangup, and the event
            # then lacks the caller's snapshot. pbxsim picks the order by that condition.
            late = bool(q.callers)
            if not late:
                finish("caller")
            eng.set_var(caller, "BRIDGEPEER", "")
            if caller.variables.get("BRIDGEPVTCALLID"):
                eng.set_var(caller, "BRIDGEPVTCALLID", "")
            if not a.dead:
                eng.set_var(a, "BRIDGEPEER", "")
            eng.bridge_leave(caller)
            answered_vars()
            entry.pbx.end()
            if late:
                finish("caller")
            eng.dissolve_after(br)

        def agent_gone() -> None:
            finish("agent")
            eng.set_var(a, "BRIDGEPEER", "")
            eng.set_var(caller, "BRIDGEPEER", "")
            if caller.variables.get("BRIDGEPVTCALLID"):
                eng.set_var(caller, "BRIDGEPVTCALLID", "")
            eng.bridge_leave(a)
            eng.hangup(a, 16)
            eng.bridge_leave(caller)
            eng.bridge_destroy(br)
            answered_vars()
            caller.extra.pop("queue_call", None)
            entry.pbx.resume()

        entry.pbx.cleanup = caller_gone
        a.on_hangup = agent_gone
        caller.extra["queue_finish"] = finish
        caller.extra["queue_after_bridge"] = answered_vars
        b = att.b

        def member_free() -> None:
            if not info["done"]:
                # the caller is still in Queue (parked): app_queue's update_status starts the
                # wrap-up when the device goes idle, so the queue does not turn available
                m.lastcall = eng.sched.now()
                m.wrapup_until = m.lastcall + q.cfg.wrapuptime
            self._set_status(q, m, NOT_INUSE)
            for qq, _ in self.same_member(m):
                if q.cfg.wrapuptime > 0:
                    eng.sched.call_later(q.cfg.wrapuptime, self.kick, qq)
                else:
                    self.kick(qq)

        def redirected() -> None:
            """The parties left the queue's bridge by a Redirect (into a conference): the
            Queue application is over for the caller, but app_queue's router still watches
            both channels and completes the call on the first one's hangup request."""
            if info.get("redirected"):
                return
            info["redirected"] = True
            for ch in (caller, a):
                ch.extra.pop("queue_call", None)
                ch.extra.pop("queue_finish", None)
                ch.extra.pop("queue_after_bridge", None)
            caller.extra.setdefault("hangup_hooks", []).append(lambda: finish("caller"))
            a.extra.setdefault("hangup_hooks", []).append(lambda: finish("agent"))

        b.extra.setdefault("after_hangup", []).append(member_free)
        for ch in (caller, a):
            ch.extra.setdefault("on_redirect", []).append(redirected)

    def _last_call(self, q: Queue, m: Member) -> None:
        """update_queue: the member's call count and last call (in every queue of the interface
        with shared_lastcall), and the wrap-up of the queue the call came from."""
        now = self.engine.sched.now()
        targets = [o for _, o in self.same_member(m)] if self.shared_lastcall else [m]
        for o in targets:
            o.calls += 1
            o.lastcall = now
            o.wrapup_until = now + q.cfg.wrapuptime

    def _abandon(self, q: Queue, entry: Entry) -> None:
        eng, ch = self.engine, entry.ch
        now = eng.sched.now()
        self._stop_moh(ch)
        for att in list(entry.attempts):
            eng.queue_log(ch.uniqueid, q.cfg.name, att.member.name, "RINGCANCELED",
                          int((now - att.started) * 1000))
            self._end_attempt(att, "CANCEL", twice=True)
        wait = now - entry.start
        pos = self.position(q, entry)
        eng.set_var(ch, "QUEUEWAIT", str(int(wait)))
        eng.set_var(ch, "QUEUEWAIT_MS", str(int(wait * 1000)))
        eng.set_var(ch, "DIALEDTIME", str(int(wait)))
        eng.set_var(ch, "DIALEDTIME_MS", str(int(wait * 1000)))
        eng.set_var(ch, "ANSWEREDTIME", "0")
        eng.set_var(ch, "ANSWEREDTIME_MS", "0")
        eng.set_var(ch, "ABANDONED", "TRUE")
        eng.chan_event("QueueCallerAbandon", ch, [
            ("Queue", q.cfg.name), ("Position", str(pos)),
            ("OriginalPosition", str(entry.orig_pos)), ("HoldTime", str(int(wait)))])
        q.abandoned += 1
        eng.queue_log(ch.uniqueid, q.cfg.name, "NONE", "ABANDON", pos, entry.orig_pos, int(wait))
        self._remove_caller(q, entry)
        eng.set_var(ch, "QUEUEPOSITION", str(pos))
        entry.pbx.end()

    def _exit(self, q: Queue, entry: Entry, status: str, verb: str) -> None:
        eng, ch = self.engine, entry.ch
        self._stop_moh(ch)
        for att in list(entry.attempts):
            self._end_attempt(att, "CANCEL")
        pos = self.position(q, entry)
        wait = eng.sched.now() - entry.start
        eng.queue_log(ch.uniqueid, q.cfg.name, "NONE", verb, pos, entry.orig_pos, int(wait))
        self._remove_caller(q, entry)
        eng.set_var(ch, "QUEUESTATUS", status)
        entry.pbx.resume()

    def _timeout(self, q: Queue, entry: Entry) -> None:
        if not entry.done and entry in q.callers:
            self._exit(q, entry, "TIMEOUT", "EXITWITHTIMEOUT")

    def _leave_empty(self, q: Queue, entry: Entry) -> None:
        self._exit(q, entry, "LEAVEEMPTY", "EXITEMPTY")
