"""Stored call records, spy sessions and agent sessions with their pauses.

The full record (:mod:`cti.records` fields) is kept as JSON in ``data`` so nothing the model
derived is lost; the columns the API filters and reports on are copied out and indexed. A record
is identified by its source (``ami`` live, ``queue_log`` imported) and the call id, so storing the
same call twice (a re-import, a replay) keeps one row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class CallRecord(Base):
    __tablename__ = "cti_call_records"
    __table_args__ = (
        UniqueConstraint("source", "call_id", "started_at"),
        Index("ix_cti_call_records_queue_started", "queue", "started_at"),
        Index("ix_cti_call_records_agent_started", "agent", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="ami")
    call_id: Mapped[str] = mapped_column(String(96))
    queue_call_id: Mapped[str | None] = mapped_column(String(96), index=True, default=None)
    direction: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    queue: Mapped[str | None] = mapped_column(String(64), default=None)
    agent: Mapped[str | None] = mapped_column(String(128), default=None)
    agent_interface: Mapped[str | None] = mapped_column(String(128), default=None)
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    called_number: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    account_id: Mapped[str | None] = mapped_column(String(32), default=None)
    incident_id: Mapped[str | None] = mapped_column(String(32), default=None)
    started_at: Mapped[datetime] = mapped_column(index=True)
    answer_at: Mapped[datetime | None] = mapped_column(default=None)
    end_at: Mapped[datetime | None] = mapped_column(default=None)
    wait_seconds: Mapped[float | None] = mapped_column(default=None)
    talk_seconds: Mapped[float | None] = mapped_column(default=None)
    duration_seconds: Mapped[float | None] = mapped_column(default=None)
    recording_file: Mapped[str | None] = mapped_column(String(255), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    stored_at: Mapped[datetime]
    # what the agent said the call was about (a code from the console's disposition list),
    # set by :func:`cti.dispositions.set_disposition`
    disposition: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    disposition_note: Mapped[str | None] = mapped_column(Text, default=None)
    disposition_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    disposition_at: Mapped[datetime | None] = mapped_column(default=None)


class PendingDisposition(Base):
    """A disposition picked before the call's record was stored (the agent is quicker than the
    call's last hangup or the AgentComplete grace): applied when the record arrives."""

    __tablename__ = "cti_pending_dispositions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(96), unique=True)
    disposition: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    set_at: Mapped[datetime]


class SpySession(Base):
    """A supervisor listening, whispering or barging on a call (also inside ``data``)."""

    __tablename__ = "cti_spy_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_record_id: Mapped[int] = mapped_column(ForeignKey("cti_call_records.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    supervisor: Mapped[str | None] = mapped_column(String(64), default=None)
    supervisor_channel: Mapped[str | None] = mapped_column(String(128), default=None)
    spied_channel: Mapped[str | None] = mapped_column(String(128), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class AgentSession(Base):
    """An agent's time in the queues, from the first join to leaving the last one."""

    __tablename__ = "cti_agent_sessions"
    __table_args__ = (UniqueConstraint("source", "agent", "login_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="ami")
    interface: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    login_at: Mapped[datetime]
    logout_at: Mapped[datetime | None] = mapped_column(default=None)
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)


class AgentPause(Base):
    __tablename__ = "cti_agent_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("cti_agent_sessions.id"), index=True)
    queue: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(String(128), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
