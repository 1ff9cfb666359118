"""Users and the audit log: the tables every other package relies on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import ArchivableMixin, Base


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


ROLE_RANK = {Role.agent: 1, Role.supervisor: 2, Role.admin: 3}


class User(ArchivableMixin, Base):
    """A console user. Roles are ranked: an admin may do what a supervisor may, and so on."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    extension: Mapped[str | None] = mapped_column(String(32), default=None)
    sip_password: Mapped[str | None] = mapped_column(String(128), default=None)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    def has_role(self, role: Role | str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "username": self.username, "display_name": self.display_name,
            "role": self.role, "language": self.language, "extension": self.extension,
            "has_sip_password": bool(self.extension and self.sip_password),
            "archived": self.archived_at is not None,
        }


class AuditEntry(Base):
    """Who did what to which record, when, with the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(default=None)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": self.at.isoformat(), "actor_id": self.actor_id,
            "actor": self.actor, "action": self.action, "entity": self.entity,
            "entity_id": self.entity_id, "before": self.before, "after": self.after,
            "note": self.note,
        }


class UserSession(Base):
    """A console login. The signed cookie carries a random token whose SHA-256 is ``id``; the
    session ends at ``expires_at`` or when revoked (logout, password change, archive), and then
    the cookie is worthless although its signature is still good."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), default=None)


class SecurityThrottle(Base):
    """Failures counted against one key (a user and source address, a user, a contact's
    passcode, an operator) in a window; ``locked_until`` while the key is locked."""

    __tablename__ = "security_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]
