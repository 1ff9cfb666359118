"""Call dispositions: the code an agent picks for a finished call, stored on its call record.

The console knows a call by its id (the Linkedid: the screen pop's and the live call's
``call_id``). The agent often picks the disposition during wrap-up before the record exists (the
record is stored when the last channel hangs up, later still when app_queue's AgentComplete is
late), so a disposition for a call without a record is kept in ``cti_pending_dispositions`` and
applied when the record is stored, on whichever node stores it. Both sides check again after
their own commit (:func:`apply_pending`), so a disposition and a record stored at the same moment
on two nodes still meet. Every change is audited (who, when, before, after). The list of codes
and their names is the console's; this module stores the code it is given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.clock import Clock
from core.db import Database
from cti.models import CallRecord, PendingDisposition
from cti.store import record_json

Json = dict[str, Any]
CODE_MAX = 64
NOTE_MAX = 2000
FIELDS = ("disposition", "disposition_note", "disposition_by", "disposition_at")


def fields_of(row: CallRecord) -> Json:
    """The record's disposition fields as the API gives them (``disposition_at`` in epoch
    seconds, like the record's other times)."""
    return {k: v for k, v in record_json(row).items() if k in FIELDS}


def _check(call_id: str, code: str, note: str | None) -> tuple[str, str, str | None]:
    call_id, code = (call_id or "").strip(), (code or "").strip()
    if not call_id:
        raise ValueError("call_id: a call id is needed")
    if not code:
        raise ValueError("disposition: choose a disposition")
    if len(code) > CODE_MAX:
        raise ValueError(f"disposition: at most {CODE_MAX} characters")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValueError(f"note: at most {NOTE_MAX} characters")
    return call_id[:96], code, note


async def _record(session: AsyncSession, call_id: str) -> CallRecord | None:
    """The live record of the call (the newest, should the same id ever come twice)."""
    return await session.scalar(select(CallRecord).where(
        CallRecord.source == "ami", CallRecord.call_id == call_id)
        .order_by(CallRecord.started_at.desc()).limit(1))


def _apply(row: CallRecord, code: str, note: str | None, by: int | None,
           at: datetime) -> tuple[Json, Json]:
    before = fields_of(row)
    row.disposition, row.disposition_note = code, note
    row.disposition_by, row.disposition_at = by, at
    return before, fields_of(row)


async def set_disposition(session: AsyncSession, clock: Clock, actor: Actor, call_id: str,
                          code: str, note: str | None = None) -> Json:
    """Set (or change) the disposition of call ``call_id`` in ``session`` (the caller
    commits). Returns the fields with ``record_id`` and ``pending`` (True when the record is not
    stored yet: the disposition waits for it). Raises ValueError naming a bad field."""
    call_id, code, note = _check(call_id, code, note)
    now = clock.now()
    row = await _record(session, call_id)
    if row is not None:
        before, after = _apply(row, code, note, actor.user_id, now)
        audit.record(session, actor, "set_disposition", "call_record", row.id, before, after,
                     clock=clock)
        return {"call_id": call_id, "record_id": row.id, "pending": False, **after}
    pending = await session.scalar(select(PendingDisposition).where(
        PendingDisposition.call_id == call_id))
    before_p = None if pending is None else {"disposition": pending.disposition,
                                             "disposition_note": pending.note}
    if pending is None:
        pending = PendingDisposition(call_id=call_id, disposition=code, set_at=now)
        session.add(pending)
    pending.disposition, pending.note, pending.set_by, pending.set_at = (
        code, note, actor.user_id, now)
    audit.record(session, actor, "set_disposition", "call", call_id, before_p,
                 {"disposition": code, "disposition_note": note}, clock=clock,
                 note="the call's record is not stored yet: applied when it is")
    return {"call_id": call_id, "record_id": None, "pending": True, "disposition": code,
            "disposition_note": note, "disposition_by": actor.user_id,
            "disposition_at": round(now.timestamp(), 3)}


async def apply_pending(session: AsyncSession, clock: Clock, call_id: str) -> CallRecord | None:
    """Move a pending disposition of ``call_id`` onto its record once both exist; returns the
    record when it did. The delete comes first, so of two nodes applying at once one wins."""
    pending = await session.scalar(select(PendingDisposition).where(
        PendingDisposition.call_id == call_id))
    if pending is None:  # most calls: one indexed look-up and done
        return None
    row = await _record(session, call_id)
    if row is None:
        return None
    gone = await session.execute(delete(PendingDisposition).where(
        PendingDisposition.id == pending.id))
    if not getattr(gone, "rowcount", 1):
        return None
    before, after = _apply(row, pending.disposition, pending.note, pending.set_by,
                           pending.set_at)
    audit.record(session, Actor.system("cti"), "apply_disposition", "call_record", row.id,
                 before, after, clock=clock,
                 note=f"picked by user {pending.set_by} before the record was stored")
    return row


async def dispose(db: Database, clock: Clock, actor: Actor, call_id: str, code: str,
                  note: str | None = None) -> Json:
    """:func:`set_disposition` in its own transaction, then the after-commit check for a record
    stored meanwhile: what the console's endpoint calls."""
    async with db.transaction() as session:
        result = await set_disposition(session, clock, actor, call_id, code, note)
    if result["pending"]:
        async with db.transaction() as session:
            row = await apply_pending(session, clock, result["call_id"])
            if row is not None:
                result = {**result, "record_id": row.id, "pending": False, **fields_of(row)}
    return result


async def counts_since(session: AsyncSession, since: datetime) -> dict[str | None, int]:
    """Call records started since ``since`` per disposition (None: none was picked)."""
    rows = (await session.execute(
        select(CallRecord.disposition, func.count()).where(CallRecord.started_at >= since)
        .group_by(CallRecord.disposition))).all()
    return {code: int(n) for code, n in rows}
