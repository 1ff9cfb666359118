"""The shapes of the alarm API's answers (what :mod:`alarms.incidents`' ``*_dict`` functions
build), declared for OpenAPI and for the console that reads them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class IncidentOut(BaseModel):
    id: int
    account_id: int | None
    account_number: str | None
    account_name: str | None
    receiver: str | None
    desk: str
    kind: str
    event_class: str
    priority: int
    base_priority: int
    escalation_level: int
    status: str
    taken_by: int | None
    taken_by_name: str | None
    cancelled_at_panel: bool
    duress: bool
    hold_until: str | None
    zones: dict[str, Any]
    steps: list[dict[str, Any]]
    signal_count: int
    disposition: str | None
    false_alarm_cause: str | None
    close_note: str | None
    reopen_count: int
    first_signal_at: str | None
    last_signal_at: str | None
    opened_at: str | None
    shown_at: str | None
    taken_at: str | None
    first_call_at: str | None
    dispatched_at: str | None
    closed_at: str | None
    version: int


class SignalOut(BaseModel):
    id: int
    signal_id: str | None
    incident_id: int | None
    received_at: str
    event_system: str | None
    event_code: str | None
    qualifier: str | None
    kind: str | None
    event_class: str | None
    priority: int | None
    zone: str | None
    partition: str | None
    user: str | None
    logged_reason: str | None


class VerificationCallOut(BaseModel):
    """A verification call: its outcome from the call's own events (``result``, ``cause``,
    ``answered_at``…) and what the operator learnt (``answered_by``, ``code_result``,
    ``note``)."""

    id: int
    incident_id: int
    step: int | None
    contact_id: int | None
    contact_name: str
    number: str
    operator_id: int | None
    requested_at: str
    result: str | None
    cause: str | None
    answered_at: str | None
    completed_at: str | None
    cti_call_id: str | None
    call_record_id: int | None
    talk_seconds: float | None
    answered_by: str | None
    code_result: str | None
    note: str | None


class DispatchOut(BaseModel):
    id: int
    incident_id: int
    kind: str
    status: str
    reference: str
    dispatched_at: str
    dispatched_by: str
    arrived_at: str | None
    cleared_at: str | None
    avs_score: int
    avs_reasons: list[str]
    note: str | None


class IncidentDetail(IncidentOut):
    signals: list[SignalOut]
    calls: list[VerificationCallOut]
    dispatches: list[DispatchOut]


class IncidentList(BaseModel):
    items: list[IncidentOut]
    total: int
    limit: int
    offset: int


class CallChecked(BaseModel):
    call: VerificationCallOut
    incident: IncidentOut
    say_to_caller: str | None
