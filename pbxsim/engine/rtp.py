"""What a WebRTC (PJSIP) channel adds to the AMI stream: periodic RTCP reports while it is up and
the RTPAUDIOQOS variables chan_pjsip sets when it hangs up. There is no media; the figures are
derived from the call's duration (50 packets of 160 octets a second)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from .channels import UP, Channel

if TYPE_CHECKING:
    from .core import Engine

# Asterisk sends a report every rtcpinterval (5 s); the browser (Chrome) about every 2.5 s
SENT_INTERVAL = 5.0
RECEIVED_INTERVAL = 2.5
PACKETS_PER_SECOND = 50
OCTETS_PER_PACKET = 160


class Rtcp:
    def __init__(self, engine: Engine, rng: random.Random | None = None) -> None:
        self.engine = engine
        self.rng = rng or random.Random(11)

    def start(self, ch: Channel) -> None:
        """Begin reporting for an answered WebRTC channel; stops by itself when it is gone."""
        st: dict[str, Any] = {"since": self.engine.sched.now(),
                              "ssrc": self.rng.getrandbits(32), "their": self.rng.getrandbits(32),
                              "local": f"[fd00::2]:{self.rng.randrange(10000, 30000)}",
                              "remote": f"[fd00::2]:{self.rng.randrange(30000, 60000)}"}
        ch.extra["rtp"] = st
        self.engine.later(RECEIVED_INTERVAL, self._received, ch)
        self.engine.later(SENT_INTERVAL, self._sent, ch)
        ch.extra["pre_hangup"] = lambda: self.qos_vars(ch)

    def _alive(self, ch: Channel) -> bool:
        return not ch.dead and ch.state == UP and "rtp" in ch.extra

    def _packets(self, ch: Channel) -> int:
        return int((self.engine.sched.now() - ch.extra["rtp"]["since"]) * PACKETS_PER_SECOND)

    def _received(self, ch: Channel) -> None:
        if not self._alive(ch):
            return
        st, n = ch.extra["rtp"], self._packets(ch)
        self.engine.chan_event("RTCPReceived", ch, [
            ("To", st["local"]), ("From", st["remote"]), ("RTT", "0.0000"), ("MES", " 0.0"),
            ("SSRC", f"0x{st['their']:08x}"), ("PT", "200(SR)"), ("ReportCount", "0"),
            ("SentNTP", f"{self.engine.sched.now():.6f}"), ("SentRTP", str(n * 160)),
            ("SentPackets", str(n)), ("SentOctets", str(n * OCTETS_PER_PACKET))],
            "reporting,all")
        self.engine.later(RECEIVED_INTERVAL, self._received, ch)

    def _sent(self, ch: Channel) -> None:
        if not self._alive(ch):
            return
        st, n = ch.extra["rtp"], self._packets(ch)
        self.engine.chan_event("RTCPSent", ch, [
            ("To", st["remote"]), ("From", st["local"]), ("MES", "88.1"),
            ("SSRC", f"0x{st['ssrc']:08x}"), ("PT", "201(RR)"), ("ReportCount", "1"),
            ("Report0SourceSSRC", f"0x{st['their']:08x}"), ("Report0FractionLost", "0"),
            ("Report0CumulativeLost", "0"), ("Report0HighestSequence", str(n % 65536)),
            ("Report0SequenceNumberCycles", "0"), ("Report0IAJitter", "0"),
            ("Report0LSR", "0"), ("Report0DLSR", "0.1230")], "reporting,all")
        self.engine.later(SENT_INTERVAL, self._sent, ch)

    def qos_vars(self, ch: Channel) -> None:
        """The RTPAUDIOQOS* variables, in chan_pjsip's order and formats."""
        st = ch.extra.pop("rtp", None)
        if st is None:
            return
        n = self._packets_from(st)
        z = "000.000000"
        sets = [
            ("RTPAUDIOQOS", f"ssrc={st['ssrc']};themssrc={st['their']};lp=0;rxjitter=0.000000;"
                            f"rxcount={n};txjitter=0.000125;txcount=0;rlp=0;rtt=0.000000;"
                            "rxmes=0.000000;txmes=88.087887"),
            ("RTPAUDIOQOSJITTER", "".join(f"{k}={z};" for k in (
                "minrxjitter", "maxrxjitter", "avgrxjitter", "stdevrxjitter", "mintxjitter",
                "maxtxjitter", "avgtxjitter", "stdevtxjitter"))),
            ("RTPAUDIOQOSLOSS", "".join(f"  {k}={z};" for k in (
                "minrxlost", "maxrxlost", "avgrxlost", "stdevrxlost", "mintxlost", "maxtxlost",
                "avgtxlost", "stdevtxlost"))),
            ("RTPAUDIOQOSRTT", "".join(f"     {k}={z};" for k in (
                "minrtt", "maxrtt", "avgrtt", "stdevrtt"))),
            ("RTPAUDIOQOSMES", "".join(f"   {k}={v};" for k, v in (
                ("minrxmes", "088.087887"), ("maxrxmes", "088.087887"),
                ("avgrxmes", "088.087887"), ("stdevrxmes", z), ("mintxmes", z),
                ("maxtxmes", z), ("avgtxmes", z), ("stdevtxmes", z)))),
        ]
        for name, value in sets:
            self.engine.set_var(ch, name, value)

    def _packets_from(self, st: dict[str, Any]) -> int:
        return int((self.engine.sched.now() - st["since"]) * PACKETS_PER_SECOND)
