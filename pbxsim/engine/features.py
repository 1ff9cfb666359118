"""Call features driven from AMI: park, blind transfer, ChanSpy, MixMonitor (a real WAV file)."""

from __future__ import annotations

import math
import os
import struct
import wave
from typing import TYPE_CHECKING, Any

from .channels import UP, Bridge, Channel
from .dialplan import APPS, Step

if TYPE_CHECKING:
    from .core import Engine
    from .dialplan import Pbx


class Features:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.parked: dict[int, dict[str, Any]] = {}
        self.lot: Bridge | None = None
        self.context = "parkedcalls"
        self.park_range = range(701, 721)
        self.parkinglot = "default"
        self.recordings: dict[str, dict[str, Any]] = {}
        self.spies: list[Spy] = []
        # res_parking adds an extension per space to the lot's context: dialling it retrieves
        for space in self.park_range:
            engine.dialplan.add(self.context, str(space),
                                [Step("ParkedCall", f"{self.parkinglot},{space}")])
        APPS["parkedcall"] = lambda pbx, data, step: pbx.engine.features.app_parkedcall(pbx,
                                                                                        data)

    # -- Park ------------------------------------------------------------------------------
    def _lot_bridge(self) -> Bridge:
        """The parking lot's holding bridge: created on first use and kept (res_parking keeps
        it for the lot's lifetime; the capture shows no BridgeDestroy)."""
        if self.lot is None or self.lot.uniqueid not in self.engine.bridges:
            self.lot = self.engine.bridge_create("holding_bridge", bridge_type="parking",
                                                 creator="Parking", name=self.parkinglot)
        return self.lot

    def park(self, ch: Channel, timeout: float = 45.0, parker: Channel | None = None) -> int:
        """Park ``ch`` (AMI Park): it moves from its bridge into the lot's holding bridge; the
        application it runs (Queue in the lab) keeps the channel, so its AgentComplete comes
        only when the parked caller hangs up."""
        eng = self.engine
        space = next(s for s in self.park_range if s not in self.parked)
        old = ch.bridge
        peer = eng.bridge_peer(ch)
        if peer is not None:
            eng.set_var(ch, "BLINDTRANSFER", peer.name)
        lot = self._lot_bridge()
        if old is not None:
            if peer is not None:
                eng.set_var(ch, "BLINDTRANSFER", peer.name)
            eng.bridge_leave(ch)
        rec: dict[str, Any] = {"ch": ch, "since": eng.sched.now(), "timeout": timeout,
                               "parker": parker.device if parker else ""}
        self.parked[space] = rec
        eng.emit("ParkedCall", "call,all", self.park_pairs(rec, space))
        eng.device_state(f"park:{space}@{self.context}", "INUSE")
        eng.bridge_enter(lot, ch)
        if old is not None:
            eng.set_var(ch, "BLINDTRANSFER", "")
            eng.set_var(ch, "BRIDGEPEER", "")
        eng.chan_event("MusicOnHoldStart", ch, [("Class", "default")])
        if old is not None:
            # the party left behind is alone in a basic bridge: it leaves and is hung up
            left = list(old.channels)
            for other in left:
                eng.set_var(other, "BRIDGEPEER", "")
                eng.bridge_leave(other)
            eng.bridge_destroy(old)
            for other in left:
                other.on_hangup = None
                eng.hangup(other, 16)
        rec["timer"] = eng.sched.call_later(timeout, self._park_timeout, space)
        if ch.pbx is not None:
            ch.pbx.cleanup = lambda: self._giveup(space)
            ch.pbx.bridged = True
        else:
            ch.on_hangup = lambda: self._giveup(space)
        return space

    def park_pairs(self, rec: dict[str, Any], space: int) -> list[tuple[str, str]]:
        """ParkedCall* headers; timeout and duration from whole-second wall clocks, as
        res_parking computes them (remaining time, not the configured one)."""
        ch: Channel = rec["ch"]
        now, since = int(self.engine.sched.now()), int(rec["since"])
        return ch.snapshot("Parkee") + [
            ("ParkerDialString", rec["parker"]), ("Parkinglot", self.parkinglot),
            ("ParkingSpace", str(space)),
            ("ParkingTimeout", str(since + int(rec["timeout"]) - now)),
            ("ParkingDuration", str(now - since))]

    def _unpark(self, space: int) -> tuple[dict[str, Any], Channel]:
        """Leave the lot: music stops, the app that owns the channel (Queue) completes."""
        eng = self.engine
        rec = self.parked.pop(space)
        ch: Channel = rec["ch"]
        rec["timer"].cancel()
        eng.chan_event("MusicOnHoldStop", ch)
        finish = ch.extra.pop("queue_finish", None)
        if finish is not None:
            finish("caller")
        eng.device_state(f"park:{space}@{self.context}", "NOT_INUSE")
        eng.bridge_leave(ch)
        after = ch.extra.pop("queue_after_bridge", None)
        if after is not None:
            after()
        return rec, ch

    def _end(self, ch: Channel) -> None:
        if ch.pbx is not None:
            ch.pbx.bridged = False
            ch.pbx.end()
        else:
            self.engine.hangup(ch)

    def _giveup(self, space: int) -> None:
        """The parked caller hung up: ParkedCallGiveUp follows its Hangup (the capture's order)."""
        rec, ch = self._unpark(space)
        self._end(ch)
        self.engine.emit("ParkedCallGiveUp", "call,all", self.park_pairs(rec, space))

    def _park_timeout(self, space: int) -> None:
        """Not in the captures: the lab's calls never timed out. pbxsim ends the call (it does
        not dial the parker back as comebacktoorigin would)."""
        rec = self.parked[space]
        self.engine.emit("ParkedCallTimeOut", "call,all", self.park_pairs(rec, space))
        _, ch = self._unpark(space)
        self._end(ch)

    def app_parkedcall(self, pbx: Pbx, data: str) -> bool:
        """ParkedCall(lot,space): the channel retrieves the call parked there, as res_parking
        does: the parkee leaves the lot (UnParkedCall, with the retriever), then both talk in
        a new basic bridge. An empty space ends the call (Asterisk plays pbx-invalidpark and
        hangs up). The app the parkee runs (Queue) completes when this conversation ends."""
        eng, ch = self.engine, pbx.ch
        parts = data.split(",")
        wanted = parts[1].strip() if len(parts) > 1 and parts[1].strip() else ch.exten
        space = int(wanted) if wanted.isdigit() else -1
        if ch.state != UP:
            eng.answer(ch)
        rec = self.parked.pop(space, None)
        if rec is None:
            pbx.end()
            return False
        parkee: Channel = rec["ch"]
        rec["timer"].cancel()
        eng.chan_event("MusicOnHoldStop", parkee)
        eng.bridge_leave(parkee)
        eng.emit("UnParkedCall", "call,all",
                 self.park_pairs(rec, space) + ch.snapshot("Retriever"))
        eng.device_state(f"park:{space}@{self.context}", "NOT_INUSE")
        br = eng.bridge_create()
        eng.bridge_enter(br, parkee)
        eng.bridge_enter(br, ch)
        eng.set_var(parkee, "BRIDGEPEER", ch.name)
        eng.set_var(ch, "BRIDGEPEER", parkee.name)
        pbx.bridged = True
        pbx.cleanup = lambda: self._retrieved_over(parkee, ch, br, "agent")
        if parkee.pbx is not None:
            parkee.pbx.cleanup = lambda: self._retrieved_over(parkee, ch, br, "caller")
        else:
            parkee.on_hangup = lambda: self._retrieved_over(parkee, ch, br, "caller")
        return False

    def _retrieved_over(self, parkee: Channel, retriever: Channel, br: Bridge,
                        reason: str) -> None:
        """One side of a retrieved call hung up: the basic bridge ends, so does the other."""
        eng = self.engine
        if br.uniqueid not in eng.bridges:
            return
        for c in (parkee, retriever):
            eng.set_var(c, "BRIDGEPEER", "")
        finish = parkee.extra.pop("queue_finish", None)
        if finish is not None:
            finish(reason)
        for c in (parkee, retriever):
            if c.bridge is br:
                eng.bridge_leave(c)
        eng.bridge_destroy(br)
        after = parkee.extra.pop("queue_after_bridge", None)
        if after is not None:
            after()
        for c in (parkee, retriever):
            if c.pbx is not None:
                c.pbx.cleanup = None
            else:
                c.on_hangup = None
            self._end(c)

    # -- transfer ------------------------------------------------------------------------
    def blind_transfer(self, ch: Channel, context: str, exten: str) -> str:
        """``ch`` (the transferer) sends its bridge peer to exten@context.

        The capture's order: the transferer is taken off hold, both parties learn
        BLINDTRANSFER, the transferer loses its BRIDGEPEER, then BlindTransfer and (for a
        queue call) AgentComplete; the transferee's context changes while it is still in the
        bridge (a Newexten still naming Queue), then it leaves and the queue app's timing
        variables are set before the dialplan resumes at the target."""
        eng = self.engine
        peer = eng.bridge_peer(ch)
        if peer is None or ch.bridge is None:
            return "Transfer invalid"
        br = ch.bridge
        eng.chan_event("Unhold", ch)
        eng.set_var(ch, "BLINDTRANSFER", peer.name)
        eng.set_var(peer, "BLINDTRANSFER", ch.name)
        eng.set_var(ch, "BRIDGEPEER", "")
        eng.emit("BlindTransfer", "call,all", [("Result", "Success")] + ch.snapshot("Transferer")
                 + peer.snapshot("Transferee") + br.header()
                 + [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)])
        qc = peer.extra.get("queue_call") or ch.extra.get("queue_call")
        queue_start: float | None = None
        if qc is not None:
            q, att, info = qc
            queue_start = att.entry.start
            eng.queue_log(peer.uniqueid, q.cfg.name, att.member.name, "BLINDTRANSFER", exten,
                          context, int(info["hold"]),
                          int(eng.sched.now() - info["connected"]), att.entry.orig_pos)
            finish = peer.extra.get("queue_finish")
            if finish is not None:
                finish("transfer")
        eng.bridge_leave(ch)
        eng.hangup(ch, 16)
        target = peer
        if target.half == 1 and target.pbx is None:
            return ""
        eng.set_var(target, "BRIDGEPEER", "")
        in_app = target.pbx is not None and not target.pbx.finished
        if in_app:
            # the bridge's after-goto moves the channel while its app (Queue) still runs
            target.context, target.exten = context, exten
            eng.chan_event("Newexten", target, [("Extension", exten),
                                                ("Application", target.appl),
                                                ("AppData", target.data)], "dialplan,all")
        eng.bridge_leave(target)
        eng.bridge_destroy(br)
        if queue_start is not None:
            target.extra.pop("queue_call", None)
            target.extra.pop("queue_finish", None)
            dialed = eng.sched.now() - queue_start
            eng.set_var(target, "DIALEDTIME", str(int(dialed)))
            eng.set_var(target, "DIALEDTIME_MS", str(int(dialed * 1000)))
            eng.set_var(target, "ANSWEREDTIME", "0")
            eng.set_var(target, "ANSWEREDTIME_MS", "0")
        if target.pbx is not None:
            # the explicit goto lands on priority 1, then the app's return moves past it
            target.pbx.goto(context, exten, 2 if in_app else 1)
        else:  # a dialled channel (the premises through the trunk) gets a PBX of its own
            from .dialplan import Pbx

            target.on_answer = target.on_hangup = None
            target.on_busy = None
            Pbx(eng, target, context, exten, 1).start()
        return ""

    # -- attended transfer (AMI Atxfer) ------------------------------------------------------
    def atxfer(self, ch: Channel, context: str, exten: str) -> str:
        """The atxfer feature on ``ch`` (the transferer), as bridge_basic runs it: the peer is
        held in the original bridge, the transferer moves to a new bridge and calls
        exten@context there; when the transferer hangs up after the target answered, the
        target joins the held party (AttendedTransfer, DestType=Bridge). Not in the lab
        captures: the order follows Asterisk's attended-transfer state machine."""
        eng = self.engine
        peer = eng.bridge_peer(ch)
        if peer is None or ch.bridge is None:
            return "Channel is not in a bridge"
        if not eng.dialplan.exists(context, exten):
            return "Extension does not exist"
        orig = ch.bridge
        eng.chan_event("Hold", peer)
        eng.chan_event("MusicOnHoldStart", peer, [("Class", "default")])
        eng.set_var(ch, "BRIDGEPEER", "")
        eng.bridge_leave(ch)
        consult = eng.bridge_create()
        eng.bridge_enter(consult, ch)
        a, b = eng.local_pair(f"Local/{exten}@{context}", linkedid=ch.linkedid)
        a.inherit_from(ch)
        b.variables.update(a.variables)
        a.cid_num, a.cid_name = ch.cid_num, ch.cid_name
        a.extra["var_order"] = []
        eng.local_call(a)
        eng.emit("DialBegin", "call,all", ch.snapshot() + a.snapshot("Dest")
                 + [("DialString", f"{exten}@{context}")])
        st: dict[str, Any] = {"answered": False}

        def answered() -> None:
            st["answered"] = True
            eng.emit("DialEnd", "call,all", ch.snapshot() + a.snapshot("Dest")
                     + [("DialStatus", "ANSWER")])
            eng.bridge_enter(consult, a)
            eng.set_var(ch, "BRIDGEPEER", a.name)
            eng.set_var(a, "BRIDGEPEER", ch.name)

        def target_gone() -> None:  # the target hung up or never answered: back to the peer
            if not st["answered"]:
                eng.emit("DialEnd", "call,all", ch.snapshot() + a.snapshot("Dest")
                         + [("DialStatus", "CANCEL")])
            else:
                eng.bridge_leave(a)
            eng.hangup(a, 16)
            eng.bridge_leave(ch)
            eng.bridge_destroy(consult)
            eng.chan_event("MusicOnHoldStop", peer)
            eng.chan_event("Unhold", peer)
            eng.bridge_enter(orig, ch)
            ch.on_hangup = st.get("transferer_on_hangup")

        def transferer_gone() -> None:
            if not st["answered"]:
                target_gone()
                eng.request_hangup(ch)
                return
            self._atxfer_complete(ch, peer, a, orig, consult)

        a.on_answer = answered
        a.on_hangup = target_gone
        st["transferer_on_hangup"] = ch.on_hangup
        ch.on_hangup = transferer_gone
        from .dialplan import Pbx

        Pbx(eng, b, b.context, b.exten, 1).start()
        return ""

    def _atxfer_complete(self, ch: Channel, peer: Channel, target: Channel, orig: Bridge,
                         consult: Bridge) -> None:
        eng = self.engine
        eng.emit("AttendedTransfer", "call,all", [("Result", "Success")]
                 + ch.snapshot("OrigTransferer") + _prefixed(orig.header(), "Orig")
                 + ch.snapshot("SecondTransferer") + _prefixed(consult.header(), "Second")
                 + [("DestType", "Bridge"), ("DestBridgeUniqueid", orig.uniqueid)]
                 + peer.snapshot("Transferee") + target.snapshot("TransferTarget")
                 + [("IsExternal", "No")])
        qc = peer.extra.get("queue_call")
        if qc is not None:
            q, att, info = qc
            eng.queue_log(peer.uniqueid, q.cfg.name, att.member.name, "ATTENDEDTRANSFER",
                          "BRIDGE", orig.uniqueid, int(info["hold"]),
                          int(eng.sched.now() - info["connected"]), att.entry.orig_pos)
            finish = peer.extra.get("queue_finish")
            if finish is not None:
                finish("transfer")
        # the target moves into the transferee's bridge; the transferer is hung up
        eng.set_var(ch, "BRIDGEPEER", "")
        eng.bridge_leave(target)
        eng.bridge_leave(ch)
        eng.bridge_destroy(consult)
        eng.hangup(ch, 16)
        eng.chan_event("MusicOnHoldStop", peer)
        eng.chan_event("Unhold", peer)
        eng.bridge_enter(orig, target)
        eng.set_var(peer, "BRIDGEPEER", target.name)
        eng.set_var(target, "BRIDGEPEER", peer.name)

        def target_gone() -> None:
            eng.set_var(target, "BRIDGEPEER", "")
            eng.set_var(peer, "BRIDGEPEER", "")
            eng.bridge_leave(target)
            eng.hangup(target, 16)
            eng.bridge_leave(peer)
            eng.bridge_destroy(orig)
            if peer.pbx is not None:
                peer.pbx.resume()
            else:
                eng.hangup(peer, 16)

        target.on_hangup = target_gone

    # -- ChanSpy -------------------------------------------------------------------------
    def app_chanspy(self, pbx: Pbx, data: str) -> bool:
        """ChanSpy(target,options): see :class:`Spy`."""
        spec, _, options = data.partition(",")
        spy = Spy(self, pbx, spec.strip(), options)
        self.spies.append(spy)
        return spy.start()

    # -- MixMonitor ------------------------------------------------------------------------
    def mixmonitor(self, ch: Channel, filename: str) -> None:
        eng = self.engine
        path = filename if os.path.isabs(filename) else os.path.join(eng.recordings_dir, filename)
        self.recordings[ch.name] = {"path": path, "start": eng.sched.now()}
        eng.set_var(ch, "MIXMONITOR_FILENAME", os.path.abspath(path))
        # the audiohook joining makes the bridge re-announce each party's peer
        br = ch.bridge
        if br is not None and len(br.channels) == 2:
            first, second = br.channels
            eng.set_var(first, "BRIDGEPEER", second.name)
            eng.set_var(second, "BRIDGEPEER", first.name)
        eng.chan_event("MixMonitorStart", ch)
        ch.extra.setdefault("after_hangup", []).append(lambda: self.stop_mixmonitor(ch))

    def stop_mixmonitor(self, ch: Channel) -> bool:
        rec = self.recordings.pop(ch.name, None)
        if rec is None:
            return False
        seconds = max(0.1, self.engine.sched.now() - rec["start"])
        write_wav(rec["path"], seconds)
        self.engine.chan_event("MixMonitorStop", ch)
        return True


SPY_KEYS = {"4": "listen", "5": "whisper", "6": "barge"}


def spy_mode_of(options: str) -> str:
    """ChanSpy's starting mode: ``B`` barge, ``w`` whisper, else listen."""
    if "B" in options:
        return "barge"
    return "whisper" if "w" in options else "listen"


class Spy:
    """One ChanSpy, as app_chanspy.c runs it.

    The target is a channel-name prefix (the first live channel whose name starts with it: the
    phone end of a Local pair, or a real channel), or with ``u`` one channel's exact name or
    uniqueid. ``ChanSpyStart`` when it attaches, ``ChanSpyStop`` between the spied channel's
    hangup request and its ``Hangup``. Then: with ``E`` ChanSpy returns (the dialplan goes on);
    with ``u`` the channel is gone, so it ends; otherwise it keeps scanning every 100 ms and
    attaches to the next matching channel, the agent's *next* call (what real Asterisk did in
    the lab: a spy nobody asked for). ``d``: DTMF 4/5/6 received on the spying channel switch
    to listen/whisper/barge (AMI PlayDTMF with ``Receive: true`` sends them as if pressed).

    The spying channel's own hangup: an explicit one (AMI Hangup) ends the spy at once; a
    hangup request passed on by its Local other half waits until the spied channel ends
    (the lab's supervisor_whisper order)."""

    SCAN = 0.1

    def __init__(self, features: Features, pbx: Pbx, spec: str, options: str) -> None:
        self.engine = features.engine
        self.pbx, self.spec, self.options = pbx, spec, options
        self.spyer = pbx.ch
        self.mode = spy_mode_of(options)
        self.exact = "u" in options
        self.exit_on_hangup = "E" in options
        self.target: Channel | None = None
        self.spyer_gone = False
        self.over = False
        self.timer: Any = None
        self.attached: list[str] = []  # names of the channels spied on, in order

    def start(self) -> bool:
        self.spyer.extra["spying"] = True
        if "d" in self.options:
            self.spyer.extra["dtmf_sink"] = self._digit
        self.pbx.cleanup = self._spyer_hangup
        self._scan()
        return False

    def _find(self) -> Channel | None:
        eng = self.engine
        if self.exact:
            ch = eng.find_channel(self.spec)
            return ch if ch is not None and not ch.dead and ch is not self.spyer else None
        for ch in eng.channels.values():
            if (ch.name.startswith(self.spec) and not ch.dead and ch is not self.spyer
                    and ch.half != 1 and not ch.extra.get("spying")):
                return ch
        return None

    def _scan(self) -> None:
        self.timer = None
        if self.over:
            return
        target = self._find()
        if target is not None:
            self._attach(target)
        elif self.exact:
            self._finish(resume=False)  # the named channel does not exist (any more)
        else:
            self.timer = self.engine.later(self.SCAN, self._scan)

    def _attach(self, target: Channel) -> None:
        eng = self.engine
        self.target = target
        self.attached.append(target.name)
        eng.emit("ChanSpyStart", "call,all", self.spyer.snapshot("Spyer")
                 + target.snapshot("Spyee"))
        previous = target.extra.get("pre_hangup")

        def last_words() -> None:
            if previous is not None:
                previous()
            self._stop_event(target)

        target.extra["pre_hangup"] = last_words
        if target.pbx is not None and target.is_local:
            # Asterisk reports the spied Local half's cause as 0 (supervisor_whisper)
            target.extra["before_hangup"] = lambda cause: 0 if self._stop_event(target) else cause
        target.extra.setdefault("after_hangup", []).append(lambda: self._spyee_gone(target))

    def _stop_event(self, target: Channel) -> bool:
        """ChanSpyStop, once per attachment; whether it was sent now."""
        if self.target is not target:
            return False
        self.target = None
        self.engine.emit("ChanSpyStop", "call,all", self.spyer.snapshot("Spyer")
                         + target.snapshot("Spyee"))
        return True

    def _spyee_gone(self, target: Channel) -> None:
        if self.over or target.name != (self.attached[-1] if self.attached else None):
            return
        self._stop_event(target)
        if self.spyer_gone:
            self._finish(resume=False)
        elif self.exit_on_hangup:
            self._finish(resume=True)
        elif self.exact:
            self._finish(resume=False)
        else:
            self.timer = self.engine.later(self.SCAN, self._scan)

    def _spyer_hangup(self) -> None:
        if self.target is not None and not self.spyer.extra.get("explicit_hangup"):
            self.spyer_gone = True  # keeps spying until the spied channel ends (lab order)
            return
        if self.target is not None:
            self._stop_event(self.target)
        self._finish(resume=False)

    def _finish(self, resume: bool) -> None:
        if self.over:
            return
        self.over = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.spyer.extra.pop("spying", None)
        self.spyer.extra.pop("dtmf_sink", None)
        pbx = self.pbx
        if pbx.finished:
            return
        if resume and not self.spyer_gone:
            pbx.resume()
        elif self.spyer_gone:
            pbx.finished = True
            self.engine.hangup(self.spyer, int(self.spyer.extra.get("req_cause", 16)))
        else:
            pbx.end()

    def _digit(self, digit: str) -> None:
        mode = SPY_KEYS.get(digit)
        if mode is not None and not self.over:
            self.mode = mode


def _prefixed(pairs: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    return [(prefix + k, v) for k, v in pairs]


def write_wav(path: str, seconds: float, rate: int = 8000) -> None:
    """A playable 8 kHz mono 16-bit WAV: a quiet two-tone stand-in for the call audio."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        t = i / rate
        v = 0.2 * math.sin(2 * math.pi * 440 * t) + 0.1 * math.sin(2 * math.pi * 620 * t)
        frames += struct.pack("<h", int(v * 32767))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
