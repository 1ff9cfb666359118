"""REST API of the alarm engine: the alarm queue and incident actions, dispatches, statistics,
disaster mode, accounts on test and action plans. Every change is audited with the operator and
announced on the bus after it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alarms import api, incidents, notify, notify_templates, plans, stats, workflow
from alarms.models import ActionPlan, Dispatch, Incident, IncidentSignal, VerificationCall
from alarms.schemas import (
    CallChecked,
    IncidentDetail,
    IncidentList,
    VerificationCallOut,
)
from alarms.subscriber import CrmDirectory, SubscriberDirectory
from core import audit
from core.deps import actor_of, db_session, get_services, require_role
from core.errors import coded_error, http_error
from core.models import Role, User
from core.services import Services
from crm.errors import CodeLocked

router = APIRouter(prefix="/api", tags=["alarms"])
agent = require_role(Role.agent)
supervisor = require_role(Role.supervisor)
admin = require_role(Role.admin)


def directory_of(services: Services) -> SubscriberDirectory:
    found = services.extra.get("alarms.directory")
    if found is None:
        found = services.extra["alarms.directory"] = CrmDirectory(services.db, services.clock,
                                                                    services.bus)
    directory: SubscriberDirectory = found
    return directory


@asynccontextmanager
async def _errors() -> AsyncIterator[None]:
    """Domain errors become the HTTP answers the console shows."""
    try:
        yield
    except incidents.NotFound as exc:
        raise http_error(status.HTTP_404_NOT_FOUND, "not_found", str(exc)) from exc
    except (incidents.Conflict, workflow.TransitionError, plans.StepRefused) as exc:
        raise coded_error(status.HTTP_409_CONFLICT, exc) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc


async def _commit(session: AsyncSession, services: Services, out: incidents.Outbox) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    try:
        await session.commit()
    except StaleDataError as exc:
        await session.rollback()
        raise http_error(status.HTTP_409_CONFLICT, "incident_changed",
                         "the incident changed meanwhile; reload it") from exc
    await out.publish(services.bus)


# --- the alarm queue ------------------------------------------------------------------------


@router.get("/incidents", response_model=IncidentList)
async def list_incidents(
    session: AsyncSession = Depends(db_session), _: User = Depends(agent),
    state: Literal["open", "closed", "all", "held"] = "open", desk: str | None = None,
    account_id: int | None = None, limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Open incidents most urgent first (then oldest); closed ones newest first."""
    stmt = select(Incident)
    if state == "open":
        stmt = stmt.where(Incident.status.in_(("new", "taken", "verifying", "dispatched")))
    elif state == "held":
        stmt = stmt.where(Incident.status == "held")
    elif state == "closed":
        stmt = stmt.where(Incident.status == "closed")
    if desk:
        stmt = stmt.where(Incident.desk == desk)
    if account_id is not None:
        stmt = stmt.where(Incident.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = ((Incident.closed_at.desc(),) if state == "closed"
             else (Incident.priority, Incident.opened_at, Incident.id))
    rows = (await session.execute(stmt.order_by(*order).limit(limit).offset(offset))
            ).scalars().all()
    return {"items": [incidents.incident_dict(i) for i in rows], "total": total,
            "limit": limit, "offset": offset}


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
async def get_incident(incident_id: int, session: AsyncSession = Depends(db_session),
                       _: User = Depends(agent)) -> dict[str, Any]:
    async with _errors():
        inc = await incidents.get(session, incident_id)
    signals = (await session.execute(select(IncidentSignal).where(
        IncidentSignal.incident_id == incident_id).order_by(IncidentSignal.id))).scalars().all()
    calls = (await session.execute(select(VerificationCall).where(
        VerificationCall.incident_id == incident_id).order_by(VerificationCall.id))
             ).scalars().all()
    dispatches = (await session.execute(select(Dispatch).where(
        Dispatch.incident_id == incident_id).order_by(Dispatch.id))).scalars().all()
    return {**incidents.incident_dict(inc),
            "signals": [incidents.signal_dict(s) for s in signals],
            "calls": [incidents.call_dict(c) for c in calls],
            "dispatches": [incidents.dispatch_dict(d) for d in dispatches]}


@router.post("/incidents/{incident_id}/take")
async def take(incident_id: int, request: Request, session: AsyncSession = Depends(db_session),
               user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.take(session, services.clock, actor_of(user), incident_id, out)
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


@router.post("/incidents/{incident_id}/release")
async def release(incident_id: int, request: Request, body: NoteIn | None = None,
                  session: AsyncSession = Depends(db_session),
                  user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.release(session, services.clock, actor_of(user), incident_id,
                                      out, user.has_role(Role.supervisor),
                                      body.note if body else None)
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


class HandOverIn(BaseModel):
    user_id: int
    note: str | None = Field(None, max_length=2000)


@router.post("/incidents/{incident_id}/hand-over")
async def hand_over(incident_id: int, body: HandOverIn, request: Request,
                    session: AsyncSession = Depends(db_session),
                    user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    target = await session.get(User, body.user_id)
    if target is None or target.archived_at is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            [{"loc": ["body", "user_id"], "msg": "no such active user"}])
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.hand_over(session, services.clock, actor_of(user), incident_id,
                                        target.id, target.username, out,
                                        user.has_role(Role.supervisor), body.note)
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


class CloseIn(BaseModel):
    disposition: str
    cause: str | None = None
    note: str | None = Field(None, max_length=4000)


@router.post("/incidents/{incident_id}/close")
async def close(incident_id: int, body: CloseIn, request: Request,
                session: AsyncSession = Depends(db_session),
                user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.close(session, services.clock, actor_of(user), incident_id,
                                    body.disposition, body.cause, body.note, out,
                                    user.has_role(Role.supervisor))
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


@router.post("/incidents/{incident_id}/reopen")
async def reopen(incident_id: int, request: Request, body: NoteIn | None = None,
                 session: AsyncSession = Depends(db_session),
                 user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.reopen(session, services.clock, actor_of(user), incident_id,
                                     body.note if body else None, out)
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


@router.post("/incidents/{incident_id}/shown")
async def shown(incident_id: int, request: Request, session: AsyncSession = Depends(db_session),
                _: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.mark_shown(session, services.clock, incident_id, out)
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


@router.post("/incidents/{incident_id}/steps/{index}")
async def complete_step(incident_id: int, index: int, request: Request,
                        body: NoteIn | None = None, session: AsyncSession = Depends(db_session),
                        user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        inc = await incidents.complete_step(session, services.clock, actor_of(user),
                                            incident_id, index, body.note if body else None,
                                            out, user.has_role(Role.supervisor))
    await _commit(session, services, out)
    return incidents.incident_dict(inc)


class CallIn(BaseModel):
    """A number to call, or ``next`` for the next number of the call list not yet called."""

    number: str | None = Field(None, max_length=32)
    contact_id: int | None = None
    contact_name: str = Field("", max_length=200)
    step: int | None = None
    next: bool = False


@router.post("/incidents/{incident_id}/calls", status_code=201,
             response_model=VerificationCallOut)
async def request_call(incident_id: int, body: CallIn, request: Request,
                       session: AsyncSession = Depends(db_session),
                       user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    number, contact_id, name = body.number, body.contact_id, body.contact_name
    if body.next or number is None:
        async with _errors():
            inc = await incidents.get(session, incident_id)
        called = set((await session.execute(select(VerificationCall.number).where(
            VerificationCall.incident_id == incident_id))).scalars())
        targets = (await directory_of(services).call_list(inc.account_id)
                   if inc.account_id is not None else [])
        pick = next(((t, n) for t in targets for n in t.numbers if n not in called), None)
        if pick is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "every number of the call list "
                                                          "has been called")
        number, contact_id, name = pick[1], pick[0].contact_id, pick[0].name
    out = incidents.Outbox()
    async with _errors():
        call = await incidents.request_call(session, services.clock, actor_of(user),
                                            incident_id, number=number, contact_id=contact_id,
                                            contact_name=name, step=body.step, out=out,
                                            supervisor=user.has_role(Role.supervisor))
    await _commit(session, services, out)
    return incidents.call_dict(call)


class CallResultIn(BaseModel):
    """What the operator learnt on an answered call; the call's outcome itself comes from the
    call's events (answered, busy, no answer, failed) and cannot be typed."""

    answered_by: str | None = Field(None, max_length=200, description="Who answered.")
    code: str | None = Field(None, max_length=64, description="The code the person gave: "
                             "checked against the contact's passcode and duress code, never "
                             "stored.")
    note: str | None = Field(None, max_length=2000)


@router.post("/calls/{call_id}/result", response_model=CallChecked)
async def call_result(call_id: int, body: CallResultIn, request: Request,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(agent)) -> dict[str, Any]:
    """Record who answered a verification call, the passcode check and a note. A code is
    checked by crm against the called contact's passcode and duress code (the answer to say
    to the caller is ``accepted`` for both)."""
    services = get_services(request)
    call = await session.get(VerificationCall, call_id)
    if call is None:
        raise http_error(status.HTTP_404_NOT_FOUND, "not_found", f"call {call_id} not found")
    async with _errors():  # the holder's, and answered: no code is checked for anyone else
        inc = await incidents.check_holder(session, call.incident_id, actor_of(user),
                                           user.has_role(Role.supervisor))
        if call.result != "answered":
            raise workflow.TransitionError("the call was not answered: there is nobody to "
                                           "check", "call_not_answered")
    code_result: str | None = None
    if body.code:
        directory = directory_of(services)
        try:
            if call.contact_id is not None:
                code_result = await directory.verify_code(call.contact_id, body.code,
                                                          actor_of(user))
            elif inc.account_id is not None:  # the premises line: whoever answered there
                code_result = await directory.verify_account_code(inc.account_id, body.code,
                                                                  actor_of(user))
            else:
                code_result = "invalid"
        except CodeLocked as exc:
            raise http_error(status.HTTP_429_TOO_MANY_REQUESTS, "code_locked", str(exc),
                             headers={"Retry-After": str(exc.retry_after)},
                             retry_after=exc.retry_after) from exc
    out = incidents.Outbox()
    async with _errors():
        call, inc = await incidents.record_call_check(
            session, services.clock, actor_of(user), call_id, answered_by=body.answered_by,
            code_result=code_result, note=body.note, out=out,
            supervisor=user.has_role(Role.supervisor))
    await _commit(session, services, out)
    return {"call": incidents.call_dict(call), "incident": incidents.incident_dict(inc),
            "say_to_caller": "accepted" if code_result in ("valid", "duress") else
            ("refused" if code_result == "invalid" else None)}


class DispatchIn(BaseModel):
    kind: Literal["guard", "police"]
    reference: str = Field("", max_length=64)
    note: str | None = Field(None, max_length=2000)
    audio_video: bool = False
    threat_to_property: bool = False
    threat_to_life: bool = False


@router.post("/incidents/{incident_id}/dispatches", status_code=201)
async def dispatch(incident_id: int, body: DispatchIn, request: Request,
                   session: AsyncSession = Depends(db_session),
                   user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        d = await incidents.add_dispatch(
            session, services.clock, actor_of(user), incident_id, kind=body.kind,
            reference=body.reference, note=body.note,
            evidence={"audio_video": body.audio_video,
                      "threat_to_property": body.threat_to_property,
                      "threat_to_life": body.threat_to_life},
            out=out, supervisor=user.has_role(Role.supervisor))
    await _commit(session, services, out)
    return incidents.dispatch_dict(d)


class NotifyIn(BaseModel):
    """An SMS from a template to one of the incident's contacts (``number``: one of the
    contact's numbers; default the first)."""

    contact_id: int = Field(ge=1, le=2**31 - 1)
    template: notify_templates.TemplateName
    number: str | None = Field(None, max_length=32)
    language: Literal["zh-CN", "en"] = "zh-CN"


@router.post("/incidents/{incident_id}/notify", status_code=201)
async def notify_incident(incident_id: int, body: NotifyIn, request: Request,
                          session: AsyncSession = Depends(db_session),
                          user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    async with _errors():
        inc = await incidents.check_holder(session, incident_id, actor_of(user),
                                           user.has_role(Role.supervisor))
    targets = (await directory_of(services).call_list(inc.account_id)
               if inc.account_id is not None else [])
    target = next((t for t in targets if t.contact_id == body.contact_id), None)
    if target is None or not target.numbers:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "field": "contact_id", "loc": ["body", "contact_id"],
            "msg": "not a contact with a phone number of this incident's account"}])
    number = body.number or target.numbers[0]
    if number not in target.numbers:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "field": "number", "loc": ["body", "number"],
            "msg": "not one of this contact's numbers"}])
    subject, text = notify_templates.render(body.template, body.language, inc)
    note = await notify.send(session, services, actor_of(user), channel="sms", to=number,
                             subject=subject, body=text, incident_id=inc.id,
                             account_id=inc.account_id)
    await session.commit()
    return notify.notification_dict(note)


# --- dispatches -----------------------------------------------------------------------------


@router.get("/dispatches")
async def list_dispatches(session: AsyncSession = Depends(db_session),
                          _: User = Depends(agent), active: bool = True,
                          limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    stmt = select(Dispatch)
    if active:
        stmt = stmt.where(Dispatch.status != "cleared")
    rows = (await session.execute(stmt.order_by(Dispatch.dispatched_at.desc()).limit(limit))
            ).scalars().all()
    return {"items": [incidents.dispatch_dict(d) for d in rows], "total": len(rows)}


class DispatchPatch(BaseModel):
    status: Literal["arrived", "cleared"]
    note: str | None = Field(None, max_length=2000)


@router.patch("/dispatches/{dispatch_id}")
async def update_dispatch(dispatch_id: int, body: DispatchPatch, request: Request,
                          session: AsyncSession = Depends(db_session),
                          user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    found = await session.get(Dispatch, dispatch_id)
    async with _errors():
        if found is not None:
            await incidents.check_holder(session, found.incident_id, actor_of(user),
                                         user.has_role(Role.supervisor))
        d = await incidents.update_dispatch(session, services.clock, actor_of(user),
                                            dispatch_id, body.status, body.note, out)
    await _commit(session, services, out)
    return incidents.dispatch_dict(d)


# --- statistics -----------------------------------------------------------------------------


@router.get("/alarm-stats/false-alarms")
async def false_alarms(request: Request, session: AsyncSession = Depends(db_session),
                       _: User = Depends(supervisor),
                       by: Literal["account", "zone", "device_model"] = "account",
                       days: int = Query(30, ge=1, le=366),
                       account_id: int | None = None) -> dict[str, Any]:
    services = get_services(request)
    rows = await stats.false_alarm_counts(session, services.clock.now(), days, by,
                                          directory_of(services), account_id)
    return {"by": by, "days": days, "items": rows}


@router.get("/alarm-stats/engine")
async def engine_health(request: Request, _: User = Depends(supervisor)) -> dict[str, Any]:
    """This node's alarm engine: signals applied and waiting, a database outage it is riding
    out, signals it could not apply (from memory: no table is read)."""
    engine = get_services(request).extra.get("alarms.engine")
    if engine is None:
        raise HTTPException(503, "no alarm engine runs on this node")
    return {"node": get_services(request).settings.node_name, **engine.health()}


@router.get("/alarm-stats/summary/{account_id}")
async def monthly_summary(account_id: int, month: str, request: Request,
                          session: AsyncSession = Depends(db_session),
                          _: User = Depends(agent)) -> dict[str, Any]:
    async with _errors():
        return await stats.monthly_summary(session, account_id, month)


@router.post("/alarm-stats/maintenance-run")
async def maintenance_run(request: Request, session: AsyncSession = Depends(db_session),
                          user: User = Depends(supervisor)) -> dict[str, Any]:
    """Raise the work orders and callback flags the thresholds call for (also run nightly)."""
    services = get_services(request)
    settings = getattr(services.extra.get("alarms.engine"), "settings", None)
    result = await stats.maintenance_run(session, services, directory_of(services),
                                         actor_of(user), settings)
    await session.commit()
    return result


@router.get("/alarm-stats/handling")
async def handling_times(session: AsyncSession = Depends(db_session),
                         _: User = Depends(supervisor), since: datetime | None = None,
                         ) -> dict[str, Any]:
    return await stats.handling_times(session, since)


@router.get("/alarm-stats/taken-within")
async def taken_within(request: Request, session: AsyncSession = Depends(db_session),
                       _: User = Depends(supervisor), since: datetime | None = None,
                       ) -> dict[str, Any]:
    """Share of today's operator incidents (UTC midnight unless ``since``) taken within 30 s
    and 60 s: the wallboard's alarm-side service level."""
    now = get_services(request).clock.now()
    start = since or now.replace(hour=0, minute=0, second=0, microsecond=0)
    return await stats.taken_within(session, now, start)


# --- center and account switches ------------------------------------------------------------


class DisasterIn(BaseModel):
    active: bool
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)


@router.get("/alarm-disaster")
async def get_disaster(session: AsyncSession = Depends(db_session),
                       _: User = Depends(agent)) -> dict[str, Any]:
    from alarms.disaster import rules_json

    state = await api.disaster_mode(session)
    return {"active": state.active, "storm_greeting": state.storm_greeting,
            "rules": rules_json(state.rules or {})}


@router.put("/alarm-disaster")
async def put_disaster(body: DisasterIn, request: Request,
                       session: AsyncSession = Depends(db_session),
                       user: User = Depends(supervisor)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        row = await api.set_disaster(session, services.clock, actor_of(user), body.active,
                                     body.rules, out)
    await _commit(session, services, out)
    return {"active": row.disaster_active, "rules": row.disaster_rules}


class OnTestIn(BaseModel):
    until: datetime | None


@router.put("/alarm-accounts/{account_id}/on-test")
async def on_test(account_id: int, body: OnTestIn, request: Request,
                  session: AsyncSession = Depends(db_session),
                  user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    async with _errors():
        st = await api.put_on_test(session, services.clock, actor_of(user), account_id,
                                   body.until, out)
    await _commit(session, services, out)
    return {"account_id": account_id,
            "on_test_until": st.on_test_until.isoformat() if st.on_test_until else None}


@router.post("/alarm-accounts/{account_id}/clear-runaway")
async def clear_runaway(account_id: int, request: Request,
                        session: AsyncSession = Depends(db_session),
                        user: User = Depends(agent)) -> dict[str, Any]:
    services = get_services(request)
    out = incidents.Outbox()
    cleared = await api.clear_runaway(session, services.clock, actor_of(user), account_id, out)
    await _commit(session, services, out)
    return {"account_id": account_id, "cleared": cleared}


# --- action plans ---------------------------------------------------------------------------


class PlanIn(BaseModel):
    match: str = Field(min_length=2, max_length=32)
    account_id: int | None = None
    zone: str | None = Field(None, max_length=8)
    priority: int | None = Field(None, ge=1, le=9)
    event_class: str | None = Field(None, max_length=16)
    steps: list[str] = Field(default_factory=list)


def plan_dict(p: ActionPlan) -> dict[str, Any]:
    return {"id": p.id, "match": p.match, "account_id": p.account_id, "zone": p.zone,
            "priority": p.priority, "event_class": p.event_class, "steps": p.steps,
            "archived": p.archived_at is not None}


@router.get("/action-plans")
async def list_plans(session: AsyncSession = Depends(db_session), _: User = Depends(agent),
                     account_id: int | None = None) -> dict[str, Any]:
    stmt = select(ActionPlan).where(ActionPlan.archived_at.is_(None))
    if account_id is not None:
        stmt = stmt.where((ActionPlan.account_id == account_id)
                          | ActionPlan.account_id.is_(None))
    rows = (await session.execute(stmt.order_by(ActionPlan.id))).scalars().all()
    return {"items": [plan_dict(p) for p in rows], "defaults": plans.DEFAULT_STEPS}


@router.post("/action-plans", status_code=201)
async def create_plan(body: PlanIn, request: Request,
                      session: AsyncSession = Depends(db_session),
                      user: User = Depends(admin)) -> dict[str, Any]:
    bad = [s for s in body.steps if s not in plans.STEP_KINDS]
    if bad:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            [{"loc": ["body", "steps"], "msg": f"unknown steps {bad}"}])
    if body.zone is not None and body.account_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            [{"loc": ["body", "zone"], "msg": "a zone plan needs an account"}])
    services = get_services(request)
    p = ActionPlan(match=body.match, account_id=body.account_id, zone=body.zone,
                   priority=body.priority, event_class=body.event_class, steps=body.steps,
                   created_at=services.clock.now(), created_by=user.username)
    session.add(p)
    await session.flush()
    audit.record(session, actor_of(user), "create", "action_plan", p.id, None,
                 audit.snapshot(p), clock=services.clock)
    await session.commit()
    await services.bus.publish("alarms.plans_changed", {"id": p.id})
    return plan_dict(p)


@router.post("/action-plans/{plan_id}/archive")
async def archive_plan(plan_id: int, request: Request,
                       session: AsyncSession = Depends(db_session),
                       user: User = Depends(admin)) -> dict[str, Any]:
    services = get_services(request)
    p = await session.get(ActionPlan, plan_id)
    if p is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"plan {plan_id} not found")
    before = audit.snapshot(p)
    p.archived_at = services.clock.now()
    audit.record(session, actor_of(user), "archive", "action_plan", p.id, before,
                 audit.snapshot(p), clock=services.clock)
    await session.commit()
    await services.bus.publish("alarms.plans_changed", {"id": p.id})
    return plan_dict(p)
