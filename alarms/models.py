"""The alarm engine's tables: incidents and their signals, calls, dispatches, account states.

Other packages never read these tables; they call :mod:`alarms.api` or listen to ``incident.*``
bus events. Rows are never deleted: incidents close (and can re-open), plans are archived.
Enumerated values are short strings, checked by :mod:`alarms.workflow` and the API schemas.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import ArchivableMixin, Base


class Incident(Base):
    """What an operator handles: one or more signals of one account (or one unknown account
    number), on one desk (operator, technical or admin). At most one is open per account key
    and desk (a partial unique index), so two nodes cannot both open one for the same alarm."""

    __tablename__ = "alarm_incidents"
    __table_args__ = (
        Index("ix_alarm_incidents_open", "account_key", "desk", "status"),
        Index("uq_alarm_incidents_open_account_desk", "account_key", "desk", unique=True,
              postgresql_where=text("status <> 'closed'"),
              sqlite_where=text("status <> 'closed'")),
        Index("ix_alarm_incidents_status_priority", "status", "priority"),
        Index("ix_alarm_incidents_account_opened", "account_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(default=None)
    account_key: Mapped[str] = mapped_column(String(64))  # "id:<n>" or "unknown:<number>"
    account_number: Mapped[str] = mapped_column(String(32), default="")
    account_name: Mapped[str] = mapped_column(String(200), default="")
    receiver: Mapped[str] = mapped_column(String(64), default="")
    desk: Mapped[str] = mapped_column(String(16), default="operator")
    kind: Mapped[str] = mapped_column(String(32))
    event_class: Mapped[str] = mapped_column(String(16))
    base_priority: Mapped[int]
    priority: Mapped[int]
    escalation_level: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="new")
    taken_by: Mapped[int | None] = mapped_column(default=None)
    taken_by_name: Mapped[str | None] = mapped_column(String(128), default=None)
    cancelled_at_panel: Mapped[bool] = mapped_column(default=False)
    duress: Mapped[bool] = mapped_column(default=False)
    hold_until: Mapped[datetime | None] = mapped_column(default=None)
    zones: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # zone -> active|restored
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    signal_count: Mapped[int] = mapped_column(default=0)
    disposition: Mapped[str | None] = mapped_column(String(32), default=None)
    false_alarm_cause: Mapped[str | None] = mapped_column(String(32), default=None)
    close_note: Mapped[str | None] = mapped_column(Text, default=None)
    reopen_count: Mapped[int] = mapped_column(default=0)
    first_signal_at: Mapped[datetime]
    last_signal_at: Mapped[datetime]
    opened_at: Mapped[datetime]
    shown_at: Mapped[datetime | None] = mapped_column(default=None)
    taken_at: Mapped[datetime | None] = mapped_column(default=None)
    first_call_at: Mapped[datetime | None] = mapped_column(default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class IncidentSignal(Base):
    """A signal attached to an incident, or logged without one (``incident_id`` None and
    ``logged_reason`` saying why: on test, runaway, disaster, restore without alarm ...)."""

    __tablename__ = "alarm_incident_signals"
    __table_args__ = (
        Index("ix_alarm_incident_signals_incident", "incident_id"),
        Index("ix_alarm_incident_signals_account", "account_key", "received_at"),
        Index("ix_alarm_incident_signals_signal_id", "signal_id"),  # start-up catch-up
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_incidents.id"),
                                                    default=None)
    signal_id: Mapped[str | None] = mapped_column(String(64), default=None)
    account_id: Mapped[int | None] = mapped_column(default=None)
    account_key: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime]
    event_system: Mapped[str] = mapped_column(String(8), default="cid")
    event_code: Mapped[str] = mapped_column(String(8), default="")
    qualifier: Mapped[str] = mapped_column(String(8), default="new")
    kind: Mapped[str] = mapped_column(String(32))
    event_class: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int]
    partition: Mapped[str | None] = mapped_column(String(8), default=None)
    zone: Mapped[str | None] = mapped_column(String(8), default=None)
    user: Mapped[str | None] = mapped_column(String(8), default=None)
    logged_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class AccountState(Base):
    """The engine's own view of an account: test mode, arming, runaway and test supervision."""

    __tablename__ = "alarm_account_states"

    account_id: Mapped[int] = mapped_column(primary_key=True)
    on_test_until: Mapped[datetime | None] = mapped_column(default=None)
    on_test_by: Mapped[str | None] = mapped_column(String(128), default=None)
    armed: Mapped[bool | None] = mapped_column(default=None)
    last_open_at: Mapped[datetime | None] = mapped_column(default=None)
    last_close_at: Mapped[datetime | None] = mapped_column(default=None)
    runaway_incident_id: Mapped[int | None] = mapped_column(default=None)
    test_interval_minutes: Mapped[int | None] = mapped_column(default=None)
    last_test_at: Mapped[datetime | None] = mapped_column(default=None)
    test_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    fail_to_test_incident_id: Mapped[int | None] = mapped_column(default=None)


class ScheduleMark(Base):
    """One schedule incident per account, local day and kind, so a misconfigured schedule
    cannot flood the alarm queue."""

    __tablename__ = "alarm_schedule_marks"
    __table_args__ = (UniqueConstraint("account_id", "day", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int]
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(default=None)
    at: Mapped[datetime]


class ActionPlan(ArchivableMixin, Base):
    """Steps (and optionally a priority or class) for a kind or class of incident; the center's
    plan has no account; an account's plan, and a zone's, override it."""

    __tablename__ = "alarm_action_plans"
    __table_args__ = (Index("ix_alarm_action_plans_account", "account_id", "match"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(default=None)
    zone: Mapped[str | None] = mapped_column(String(8), default=None)
    match: Mapped[str] = mapped_column(String(32))  # an incident kind or an event class
    priority: Mapped[int | None] = mapped_column(default=None)
    event_class: Mapped[str | None] = mapped_column(String(16), default=None)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class VerificationCall(Base):
    """A verification call the engine asked for, and what came of it."""

    __tablename__ = "alarm_verification_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("alarm_incidents.id"), index=True)
    step: Mapped[int | None] = mapped_column(default=None)
    contact_id: Mapped[int | None] = mapped_column(default=None)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    number: Mapped[str] = mapped_column(String(32))
    operator_id: Mapped[int | None] = mapped_column(default=None)
    requested_at: Mapped[datetime]
    # What the call did, from the call's own events (the far leg's dial status), never typed:
    result: Mapped[str | None] = mapped_column(String(16), default=None)
    cause: Mapped[str | None] = mapped_column(String(64), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    cti_call_id: Mapped[str | None] = mapped_column(String(128), default=None)
    call_record_id: Mapped[int | None] = mapped_column(default=None)
    talk_seconds: Mapped[float | None] = mapped_column(default=None)
    # What only the operator knows, once the call was answered:
    answered_by: Mapped[str | None] = mapped_column(String(200), default=None)
    code_result: Mapped[str | None] = mapped_column(String(16), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class Dispatch(Base):
    """A guard or police dispatch with its times and the AVS-01 score given when it was made."""

    __tablename__ = "alarm_dispatches"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("alarm_incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # guard | police
    status: Mapped[str] = mapped_column(String(16), default="dispatched")
    reference: Mapped[str] = mapped_column(String(64), default="")
    dispatched_at: Mapped[datetime]
    dispatched_by: Mapped[str] = mapped_column(String(128))
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    avs_score: Mapped[int]
    avs_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class Notification(Base):
    """An SMS or e-mail the engine sent (or failed to send), kept as evidence."""

    __tablename__ = "alarm_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(default=None, index=True)
    account_id: Mapped[int | None] = mapped_column(default=None)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    to: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="sent")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime]


class CenterState(Base):
    """Center-wide switches (one row, id 1): disaster mode and its per-class rules."""

    __tablename__ = "alarm_center_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    disaster_active: Mapped[bool] = mapped_column(default=False)
    disaster_rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    disaster_since: Mapped[datetime | None] = mapped_column(default=None)
    disaster_by: Mapped[str | None] = mapped_column(String(128), default=None)
    updated_at: Mapped[datetime]


class MaintenanceFlag(Base):
    """A threshold the engine acted on (a work order raised, a callback visit flagged), so it
    acts once per account, subject and window."""

    __tablename__ = "alarm_maintenance_flags"
    __table_args__ = (UniqueConstraint("account_id", "subject", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int]
    subject: Mapped[str] = mapped_column(String(64))  # "false_alarms:zone:3", "low_arming"
    period: Mapped[str] = mapped_column(String(16))  # e.g. 2026-01
    work_order_id: Mapped[int | None] = mapped_column(default=None)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]
