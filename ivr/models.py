"""The IVR's own tables: the blacklist, PIN lockouts, callback requests and the session log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import ArchivableMixin, Base


class BlacklistEntry(ArchivableMixin, Base):
    """A nuisance number refused by the IVR; removing it archives the row (kept for the audit)."""

    __tablename__ = "ivr_blacklist"
    __table_args__ = (Index("ix_ivr_blacklist_e164", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(400), default="")
    added_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class PinLockout(Base):
    """Consecutive wrong PINs per key (``account:<id>`` or ``caller:<e164>``) and the lock."""

    __tablename__ = "ivr_pin_lockouts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]


class CallbackRequest(Base):
    """A caller asked to be called back; an outbound call task takes it when an agent is free."""

    __tablename__ = "ivr_callback_requests"
    __table_args__ = (Index("ix_ivr_callback_requests_status", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(default=None, index=True)
    queue: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    ivr_path: Mapped[str] = mapped_column(String(400), default="")
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(default=None)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "account_id": self.account_id,
                "queue": self.queue, "language": self.language, "ivr_path": self.ivr_path,
                "uniqueid": self.uniqueid, "status": self.status,
                "requested_at": self.requested_at.isoformat(),
                "done_at": self.done_at.isoformat() if self.done_at else None}


class IvrSession(Base):
    """One call through the IVR: the path the caller took, how it ended and where they left."""

    __tablename__ = "ivr_sessions"
    __table_args__ = (Index("ix_ivr_sessions_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(128), default="")
    route: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(64), default="")
    account_id: Mapped[int | None] = mapped_column(default=None, index=True)
    language: Mapped[str] = mapped_column(String(8), default="")
    path: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32))
    last_step: Mapped[str] = mapped_column(String(64), default="")
    commands: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    detail: Mapped[str] = mapped_column(Text, default="")

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "uniqueid": self.uniqueid, "channel": self.channel,
                "route": self.route, "caller": self.caller, "account_id": self.account_id,
                "language": self.language, "path": self.path.split(">") if self.path else [],
                "outcome": self.outcome, "last_step": self.last_step, "commands": self.commands,
                "started_at": self.started_at.isoformat(), "ended_at": self.ended_at.isoformat(),
                "detail": self.detail}
