"""Operator actions on incidents, each audited with the operator in the caller's transaction.

Functions take ``(session, clock, actor, ...)``, change the incident and add the audit entry,
and return the bus events to publish once the caller has committed (:class:`Outbox`). Taking an
incident is a conditional UPDATE checked by its row count, so two operators (in two processes)
racing for one incident cannot both win; every other change is guarded by the incident's
version column (a stale write raises :class:`Conflict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alarms import avs01, plans, workflow
from alarms.models import AccountState, Dispatch, Incident, IncidentSignal, VerificationCall
from core import audit
from core.bus import Bus
from core.clock import Clock


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """Someone else changed or took the incident first."""


@dataclass
class Outbox:
    """Bus events to publish after the transaction commits (never before: a rolled-back
    change must not reach the consoles)."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, topic: str, data: dict[str, Any]) -> None:
        self.events.append((topic, data))

    async def publish(self, bus: Bus) -> None:
        for topic, data in self.events:
            await bus.publish(topic, data)
        self.events.clear()


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def incident_dict(i: Any) -> dict[str, Any]:
    """An incident (or the engine's not-yet-written ``NewIncident``) as the bus and API show it."""
    return {
        "id": i.id, "account_id": i.account_id, "account_number": i.account_number,
        "account_name": i.account_name, "receiver": i.receiver, "desk": i.desk,
        "kind": i.kind, "event_class": i.event_class, "priority": i.priority,
        "base_priority": i.base_priority, "escalation_level": i.escalation_level,
        "status": i.status, "taken_by": i.taken_by, "taken_by_name": i.taken_by_name,
        "cancelled_at_panel": i.cancelled_at_panel, "duress": i.duress,
        "hold_until": _iso(i.hold_until), "zones": i.zones, "steps": i.steps,
        "signal_count": i.signal_count, "disposition": i.disposition,
        "false_alarm_cause": i.false_alarm_cause, "close_note": i.close_note,
        "reopen_count": i.reopen_count, "first_signal_at": _iso(i.first_signal_at),
        "last_signal_at": _iso(i.last_signal_at), "opened_at": _iso(i.opened_at),
        "shown_at": _iso(i.shown_at), "taken_at": _iso(i.taken_at),
        "first_call_at": _iso(i.first_call_at), "dispatched_at": _iso(i.dispatched_at),
        "closed_at": _iso(i.closed_at), "version": i.version,
    }


def signal_dict(s: IncidentSignal) -> dict[str, Any]:
    return {"id": s.id, "signal_id": s.signal_id, "incident_id": s.incident_id,
            "received_at": s.received_at.isoformat(), "event_system": s.event_system,
            "event_code": s.event_code, "qualifier": s.qualifier, "kind": s.kind,
            "event_class": s.event_class, "priority": s.priority, "zone": s.zone,
            "partition": s.partition, "user": s.user, "logged_reason": s.logged_reason}


def call_dict(c: VerificationCall) -> dict[str, Any]:
    return {"id": c.id, "incident_id": c.incident_id, "step": c.step,
            "contact_id": c.contact_id, "contact_name": c.contact_name, "number": c.number,
            "operator_id": c.operator_id, "requested_at": c.requested_at.isoformat(),
            "result": c.result, "code_result": c.code_result,
            "completed_at": _iso(c.completed_at), "note": c.note}


def dispatch_dict(d: Dispatch) -> dict[str, Any]:
    return {"id": d.id, "incident_id": d.incident_id, "kind": d.kind, "status": d.status,
            "reference": d.reference, "dispatched_at": d.dispatched_at.isoformat(),
            "dispatched_by": d.dispatched_by, "arrived_at": _iso(d.arrived_at),
            "cleared_at": _iso(d.cleared_at), "avs_score": d.avs_score,
            "avs_reasons": d.avs_reasons, "note": d.note}


async def get(session: AsyncSession, incident_id: int, fresh: bool = True) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    inc = (await session.execute(stmt)).scalar_one_or_none()
    if inc is None:
        raise NotFound(f"incident {incident_id} not found")
    return inc


def _audit(session: AsyncSession, clock: Clock, actor: audit.Actor, action: str, inc: Incident,
           before: dict[str, Any] | None, note: str | None = None) -> None:
    audit.record(session, actor, action, "incident", inc.id, before, audit.snapshot(inc),
                 note=note, clock=clock)


def _updated(out: Outbox, inc: Incident, change: str, **extra: Any) -> None:
    out.add("incident.updated", {"change": change, "incident": incident_dict(inc), **extra})


async def take(session: AsyncSession, clock: Clock, actor: audit.Actor, incident_id: int,
               out: Outbox) -> Incident:
    """Take an unowned incident. The UPDATE is the first statement of the transaction and
    only matches while nobody owns it; 0 rows means someone else won (or it is closed)."""
    if actor.user_id is None:
        raise workflow.TransitionError("only a console user can take an incident")
    now = clock.now()
    result = await session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.taken_by.is_(None),
               Incident.status.in_(("new", "taken", "verifying", "dispatched")))
        .values(taken_by=actor.user_id, taken_by_name=actor.name,
                status=case((Incident.status == "new", "taken"), else_=Incident.status),
                taken_at=case((Incident.taken_at.is_(None), now), else_=Incident.taken_at),
                version=Incident.version + 1)
        .execution_options(synchronize_session=False))
    rowcount = getattr(result, "rowcount", 0)
    inc = await get(session, incident_id)
    if rowcount != 1:
        holder = f" by {inc.taken_by_name}" if inc.taken_by is not None else ""
        raise Conflict(f"incident {incident_id} is {inc.status}{holder}")
    before = audit.snapshot(inc) | {"taken_by": None, "taken_by_name": None,
                                    "version": inc.version - 1}
    if inc.status == "taken":
        before["status"] = "new"
    _audit(session, clock, actor, "take", inc, before)
    out.add("incident.taken", {"incident": incident_dict(inc), "operator_id": actor.user_id,
                               "operator": actor.name})
    return inc


async def _owned(session: AsyncSession, incident_id: int, actor: audit.Actor,
                 supervisor: bool) -> Incident:
    inc = await get(session, incident_id)
    workflow.check_owner(inc.status, inc.taken_by, actor.user_id or -1, supervisor)
    return inc


async def check_holder(session: AsyncSession, incident_id: int, actor: audit.Actor,
                       supervisor: bool) -> Incident:
    """A change to an incident's call or dispatch records is its holder's (a supervisor may act
    on anyone's). Unlike :func:`_owned` a closed incident is allowed: a call's result or a
    guard's clearing may come in after the holder closed it."""
    inc = await get(session, incident_id)
    if supervisor:
        return inc
    if inc.taken_by is None:
        raise Conflict("take the incident first")
    if inc.taken_by != actor.user_id:
        raise Conflict(f"the incident is taken by {inc.taken_by_name}")
    return inc


async def release(session: AsyncSession, clock: Clock, actor: audit.Actor, incident_id: int,
                  out: Outbox, supervisor: bool = False, note: str | None = None) -> Incident:
    inc = await _owned(session, incident_id, actor, supervisor)
    before = audit.snapshot(inc)
    inc.taken_by = None
    inc.taken_by_name = None
    inc.status = workflow.after_release(inc.status)
    await session.flush()
    _audit(session, clock, actor, "release", inc, before, note)
    out.add("incident.released", {"incident": incident_dict(inc), "operator": actor.name})
    return inc


async def hand_over(session: AsyncSession, clock: Clock, actor: audit.Actor, incident_id: int,
                    to_user_id: int, to_name: str, out: Outbox,
                    supervisor: bool = False, note: str | None = None) -> Incident:
    inc = await _owned(session, incident_id, actor, supervisor)
    before = audit.snapshot(inc)
    inc.taken_by = to_user_id
    inc.taken_by_name = to_name
    await session.flush()
    _audit(session, clock, actor, "hand_over", inc, before, note)
    out.add("incident.handed_over", {"incident": incident_dict(inc), "from": actor.name,
                                     "to": to_name, "to_user_id": to_user_id})
    return inc


async def mark_shown(session: AsyncSession, clock: Clock, incident_id: int,
                     out: Outbox) -> Incident:
    """The first time a console showed the incident (for the handling-time report)."""
    inc = await get(session, incident_id)
    if inc.shown_at is None:
        inc.shown_at = clock.now()
        await session.flush()
        _updated(out, inc, "shown")
    return inc


def close_fields(inc: Any, now: datetime, disposition: str, cause: str | None,
                 note: str | None) -> None:
    inc.status = "closed"
    inc.disposition = disposition
    inc.false_alarm_cause = cause
    inc.close_note = note
    inc.closed_at = now
    inc.hold_until = None


async def close(session: AsyncSession, clock: Clock, actor: audit.Actor, incident_id: int,
                disposition: str, cause: str | None, note: str | None, out: Outbox,
                supervisor: bool = False) -> Incident:
    inc = await _owned(session, incident_id, actor, supervisor)
    workflow.check_close(inc.status, disposition, cause)
    before = audit.snapshot(inc)
    close_fields(inc, clock.now(), disposition, cause, note)
    await session.flush()
    _audit(session, clock, actor, "close", inc, before, note)
    await release_account_flags(session, clock, actor, inc, out)
    out.add("incident.closed", {"incident": incident_dict(inc), "operator": actor.name})
    return inc


async def release_account_flags(session: AsyncSession, clock: Clock, actor: audit.Actor,
                                 inc: Incident, out: Outbox) -> None:
    """Closing a runaway incident clears the runaway; closing a fail-to-test incident restarts
    the test timer from now (so it is not raised again at the next tick)."""
    if inc.account_id is None:
        return
    st = await session.get(AccountState, inc.account_id)
    if st is None:
        return
    before = audit.snapshot(st)
    if st.runaway_incident_id == inc.id:
        st.runaway_incident_id = None
        out.add("alarms.runaway_cleared", {"account_id": inc.account_id})
    if st.fail_to_test_incident_id == inc.id:
        st.fail_to_test_incident_id = None
        st.test_due_at = (clock.now() + timedelta(minutes=st.test_interval_minutes)
                          if st.test_interval_minutes else None)
    after = audit.snapshot(st)
    if after != before:
        await session.flush()
        audit.record(session, actor, "incident_closed", "alarm_account", inc.account_id,
                     before, after, clock=clock)


async def system_close(session: AsyncSession, clock: Clock, actor: audit.Actor, inc: Incident,
                       disposition: str, note: str, out: Outbox) -> None:
    """The engine closes an incident by itself (restore during a disaster hold, a late test)."""
    workflow.check_close(inc.status, disposition, None, system=True)
    before = audit.snapshot(inc)
    close_fields(inc, clock.now(), disposition, None, note)
    await session.flush()
    _audit(session, clock, actor, "close", inc, before, note)
    out.add("incident.closed", {"incident": incident_dict(inc), "operator": actor.name})


async def reopen(session: AsyncSession, clock: Clock, actor: audit.Actor, incident_id: int,
                 note: str | None, out: Outbox) -> Incident:
    inc = await get(session, incident_id)
    workflow.check_reopen(inc.status)
    other = await session.scalar(select(Incident.id).where(
        Incident.account_key == inc.account_key, Incident.desk == inc.desk,
        Incident.status != "closed", Incident.id != inc.id))
    if other is not None:  # one open incident per account and desk (a unique index)
        raise Conflict(f"incident {other} of this account is open: handle it there")
    before = audit.snapshot(inc)
    inc.status = "new"
    inc.taken_by = None
    inc.taken_by_name = None
    inc.disposition = None
    inc.false_alarm_cause = None
    inc.closed_at = None
    inc.reopen_count += 1
    await session.flush()
    _audit(session, clock, actor, "reopen", inc, before, note)
    out.add("incident.reopened", {"incident": incident_dict(inc), "operator": actor.name})
    return inc


async def completed_call_numbers(session: AsyncSession, incident_id: int) -> list[str]:
    rows = await session.execute(select(VerificationCall.number).where(
        VerificationCall.incident_id == incident_id, VerificationCall.result.is_not(None)))
    return [r[0] for r in rows]


async def complete_step(session: AsyncSession, clock: Clock, actor: audit.Actor,
                        incident_id: int, index: int, note: str | None, out: Outbox,
                        supervisor: bool = False) -> Incident:
    inc = await _owned(session, incident_id, actor, supervisor)
    numbers = await completed_call_numbers(session, incident_id)
    before = audit.snapshot(inc)
    inc.steps = plans.complete_step(inc.steps, index, by=actor.name, at=clock.now(), note=note,
                                    completed_call_numbers=numbers, duress=inc.duress)
    await session.flush()
    _audit(session, clock, actor, "complete_step", inc, before,
           f"{index}: {inc.steps[index]['step']}")
    _updated(out, inc, "step", step=index)
    return inc


async def request_call(session: AsyncSession, clock: Clock, actor: audit.Actor,
                       incident_id: int, *, number: str, contact_id: int | None,
                       contact_name: str, step: int | None, out: Outbox,
                       supervisor: bool = False) -> VerificationCall:
    """Ask the CTI to place a verification call from the operator's phone."""
    inc = await _owned(session, incident_id, actor, supervisor)
    now = clock.now()
    before = audit.snapshot(inc)
    call = VerificationCall(incident_id=inc.id, step=step, contact_id=contact_id,
                            contact_name=contact_name, number=number,
                            operator_id=actor.user_id, requested_at=now)
    session.add(call)
    inc.status = workflow.after_call(inc.status)
    if inc.first_call_at is None:
        inc.first_call_at = now
    await session.flush()
    _audit(session, clock, actor, "request_call", inc, before, f"{contact_name} {number}")
    out.add("verification.call_requested", {
        "incident_id": inc.id, "call_id": call.id, "operator_id": actor.user_id,
        "operator": actor.name, "number": number, "contact_id": contact_id,
        "contact_name": contact_name, "account_id": inc.account_id})
    _updated(out, inc, "call_requested", call=call_dict(call))
    return call


CALL_RESULTS = ("no_answer", "busy", "answered", "failed")
CODE_RESULTS = ("valid", "invalid", "duress", "none")


async def record_call_result(session: AsyncSession, clock: Clock, actor: audit.Actor,
                             call_id: int, result: str, code_result: str | None,
                             note: str | None, out: Outbox) -> tuple[VerificationCall, Incident]:
    """Record how a verification call went. A duress code escalates silently: top priority and
    a police step, with nothing different said to the caller (the caller-facing answer is the
    same as for a valid code; only the console shows it)."""
    if result not in CALL_RESULTS:
        raise workflow.TransitionError(f"result must be one of {', '.join(CALL_RESULTS)}")
    if code_result is not None and code_result not in CODE_RESULTS:
        raise workflow.TransitionError(f"code result must be one of {', '.join(CODE_RESULTS)}")
    call = await session.get(VerificationCall, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    inc = await get(session, call.incident_id)
    before = audit.snapshot(inc)
    call.result = result
    call.code_result = code_result
    call.completed_at = clock.now()
    call.note = note
    action = "call_result"
    if code_result == "duress" and not inc.duress:
        inc.duress = True
        inc.priority = 1
        inc.steps = plans.add_step(inc.steps, "notify_police", first=True)
        action = "duress"
    await session.flush()
    _audit(session, clock, actor, action, inc, before, f"call {call.id}: {result}")
    _updated(out, inc, "call_result", call=call_dict(call))
    return call, inc


async def evidence_of(session: AsyncSession, inc: Incident, *, audio_video: bool,
                      threat_to_property: bool, threat_to_life: bool) -> avs01.Evidence:
    """The AVS-01 inputs known for an incident, with the operator's observations."""
    calls = (await session.execute(select(VerificationCall).where(
        VerificationCall.incident_id == inc.id))).scalars().all()
    outcome: avs01.CallOutcome = "not_attempted"
    if inc.duress or any(c.code_result == "duress" for c in calls):
        outcome = "duress"
    elif any(c.code_result == "valid" for c in calls) and inc.cancelled_at_panel:
        outcome = "cancelled"
    elif any(c.result == "answered" for c in calls):
        outcome = "unverified"
    elif any(c.result is not None for c in calls):
        outcome = "no_contact"
    active = [z for z, v in (inc.zones or {}).items() if v.get("kind") in ("burglary", "tamper")]
    return avs01.Evidence(call=outcome, audio_video_presence=audio_video,
                          multiple_zones=len(active) >= 2,
                          threat_to_property=threat_to_property, threat_to_life=threat_to_life)


async def add_dispatch(session: AsyncSession, clock: Clock, actor: audit.Actor,
                       incident_id: int, *, kind: str, reference: str, note: str | None,
                       evidence: dict[str, bool], out: Outbox,
                       supervisor: bool = False) -> Dispatch:
    if kind not in ("guard", "police"):
        raise workflow.TransitionError("kind must be guard or police")
    inc = await _owned(session, incident_id, actor, supervisor)
    ev = await evidence_of(session, inc, audio_video=evidence.get("audio_video", False),
                           threat_to_property=evidence.get("threat_to_property", False),
                           threat_to_life=evidence.get("threat_to_life", False))
    sc = avs01.score(ev)
    now = clock.now()
    before = audit.snapshot(inc)
    inc.status = workflow.after_dispatch(inc.status)
    if inc.dispatched_at is None:
        inc.dispatched_at = now
    d = Dispatch(incident_id=inc.id, kind=kind, reference=reference, note=note,
                 dispatched_at=now, dispatched_by=actor.name, avs_score=sc.level,
                 avs_reasons=sc.reasons)
    session.add(d)
    await session.flush()
    _audit(session, clock, actor, "dispatch", inc, before, f"{kind} AVS-01 {sc.level}")
    out.add("dispatch.created", {"dispatch": dispatch_dict(d), "incident_id": inc.id})
    _updated(out, inc, "dispatched")
    return d


async def update_dispatch(session: AsyncSession, clock: Clock, actor: audit.Actor,
                          dispatch_id: int, status: str, note: str | None,
                          out: Outbox) -> Dispatch:
    """Arrived or cleared: the times that end up in the dispatch report."""
    d = await session.get(Dispatch, dispatch_id)
    if d is None:
        raise NotFound(f"dispatch {dispatch_id} not found")
    order = {"dispatched": 0, "arrived": 1, "cleared": 2}
    if status not in ("arrived", "cleared") or order[status] <= order[d.status]:
        raise workflow.TransitionError(f"a {d.status} dispatch cannot become {status}")
    before = audit.snapshot(d)
    now = clock.now()
    d.status = status
    if status == "arrived":
        d.arrived_at = now
    else:
        d.cleared_at = now
        if d.arrived_at is None:
            d.arrived_at = None
    if note:
        d.note = f"{d.note}\n{note}" if d.note else note
    await session.flush()
    audit.record(session, actor, status, "dispatch", d.id, before, audit.snapshot(d),
                 clock=clock)
    out.add(f"dispatch.{status}", {"dispatch": dispatch_dict(d), "incident_id": d.incident_id})
    return d
