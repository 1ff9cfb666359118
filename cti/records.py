"""Call records: what one call was, derived from the AMI events of its channels.

A *call* is every channel sharing one ``Linkedid`` (both halves of Local channels, the agent leg,
the outbound leg). :class:`CallState` collects what the model learns while the call lives;
:func:`build_record` turns it into the JSON-safe record emitted when the last channel hangs up.

Record fields (all always present, ``None`` when not applicable):

* ``call_id`` — the Linkedid; ``queue_call_id`` — Uniqueid of the channel that joined a queue,
  which is the call id Asterisk writes to queue_log.
* ``direction`` — ``inbound`` (entered an inbound context or a queue), ``outbound`` (entered an
  outbound context, or an Originate that failed before reaching the dialplan), else ``internal``.
* ``caller_number``/``caller_name`` — caller ID of the first channel; ``called_number`` — the
  extension dialled in the inbound or outbound context.
* ``queue``, ``agent`` (member name), ``agent_interface``, ``ivr_path`` (``VIGIL_IVR_PATH``),
  ``account_id`` (``VIGIL_ACCOUNT_ID``), ``incident_id`` (``VIGIL_INCIDENT_ID``/``INCIDENT_ID``).
* Times (epoch seconds, ms precision, from the event stream): ``started_at``, ``enter_queue_at``,
  ``ring_at`` (first agent/destination rung), ``answer_at``, ``end_at``.
* ``wait_seconds`` — time in queue: Asterisk's own HoldTime when it reports one (so the figure
  agrees with queue_log), else leave-queue minus enter-queue. ``talk_seconds`` — Asterisk's
  TalkTime for queue calls, else end (or transfer) minus answer. ``duration_seconds`` — end minus
  start. ``hold_seconds`` — total time on Hold.
* ``outcome`` — ``answered``, ``abandoned``, ``timeout`` (or ``exit_*`` for other queue exits),
  ``transferred_blind``, ``transferred_attended``, ``failed_originate``, ``ivr`` (inbound, never
  queued nor dialled out), ``no_answer``, ``busy``, ``failed``, ``canceled``.
* ``ended_by`` — for queue calls app_queue's AgentComplete reason (``caller``, ``agent``,
  ``transfer``); otherwise the party whose hangup came first (``caller``, ``agent``, ``called``)
  or ``system`` when the PBX hung up.
* Calls the PBX placed for a user (verification calls, click-to-dial, spies: an Originate that
  rings the user's phone first, :mod:`cti.legs`): ``placed_from`` (that phone's device),
  ``own_answer_at`` (when it answered), and for the number it then dialled ``far_ring_at``,
  ``far_answer_at``, ``far_status`` (Asterisk's DIALSTATUS of that leg: ``VIGIL_DIALSTATUS``
  when the dialplan set it) and ``far_cause`` (the far channel's hangup cause). Such a call is
  ``outbound`` from the user (``caller_number`` the user's extension, ``agent_interface`` the
  phone) to ``called_number``; its ``answer_at`` and ``outcome`` are the far leg's, and
  ``failure_reason`` says why it did not connect (``busy``, ``no_answer``,
  ``unallocated_number``, ``congestion``, ``chanunavail``, ``canceled``; for the own phone the
  Originate's reason).
* ``abandon_position``/``original_position``, ``transfer`` (type, to, context, at, by),
  ``failure_reason``, ``originate_action_id``, ``recording_file`` and ``recordings``,
  ``spy_sessions`` (mode listen/whisper/barge, supervisor, times), ``parks``, ``ring_attempts``,
  ``spied_call_id`` (for a supervisor's own spy call), ``resynced`` (the call spanned an AMI
  reconnect, so some of it was reconstructed).
* ``holds`` — each time a phone put the call on hold (``Hold`` … ``Unhold`` on the holding
  phone's channel): channel, ``started_at``, ``ended_at``, music class; ``hold_seconds`` is their
  total.
* ``conference`` — when the call became a three-way conference (ConfBridge): ``room``,
  ``started_at``, ``ended_at`` and ``participants`` (channel, call id, role ``agent`` /
  ``caller`` / ``colleague`` / ``external``, number, name, ``joined_at``, ``left_at``);
  ``conference_call_id`` — on the record of a party added to another call's conference, that
  call's id.
* ``verification_id`` (``VIGIL_VERIFICATION_ID``), ``agent_devices`` — every agent phone device
  that took part (``Local/1001@agent-phones``, ``PJSIP/1101``), so the consoles it concerns
  can be told it ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cti.legs import PlacedLegs, extension_of_device, far_cause, far_outcome, record_fields

Json = dict[str, Any]

ORIGINATE_REASONS = {"0": "failed", "1": "hangup", "3": "no_answer", "5": "busy", "8": "congestion"}
DIAL_OUTCOMES = {"NOANSWER": "no_answer", "BUSY": "busy", "CHANUNAVAIL": "failed",
                 "CONGESTION": "failed", "CANCEL": "canceled"}


def ms(t: float | None) -> float | None:
    """Round a time to the millisecond (keeps records stable and compact)."""
    return None if t is None else round(t, 3)


@dataclass(slots=True)
class ChannelInfo:
    """What the model keeps about one channel (live, or hung up but its call not finished)."""

    uniqueid: str
    name: str
    linkedid: str
    state: str = ""
    caller_number: str | None = None
    caller_name: str | None = None
    connected_number: str | None = None
    connected_name: str | None = None
    context: str = ""
    exten: str = ""
    first_context: str = ""
    application: str = ""
    app_data: str = ""
    bridge: str | None = None
    created_at: float = 0.0
    answered_at: float | None = None
    hungup_at: float | None = None
    local_peer: str | None = None
    recording_file: str | None = None
    hold_since: float | None = None
    spy_mode: str | None = None  # VIGIL_SPY_MODE: the mode the dialplan started ChanSpy in

    @property
    def party(self) -> str:
        """The two halves of a Local channel are one party (``Local/x@ctx-0001``)."""
        name = self.name
        if name.startswith("Local/") and name[-2:-1] == ";":
            return name[:-2]
        return name

    @property
    def device(self) -> str:
        """``Local/1001@agent-phones`` or ``PJSIP/1101``: the party without its sequence suffix."""
        party = self.party
        head, sep, _ = party.rpartition("-")
        return head if sep else party

    @property
    def device_end(self) -> bool:
        """True for the half that faces the phone: ``;2`` of a Local pair, or a real channel."""
        return not self.name.startswith("Local/") or self.name.endswith(";2")


@dataclass(slots=True)
class CallState:
    """Everything learnt about one call while it lives."""

    call_id: str
    started_at: float
    origin: str  # uniqueid of the first channel
    channels: dict[str, ChannelInfo] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    inbound: bool = False
    outbound: bool = False
    called_number: str | None = None
    queue: str | None = None
    queue_call_id: str | None = None
    enter_queue_at: float | None = None
    leave_queue_at: float | None = None
    original_position: int | None = None
    abandon_position: int | None = None
    abandoned: bool = False
    queue_status: str | None = None
    ring_at: float | None = None
    answer_at: float | None = None
    connected: bool = False
    completed: bool = False
    agent: str | None = None
    agent_interface: str | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    complete_reason: str | None = None
    last_dial_status: str | None = None
    dialled: bool = False
    ivr_path: str | None = None
    account_id: str | None = None
    incident_id: str | None = None
    originate_action_id: str | None = None
    originate_failed: bool = False
    legs: PlacedLegs = field(default_factory=PlacedLegs)  # a call placed for a user (cti.legs)
    failure_reason: str | None = None
    application: str | None = None
    transfer: Json | None = None
    recordings: list[Json] = field(default_factory=list)
    spies: list[Json] = field(default_factory=list)
    parks: list[Json] = field(default_factory=list)
    ring_attempts: list[Json] = field(default_factory=list)
    hold_seconds: float = 0.0
    first_hangup: tuple[str, bool] | None = None  # (party, initiated by that party)
    spied_call_id: str | None = None
    end_at: float | None = None
    resynced: bool = False
    holds: list[Json] = field(default_factory=list)
    conference: Json | None = None
    conference_of: str | None = None  # the call whose conference this call's party joined
    conference_target: str | None = None  # the number or extension the CTI added
    verification_id: str | None = None
    agent_devices: set[str] = field(default_factory=set)

    @property
    def origin_channel(self) -> ChannelInfo | None:
        return self.channels.get(self.origin)


def _direction(call: CallState) -> str:
    if call.queue is not None or call.inbound:
        return "inbound"
    if call.outbound:
        return "outbound"
    if call.originate_failed and not call.application:
        return "outbound"
    return "internal"


def _outcome(call: CallState) -> str:
    if call.originate_failed:
        return "failed_originate"
    if call.transfer is not None and call.answer_at is not None:
        return "transferred_" + str(call.transfer["type"])
    if call.queue is not None:
        if call.connected:
            return "answered"
        if call.abandoned:
            return "abandoned"
        if call.leave_queue_at is not None:
            status = (call.queue_status or "TIMEOUT").upper()
            return "timeout" if status == "TIMEOUT" else "exit_" + status.lower()
        return "abandoned"
    far = far_outcome(call.legs)
    if far is not None:
        return far
    if call.answer_at is not None:
        return "answered"
    if call.last_dial_status:
        return DIAL_OUTCOMES.get(call.last_dial_status, "failed")
    if call.inbound and not call.dialled:
        return "ivr"
    return "no_answer"


def _ended_by(call: CallState, agent_parties: set[str]) -> str | None:
    if call.complete_reason:
        return call.complete_reason
    if call.originate_failed:
        return "system"
    if call.first_hangup is None:
        return None
    party, initiated = call.first_hangup
    if not initiated:
        return "system"
    origin = call.origin_channel
    if origin is not None and party == origin.party:
        return "caller"
    if party in agent_parties:
        return "agent"
    return "called"


def build_record(call: CallState, agent_parties: set[str]) -> Json:
    """The JSON-safe call record of a finished call (see the module docstring for fields)."""
    origin = call.origin_channel
    end = call.end_at
    for spy in call.spies:
        if spy["ended_at"] is None:
            spy["ended_at"] = ms(end)
    for rec in call.recordings:
        if rec["stopped_at"] is None:
            rec["stopped_at"] = ms(end)
    for attempt in call.ring_attempts:
        if attempt["result"] is None:
            attempt["result"] = "canceled"
    for hold in call.holds:
        if hold["ended_at"] is None:
            hold["ended_at"] = ms(end)
    conference = call.conference
    if conference is not None:
        for party in conference["participants"]:
            if party["left_at"] is None:
                party["left_at"] = ms(end)
        if conference["ended_at"] is None:
            conference["ended_at"] = ms(end)
    wait = call.wait_seconds
    if wait is None and call.enter_queue_at is not None:
        left = call.leave_queue_at if call.leave_queue_at is not None else end
        if left is not None:
            wait = round(left - call.enter_queue_at, 3)
    talk = call.talk_seconds
    if talk is None and call.answer_at is not None:
        stop = call.transfer["at"] if call.transfer else end
        if stop is not None:
            talk = round(stop - call.answer_at, 3)
    files = [r["file"] for r in call.recordings if r.get("file")]
    caller_number = origin.caller_number if origin else None
    caller_name = origin.caller_name if origin else None
    if call.legs.placed and call.legs.own_device:  # from the user, not the center's caller ID
        caller_number, caller_name = extension_of_device(call.legs.own_device), call.agent
    return {
        "call_id": call.call_id,
        "queue_call_id": call.queue_call_id,
        "direction": _direction(call),
        "caller_number": caller_number,
        "caller_name": caller_name,
        "called_number": call.called_number,
        "queue": call.queue,
        "ivr_path": call.ivr_path,
        "account_id": call.account_id,
        "incident_id": call.incident_id,
        "agent": call.agent,
        "agent_interface": call.agent_interface,
        "started_at": ms(call.started_at),
        "enter_queue_at": ms(call.enter_queue_at),
        "ring_at": ms(call.ring_at),
        "answer_at": ms(call.answer_at),
        "end_at": ms(end),
        "wait_seconds": wait,
        "talk_seconds": talk,
        "duration_seconds": None if end is None else round(end - call.started_at, 3),
        "hold_seconds": round(call.hold_seconds, 3),
        "outcome": _outcome(call),
        "ended_by": _ended_by(call, agent_parties),
        "abandon_position": call.abandon_position,
        "original_position": call.original_position,
        "transfer": call.transfer,
        "failure_reason": call.failure_reason or far_cause(call.legs),
        "originate_action_id": call.originate_action_id,
        **record_fields(call.legs),
        "recording_file": files[0] if files else None,
        "recordings": call.recordings,
        "spy_sessions": call.spies,
        "parks": call.parks,
        "ring_attempts": call.ring_attempts,
        "spied_call_id": call.spied_call_id,
        "resynced": call.resynced,
        "holds": call.holds,
        "conference": conference,
        "conference_call_id": call.conference_of,
        "verification_id": call.verification_id,
        "agent_devices": sorted(call.agent_devices),
    }


def failed_originate_record(action_id: str, channel: str, reason: str, at: float,
                            application: str | None) -> Json:
    """A record for an Originate that failed before any channel of it was seen."""
    call = CallState(call_id=f"originate:{action_id}", started_at=at, origin="")
    call.originate_action_id = action_id
    call.originate_failed = True
    call.failure_reason = ORIGINATE_REASONS.get(reason, "failed")
    call.application = application
    call.end_at = at
    record = build_record(call, set())
    record["transfer"] = None
    record["originate_channel"] = channel or None
    return record
