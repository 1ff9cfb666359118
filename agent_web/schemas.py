"""The shapes of the console's own API answers (``/api/console/...``), declared once.

The browser reads exactly these names (agent_web/static/app); OpenAPI documents them. Rows that
come from the CTI's live view carry more than the console reads: those models name the fields
the console relies on and let the others through (``extra="allow"``), so a field the CTI adds
is documented where it is read, not lost.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AgentState = Literal["logged_out", "ready", "ringing", "in_call", "paused", "wrapup", "unknown"]
CallState = Literal["ringing", "connected", "held"]


class Ok(BaseModel):
    ok: bool = True


class LiveCall(BaseModel):
    """The other party of an agent's live call, as the supervisor's grid shows it."""

    model_config = ConfigDict(extra="allow")
    call_id: str
    number: str | None = None
    name: str | None = None
    state: CallState
    since: float | None = None


class AgentRow(BaseModel):
    """An agent across their queues, as Asterisk holds it (the CTI's live view)."""

    model_config = ConfigDict(extra="allow")
    state: AgentState
    extension: str | None = None
    user_id: int | None = None
    name: str | None = None
    interface: str | None = None
    queues: list[str] = Field(default_factory=list)
    paused: bool = False
    pause_reason: str | None = None
    since: float | None = None
    in_wrapup: bool | None = None
    wrapup_until: float | None = None
    wrapup_call_id: str | None = None
    on_hold: bool | None = None
    hold_since: float | None = None
    call: LiveCall | None = None


class CurrentCall(BaseModel):
    """The user's live call (the CTI's call view): what a console restores on load."""

    model_config = ConfigDict(extra="allow")
    call_id: str
    kind: str
    direction: str | None = None
    state: CallState
    since: float | None = None
    number: str | None = None
    name: str | None = None
    queue: str | None = None
    account_id: int | str | None = None
    incident_id: int | str | None = None
    verification_id: int | str | None = None
    held_since: float | None = None
    conference: dict[str, object] | None = None


class Progress(BaseModel):
    """The latest ``call.progress`` of a call the console placed for the user."""

    model_config = ConfigDict(extra="allow")
    call_id: str
    kind: str
    stage: str
    number: str | None = None
    cause: str | None = None
    incident_id: int | str | None = None
    verification_id: int | str | None = None


class WrapUp(BaseModel):
    call_id: str | None
    until: float
    queue: str | None = None


class Parked(BaseModel):
    space: str | None
    lot: str | None = None
    parked_at: float | None = None
    number: str | None = None
    name: str | None = None


class SipAccount(BaseModel):
    """The user's own WebRTC phone account (to its owner only, over the session)."""

    ws_url: str
    uri: str
    authorization_user: str
    password: str
    display_name: str


class PhoneView(BaseModel):
    """Everything the phone panel restores on load."""

    mode: Literal["webrtc", "pbxsim", "desk"]
    cti: bool
    extension: str | None
    agent: AgentRow
    current: CurrentCall | None
    pop: dict[str, object] | None
    wrapup: WrapUp | None
    placed: list[Progress]
    parked: list[Parked]
    queues: list[str]
    default_queues: list[str]
    wrapup_seconds: float
    sip: SipAccount | None


class CallRecordOut(BaseModel):
    """A stored call record (cti.records' fields); the names the console reads."""

    model_config = ConfigDict(extra="allow")
    id: int
    call_id: str
    direction: str | None = None
    caller_number: str | None = None
    called_number: str | None = None
    queue: str | None = None
    agent: str | None = None
    outcome: str | None = None
    started_at: float | None = None
    talk_seconds: float | None = None
    disposition: str | None = None
    recording_file: str | None = None


class CallRecords(BaseModel):
    items: list[CallRecordOut]


class AgentGrid(BaseModel):
    items: list[AgentRow]
    now: float


class TransferAgent(BaseModel):
    name: str | None
    extension: str
    state: str | None
    queues: list[str]


class TransferQueue(BaseModel):
    name: str
    exten: str | None


class TransferTargets(BaseModel):
    agents: list[TransferAgent]
    queues: list[TransferQueue]
    cti: bool


class Disposed(BaseModel):
    """A disposition set on a call (``pending`` until the call's record is stored)."""

    model_config = ConfigDict(extra="allow")
    call_id: str
    disposition: str
    pending: bool
    record_id: int | None = None
