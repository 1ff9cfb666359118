"""Call features driven from AMI: park, blind transfer, ChanSpy, MixMonitor (a real WAV file)."""

from __future__ import annotations

import math
import os
import struct
import wave
from typing import TYPE_CHECKING, Any

from .channels import Channel

if TYPE_CHECKING:
    from .core import Engine
    from .dialplan import Pbx


class Features:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.parked: dict[int, dict[str, Any]] = {}
        self.park_range = range(701, 721)
        self.parkinglot = "default"
        self.recordings: dict[str, dict[str, Any]] = {}

    # -- Park ------------------------------------------------------------------------------
    def park(self, ch: Channel, timeout: float = 45.0, parker: Channel | None = None) -> int:
        eng = self.engine
        space = next(s for s in self.park_range if s not in self.parked)
        peer = eng.bridge_peer(ch)
        if ch.bridge is not None:
            finish = ch.extra.get("queue_finish")
            if finish is not None:
                finish("transfer")
            br = ch.bridge
            if peer is not None:
                eng.set_var(ch, "BRIDGEPEER", "")
            eng.bridge_leave(ch)
            if ch.pbx is not None:
                ch.pbx.cleanup = None
                ch.pbx.bridged = False
            eng.dissolve_after(br)
        lot = eng.bridge_create("holding_bridge")
        eng.bridge_enter(lot, ch)
        eng.chan_event("MusicOnHoldStart", ch, [("Class", "default")])
        rec = {"ch": ch, "since": eng.sched.now(), "timeout": timeout, "lot": lot,
               "parker": (parker.name if parker else "")}
        self.parked[space] = rec
        eng.emit("ParkedCall", "call,all", self._park_pairs(space))
        rec["timer"] = eng.sched.call_later(timeout, self._park_timeout, space)
        if ch.pbx is not None:
            ch.pbx.cleanup = lambda: self._giveup(space)
        return space

    def _park_pairs(self, space: int) -> list[tuple[str, str]]:
        rec = self.parked[space]
        ch: Channel = rec["ch"]
        return ch.snapshot("Parkee") + [
            ("ParkerDialString", rec["parker"]), ("Parkinglot", self.parkinglot),
            ("ParkingSpace", str(space)), ("ParkingTimeout", str(int(rec["timeout"]))),
            ("ParkingDuration", str(int(self.engine.sched.now() - rec["since"])))]

    def _unpark(self, space: int, event: str) -> Channel:
        eng = self.engine
        rec = self.parked[space]
        ch: Channel = rec["ch"]
        eng.emit(event, "call,all", self._park_pairs(space))
        rec["timer"].cancel()
        del self.parked[space]
        eng.chan_event("MusicOnHoldStop", ch)
        eng.bridge_leave(ch)
        eng.bridge_destroy(rec["lot"])
        return ch

    def _giveup(self, space: int) -> None:
        ch = self._unpark(space, "ParkedCallGiveUp")
        if ch.pbx is not None:
            ch.pbx.end()

    def _park_timeout(self, space: int) -> None:
        ch = self._unpark(space, "ParkedCallTimeOut")
        if ch.pbx is not None:
            ch.pbx.end()
        else:
            self.engine.hangup(ch)

    # -- transfer ------------------------------------------------------------------------
    def blind_transfer(self, ch: Channel, context: str, exten: str) -> str:
        """``ch`` (the transferer) sends its bridge peer to exten@context."""
        eng = self.engine
        peer = eng.bridge_peer(ch)
        if peer is None or ch.bridge is None:
            return "Transfer invalid"
        br = ch.bridge
        eng.emit("BlindTransfer", "call,all", [("Result", "Success")] + ch.snapshot("Transferer")
                 + peer.snapshot("Transferee") + br.header()
                 + [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)])
        qc = peer.extra.get("queue_call") or ch.extra.get("queue_call")
        if qc is not None:
            q, att, info = qc
            eng.queue_log(peer.uniqueid, q.cfg.name, att.member.name, "BLINDTRANSFER", exten,
                          context, int(info["hold"]),
                          int(eng.sched.now() - info["connected"]), att.entry.orig_pos)
            finish = peer.extra.get("queue_finish")
            if finish is not None:
                finish("transfer")
        eng.set_var(ch, "BRIDGEPEER", "")
        eng.bridge_leave(ch)
        eng.hangup(ch, 16)
        target = peer
        if target.half == 1 and target.pbx is None:
            return ""
        eng.set_var(target, "BRIDGEPEER", "")
        eng.bridge_leave(target)
        eng.bridge_destroy(br)
        if target.pbx is not None:
            target.pbx.goto(context, exten, 1)
        return ""

    # -- ChanSpy -------------------------------------------------------------------------
    def app_chanspy(self, pbx: Pbx, data: str) -> bool:
        eng = self.engine
        prefix = data.split(",")[0]
        spyee = next((c for c in eng.channels.values() if c.name.startswith(prefix)
                      and c.half == 2 and not c.dead), None)
        if spyee is None:
            return True
        spyer = pbx.ch
        eng.emit("ChanSpyStart", "call,all", spyer.snapshot("Spyer") + spyee.snapshot("Spyee"))
        st = {"spyer_gone": False, "stopped": False}

        def spyee_hanging_up(cause: int) -> int:
            """Between the spyee's SoftHangupRequest and its Hangup, as the capture shows;
            Asterisk then reports the spied Local half's cause as 0."""
            st["stopped"] = True
            eng.emit("ChanSpyStop", "call,all", spyer.snapshot("Spyer")
                     + spyee.snapshot("Spyee"))
            return 0

        def spyee_gone() -> None:
            if pbx.finished:
                return
            if not st["stopped"]:
                spyee_hanging_up(16)
            if st["spyer_gone"]:  # the spyer's hangup waited for the spy to end
                pbx.finished = True
                eng.hangup(spyer, int(spyer.extra.get("req_cause", 16)))
            else:
                pbx.resume()

        spyee.extra["before_hangup"] = spyee_hanging_up
        spyee.extra.setdefault("after_hangup", []).append(spyee_gone)

        def spyer_gone() -> None:
            # ChanSpy keeps spying while its own hangup is pending (the lab's order)
            st["spyer_gone"] = True

        pbx.cleanup = spyer_gone
        return False

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
