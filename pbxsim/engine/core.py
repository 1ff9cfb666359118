"""The engine: allocates channels (Local halves included), runs the dialplan, bridges calls and
emits every AMI event in the order Asterisk 22 does for the lab scenarios."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..framing import Message
from .channels import DOWN, RING, UP, Bridge, Channel, Pairs
from .clock import Scheduler

Listener = Callable[[Message], None]
PRES_ALLOWED = "0 (Presentation Allowed, Not Screened)"


@dataclass
class PartyScript:
    """How a simulated far end behaves when called: ring for ``ring`` s then answer (``answer``),
    be busy, or never answer; stay up ``talk`` s."""

    ring: float = 2.0
    answer: bool = True
    busy: bool = False
    talk: float = 60.0


class Engine:
    """Holds all channels and bridges; emits events to listeners (the AMI sessions)."""

    def __init__(self, scheduler: Scheduler, dialplan: object | None = None) -> None:
        from .dialplan import Dialplan, lab_dialplan
        from .queues import QueueManager

        self.sched = scheduler
        self.listeners: list[Listener] = []
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self._uid_seq = itertools.count()
        self._local_seq = itertools.count()
        self.dialplan: Dialplan = dialplan if isinstance(dialplan, Dialplan) else lab_dialplan()
        self.queues = QueueManager(self)
        self.device_states: dict[str, str] = {}
        self.boot_time = scheduler.now()
        self.queue_log_lines: list[str] = []
        self.queue_log_sinks: list[Callable[[str], None]] = []
        self.recordings_dir = "."
        self.answer_hooks: dict[str, Callable[[Channel], None]] = {}
        self.uuid_factory: Callable[[], str] = lambda: str(uuid.uuid4())
        from .features import Features
        from .media import Media, fixed_duration

        self.features = Features(self)
        self.media = Media(self)
        from .phones import install

        self.phones = install(self)
        from .confbridge import install as install_confbridge

        self.confbridges = install_confbridge(self)
        from .rtp import Rtcp

        self.rtcp = Rtcp(self)
        self.prompt_duration: Callable[[str], float | None] = fixed_duration
        # FastAGI: where ``agi://host:port`` really connects (tests, the demo), and how many
        # sessions are waiting on their script (virtual time stands still for them)
        self.agi_address: Callable[[str, int], tuple[str, int]] = lambda h, p: (h, p)
        self.io_waiting = 0
        self.agi_tasks: set[asyncio.Task[None]] = set()
        self.astdb: dict[str, str] = {}

    async def close_io(self) -> None:
        """Stop FastAGI sessions still open (tests, demo shutdown)."""
        tasks = list(self.agi_tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- events -------------------------------------------------------------------------
    def emit(self, event: str, privilege: str | None, pairs: Pairs) -> None:
        msg = Message([("Event", event)])
        if privilege is not None:
            msg.pairs.append(("Privilege", privilege))
        msg.pairs.extend(pairs)
        for listener in list(self.listeners):
            listener(msg)

    def chan_event(self, event: str, ch: Channel, extra: Pairs | None = None,
                   priv: str = "call,all") -> None:
        self.emit(event, priv, ch.snapshot() + (extra or []))

    def queue_log(self, callid: str, queue: str, agent: str, verb: str, *data: object) -> None:
        line = "|".join([str(int(self.sched.now())), callid, queue, agent, verb, *map(str, data)])
        self.queue_log_lines.append(line)
        for sink in self.queue_log_sinks:
            sink(line)

    def device_state(self, device: str, state: str, force: bool = False) -> None:
        """DeviceStateChange, sent only when the cached state changes (as Asterisk caches it)."""
        if not force and self.device_states.get(device) == state:
            return
        self.device_states[device] = state
        self.emit("DeviceStateChange", "call,all", [("Device", device), ("State", state)])

    # -- ids ----------------------------------------------------------------------------
    def new_uniqueid(self) -> str:
        return f"{int(self.sched.now())}.{next(self._uid_seq)}"

    def later(self, delay: float, fn: Callable[..., object], *args: object) -> object:
        return self.sched.call_later(delay, fn, *args)

    # -- channel creation ---------------------------------------------------------------
    def _new(self, name: str, state: int, context: str, exten: str, device: str,
             linkedid: str | None, uid: str | None = None) -> Channel:
        uniqueid = uid or self.new_uniqueid()
        ch = Channel(name=name, uniqueid=uniqueid, linkedid=linkedid or uniqueid, state=state,
                     context=context, exten=exten, device=device, created=self.sched.now())
        self.channels[name] = ch
        return ch

    def local_pair(self, dest: str, linkedid: str | None = None, uid1: str | None = None,
                   uid2: str | None = None) -> tuple[Channel, Channel]:
        """Create both halves of ``Local/exten@context[/n]`` and announce them (Newchannel x2)."""
        target = dest.split("/", 1)[1] if dest.lower().startswith("local/") else dest
        target = target.split("/")[0]
        exten, _, context = target.partition("@")
        context = context or "default"
        seq = next(self._local_seq)
        base = f"Local/{exten}@{context}-{seq:08x}"
        device = f"Local/{exten}@{context}"
        a = self._new(base + ";1", DOWN, context, exten, device, linkedid, uid1)
        b = self._new(base + ";2", RING, context, exten, device, a.linkedid, uid2)
        a.local_peer, b.local_peer, a.half, b.half = b, a, 1, 2
        a.extra["dialstring"] = target
        a.extra["optimize"] = not dest.rstrip().endswith("/n")
        self.chan_event("Newchannel", a)
        self.chan_event("Newchannel", b)
        return a, b

    def simple_channel(self, tech_name: str, context: str, exten: str,
                       linkedid: str | None = None) -> Channel:
        """A non-Local channel such as ``PJSIP/1101-00000001`` (a softphone)."""
        seq = next(self._local_seq)
        ch = self._new(f"{tech_name}-{seq:08x}", DOWN, context, exten, tech_name, linkedid)
        self.chan_event("Newchannel", ch)
        return ch

    def local_bridge_event(self, a: Channel, b: Channel) -> None:
        self.emit("LocalBridge", "call,all",
                  a.snapshot("LocalOne") + b.snapshot("LocalTwo")
                  + [("Context", b.context), ("Exten", b.exten),
                     ("LocalOptimization", "Yes" if a.extra.get("optimize") else "No")])

    def local_call(self, a: Channel) -> None:
        """Place the call from ;1 to ;2: copy variables and caller id, LocalBridge, start ;2.
        Variables ;1 inherited from its creator are copied silently (core_local copies the
        whole list); ``var_order`` names those announced with VarSet (Originate's)."""
        b = a.local_peer
        assert b is not None
        for k, v in a.variables.items():
            b.variables.setdefault(k, v)
        for k, v in a.extra.get("var_order", list(a.variables.items())):
            self.set_var(b, k, v)
        if a.cid_num or a.cid_name:
            b.cid_num, b.cid_name = a.cid_num, a.cid_name
            b.con_num, b.con_name = a.cid_num, a.cid_name
            self.chan_event("NewCallerid", b, [("CID-CallingPres", PRES_ALLOWED)])
            self.chan_event("NewConnectedLine", b)
        self.local_bridge_event(a, b)

    # -- state changes ------------------------------------------------------------------
    def set_var(self, ch: Channel, name: str, value: str, event: bool = True) -> None:
        ch.variables[name] = value
        if event:
            self.chan_event("VarSet", ch, [("Variable", name), ("Value", value)], "dialplan,all")

    def set_callerid(self, ch: Channel, num: str, name: str) -> None:
        ch.cid_num, ch.cid_name = num, name
        self.chan_event("NewCallerid", ch, [("CID-CallingPres", PRES_ALLOWED)])

    def set_connected(self, ch: Channel, num: str, name: str) -> None:
        ch.con_num, ch.con_name = num, name
        self.chan_event("NewConnectedLine", ch)

    def newstate(self, ch: Channel, state: int) -> None:
        if ch.state == state:
            return
        ch.state = state
        if state == UP and ch.answered_at is None:
            ch.answered_at = self.sched.now()
        self.chan_event("Newstate", ch)
        if state == UP:
            self.device_state(ch.device, "INUSE", force=True)
        elif state == RING and ch.half != 2:
            self.device_state(ch.device, "RINGING")

    def answer(self, ch: Channel) -> None:
        """Answer a channel; a Local ;2 answering answers its ;1, whose owner is told."""
        if ch.state == UP or ch.dead:
            return
        self.newstate(ch, UP)
        peer = ch.local_peer
        if ch.half == 2 and peer is not None and not peer.dead:
            if "answer_exten" in peer.extra:
                peer.exten = peer.extra.pop("answer_exten")
            self.newstate(peer, UP)
            cb = peer.on_answer
            peer.on_answer = None
            if cb:
                cb()
        elif ch.half == 0 and ch.on_answer is not None:
            cb = ch.on_answer
            ch.on_answer = None
            cb()

    def busy(self, ch: Channel, cause: int = 17) -> None:
        """A Local ;2 reporting busy to its caller (``Busy()``)."""
        peer = ch.local_peer
        if peer is not None and peer.on_busy is not None and not peer.dead:
            cb = peer.on_busy
            peer.on_busy = None
            cb(cause)

    # -- hangup -------------------------------------------------------------------------
    def soft_hangup_request(self, ch: Channel, cause: int = 16) -> None:
        self.chan_event("SoftHangupRequest", ch, [("Cause", str(cause))])
        self.hangup_requested_hooks(ch)

    @staticmethod
    def hangup_requested_hooks(ch: Channel) -> None:
        """Who watches a channel's hangup request (app_queue's stasis router on a queue call
        whose parties were redirected out of its bridge) hears of it once, right after the
        request event."""
        for hook in ch.extra.pop("hangup_hooks", []):
            hook()

    def hangup(self, ch: Channel, cause: int = 16) -> None:
        """Destroy a channel. A Local half first asks its other half to hang up."""
        if ch.dead:
            return
        ch.dead = True
        ch.hangup_cause = cause
        peer = ch.local_peer
        if peer is not None and not peer.dead and not peer.extra.get("hangup_requested"):
            peer.extra["hangup_requested"] = True
            peer.extra["req_cause"] = cause
            self.chan_event("HangupRequest", peer, [("Cause", str(cause))])
            self.hangup_requested_hooks(peer)
            self.sched.call_later(0, self._notify_hangup, peer)
        pre = ch.extra.pop("pre_hangup", None)
        if pre is not None:  # a technology's last words (chan_pjsip's RTPAUDIOQOS variables)
            pre()
        from .channels import CAUSE_TEXT

        self.hangup_requested_hooks(ch)
        self.chan_event("Hangup", ch, [("Cause", str(cause)),
                                       ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))])
        self.channels.pop(ch.name, None)
        state = "INVALID" if ch.extra.get("invalid") else self.local_device_state(ch)
        self.device_state(ch.device, state, force=True)
        for hook in list(ch.extra.get("after_hangup", [])):
            hook()

    def local_device_state(self, gone: Channel) -> str:
        """core_local's aggregate state for ``Local/exten@context``: in use while any other pair
        for it still has its ;2 half (the caretaker) alive, else idle. The hanging-up pair
        itself is not counted: Asterisk evaluates the state after both halves are gone."""
        if not gone.is_local:
            return "NOT_INUSE"
        for c in self.channels.values():
            if (c.half == 2 and not c.dead and c.device == gone.device and c is not gone
                    and c is not gone.local_peer):
                return "INUSE"
        return "NOT_INUSE"

    def request_hangup(self, ch: Channel, cause: int = 16) -> None:
        """Hangup requested from outside (AMI Hangup, bridge peer gone): let the owner react."""
        if ch.dead or ch.extra.get("hangup_requested"):
            return
        ch.extra["hangup_requested"] = True
        self.chan_event("HangupRequest", ch, [("Cause", str(cause))])
        self.hangup_requested_hooks(ch)
        self.sched.call_later(0, self._notify_hangup, ch)

    def _notify_hangup(self, ch: Channel) -> None:
        if ch.dead:
            return
        if ch.pbx is not None:
            ch.pbx.hangup_requested()
        elif ch.bridge is not None and ch.on_hangup is None:
            self.bridge_leave(ch)
            self.hangup(ch, ch.hangup_cause)
        elif ch.on_hangup is not None:
            cb = ch.on_hangup
            ch.on_hangup = None
            cb()
        else:
            self.hangup(ch)

    # -- bridges ------------------------------------------------------------------------
    def bridge_create(self, technology: str = "simple_bridge", bridge_type: str = "basic",
                      creator: str = "", name: str = "") -> Bridge:
        br = Bridge(uniqueid=self.uuid_factory(), technology=technology,
                    bridge_type=bridge_type, creator=creator, name=name)
        self.bridges[br.uniqueid] = br
        self.emit("BridgeCreate", "call,all", br.header())
        return br

    def bridge_enter(self, br: Bridge, ch: Channel) -> None:
        br.channels.append(ch)
        ch.bridge = br
        self.emit("BridgeEnter", "call,all", br.header() + ch.snapshot())

    def bridge_leave(self, ch: Channel) -> None:
        br = ch.bridge
        if br is None:
            return
        if ch in br.channels:
            br.channels.remove(ch)
        ch.bridge = None
        self.emit("BridgeLeave", "call,all", br.header() + ch.snapshot())

    def bridge_destroy(self, br: Bridge) -> None:
        self.bridges.pop(br.uniqueid, None)
        self.emit("BridgeDestroy", "call,all", br.header())

    def bridge_two(self, first: Channel, second: Channel) -> Bridge:
        """A two-party basic bridge: first enters, then second; each learns its BRIDGEPEER."""
        br = self.bridge_create()
        self.bridge_enter(br, first)
        self.bridge_enter(br, second)
        self.set_var(first, "BRIDGEPEER", second.name)
        self.set_var(second, "BRIDGEPEER", first.name)
        return br

    def redirect(self, moves: list[tuple[Channel, str, str, int]]) -> None:
        """AMI Redirect (with ExtraChannel: both moves at once). Each channel leaves its bridge
        by an async goto; a bridge both parties leave this way is not dissolved (Asterisk's
        BRIDGE_DUAL_REDIRECT_WAIT), else the party left alone is hung up. Whatever owned the
        channel (Queue, Dial, an Originate) lets go of it (``on_redirect`` hooks), and the
        channel runs the dialplan at its new place, a PBX started for it if it had none."""
        from .dialplan import Pbx

        for ch, *_ in moves:
            for hook in ch.extra.pop("on_redirect", []):
                hook()
        left: list[Bridge] = []
        for ch, *_ in moves:
            br = ch.bridge
            if br is None:
                continue
            if ch.variables.get("BRIDGEPEER"):
                self.set_var(ch, "BRIDGEPEER", "")
            self.bridge_leave(ch)
            if br not in left:
                left.append(br)
        for br in left:
            if br.channels:
                self.dissolve_after(br)
            elif br.uniqueid in self.bridges:
                self.bridge_destroy(br)
        for ch, context, exten, priority in moves:
            ch.on_answer = ch.on_hangup = None
            ch.on_busy = None
            if ch.pbx is None:
                Pbx(self, ch, context, exten, priority)
            assert ch.pbx is not None
            ch.pbx.finished = False
            ch.pbx.goto(context, exten, priority)

    def bridge_peer(self, ch: Channel) -> Channel | None:
        if ch.bridge is None:
            return None
        others = [c for c in ch.bridge.channels if c is not ch]
        return others[0] if others else None

    def dissolve_after(self, br: Bridge) -> None:
        """When one party has left a two-party bridge, the other leaves and is hung up."""
        for other in list(br.channels):
            if other.pbx is not None and other.pbx.bridged_app_active():
                continue
            self.bridge_leave(other)
            if not br.channels:
                self.bridge_destroy(br)
            self.hangup(other, 16)
        if not br.channels and br.uniqueid in self.bridges:
            self.bridge_destroy(br)

    # -- lookups ------------------------------------------------------------------------
    def find_channel(self, name: str) -> Channel | None:
        ch = self.channels.get(name)
        if ch is not None:
            return ch
        low = name.lower()
        for c in self.channels.values():
            if c.name.lower() == low or c.uniqueid == name:
                return c
        return None
