"""The audit log, written in the same transaction as the change it records."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, SystemClock
from core.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a console user, or a named system part (``system:ivr``) with no user id."""

    name: str
    user_id: int | None = None

    @classmethod
    def system(cls, part: str) -> Actor:
        return cls(name=f"system:{part}")


_SKIP = {"password_hash", "passcode_hash", "duress_hash", "pin_hash", "sip_password"}


def jsonable(value: Any) -> Any:
    """Turn column values into JSON-safe values for the before/after snapshots."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of an ORM object; secrets are masked, never copied into the log."""
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        key = attr.key
        value = getattr(obj, key)
        if key in _SKIP:
            out[key] = "***" if value else None
        else:
            out[key] = jsonable(value)
    return out


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[
    dict[str, Any] | None, dict[str, Any] | None
]:
    """Keep only the fields that changed, so an entry shows what the change was."""
    if before is None or after is None:
        return before, after
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    clock: Clock | None = None,
    only_changes: bool = True,
) -> AuditEntry:
    """Add an audit entry to ``session``; it commits (or rolls back) with the change itself."""
    if only_changes:
        before, after = diff(before, after)
    entry = AuditEntry(
        at=(clock or SystemClock()).now(),
        actor_id=actor.user_id,
        actor=actor.name,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        note=note,
    )
    session.add(entry)
    return entry
