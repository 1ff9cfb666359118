"""Storing and querying call records and agent sessions (the only code touching cti tables).

Readers take a session; writers take a session and leave the commit to the caller. Storing is
idempotent: a record already stored under the same source, call id and start time is returned as
it is, so replaying a capture or re-importing a queue_log twice keeps one row per call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from cti.models import AgentPause, AgentSession, CallRecord, SpySession

Json = dict[str, Any]


def to_dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(float(epoch), UTC)


def to_epoch(value: datetime | None) -> float | None:
    return None if value is None else round(value.timestamp(), 3)


def _text(value: Any, limit: int) -> str | None:
    return None if value is None or value == "" else str(value)[:limit]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


async def store_record(session: AsyncSession, clock: Clock, record: Mapping[str, Any],
                       source: str = "ami") -> tuple[CallRecord, bool]:
    """Insert a call record (and its spy sessions); returns ``(row, created)``."""
    started = to_dt(record.get("started_at") or record.get("enter_queue_at")
                    or record.get("end_at")) or clock.now()
    call_id = str(record["call_id"])[:96]
    existing = await session.scalar(select(CallRecord).where(
        CallRecord.source == source, CallRecord.call_id == call_id,
        CallRecord.started_at == started))
    if existing is not None:
        return existing, False
    row = CallRecord(
        source=source, call_id=call_id, queue_call_id=_text(record.get("queue_call_id"), 96),
        direction=str(record.get("direction") or "internal"),
        outcome=_text(record.get("outcome"), 32), queue=_text(record.get("queue"), 64),
        agent=_text(record.get("agent"), 128),
        agent_interface=_text(record.get("agent_interface"), 128),
        caller_number=_text(record.get("caller_number"), 64),
        called_number=_text(record.get("called_number"), 64),
        account_id=_text(record.get("account_id"), 32),
        incident_id=_text(record.get("incident_id"), 32),
        started_at=started, answer_at=to_dt(record.get("answer_at")),
        end_at=to_dt(record.get("end_at")), wait_seconds=_num(record.get("wait_seconds")),
        talk_seconds=_num(record.get("talk_seconds")),
        duration_seconds=_num(record.get("duration_seconds")),
        recording_file=_text(record.get("recording_file"), 255), data=dict(record),
        stored_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    for spy in record.get("spy_sessions") or []:
        session.add(SpySession(
            call_record_id=row.id, mode=str(spy.get("mode") or "listen"),
            supervisor=_text(spy.get("supervisor"), 64),
            supervisor_channel=_text(spy.get("supervisor_channel"), 128),
            spied_channel=_text(spy.get("spied_channel"), 128),
            started_at=to_dt(spy.get("started_at")), ended_at=to_dt(spy.get("ended_at"))))
    return row, True


async def store_session(session: AsyncSession, data: Mapping[str, Any],
                        source: str = "ami") -> tuple[AgentSession, bool]:
    """Insert a closed agent session and its pauses; returns ``(row, created)``."""
    login = to_dt(data.get("login_at")) or datetime.fromtimestamp(0, UTC)
    agent = str(data.get("agent") or data.get("interface") or "?")[:128]
    existing = await session.scalar(select(AgentSession).where(
        AgentSession.source == source, AgentSession.agent == agent,
        AgentSession.login_at == login))
    if existing is not None:
        return existing, False
    row = AgentSession(source=source, interface=_text(data.get("interface"), 128), agent=agent,
                       login_at=login, logout_at=to_dt(data.get("logout_at")),
                       queues=list(data.get("queues") or []))
    session.add(row)
    await session.flush()
    for pause in data.get("pauses") or []:
        session.add(AgentPause(session_id=row.id, queue=_text(pause.get("queue"), 64),
                               reason=_text(pause.get("reason"), 128),
                               started_at=to_dt(pause.get("started_at")),
                               ended_at=to_dt(pause.get("ended_at"))))
    return row, True


def record_json(row: CallRecord) -> Json:
    """The stored record as the API returns it: the derived fields plus the row's id/source
    and the disposition the agent picked (:mod:`cti.dispositions`)."""
    at = row.disposition_at
    return {**row.data, "id": row.id, "source": row.source,
            "stored_at": row.stored_at.isoformat(), "disposition": row.disposition,
            "disposition_note": row.disposition_note, "disposition_by": row.disposition_by,
            "disposition_at": None if at is None else round(at.timestamp(), 3)}


@dataclass(frozen=True, slots=True)
class CallFilter:
    """``/api/calls`` filters; ``agents`` limits to these member names or interfaces."""

    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None
    agent: str | None = None
    direction: str | None = None
    outcome: str | None = None
    number: str | None = None
    incident_id: str | None = None
    agents: Sequence[str] | None = None


def _filtered(stmt: Select[Any], f: CallFilter) -> Select[Any]:
    if f.since is not None:
        stmt = stmt.where(CallRecord.started_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(CallRecord.started_at < f.until)
    if f.queue:
        stmt = stmt.where(CallRecord.queue == f.queue)
    if f.agent:
        stmt = stmt.where(or_(CallRecord.agent == f.agent, CallRecord.agent_interface == f.agent))
    if f.direction:
        stmt = stmt.where(CallRecord.direction == f.direction)
    if f.outcome:
        stmt = stmt.where(CallRecord.outcome == f.outcome)
    if f.incident_id:
        stmt = stmt.where(CallRecord.incident_id == f.incident_id)
    if f.number:
        digits = "".join(ch for ch in f.number if ch.isdigit())
        pattern = f"%{digits or f.number}%"
        stmt = stmt.where(or_(CallRecord.caller_number.like(pattern),
                              CallRecord.called_number.like(pattern)))
    if f.agents is not None:
        names = list(f.agents)
        stmt = stmt.where(or_(CallRecord.agent.in_(names),
                              CallRecord.agent_interface.in_(names)))
    return stmt


async def list_records(session: AsyncSession, f: CallFilter, *, limit: int = 50,
                       offset: int = 0) -> tuple[list[CallRecord], int]:
    """Newest first, with the total matching count for paging."""
    total = await session.scalar(_filtered(select(func.count(CallRecord.id)), f)) or 0
    rows = (await session.execute(
        _filtered(select(CallRecord), f).order_by(CallRecord.started_at.desc(),
                                                  CallRecord.id.desc())
        .limit(limit).offset(offset))).scalars().all()
    return list(rows), int(total)


async def records_between(session: AsyncSession, f: CallFilter) -> list[Json]:
    """Every matching record's data (for statistics), oldest first."""
    rows = (await session.execute(
        _filtered(select(CallRecord.data), f).order_by(CallRecord.started_at))).scalars().all()
    return [dict(r) for r in rows]


async def get_record(session: AsyncSession, record_id: int) -> CallRecord | None:
    return await session.get(CallRecord, record_id)


async def spy_sessions(session: AsyncSession, record_id: int) -> list[Json]:
    rows = (await session.execute(select(SpySession).where(
        SpySession.call_record_id == record_id).order_by(SpySession.id))).scalars().all()
    return [{"mode": r.mode, "supervisor": r.supervisor,
             "supervisor_channel": r.supervisor_channel, "spied_channel": r.spied_channel,
             "started_at": to_epoch(r.started_at), "ended_at": to_epoch(r.ended_at)}
            for r in rows]


async def store_many(session: AsyncSession, clock: Clock, records: Iterable[Mapping[str, Any]],
                     source: str) -> int:
    """Store records; returns how many were new."""
    created = 0
    for rec in records:
        _, new = await store_record(session, clock, rec, source)
        created += int(new)
    return created
