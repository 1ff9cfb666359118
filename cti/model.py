"""The CTI state model: a pure function of the AMI event stream.

Feed it decoded AMI messages in wire order with the time each arrived
(:meth:`CtiModel.feed`); it keeps channels (by Uniqueid, grouped into calls by Linkedid, both halves
of Local channels paired by LocalBridge), bridges, ConfBridge rooms (listed on the call they grew
from), queues (parameters and waiting callers), members (with app_queue's wrap-up) and agent
sessions, and emits a call record (:mod:`cti.records`) when a call's last channel hangs
up, and an agent-session record when an agent leaves the last queue.

Time comes only from the messages: an event's own ``Timestamp`` header when Asterisk sends one
(``timestampevents=yes``), else the time given with it (the arrival time of its chunk), else the
previous event's time. The wall clock is never read, so replaying a capture gives the same state
and records every time.

List responses are state too: QueueStatus (QueueParams/QueueMember/QueueEntry), CoreShowChannels
(CoreShowChannel) and DeviceStateList (DeviceStateChange with an ActionID). Seen in passing they
update what they mention. After :meth:`CtiModel.begin_resync` (the AMI client calls it after every
(re)connect) they are authoritative: whatever a completed list does not mention is dropped, so the
state is rebuilt from Asterisk instead of trusted from before the drop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from cti.legs import extension_of_device
from cti.records import (
    ORIGINATE_REASONS,
    CallState,
    ChannelInfo,
    Json,
    build_record,
    failed_originate_record,
    ms,
)

UNKNOWN = "<unknown>"
MEMBER_STATUS = {
    0: "unknown", 1: "not_inuse", 2: "inuse", 3: "busy", 4: "invalid", 5: "unavailable",
    6: "ringing", 7: "ringinuse", 8: "onhold",
}
QUEUE_PARAM_KEYS = ("Max", "Strategy", "Calls", "Holdtime", "TalkTime", "Completed", "Abandoned",
                    "ServiceLevel", "ServicelevelPerf", "ServicelevelPerf2", "Weight")
#: How long a finished call waits for a late AgentComplete before its record is emitted anyway.
COMPLETE_GRACE = 5.0


def _cid(value: str | None) -> str | None:
    if value is None or value == "" or value == UNKNOWN:
        return None
    return value


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default  # type: ignore[arg-type]
    except ValueError:
        return default


def _seconds(hms: str) -> int:
    """``00:01:05`` (CoreShowChannel Duration) -> 65."""
    total = 0
    for part in hms.split(":"):
        total = total * 60 + _int(part)
    return total


def _device_of_interface(interface: str | None) -> str | None:
    """A queue member interface (``Local/1001@agent-phones/n``) as a device name."""
    if interface is None:
        return None
    return interface[:-2] if interface.endswith("/n") else interface


SPY_KEYS = {"4": "listen", "5": "whisper", "6": "barge"}  # ChanSpy's ``d`` option


def spy_mode(app_data: str) -> str:
    """ChanSpy options to a mode: ``B`` barge, ``w``/``W`` whisper, otherwise listen."""
    _, _, options = app_data.partition(",")
    if "B" in options:
        return "barge"
    if "w" in options or "W" in options:
        return "whisper"
    return "listen"


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Dialplan knowledge the model needs to classify calls."""

    inbound_contexts: frozenset[str] = frozenset({"from-pstn"})
    outbound_contexts: frozenset[str] = frozenset({"outbound"})
    agent_contexts: frozenset[str] = frozenset({"agent-phones"})
    #: queue -> wrap-up seconds (queues.conf ``wrapuptime``; AMI does not report it per queue)
    queue_wrapup: Mapping[str, int] = field(default_factory=dict)
    #: queues.conf ``shared_lastcall``: a call in one queue starts the wrap-up in all of the
    #: member's queues, for the wrap-up time of the queue the call came from
    shared_lastcall: bool = False


@dataclass(slots=True)
class Member:
    queue: str
    interface: str
    name: str
    state_interface: str = ""
    membership: str = ""
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    status: int = 0
    paused: bool = False
    paused_reason: str = ""
    wrapuptime: int = 0
    ringinuse: bool = False
    wrapup_until: float | None = None
    last_queue: str | None = None  # app_queue's lastqueue: whose wrapuptime applies
    wrapup_call_id: str | None = None  # the queue call whose end started the wrap-up

    def to_json(self, now: float) -> Json:
        in_wrapup = (self.wrapup_until is not None and now < self.wrapup_until
                     and not self.in_call)
        return {
            "queue": self.queue, "interface": self.interface, "name": self.name,
            "state_interface": self.state_interface, "membership": self.membership,
            "penalty": self.penalty, "calls_taken": self.calls_taken,
            "last_call": self.last_call, "login_time": self.login_time,
            "in_call": self.in_call, "status": MEMBER_STATUS.get(self.status, str(self.status)),
            "paused": self.paused, "paused_reason": self.paused_reason or None,
            "last_pause": self.last_pause, "wrapup_until": ms(self.wrapup_until),
            "in_wrapup": in_wrapup, "wrapup_call_id": self.wrapup_call_id if in_wrapup else None,
            "wrapup_queue": (self.last_queue or self.queue) if in_wrapup else None,
        }


@dataclass(slots=True)
class Caller:
    uniqueid: str
    channel: str
    position: int
    caller_number: str | None
    caller_name: str | None
    joined_at: float


@dataclass(slots=True)
class Queue:
    name: str
    params: dict[str, str] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)


@dataclass(slots=True)
class Session:
    """An agent's presence: from joining a first queue to leaving the last one."""

    interface: str
    agent: str
    login_at: float
    queues: dict[str, float] = field(default_factory=dict)
    joined: set[str] = field(default_factory=set)
    pauses: list[Json] = field(default_factory=list)
    logout_at: float | None = None

    def to_json(self) -> Json:
        return {"interface": self.interface, "agent": self.agent, "login_at": ms(self.login_at),
                "logout_at": ms(self.logout_at), "queues": sorted(self.joined),
                "current_queues": sorted(self.queues),
                "pauses": self.pauses}


@dataclass(slots=True)
class _Staging:
    queues: dict[str, Queue] = field(default_factory=dict)
    channels: dict[str, Mapping[str, str]] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)


class CtiModel:
    """Live CTI state built from AMI messages; see the module docstring."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config or ModelConfig()
        self.now: float = 0.0
        self.channels: dict[str, ChannelInfo] = {}
        self.calls: dict[str, CallState] = {}
        self.bridges: dict[str, Json] = {}
        self.queues: dict[str, Queue] = {}
        self.sessions: dict[str, Session] = {}
        self.devices: dict[str, str] = {}
        self.live_spies: dict[str, Json] = {}  # spying channel's uniqueid -> its spy session
        self.agent_names: dict[str, str] = {}  # device -> member name, remembered after logout
        self.conferences: dict[str, Json] = {}  # ConfBridge room -> its host call and bridge
        self._pending: dict[str, float] = {}  # call id -> deadline for a late AgentComplete
        self._records: list[Json] = []
        self._closed_sessions: list[Json] = []
        self._resync: _Staging | None = None
        self._resync_lists: set[str] = set()
        self._handlers: dict[str, Callable[[Mapping[str, str], float], None]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._newstate,
            "NewCallerid": self._newcallerid,
            "NewConnectedLine": self._newconnectedline,
            "Newexten": self._newexten,
            "VarSet": self._varset,
            "LocalBridge": self._localbridge,
            "SoftHangupRequest": self._hangup_request,
            "HangupRequest": self._hangup_request,
            "Hangup": self._hangup,
            "DialBegin": self._dialbegin,
            "DialState": self._dialstate,
            "DialEnd": self._dialend,
            "DTMFEnd": self._dtmfend,
            "BridgeCreate": self._bridgecreate,
            "BridgeEnter": self._bridgeenter,
            "BridgeLeave": self._bridgeleave,
            "BridgeDestroy": self._bridgedestroy,
            "Hold": self._hold,
            "Unhold": self._unhold,
            "OriginateResponse": self._originateresponse,
            "QueueCallerJoin": self._callerjoin,
            "QueueCallerLeave": self._callerleave,
            "QueueCallerAbandon": self._callerabandon,
            "AgentCalled": self._agentcalled,
            "AgentRingNoAnswer": self._agentringnoanswer,
            "AgentConnect": self._agentconnect,
            "AgentComplete": self._agentcomplete,
            "AgentDump": self._agentdump,
            "QueueMemberAdded": self._memberadded,
            "QueueMemberRemoved": self._memberremoved,
            "QueueMemberStatus": self._memberstatus,
            "QueueMemberPause": self._memberpause,
            "QueueMemberPaused": self._memberpause,
            "QueueMember": self._queuemember,
            "QueueParams": self._queueparams,
            "QueueEntry": self._queueentry,
            "QueueStatusComplete": self._queuestatuscomplete,
            "CoreShowChannel": self._coreshowchannel,
            "CoreShowChannelsComplete": self._coreshowchannelscomplete,
            "DeviceStateChange": self._devicestate,
            "DeviceStateListComplete": self._devicestatelistcomplete,
            "MixMonitorStart": self._mixmonitorstart,
            "MixMonitorStop": self._mixmonitorstop,
            "ChanSpyStart": self._chanspystart,
            "ChanSpyStop": self._chanspystop,
            "BlindTransfer": self._blindtransfer,
            "AttendedTransfer": self._attendedtransfer,
            "ParkedCall": self._parkedcall,
            "ParkedCallGiveUp": self._park_end,
            "ParkedCallTimeOut": self._park_end,
            "UnParkedCall": self._park_end,
            "ConfbridgeStart": self._confbridgestart,
            "ConfbridgeJoin": self._confbridgejoin,
            "ConfbridgeLeave": self._confbridgeleave,
            "ConfbridgeEnd": self._confbridgeend,
        }

    # ------------------------------------------------------------------ input

    def feed(self, msg: Mapping[str, str], time: float | None = None) -> None:
        """Apply one decoded AMI message that arrived at ``time`` (epoch seconds)."""
        ts = msg.get("Timestamp")
        if ts:
            try:
                self.now = float(ts)
            except ValueError:
                if time is not None:
                    self.now = time
        elif time is not None:
            self.now = time
        handler = self._handlers.get(msg.get("Event", ""))
        if handler is not None:
            handler(msg, self.now)
        if self._pending:
            self._flush_pending(self.now)

    def feed_all(self, items: Iterable[tuple[Mapping[str, str], float | None]]) -> None:
        for msg, t in items:
            self.feed(msg, t)

    def begin_resync(self) -> None:
        """The next complete QueueStatus/CoreShowChannels/DeviceStateList lists replace state."""
        self._resync = _Staging()
        self._resync_lists = {"queues", "channels", "devices"}

    @property
    def resyncing(self) -> bool:
        return self._resync is not None

    def flush(self) -> None:
        """Emit records still waiting for a late AgentComplete (end of a replay)."""
        self._flush_pending(float("inf"))

    def take_records(self) -> list[Json]:
        """Call records emitted since the last call, in the order the calls ended."""
        out, self._records = self._records, []
        return out

    def take_sessions(self) -> list[Json]:
        """Agent sessions closed (logout) since the last call."""
        out, self._closed_sessions = self._closed_sessions, []
        return out

    # ------------------------------------------------------------------ helpers

    def _call(self, linkedid: str, t: float, origin: str) -> CallState:
        call = self.calls.get(linkedid)
        if call is None:
            call = CallState(call_id=linkedid, started_at=t, origin=origin)
            self.calls[linkedid] = call
        return call

    def _call_of(self, msg: Mapping[str, str], prefix: str = "") -> CallState | None:
        linkedid = msg.get(prefix + "Linkedid")
        if linkedid:
            call = self.calls.get(linkedid)
            if call is not None:
                return call
        chan = self.channels.get(msg.get(prefix + "Uniqueid", ""))
        return self.calls.get(chan.linkedid) if chan is not None else None

    def _add_channel(self, msg: Mapping[str, str], t: float, prefix: str = "") -> ChannelInfo:
        uid = msg.get(prefix + "Uniqueid", "")
        linkedid = msg.get(prefix + "Linkedid") or uid
        chan = ChannelInfo(
            uniqueid=uid, name=msg.get(prefix + "Channel", ""), linkedid=linkedid,
            state=msg.get(prefix + "ChannelStateDesc", ""),
            caller_number=_cid(msg.get(prefix + "CallerIDNum")),
            caller_name=_cid(msg.get(prefix + "CallerIDName")),
            connected_number=_cid(msg.get(prefix + "ConnectedLineNum")),
            connected_name=_cid(msg.get(prefix + "ConnectedLineName")),
            context=msg.get(prefix + "Context", ""), exten=msg.get(prefix + "Exten", ""),
            first_context=msg.get(prefix + "Context", ""), created_at=t,
        )
        self.channels[uid] = chan
        call = self._call(linkedid, t, uid)
        call.channels[uid] = chan
        call.live.add(uid)
        if uid == linkedid:
            # only where the call began says which way it goes: a channel it dialled sits in
            # its endpoint's context (the trunk's ``from-pstn``) without running dialplan there
            call.origin = uid
            self._note_context(call, chan, chan.context, chan.exten)
        return chan

    def _note_context(self, call: CallState, chan: ChannelInfo, context: str, exten: str) -> None:
        cfg = self.config
        if context in cfg.inbound_contexts:
            if not call.inbound:
                call.inbound = True
                if call.called_number is None and exten and exten != "s":
                    call.called_number = exten
        elif context in cfg.outbound_contexts:
            if not call.outbound:
                call.outbound = True
                if exten and exten != "s":
                    call.called_number = exten

    def _agent_parties(self, call: CallState) -> set[str]:
        """Parties that are agents' phones, judged from this call's own events only."""
        agent_device = _device_of_interface(call.agent_interface)
        agent_contexts = self.config.agent_contexts
        devices = {agent_device}
        if agent_device:  # and the phone that Local channel rings (PJSIP/1001 for 1001)
            ext = extension_of_device(agent_device)
            devices |= {f"PJSIP/{ext}", f"SIP/{ext}"}
        return {chan.party for chan in call.channels.values()
                if chan.device in devices or chan.first_context in agent_contexts}

    def _agent_devices(self, call: CallState) -> set[str]:
        """The agent phones in this call: its queue member's device and every channel that
        started in an agent phone context (spy, verification, transfer targets)."""
        found = {chan.device for chan in call.channels.values()
                 if chan.first_context in self.config.agent_contexts}
        member = _device_of_interface(call.agent_interface)
        if member is not None:
            found.add(member)
        return found

    def _emit(self, call: CallState) -> None:
        self._pending.pop(call.call_id, None)
        self.calls.pop(call.call_id, None)
        if call.agent_interface is None:
            # not a queue call: the agent is whoever's phone (agent context) placed it; the name
            # is left to the caller of the model, so a record depends on its own call only
            origin = call.origin_channel
            if origin is not None and origin.first_context in self.config.agent_contexts:
                call.agent_interface = origin.device
        call.agent_devices |= self._agent_devices(call)
        self._records.append(build_record(call, self._agent_parties(call)))
        for spy in call.spies:  # a spy on a call that is over is over
            self.live_spies.pop(str(spy.get("spyer_uniqueid") or ""), None)

    def _maybe_finish(self, call: CallState, t: float) -> None:
        if call.live:
            return
        if call.end_at is None:
            call.end_at = t
        if call.connected and not call.completed:
            self._pending[call.call_id] = t + COMPLETE_GRACE
            return
        self._emit(call)

    def _flush_pending(self, now: float) -> None:
        due = [cid for cid, deadline in self._pending.items() if deadline <= now]
        for cid in due:
            call = self.calls.get(cid)
            self._pending.pop(cid, None)
            if call is not None:
                self._emit(call)

    def _member(self, msg: Mapping[str, str], queue: str | None = None) -> Member | None:
        q = self.queues.get(queue or msg.get("Queue", ""))
        if q is None:
            return None
        return q.members.get(msg.get("Interface") or msg.get("Location", ""))

    # ------------------------------------------------------------------ channels

    def _newchannel(self, msg: Mapping[str, str], t: float) -> None:
        self._add_channel(msg, t)

    def _newstate(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return
        chan.state = msg.get("ChannelStateDesc", chan.state)
        chan.caller_number = _cid(msg.get("CallerIDNum")) or chan.caller_number
        chan.caller_name = _cid(msg.get("CallerIDName")) or chan.caller_name
        if chan.state == "Up" and chan.answered_at is None:
            chan.answered_at = t

    def _newcallerid(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None:
            chan.caller_number = _cid(msg.get("CallerIDNum"))
            chan.caller_name = _cid(msg.get("CallerIDName"))

    def _newconnectedline(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None:
            chan.connected_number = _cid(msg.get("ConnectedLineNum"))
            chan.connected_name = _cid(msg.get("ConnectedLineName"))

    def _newexten(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return
        context = msg.get("Context", "")
        exten = msg.get("Exten", "")
        chan.application = msg.get("Application", "")
        chan.app_data = msg.get("AppData", "")
        self._moved(chan, context, exten)
        if "ChanVariable" in msg:
            self._chanvars(msg, chan)

    def _moved(self, chan: ChannelInfo, context: str, exten: str) -> None:
        """The channel runs dialplan at context,exten (Newexten, or the calling channel of a
        Dial, or where an Originate sent it: Newexten is filtered out in production)."""
        if not context or (context == chan.context and exten == chan.exten):
            return
        chan.context = context
        chan.exten = exten
        call = self.calls.get(chan.linkedid)
        if call is not None:
            self._note_context(call, chan, context, exten)

    _VARS = frozenset({"MIXMONITOR_FILENAME", "VIGIL_IVR_PATH", "VIGIL_ACCOUNT_ID",
                       "VIGIL_INCIDENT_ID", "INCIDENT_ID", "QUEUESTATUS", "VIGIL_VERIFICATION_ID",
                       "VIGIL_CONFERENCE", "VIGIL_CONFERENCE_TARGET"})

    # the far leg's verdict (cti.legs) and the mode a spy started in
    _VARS = _VARS | {"VIGIL_DIALSTATUS", "VIGIL_SPY_MODE"}

    def _varset(self, msg: Mapping[str, str], t: float) -> None:
        name = msg.get("Variable", "")
        if name not in self._VARS:
            name = name.lstrip("_")  # inheritable forms: ``_VIGIL_IVR_PATH``, ``__VIGIL_...``
            if name not in self._VARS:
                return
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None:
            self._setvar(chan, name, msg.get("Value", ""))

    def _setvar(self, chan: ChannelInfo, name: str, value: str) -> None:
        if name == "MIXMONITOR_FILENAME":
            chan.recording_file = value or None
            return
        if name == "VIGIL_SPY_MODE":
            chan.spy_mode = value or None
            return
        call = self.calls.get(chan.linkedid)
        if call is None or not value:
            return
        if name == "VIGIL_DIALSTATUS":
            call.legs.dialstatus = value
            return
        if name == "VIGIL_IVR_PATH":
            call.ivr_path = value
        elif name == "VIGIL_ACCOUNT_ID":
            call.account_id = value
        elif name in ("VIGIL_INCIDENT_ID", "INCIDENT_ID"):
            call.incident_id = value
        elif name == "QUEUESTATUS":
            call.queue_status = value
        elif name == "VIGIL_VERIFICATION_ID":
            call.verification_id = value
        elif name == "VIGIL_CONFERENCE":
            if value != call.call_id:
                call.conference_of = value
        elif name == "VIGIL_CONFERENCE_TARGET":
            call.conference_target = value

    def _chanvars(self, msg: Mapping[str, str], chan: ChannelInfo) -> None:
        for name in self._VARS:
            value = msg.get(f"ChanVariable({name})")
            if value:
                self._setvar(chan, name, value)

    def _localbridge(self, msg: Mapping[str, str], t: float) -> None:
        one = self.channels.get(msg.get("LocalOneUniqueid", ""))
        two = self.channels.get(msg.get("LocalTwoUniqueid", ""))
        if one is not None and two is not None:
            one.local_peer = two.uniqueid
            two.local_peer = one.uniqueid

    def _hangup_request(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return
        call = self.calls.get(chan.linkedid)
        if call is not None and call.first_hangup is None and self._in_conversation(call, chan):
            # a soft request on the PBX-facing half means the PBX hung up, not the party
            initiated = chan.device_end or msg.get("Event") == "HangupRequest"
            call.first_hangup = (chan.party, initiated)

    @staticmethod
    def _in_conversation(call: CallState, chan: ChannelInfo) -> bool:
        """Only the caller and answered parties can end a call (not a phone that rang out)."""
        if chan.state == "Up":
            return True
        origin = call.origin_channel
        return origin is not None and origin.party == chan.party

    def _hangup(self, msg: Mapping[str, str], t: float) -> None:
        uid = msg.get("Uniqueid", "")
        chan = self.channels.pop(uid, None)
        if chan is None:
            return
        if "ChanVariable" in msg:
            self._chanvars(msg, chan)
        chan.hungup_at = t
        if chan.bridge is not None:
            bridge = self.bridges.get(chan.bridge)
            if bridge is not None:
                bridge["channels"].discard(uid)
            chan.bridge = None
        call = self.calls.get(chan.linkedid)
        if call is None:
            return
        if call.first_hangup is None and self._in_conversation(call, chan):
            call.first_hangup = (chan.party, True)
        legs = call.legs
        if uid == legs.far_uniqueid or (legs.far_uniqueid is None and uid == call.origin
                                        and legs.dialstatus):
            legs.far_cause = _int(msg.get("Cause"), 0) if msg.get("Cause") else None
        self._close_channel_activity(call, chan, t)
        call.live.discard(uid)
        self._maybe_finish(call, t)

    def _close_channel_activity(self, call: CallState, chan: ChannelInfo, t: float) -> None:
        uid = chan.uniqueid
        self._end_hold(chan, t)
        if call.conference is not None:
            self._leave_conference(call.conference, uid, t)
        if call.conference_of is not None:
            host = self.calls.get(call.conference_of)
            if host is not None and host.conference is not None:
                self._leave_conference(host.conference, uid, t)
        for park in call.parks:
            if park["ended_at"] is None and park["uniqueid"] == uid:
                park["ended_at"] = ms(t)
                park["result"] = "gave_up"
        for rec in call.recordings:
            if rec["stopped_at"] is None and rec["uniqueid"] == uid:
                rec["stopped_at"] = ms(t)
        if call.spied_call_id is not None:
            # the spying channel, or its phone (the other half of its Local pair: Asterisk can
            # leave ChanSpy running after the supervisor's phone is gone)
            for spyer, spy in list(self.live_spies.items()):
                if spy["spyer_party"] == chan.party or spyer == uid:
                    self._end_spy(spyer, t)

    def _phone_dial(self, msg: Mapping[str, str]) -> bool:
        """A dial of a phone device by its own extension (``[agent-phones]`` Dialling
        ``PJSIP/1001`` for ``Local/1001@agent-phones``): the phone ringing, not a far party."""
        return msg.get("Context", "") in self.config.agent_contexts

    def _dialbegin(self, msg: Mapping[str, str], t: float) -> None:
        if "Uniqueid" not in msg:
            # an Originate ringing its own first leg: the user's phone, for a placed call
            call = self._call_of(msg, "Dest")
            if (call is not None and msg.get("DestContext") in self.config.agent_contexts
                    and call.legs.own_uniqueid is None):
                dest = self.channels.get(msg.get("DestUniqueid", ""))
                call.legs.own_uniqueid = msg.get("DestUniqueid")
                call.legs.own_device = dest.device if dest is not None else None
                call.legs.own_dial_at = t
            return
        call = self._call_of(msg)
        if call is None:
            return
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None:
            self._moved(chan, msg.get("Context", ""), msg.get("Exten", ""))
        call.dialled = True
        if self._phone_dial(msg):
            return
        if call.ring_at is None:
            call.ring_at = t
        legs = call.legs
        if call.queue is None and legs.far_uniqueid is None:
            legs.far_uniqueid = msg.get("DestUniqueid")
            legs.far_channel = msg.get("DestChannel")
            legs.far_dial_at = t

    def _dialstate(self, msg: Mapping[str, str], t: float) -> None:
        """``DialState RINGING`` / ``PROGRESS``: the far party's phone rings (180 / 183)."""
        call = self._call_of(msg) if "Uniqueid" in msg else None
        if call is None or call.queue is not None or self._phone_dial(msg):
            return
        legs = call.legs
        if (msg.get("DestUniqueid") == legs.far_uniqueid and legs.far_ring_at is None
                and msg.get("DialStatus") in ("RINGING", "PROGRESS")):
            legs.far_ring_at = t

    def _dialend(self, msg: Mapping[str, str], t: float) -> None:
        status = msg.get("DialStatus", "")
        if "Uniqueid" not in msg:
            call = self._call_of(msg, "Dest")
            legs = call.legs if call is not None else None
            if (legs is not None and status == "ANSWER" and legs.own_answer_at is None
                    and legs.own_uniqueid == msg.get("DestUniqueid")):
                legs.own_answer_at = t
            return
        call = self._call_of(msg)
        if call is None:
            return
        if call.queue is not None:
            if status == "CANCEL":
                self._close_attempt(call, msg.get("DestUniqueid", ""), "canceled", t)
            return
        legs = call.legs
        if self._phone_dial(msg):
            if status == "ANSWER" and legs.placed and legs.own_answer_at is None:
                legs.own_answer_at = t
            return
        call.last_dial_status = status
        if legs.far_uniqueid in (None, msg.get("DestUniqueid")):
            legs.far_dial_end = status
            if status == "ANSWER" and legs.far_answer_at is None:
                legs.far_answer_at = t
        if status == "ANSWER" and call.answer_at is None:
            call.answer_at = t

    # ------------------------------------------------------------------ bridges, hold

    def _bridgecreate(self, msg: Mapping[str, str], t: float) -> None:
        self.bridges[msg.get("BridgeUniqueid", "")] = {
            "type": msg.get("BridgeType", ""), "technology": msg.get("BridgeTechnology", ""),
            "name": _cid(msg.get("BridgeName")), "channels": set(),
        }

    def _bridgeenter(self, msg: Mapping[str, str], t: float) -> None:
        bid = msg.get("BridgeUniqueid", "")
        bridge = self.bridges.get(bid)
        if bridge is None:
            self._bridgecreate(msg, t)
            bridge = self.bridges[bid]
        uid = msg.get("Uniqueid", "")
        bridge["channels"].add(uid)
        chan = self.channels.get(uid)
        if chan is not None:
            chan.bridge = bid

    def _bridgeleave(self, msg: Mapping[str, str], t: float) -> None:
        uid = msg.get("Uniqueid", "")
        bridge = self.bridges.get(msg.get("BridgeUniqueid", ""))
        if bridge is not None:
            bridge["channels"].discard(uid)
        chan = self.channels.get(uid)
        if chan is not None and chan.bridge == msg.get("BridgeUniqueid"):
            chan.bridge = None

    def _bridgedestroy(self, msg: Mapping[str, str], t: float) -> None:
        self.bridges.pop(msg.get("BridgeUniqueid", ""), None)

    def _hold(self, msg: Mapping[str, str], t: float) -> None:
        """A phone put its call on hold (a re-INVITE to sendonly: ``Hold`` on the phone's own
        channel; Asterisk plays music to the party bridged with it)."""
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None or chan.hold_since is not None:
            return
        chan.hold_since = t
        call = self.calls.get(chan.linkedid)
        if call is not None:
            call.holds.append({"channel": chan.name, "uniqueid": chan.uniqueid,
                               "music_class": msg.get("MusicClass") or None,
                               "started_at": ms(t), "ended_at": None})

    def _unhold(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None:
            self._end_hold(chan, t)

    def _end_hold(self, chan: ChannelInfo, t: float) -> None:
        if chan.hold_since is None:
            return
        call = self.calls.get(chan.linkedid)
        if call is not None:
            call.hold_seconds += t - chan.hold_since
            for hold in call.holds:
                if hold["ended_at"] is None and hold["uniqueid"] == chan.uniqueid:
                    hold["ended_at"] = ms(t)
        chan.hold_since = None

    # ------------------------------------------------------------------ originate

    def _originateresponse(self, msg: Mapping[str, str], t: float) -> None:
        action_id = msg.get("ActionID", "")
        app = msg.get("Application") or None
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if msg.get("Response") == "Success":
            if chan is None:
                return
            if app:
                chan.application = app
                chan.app_data = msg.get("Data", "")
            else:
                self._moved(chan, msg.get("Context", ""), msg.get("Exten", ""))
            call = self.calls.get(chan.linkedid)
            if call is not None:
                call.originate_action_id = action_id
                call.application = app
                if app and call.answer_at is None and call.queue is None:
                    # originated straight into an application: answered when the phone answered
                    call.answer_at = chan.answered_at if chan.answered_at is not None else t
            return
        reason = ORIGINATE_REASONS.get(msg.get("Reason", ""), "failed")
        call = self.calls.get(chan.linkedid) if chan is not None else None
        if call is None:
            device = msg.get("Channel", "")
            candidates = [
                c for c in self.calls.values()
                if c.answer_at is None and not c.originate_failed and c.origin_channel is not None
                and c.origin_channel.device == device
            ]
            call = max(candidates, key=lambda c: c.started_at) if candidates else None
        if call is None:
            self._records.append(failed_originate_record(action_id, msg.get("Channel", ""),
                                                         msg.get("Reason", ""), t, app))
            return
        call.originate_action_id = action_id
        call.originate_failed = True
        call.failure_reason = reason
        call.application = app

    # ------------------------------------------------------------------ queue callers

    def _queue(self, name: str) -> Queue:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = Queue(name)
        return q

    def _callerjoin(self, msg: Mapping[str, str], t: float) -> None:
        uid = msg.get("Uniqueid", "")
        qname = msg.get("Queue", "")
        pos = _int(msg.get("Position"))
        self._queue(qname).callers[uid] = Caller(
            uniqueid=uid, channel=msg.get("Channel", ""), position=pos,
            caller_number=_cid(msg.get("CallerIDNum")), caller_name=_cid(msg.get("CallerIDName")),
            joined_at=t)
        call = self._call_of(msg)
        if call is not None and call.queue is None:
            self._enter_queue(call, qname, uid, t, pos)

    @staticmethod
    def _enter_queue(call: CallState, queue: str, uid: str, t: float, position: int) -> None:
        """The call is a queue call from now on: its answer is an agent's connect, so a
        channel answer before it (``Answer()`` ahead of ``Queue()``, an Originate straight
        into the queue) is not the call's."""
        call.queue = queue
        call.queue_call_id = uid
        call.enter_queue_at = t
        call.original_position = position
        if not call.connected and call.transfer is None:
            call.answer_at = None

    def _callerleave(self, msg: Mapping[str, str], t: float) -> None:
        q = self.queues.get(msg.get("Queue", ""))
        uid = msg.get("Uniqueid", "")
        if q is not None:
            left = q.callers.pop(uid, None)
            if left is not None:
                for caller in q.callers.values():
                    if caller.position > left.position:
                        caller.position -= 1
        call = self._call_of(msg)
        if call is not None and call.queue_call_id == uid and call.leave_queue_at is None:
            call.leave_queue_at = t

    def _callerabandon(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg)
        if call is None or call.queue_call_id != msg.get("Uniqueid"):
            return
        call.abandoned = True
        call.abandon_position = _int(msg.get("Position"))
        call.original_position = _int(msg.get("OriginalPosition"), call.original_position or 0)
        call.wait_seconds = _int(msg.get("HoldTime"))
        call.leave_queue_at = t
        for attempt in call.ring_attempts:
            if attempt["result"] is None:
                self._finish_attempt(attempt, "canceled", t)

    # ------------------------------------------------------------------ agents ringing

    @staticmethod
    def _finish_attempt(attempt: Json, result: str, t: float,
                        ring_seconds: float | None = None) -> None:
        attempt["result"] = result
        attempt["ring_seconds"] = (round(t - attempt["at"], 3) if ring_seconds is None
                                   else ring_seconds)

    def _close_attempt(self, call: CallState, dest_uid: str, result: str, t: float) -> None:
        for attempt in call.ring_attempts:
            if attempt["result"] is None and attempt["uniqueid"] == dest_uid:
                self._finish_attempt(attempt, result, t)

    def _agentcalled(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg)
        if call is None:
            call = self._call_of(msg, "Dest")
        if call is None:
            return
        if call.ring_at is None:
            call.ring_at = t
        call.dialled = True
        call.ring_attempts.append({
            "agent": msg.get("MemberName"), "interface": msg.get("Interface"),
            "uniqueid": msg.get("DestUniqueid"), "at": ms(t), "result": None,
            "ring_seconds": None,
        })

    def _agentringnoanswer(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg) or self._call_of(msg, "Dest")
        if call is None:
            return
        for attempt in call.ring_attempts:
            if attempt["result"] is None and attempt["uniqueid"] == msg.get("DestUniqueid"):
                self._finish_attempt(attempt, "no_answer", t,
                                     _int(msg.get("RingTime")) / 1000.0)

    def _agentdump(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg) or self._call_of(msg, "Dest")
        if call is not None:
            self._close_attempt(call, msg.get("DestUniqueid", ""), "rejected", t)

    def _agentconnect(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg) or self._call_of(msg, "Dest")
        if call is None:
            return
        call.connected = True
        call.answer_at = t
        call.agent = msg.get("MemberName") or None
        call.agent_interface = msg.get("Interface") or None
        call.wait_seconds = _int(msg.get("HoldTime"))
        for attempt in call.ring_attempts:
            if attempt["result"] is None:
                if attempt["uniqueid"] == msg.get("DestUniqueid"):
                    self._finish_attempt(attempt, "answered", t, _int(msg.get("RingTime")))
                else:
                    self._finish_attempt(attempt, "canceled", t)
        member = self._member(msg)
        if member is not None:
            member.in_call = True

    def _agentcomplete(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg) or self._call_of(msg, "Dest")
        member = self._member(msg)
        if member is not None:
            member.in_call = False
            self._start_wrapup(member, int(t), call.call_id if call is not None else None)
        if call is None:
            return
        call.completed = True
        call.talk_seconds = _int(msg.get("TalkTime"))
        call.complete_reason = msg.get("Reason") or None
        if call.call_id in self._pending:
            self._emit(call)

    # ------------------------------------------------------------------ wrap-up

    def _start_wrapup(self, member: Member, last_call: int, call_id: str | None) -> None:
        """app_queue's update_queue: the member's ``lastcall`` is now and its ``lastqueue`` this
        queue, in every queue of the interface with ``shared_lastcall``."""
        members = [member]
        if self.config.shared_lastcall:
            members = [m for q in self.queues.values() for m in q.members.values()
                       if m.interface == member.interface]
        for m in members:
            m.last_call = last_call
            m.last_queue = member.queue
            m.wrapup_call_id = call_id
            self._refresh_wrapup(m)

    def _refresh_wrapup(self, member: Member) -> None:
        """``wrapup_until`` = lastcall + the wrap-up time app_queue applies: the member's own
        ``Wrapuptime``, else that of the queue the last call came from (can_ring_entry)."""
        queue = member.last_queue or member.queue
        seconds = member.wrapuptime or int(self.config.queue_wrapup.get(queue, 0))
        member.wrapup_until = (float(member.last_call + seconds)
                               if member.last_call and seconds else None)

    # ------------------------------------------------------------------ members and sessions

    def _member_from(self, msg: Mapping[str, str], member: Member | None) -> Member:
        interface = msg.get("Interface") or msg.get("Location", "")
        name = msg.get("MemberName") or msg.get("Name") or interface
        if member is None:
            member = Member(queue=msg.get("Queue", ""), interface=interface, name=name)
        member.name = name
        member.state_interface = msg.get("StateInterface", member.state_interface)
        member.membership = msg.get("Membership", member.membership)
        member.penalty = _int(msg.get("Penalty"), member.penalty)
        member.calls_taken = _int(msg.get("CallsTaken"), member.calls_taken)
        member.last_call = _int(msg.get("LastCall"), member.last_call)
        member.last_pause = _int(msg.get("LastPause"), member.last_pause)
        member.login_time = _int(msg.get("LoginTime"), member.login_time)
        member.in_call = msg.get("InCall", "1" if member.in_call else "0") == "1"
        member.status = _int(msg.get("Status"), member.status)
        member.paused = msg.get("Paused", "1" if member.paused else "0") == "1"
        member.paused_reason = msg.get("PausedReason", member.paused_reason)
        member.wrapuptime = _int(msg.get("Wrapuptime"), member.wrapuptime)
        member.ringinuse = msg.get("Ringinuse", "1" if member.ringinuse else "0") == "1"
        self._refresh_wrapup(member)
        device = member.state_interface or interface
        self.agent_names[device] = name
        if interface.endswith("/n"):
            self.agent_names[interface[:-2]] = name
        return member

    def _session_join(self, member: Member, t: float) -> None:
        session = self.sessions.get(member.interface)
        login = float(member.login_time) if member.login_time else t
        if session is None:
            session = self.sessions[member.interface] = Session(
                interface=member.interface, agent=member.name, login_at=login)
        session.queues.setdefault(member.queue, login)
        session.joined.add(member.queue)
        if member.paused:
            self._pause_open(session, member, t)

    def _session_leave(self, member: Member, t: float) -> None:
        session = self.sessions.get(member.interface)
        if session is None:
            return
        self._pause_close(session, member.queue, t)
        session.queues.pop(member.queue, None)
        if not session.queues:
            session.logout_at = t
            del self.sessions[member.interface]
            self._closed_sessions.append(session.to_json())

    @staticmethod
    def _pause_open(session: Session, member: Member, t: float) -> None:
        for pause in session.pauses:
            if pause["queue"] == member.queue and pause["ended_at"] is None:
                return
        start = float(member.last_pause) if member.last_pause else t
        session.pauses.append({"queue": member.queue, "reason": member.paused_reason or None,
                               "started_at": ms(start), "ended_at": None})

    @staticmethod
    def _pause_close(session: Session, queue: str, t: float) -> None:
        for pause in session.pauses:
            if pause["queue"] == queue and pause["ended_at"] is None:
                pause["ended_at"] = ms(t)

    def _memberadded(self, msg: Mapping[str, str], t: float) -> None:
        q = self._queue(msg.get("Queue", ""))
        member = self._member_from(msg, q.members.get(msg.get("Interface", "")))
        q.members[member.interface] = member
        self._session_join(member, t)

    def _memberremoved(self, msg: Mapping[str, str], t: float) -> None:
        q = self.queues.get(msg.get("Queue", ""))
        if q is None:
            return
        member = q.members.pop(msg.get("Interface", ""), None)
        if member is not None:
            self._session_leave(member, t)

    def _memberstatus(self, msg: Mapping[str, str], t: float) -> None:
        q = self._queue(msg.get("Queue", ""))
        existing = q.members.get(msg.get("Interface", ""))
        member = self._member_from(msg, existing)
        if existing is None:
            q.members[member.interface] = member
            self._session_join(member, t)

    def _memberpause(self, msg: Mapping[str, str], t: float) -> None:
        q = self._queue(msg.get("Queue", ""))
        existing = q.members.get(msg.get("Interface", ""))
        member = self._member_from(msg, existing)
        q.members[member.interface] = member
        session = self.sessions.get(member.interface)
        if session is None:
            self._session_join(member, t)
            return
        if member.paused:
            self._pause_open(session, member, t)
        else:
            self._pause_close(session, member.queue, t)

    # ------------------------------------------------------------------ list responses

    def _staged_queue(self, name: str, msg: Mapping[str, str]) -> Queue | None:
        staging = self._resync
        if staging is None or not msg.get("ActionID"):
            return None
        q = staging.queues.get(name)
        if q is None:
            q = staging.queues[name] = Queue(name)
        return q

    def _queueparams(self, msg: Mapping[str, str], t: float) -> None:
        name = msg.get("Queue", "")
        params = {k: msg[k] for k in QUEUE_PARAM_KEYS if k in msg}
        staged = self._staged_queue(name, msg)
        if staged is not None:
            staged.params = params
        else:
            self._queue(name).params = params

    def _queuemember(self, msg: Mapping[str, str], t: float) -> None:
        name = msg.get("Queue", "")
        staged = self._staged_queue(name, msg)
        live = self.queues.get(name)
        interface = msg.get("Location", "")
        existing = live.members.get(interface) if live is not None else None
        if staged is not None:
            member = self._member_from(msg, None)
            member.queue = name
            if existing is not None:
                member.last_queue = existing.last_queue
                member.wrapup_call_id = existing.wrapup_call_id
            self._refresh_wrapup(member)
            staged.members[interface] = member
            return
        member = self._member_from(msg, existing)
        member.queue = name
        self._refresh_wrapup(member)
        if existing is None:
            self._queue(name).members[interface] = member
            self._session_join(member, t)

    def _queueentry(self, msg: Mapping[str, str], t: float) -> None:
        name = msg.get("Queue", "")
        uid = msg.get("Uniqueid", "")
        live = self.queues.get(name)
        existing = live.callers.get(uid) if live is not None else None
        caller = Caller(
            uniqueid=uid, channel=msg.get("Channel", ""), position=_int(msg.get("Position")),
            caller_number=_cid(msg.get("CallerIDNum")), caller_name=_cid(msg.get("CallerIDName")),
            joined_at=existing.joined_at if existing else t - _int(msg.get("Wait")))
        staged = self._staged_queue(name, msg)
        target = staged if staged is not None else self._queue(name)
        target.callers[uid] = caller
        chan = self.channels.get(uid)
        call = self.calls.get(chan.linkedid) if chan is not None else None
        if call is not None and call.queue is None:
            self._enter_queue(call, name, uid, caller.joined_at, caller.position)

    def _queuestatuscomplete(self, msg: Mapping[str, str], t: float) -> None:
        staging = self._resync
        if staging is None or not msg.get("ActionID"):
            return
        for name in list(self.queues):
            if name not in staging.queues:
                self._drop_queue(self.queues.pop(name), t)
        for name, fresh in staging.queues.items():
            old = self.queues.get(name)
            if old is not None:
                for interface, member in old.members.items():
                    if interface not in fresh.members:
                        self._session_leave(member, t)
            self.queues[name] = fresh
            for member in fresh.members.values():
                session = self.sessions.get(member.interface)
                if session is None or name not in session.queues:
                    self._session_join(member, t)
                elif not member.paused:
                    self._pause_close(session, name, t)
                else:
                    self._pause_open(session, member, t)
        staging.queues = {}
        self._list_done("queues")

    def _drop_queue(self, queue: Queue, t: float) -> None:
        for member in queue.members.values():
            self._session_leave(member, t)

    def _coreshowchannel(self, msg: Mapping[str, str], t: float) -> None:
        uid = msg.get("Uniqueid", "")
        if self._resync is not None and msg.get("ActionID"):
            self._resync.channels[uid] = msg
            return
        self._upsert_listed_channel(msg, t)

    def _upsert_listed_channel(self, msg: Mapping[str, str], t: float) -> None:
        uid = msg.get("Uniqueid", "")
        chan = self.channels.get(uid)
        if chan is None:
            chan = self._add_channel(msg, t - _seconds(msg.get("Duration", "0")))
            call = self.calls.get(chan.linkedid)
            if call is not None:
                call.resynced = True
                if chan.created_at < call.started_at:
                    call.started_at = chan.created_at
        chan.state = msg.get("ChannelStateDesc", chan.state)
        chan.caller_number = _cid(msg.get("CallerIDNum"))
        chan.caller_name = _cid(msg.get("CallerIDName"))
        chan.connected_number = _cid(msg.get("ConnectedLineNum"))
        chan.connected_name = _cid(msg.get("ConnectedLineName"))
        chan.application = msg.get("Application", chan.application)
        chan.app_data = msg.get("ApplicationData", chan.app_data)
        if chan.state == "Up" and chan.answered_at is None:
            chan.answered_at = chan.created_at
        bid = msg.get("BridgeId") or None
        if bid != chan.bridge:
            if chan.bridge is not None and chan.bridge in self.bridges:
                self.bridges[chan.bridge]["channels"].discard(uid)
            chan.bridge = bid
            if bid is not None:
                bridge = self.bridges.setdefault(
                    bid, {"type": "", "technology": "", "name": None, "channels": set()})
                bridge["channels"].add(uid)

    def _coreshowchannelscomplete(self, msg: Mapping[str, str], t: float) -> None:
        staging = self._resync
        if staging is None or not msg.get("ActionID"):
            return
        listed = staging.channels
        for uid in [u for u in self.channels if u not in listed]:
            chan = self.channels[uid]
            call = self.calls.get(chan.linkedid)
            if call is not None:
                call.resynced = True
            self._hangup({"Event": "Hangup", "Uniqueid": uid}, t)
        for item in listed.values():
            self._upsert_listed_channel(item, t)
        for bid in [b for b, br in self.bridges.items() if not br["channels"]]:
            del self.bridges[bid]
        staging.channels = {}
        self._list_done("channels")

    def _devicestate(self, msg: Mapping[str, str], t: float) -> None:
        device = msg.get("Device", "")
        state = msg.get("State", "")
        if self._resync is not None and msg.get("ActionID"):
            self._resync.devices[device] = state
        else:
            self.devices[device] = state

    def _devicestatelistcomplete(self, msg: Mapping[str, str], t: float) -> None:
        staging = self._resync
        if staging is None or not msg.get("ActionID"):
            return
        self.devices = dict(staging.devices)
        staging.devices = {}
        self._list_done("devices")

    def _list_done(self, name: str) -> None:
        self._resync_lists.discard(name)
        if not self._resync_lists:
            self._resync = None

    # ------------------------------------------------------------------ recording, spy, transfer

    def _mixmonitorstart(self, msg: Mapping[str, str], t: float) -> None:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return
        call = self.calls.get(chan.linkedid)
        if call is not None:
            call.recordings.append({"file": chan.recording_file, "channel": chan.name,
                                    "uniqueid": chan.uniqueid, "started_at": ms(t),
                                    "stopped_at": None})

    def _mixmonitorstop(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg)
        if call is None:
            return
        for rec in call.recordings:
            if rec["stopped_at"] is None and rec["uniqueid"] == msg.get("Uniqueid"):
                rec["stopped_at"] = ms(t)

    def _chanspystart(self, msg: Mapping[str, str], t: float) -> None:
        spied = self._call_of(msg, "Spyee")
        if spied is None:
            return
        uid = msg.get("SpyerUniqueid", "")
        spyer = self.channels.get(uid)
        spyee = self.channels.get(msg.get("SpyeeUniqueid", ""))
        mode = "listen"
        if spyer is not None:
            mode = spy_mode(spyer.app_data)
            if spyer.spy_mode in SPY_KEYS.values():
                mode = str(spyer.spy_mode)
        spy: Json = {
            "mode": mode, "supervisor": _cid(msg.get("SpyerCallerIDNum")),
            "supervisor_channel": msg.get("SpyerChannel"),
            "spyer_uniqueid": uid, "spyer_call_id": msg.get("SpyerLinkedid")
            or (spyer.linkedid if spyer is not None else None),
            "spyer_party": spyer.party if spyer is not None else msg.get("SpyerChannel"),
            "supervisor_extension": extension_of_device(spyer.device) if spyer else None,
            "spied_channel": msg.get("SpyeeChannel"),
            "spied_uniqueid": msg.get("SpyeeUniqueid"), "spied_call_id": spied.call_id,
            "agent_extension": extension_of_device(spyee.device) if spyee else None,
            "started_at": ms(t), "ended_at": None, "modes": [{"mode": mode, "at": ms(t)}],
        }
        spied.spies.append(spy)
        self.live_spies[uid] = spy
        spyer_call = self._call_of(msg, "Spyer")
        if spyer_call is not None:
            spyer_call.spied_call_id = spied.call_id
            if spyer_call.answer_at is None:  # the supervisor's call connected to the spy
                spyer_call.answer_at = t

    def _chanspystop(self, msg: Mapping[str, str], t: float) -> None:
        self._end_spy(msg.get("SpyerUniqueid", ""), t)

    def _end_spy(self, spyer_uniqueid: str, t: float) -> None:
        spy = self.live_spies.pop(spyer_uniqueid, None)
        if spy is not None and spy["ended_at"] is None:
            spy["ended_at"] = ms(t)

    def _dtmfend(self, msg: Mapping[str, str], t: float) -> None:
        """A key 4/5/6 the spying channel received switches ChanSpy's mode (option ``d``):
        the supervisor pressed it, or the CTI sent it (AMI PlayDTMF, ``Receive: true``)."""
        spy = self.live_spies.get(msg.get("Uniqueid", ""))
        mode = SPY_KEYS.get(msg.get("Digit", ""))
        if spy is None or mode is None or msg.get("Direction") != "Received":
            return
        if spy["mode"] != mode:
            spy["mode"] = mode
            spy["modes"].append({"mode": mode, "at": ms(t)})

    def _agent_of(self, call: CallState, msg: Mapping[str, str], prefix: str) -> str | None:
        """Who transferred: the call's agent when it was the agent's leg, else the device."""
        chan = self.channels.get(msg.get(prefix + "Uniqueid", ""))
        if chan is None:
            return None
        if chan.device == _device_of_interface(call.agent_interface):
            return call.agent
        return chan.device

    def _blindtransfer(self, msg: Mapping[str, str], t: float) -> None:
        if msg.get("Result") != "Success":
            return
        call = self._call_of(msg, "Transferee") or self._call_of(msg, "Transferer")
        if call is None:
            return
        call.transfer = {"type": "blind", "to": msg.get("Extension"),
                         "context": msg.get("Context"), "at": ms(t),
                         "by": self._agent_of(call, msg, "Transferer")}

    def _attendedtransfer(self, msg: Mapping[str, str], t: float) -> None:
        if msg.get("Result") != "Success":
            return
        call = self._call_of(msg, "OrigTransferer")
        if call is None:
            return
        target = (_cid(msg.get("TransferTargetCallerIDNum"))
                  or _cid(msg.get("SecondTransfererConnectedLineNum"))
                  or _cid(msg.get("SecondTransfererExten")))
        call.transfer = {"type": "attended", "to": target,
                         "context": msg.get("SecondTransfererContext"), "at": ms(t),
                         "by": self._agent_of(call, msg, "OrigTransferer")}

    def _parkedcall(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg, "Parkee")
        if call is None:
            return
        uid = msg.get("ParkeeUniqueid")
        for park in call.parks:
            if park["ended_at"] is None and park["uniqueid"] == uid:
                return  # the same park listed again by a ParkedCalls action
        call.parks.append({
            "space": msg.get("ParkingSpace"), "lot": msg.get("Parkinglot"),
            "parker": msg.get("ParkerDialString"), "uniqueid": uid,
            "parked_at": ms(t), "ended_at": None, "result": None,
        })

    _PARK_RESULTS = {"ParkedCallGiveUp": "gave_up", "ParkedCallTimeOut": "timeout",
                     "UnParkedCall": "retrieved"}

    def _park_end(self, msg: Mapping[str, str], t: float) -> None:
        call = self._call_of(msg, "Parkee")
        if call is None:
            return
        for park in call.parks:
            if park["ended_at"] is None and park["uniqueid"] == msg.get("ParkeeUniqueid"):
                park["ended_at"] = ms(t)
                park["result"] = self._PARK_RESULTS.get(msg.get("Event", ""), "ended")

    # ------------------------------------------------------------------ conferences

    def _confbridgestart(self, msg: Mapping[str, str], t: float) -> None:
        name = msg.get("Conference", "")
        self.conferences[name] = {"room": name, "bridge": msg.get("BridgeUniqueid"),
                                  "started_at": t, "host": None}

    def _confbridgejoin(self, msg: Mapping[str, str], t: float) -> None:
        """A party joins a ConfBridge room. The room belongs to the call of its first party
        (the caller and the agent, redirected there together); a party the CTI dialled in
        belongs to its own call, linked by ``VIGIL_CONFERENCE``, and is listed on the host's."""
        name = msg.get("Conference", "")
        chan = self.channels.get(msg.get("Uniqueid", ""))
        call = self.calls.get(chan.linkedid) if chan is not None else None
        if chan is None or call is None:
            return
        room = self.conferences.get(name)
        if room is None:
            room = self.conferences[name] = {"room": name, "bridge": msg.get("BridgeUniqueid"),
                                             "started_at": t, "host": None}
        if room["host"] is None:
            room["host"] = call.conference_of or call.call_id
        host = self.calls.get(room["host"]) or call
        if host is not call:
            call.conference_of = host.call_id
        if host.conference is None:
            host.conference = {"room": name, "started_at": ms(room["started_at"]),
                               "ended_at": None, "participants": []}
        role, number, party_name = self._conference_party(host, call, chan)
        host.conference["participants"].append({
            "channel": chan.name, "uniqueid": chan.uniqueid, "call_id": call.call_id,
            "role": role, "number": number, "name": party_name,
            "joined_at": ms(t), "left_at": None})

    def _conference_party(self, host: CallState, call: CallState,
                          chan: ChannelInfo) -> tuple[str, str | None, str | None]:
        """(role, number, name) of a conference party: ``agent`` (the host call's agent
        phone), ``party`` (who the agent was talking to), ``colleague`` (another agent's phone)
        or ``external`` (a number dialled in)."""
        agent_phone = (chan.device == _device_of_interface(host.agent_interface)
                       or chan.first_context in self.config.agent_contexts)
        if call is host:
            if agent_phone:
                return "agent", None, host.agent
            origin = host.origin_channel
            if origin is not None and origin.party != chan.party:
                return "party", host.called_number, None  # an outbound call's far end
            return "party", chan.caller_number, chan.caller_name
        if agent_phone:
            return "colleague", call.conference_target, self.agent_names.get(chan.device)
        return "external", call.conference_target or call.called_number, None

    @staticmethod
    def _leave_conference(conference: Json, uid: str, t: float) -> None:
        for party in conference["participants"]:
            if party["left_at"] is None and party["uniqueid"] == uid:
                party["left_at"] = ms(t)

    def _confbridgeleave(self, msg: Mapping[str, str], t: float) -> None:
        room = self.conferences.get(msg.get("Conference", ""))
        host = self.calls.get(room["host"] or "") if room is not None else None
        if host is not None and host.conference is not None:
            self._leave_conference(host.conference, msg.get("Uniqueid", ""), t)

    def _confbridgeend(self, msg: Mapping[str, str], t: float) -> None:
        room = self.conferences.pop(msg.get("Conference", ""), None)
        host = self.calls.get(room["host"] or "") if room is not None else None
        if host is not None and host.conference is not None:
            host.conference["ended_at"] = ms(t)

    # ------------------------------------------------------------------ output

    def snapshot(self) -> Json:
        """The live state as a JSON-safe dict (sorted, so equal states compare equal)."""
        now = self.now
        channels = {
            uid: {
                "name": c.name, "linkedid": c.linkedid, "state": c.state,
                "caller_number": c.caller_number, "caller_name": c.caller_name,
                "connected_number": c.connected_number, "connected_name": c.connected_name,
                "bridge": c.bridge, "local_peer": None, "created_at": ms(c.created_at),
            }
            for uid, c in sorted(self.channels.items())
        }
        halves: dict[str, list[str]] = {}
        for uid, c in self.channels.items():
            if c.name.startswith("Local/"):
                halves.setdefault(c.party, []).append(uid)
        for pair in halves.values():
            if len(pair) == 2:
                channels[pair[0]]["local_peer"] = pair[1]
                channels[pair[1]]["local_peer"] = pair[0]
        calls = {
            cid: {"channels": sorted(call.live), "started_at": ms(call.started_at)}
            for cid, call in sorted(self.calls.items()) if call.live
        }
        queues = {}
        for name, q in sorted(self.queues.items()):
            callers = sorted(q.callers.values(), key=lambda c: c.position)
            queues[name] = {
                "params": dict(q.params),
                "callers": [
                    {"uniqueid": c.uniqueid, "channel": c.channel, "position": c.position,
                     "caller_number": c.caller_number, "caller_name": c.caller_name,
                     "joined_at": ms(c.joined_at), "wait": round(max(0.0, now - c.joined_at), 3)}
                    for c in callers
                ],
                "members": {i: m.to_json(now) for i, m in sorted(q.members.items())},
            }
        return {
            "time": ms(now),
            "channels": channels,
            "bridges": {
                bid: {"type": b["type"], "technology": b["technology"],
                      "channels": sorted(b["channels"])}
                for bid, b in sorted(self.bridges.items())
            },
            "calls": calls,
            "queues": queues,
            "agents": {i: s.to_json() for i, s in sorted(self.sessions.items())},
            "devices": dict(sorted(self.devices.items())),
        }


def replay_messages(messages: Iterable[tuple[Mapping[str, str], float | None]],
                    config: ModelConfig | None = None) -> tuple[list[Json], CtiModel]:
    """Run a whole stream through a fresh model; returns (records, model) after a final flush."""
    model = CtiModel(config)
    model.feed_all(messages)
    model.flush()
    return model.take_records(), model


