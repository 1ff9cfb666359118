"""Agent phones controlled from outside and an outbound trunk scripted per number.

An agent phone (``Local/1001@phones``) rings until something answers it: the console's
softphone in demo mode through ``Phones.answer`` (a Python call, no AMI involved), or an
auto-answer delay when configured; ``hold``/``unhold`` are the phone's hold key (what JsSIP's
``session.hold()`` re-INVITE does to Asterisk). The trunk (``Local/<number>@trunk``) answers, is
busy, rings out or reaches voicemail as scripted for each premises number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .channels import RING, UP, Channel
from .dialplan import APPS, Pbx, Step

if TYPE_CHECKING:
    from .core import Engine


@dataclass
class PhoneConfig:
    """``auto_answer``: seconds of ringing before the phone answers by itself (None: only when
    told). ``talk``: seconds after answering before it hangs up by itself (None: never).
    ``answers``: False for a phone that never answers by itself, not even a call placed for
    its user (unplugged, the browser tab closed): that call's own leg rings out."""

    auto_answer: float | None = None
    talk: float | None = None
    answers: bool = True


@dataclass
class TrunkScript:
    """What a premises number does: ``answer`` after ``after`` s and talk ``talk`` s; ``busy``
    after ``after`` s; ``noanswer`` rings until the caller gives up; ``voicemail`` answers
    after ``after`` s, plays a greeting and records for ``talk`` s. Through the SIP trunk also
    (the lab's verify_* captures): ``silent`` (the carrier sends nothing, not even ringing),
    ``congestion`` (503: all circuits busy), ``invalid`` (404: unallocated number),
    ``absent`` (480: the subscriber's phone is off) and ``unavailable`` (the trunk itself
    cannot be reached: no channel at all)."""

    outcome: str = "answer"
    after: float = 3.0
    talk: float = 8.0


@dataclass(frozen=True)
class Ringing:
    exten: str
    channel: str
    caller_num: str
    caller_name: str


OUTCOMES = ("answer", "busy", "noanswer", "voicemail", "silent", "congestion", "invalid",
            "absent", "unavailable")
AUTOANSWER_VAR = "VIGIL_AUTOANSWER"


def autoanswer_requested(ch: Channel) -> bool:
    """A phone leg Vigil placed for its user: the variable reached the phone's channel, or
    (a SIP endpoint) the INVITE carries asterisk-config's ``Call-Info: …;answer-after=0``."""
    if (ch.get_var(AUTOANSWER_VAR) or "").lower() == "yes":
        return True
    info = ch.extra.get("sip_headers", {}).get("Call-Info", "")
    return "answer-after=0" in info.replace(" ", "")


def originated_leg(ch: Channel) -> bool:
    """Whether ``ch`` (a phone's channel) is a leg the PBX originated to the phone itself
    (AMI Originate), not a call someone placed to it."""
    peer = ch.local_peer
    return bool(ch.extra.get("originated") or (peer is not None and peer.extra.get("originated")))


class Phones:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config: dict[str, PhoneConfig] = {}
        self.default = PhoneConfig()
        self.live: dict[str, list[Pbx]] = {}  # exten -> its phone legs (ringing or up)
        self.trunk: dict[str, TrunkScript] = {}
        self.trunk_by_last_digit: dict[str, TrunkScript] = {}
        self.trunk_default = TrunkScript()
        self.listeners: list[Callable[[str, str, Channel], None]] = []
        # PJSIP endpoints (pjsip.conf: endpoint -> context) and their channels (ringing or up)
        self.endpoints: dict[str, str] = {"1101": "agent-phones"}
        self.endpoint_legs: dict[str, list[Channel]] = {}
        #: the carrier endpoint: ``Dial(PJSIP/<number>@trunk)`` reaches the scripted premises
        self.trunk_endpoint = "trunk"
        self.trunk_context = "from-pstn"

    # -- configuration ----------------------------------------------------------------------
    def add_phone(self, exten: str, auto_answer: float | None = None,
                  talk: float | None = None, answers: bool = True) -> None:
        self.config[exten] = PhoneConfig(auto_answer, talk, answers)

    def script_number(self, number: str, outcome: str, after: float = 3.0,
                      talk: float = 8.0) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        self.trunk[number] = TrunkScript(outcome, after, talk)

    def script_for(self, number: str) -> TrunkScript:
        """What the number does: its own script, else its last digit's, else the default."""
        found = self.trunk.get(number)
        if found is None and number:
            found = self.trunk_by_last_digit.get(number[-1])
        return found or self.trunk_default

    # -- control (the console's softphone in demo mode) -------------------------------------
    def ringing(self) -> list[Ringing]:
        out = [Ringing(ep, c.name, c.con_num, c.con_name)
               for ep, chans in self.endpoint_legs.items() for c in chans
               if c.state != UP and not c.dead]
        for exten, legs in self.live.items():
            for pbx in legs:
                if pbx.ch.state == RING and not pbx.ch.dead:
                    peer = pbx.ch.local_peer
                    num = peer.con_num if peer is not None else pbx.ch.cid_num
                    name = peer.con_name if peer is not None else pbx.ch.cid_name
                    out.append(Ringing(exten, pbx.ch.name, num or pbx.ch.cid_num,
                                       name or pbx.ch.cid_name))
        return out

    # -- PJSIP endpoints (the console's WebRTC softphone) -----------------------------------
    def endpoint_ringing(self, endpoint: str, ch: Channel) -> None:
        """A ``PJSIP/<endpoint>-…`` channel rings; it is answered by ``answer(endpoint)`` or,
        when configured, after the auto-answer delay (the lab's browser answered after 1 s)."""
        legs = self.endpoint_legs.setdefault(endpoint, [])
        legs.append(ch)
        ch.extra.setdefault("after_hangup", []).append(lambda: legs.remove(ch))
        delay = self._auto_answer_delay(endpoint, ch)
        if delay is not None:
            ch.extra["answer_timer"] = self.engine.later(delay, self._answer_endpoint, ch)

    def _auto_answer_delay(self, exten: str, ch: Channel) -> float | None:
        """When the phone answers by itself: at once for a call placed for its user (its
        channel carries ``VIGIL_AUTOANSWER=yes``, inherited from the Originate as Asterisk
        inherits ``_``/``__`` variables, as the real phone answers on the ``Call-Info:
        …;answer-after=0`` header asterisk-config's pre-dial handler adds); after the
        configured delay (the demo's hands-free agent) for a call that comes *to* it (a queue,
        a transfer), never for a leg the PBX originates on its user's behalf; else never
        (someone answers it)."""
        cfg = self.config.get(exten, self.default)
        if not cfg.answers:
            return None
        if autoanswer_requested(ch):
            return 0.0
        if cfg.auto_answer is None or originated_leg(ch):
            return None
        return cfg.auto_answer

    def _answer_endpoint(self, ch: Channel) -> None:
        timer = ch.extra.pop("answer_timer", None)
        if timer is not None:
            timer.cancel()
        if ch.dead or ch.state == UP:
            return
        self.engine.answer(ch)
        self.engine.rtcp.start(ch)

    def _endpoint_leg(self, endpoint: str, up: bool) -> Channel | None:
        return next((c for c in self.endpoint_legs.get(endpoint, [])
                     if not c.dead and (c.state == UP) == up), None)

    def _leg(self, exten: str, state: int) -> Pbx | None:
        return next((p for p in self.live.get(exten, []) if p.ch.state == state
                     and not p.ch.dead and not p.finished), None)

    def answer(self, exten: str) -> bool:
        """Answer the phone's ringing call; False when nothing rings there."""
        leg = self._endpoint_leg(exten, up=False)
        if leg is not None:
            self._answer_endpoint(leg)
            return True
        pbx = self._leg(exten, RING)
        if pbx is None:
            return False
        self._answer(pbx)
        return True

    def hangup(self, exten: str) -> bool:
        """Hang up the phone's call (answered first, else a ringing one)."""
        leg = self._endpoint_leg(exten, up=True) or self._endpoint_leg(exten, up=False)
        if leg is not None:
            self.engine.request_hangup(leg)
            return True
        pbx = self._leg(exten, UP) or self._leg(exten, RING)
        if pbx is None:
            return False
        self._drop(pbx)
        pbx.end(16)
        return True

    def _up_channel(self, exten: str) -> Channel | None:
        """The phone's own channel of its answered call (``PJSIP/<ext>-…`` or the ``;2`` half
        of ``Local/<ext>@phones``)."""
        leg = self._endpoint_leg(exten, up=True)
        if leg is not None:
            return leg
        pbx = self._leg(exten, UP)
        return pbx.ch if pbx is not None else None

    def _music_party(self, phone: Channel) -> Channel | None:
        """The channel that starts the music when the phone holds: its bridge peer (the hold
        goes through the bridge; a Local channel intercepts it and plays the music itself, so
        with Local members Asterisk shows it on ``Local/<ext>@agent-phones-…;2``, never on the
        caller). The demo's phone is itself the ``;2`` half, so its ``;1`` plays it."""
        if phone.local_peer is not None:
            return phone.local_peer
        return self.engine.bridge_peer(phone)

    def hold(self, exten: str, music_class: str = "default") -> bool:
        """The phone puts its call on hold (a re-INVITE to sendonly). As Asterisk 22 does it
        (res_pjsip_sdp_rtp: ast_queue_hold with the endpoint's ``moh_suggest``): ``Hold`` on the
        phone's channel, and the hold travels through the bridge to the phone's peer, which
        starts the music the caller hears. The call stays up: app_queue still sees the agent's
        device in use. False when the phone has no answered call or it is already held."""
        eng = self.engine
        phone = self._up_channel(exten)
        if phone is None or phone.extra.get("held"):
            return False
        far = self._music_party(phone)
        phone.extra["held"] = True
        eng.chan_event("Hold", phone, [("MusicClass", music_class)])
        if far is not None:
            phone.extra["moh_party"] = far
            eng.chan_event("MusicOnHoldStart", far, [("Class", music_class)])
            phone.extra.setdefault("after_hangup", []).append(lambda: self._moh_off(phone))
        return True

    def unhold(self, exten: str) -> bool:
        """The phone takes its call off hold: ``Unhold``, the other party's music stops."""
        phone = self._up_channel(exten)
        if phone is None or not phone.extra.get("held"):
            return False
        phone.extra["held"] = False
        self.engine.chan_event("Unhold", phone)
        self._moh_off(phone)
        return True

    def mute(self, exten: str, on: bool) -> bool:
        """The phone's microphone off or on. A phone mutes by itself (Asterisk is told
        nothing, as with JsSIP's mute or a desk phone's key); False without an answered call."""
        phone = self._up_channel(exten)
        if phone is None:
            return False
        phone.extra["muted"] = on
        return True

    def dtmf(self, exten: str, digits: str, duration_ms: int = 120) -> bool:
        """Keys pressed on the phone during its call (RFC 4733): Asterisk reports each digit
        received on the phone's channel and sent on to its bridge peer."""
        phone = self._up_channel(exten)
        if phone is None:
            return False
        far = self.engine.bridge_peer(phone)
        for digit in digits:
            for ch, direction in ((phone, "Received"), (far, "Sent")):
                if ch is None or ch.dead:
                    continue
                self.engine.chan_event("DTMFBegin", ch, [("Digit", digit),
                                                         ("Direction", direction)])
                self.engine.chan_event("DTMFEnd", ch, [("Digit", digit),
                                                       ("DurationMs", str(duration_ms)),
                                                       ("Direction", direction)])
        return True

    def _moh_off(self, phone: Channel) -> None:
        far = phone.extra.pop("moh_party", None)
        if far is not None and not far.dead:
            self.engine.chan_event("MusicOnHoldStop", far)

    def reject(self, exten: str) -> bool:
        """Decline a ringing call: the caller's Dial/Queue sees BUSY."""
        pbx = self._leg(exten, RING)
        if pbx is None:
            return False
        self._drop(pbx)
        self.engine.busy(pbx.ch)
        pbx.end(17)
        return True

    # -- the applications ---------------------------------------------------------------
    def _answer(self, pbx: Pbx) -> None:
        timer = pbx.extra_timer
        if timer is not None:
            timer.cancel()
            pbx.extra_timer = None
        self.engine.answer(pbx.ch)
        talk = self.config.get(pbx.ch.exten, self.default).talk
        if talk is not None:
            pbx.extra_timer = self.engine.later(talk, self._talk_over, pbx)

    def _talk_over(self, pbx: Pbx) -> None:
        pbx.extra_timer = None
        if not pbx.finished:
            self._drop(pbx)
            pbx.end(16)

    def _drop(self, pbx: Pbx) -> None:
        legs = self.live.get(pbx.ch.exten, [])
        if pbx in legs:
            legs.remove(pbx)
        if pbx.extra_timer is not None:
            pbx.extra_timer.cancel()
            pbx.extra_timer = None

    def app_phone(self, pbx: Pbx, data: str, step: Step) -> bool:
        """SimPhone(): ring until answered from outside or by auto-answer."""
        exten = pbx.ch.exten
        self.live.setdefault(exten, []).append(pbx)
        delay = self._auto_answer_delay(exten, pbx.ch)
        if delay is not None:
            pbx.extra_timer = self.engine.later(delay, self._answer, pbx)

        def gone() -> None:
            self._drop(pbx)
            pbx.end(int(pbx.ch.extra.get("req_cause", 16)))

        pbx.cleanup = gone
        return False

    def app_trunk(self, pbx: Pbx, data: str, step: Step) -> bool:
        """SimTrunk(): the premises number behaves as scripted."""
        eng = self.engine
        script = self.script_for(pbx.ch.exten)
        st: dict[str, Any] = {"timer": None}

        def gone() -> None:
            if st["timer"] is not None:
                st["timer"].cancel()
            pbx.end(int(pbx.ch.extra.get("req_cause", 16)))

        def answered() -> None:
            eng.answer(pbx.ch)
            talk = script.talk
            if script.outcome == "voicemail":
                talk += eng.prompt_duration("vm-intro") or 0.0
            st["timer"] = eng.later(talk, lambda: pbx.end(16))

        def busy() -> None:
            eng.busy(pbx.ch)
            pbx.end(17)

        pbx.cleanup = gone
        if script.outcome in ("answer", "voicemail"):
            st["timer"] = eng.later(script.after, answered)
        elif script.outcome == "busy":
            st["timer"] = eng.later(script.after, busy)
        return False


def install(engine: Engine) -> Phones:
    phones = Phones(engine)
    APPS["simphone"] = lambda pbx, data, step: pbx.engine.phones.app_phone(pbx, data, step)
    APPS["simtrunk"] = lambda pbx, data, step: pbx.engine.phones.app_trunk(pbx, data, step)
    return phones
