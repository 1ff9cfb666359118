"""What other packages (the IVR, the console, the composition root) may ask of alarms.

Readers take a session; writers take ``(session, clock, actor, ...)``, add their audit entry and
return the bus events to publish after the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alarms import disaster, plans, workflow
from alarms.classify import kind_info
from alarms.incidents import (
    Conflict,
    NotFound,
    Outbox,
    close_fields,
    get,
    incident_dict,
    release_account_flags,
)
from alarms.models import AccountState, ActionPlan, CenterState, Incident, IncidentSignal
from core import audit
from core.clock import Clock
from crm import services as crm

__all__ = ["Conflict", "NotFound", "SUBSCRIBER_CANCEL_NOTE", "cancel_by_subscriber",
           "clear_runaway", "disaster_mode", "last_events", "open_incidents_of", "put_on_test",
           "raise_duress", "set_disaster", "storm_greeting_active"]

SUBSCRIBER_CANCEL_NOTE = "cancelled by subscriber by phone, passcode verified"


async def disaster_mode(session: AsyncSession) -> disaster.DisasterState:
    row = await session.get(CenterState, 1)
    if row is None or not row.disaster_active:
        return disaster.DisasterState()
    return disaster.DisasterState(True, disaster.parse_rules(row.disaster_rules or {}))


async def storm_greeting_active(session: AsyncSession) -> bool:
    """The flag the IVR reads: play the storm greeting while disaster mode is on."""
    return (await disaster_mode(session)).storm_greeting


async def set_disaster(session: AsyncSession, clock: Clock, actor: audit.Actor, active: bool,
                       rules: dict[str, Any], out: Outbox) -> CenterState:
    """Switch disaster mode (a supervisor's decision), audited; rules are validated first."""
    parsed = disaster.parse_rules(rules)
    now = clock.now()
    row = await session.get(CenterState, 1)
    if row is None:
        row = CenterState(id=1, disaster_active=False, disaster_rules={}, updated_at=now)
        session.add(row)
        await session.flush()
    before = audit.snapshot(row)
    if active and not row.disaster_active:
        row.disaster_since = now
    row.disaster_active = active
    row.disaster_rules = disaster.rules_json(parsed)
    row.disaster_by = actor.name
    row.updated_at = now
    await session.flush()
    audit.record(session, actor, "disaster_on" if active else "disaster_off", "alarm_center",
                 1, before, audit.snapshot(row), clock=clock)
    out.add("alarms.disaster_changed", {"active": active, "rules": row.disaster_rules,
                                        "by": actor.name})
    return row


async def _state(session: AsyncSession, account_id: int) -> AccountState:
    st = await session.get(AccountState, account_id)
    if st is None:
        st = AccountState(account_id=account_id)
        session.add(st)
        await session.flush()
    return st


async def put_on_test(session: AsyncSession, clock: Clock, actor: audit.Actor, account_id: int,
                      until: datetime | None, out: Outbox) -> AccountState:
    """Put an account on test until ``until`` (None ends the test): its signals are logged and
    raise no incident meanwhile."""
    if until is not None and until <= clock.now():
        raise ValueError("until must be in the future")
    st = await _state(session, account_id)
    before = audit.snapshot(st)
    st.on_test_until = until
    st.on_test_by = actor.name if until else None
    await session.flush()
    audit.record(session, actor, "on_test" if until else "off_test", "alarm_account",
                 account_id, before, audit.snapshot(st), clock=clock)
    out.add("alarms.account_changed", {"account_id": account_id,
                                       "on_test_until": until.isoformat() if until else None})
    return st


async def clear_runaway(session: AsyncSession, clock: Clock, actor: audit.Actor,
                        account_id: int, out: Outbox) -> bool:
    """An operator ends a runaway: new signals raise incidents again."""
    st = await session.get(AccountState, account_id)
    if st is None or st.runaway_incident_id is None:
        return False
    before = audit.snapshot(st)
    st.runaway_incident_id = None
    await session.flush()
    audit.record(session, actor, "clear_runaway", "alarm_account", account_id, before,
                 audit.snapshot(st), clock=clock)
    out.add("alarms.runaway_cleared", {"account_id": account_id})
    return True


async def open_incidents_of(session: AsyncSession, account_id: int) -> list[dict[str, Any]]:
    rows = (await session.execute(select(Incident).where(
        Incident.account_id == account_id, Incident.status != "closed")
        .order_by(Incident.priority, Incident.opened_at))).scalars().all()
    return [incident_dict(i) for i in rows]


async def last_events(session: AsyncSession, account_id: int,
                      limit: int = 5) -> list[dict[str, Any]]:
    """The account's latest signals, for the IVR's "hear your last events"."""
    rows = (await session.execute(select(IncidentSignal).where(
        IncidentSignal.account_id == account_id)
        .order_by(IncidentSignal.received_at.desc(), IncidentSignal.id.desc())
        .limit(limit))).scalars().all()
    return [{"at": r.received_at.isoformat(), "kind": r.kind, "event_code": r.event_code,
             "zone": r.zone, "restore": r.qualifier == "restore"} for r in rows]


async def cancel_by_subscriber(session: AsyncSession, clock: Clock, actor: audit.Actor,
                               incident_id: int, note: str | None, out: Outbox) -> Incident:
    """The subscriber cancelled the alarm by phone with a valid passcode (the caller checks the
    passcode first). Before any dispatch the incident is closed as ``cancelled_by_subscriber``
    (whoever had taken it: the cancel supersedes the verification call). Once a guard or the
    police are on their way the incident stays open for the operator, who must call the
    dispatch off: the cancel is then recorded and announced, not applied. Audited either way
    with the note; raises :class:`~alarms.workflow.TransitionError` when already closed."""
    inc = await get(session, incident_id)
    if inc.status == "closed":
        raise workflow.TransitionError(f"incident {incident_id} is already closed")
    text = SUBSCRIBER_CANCEL_NOTE + (f": {note}" if note else "")
    before = audit.snapshot(inc)
    if inc.status == "dispatched":
        audit.record(session, actor, "subscriber_cancel", "incident", inc.id, before, before,
                     note=text + " (after dispatch: call the dispatch off)", clock=clock)
        out.add("incident.updated", {"change": "cancelled_by_subscriber",
                                     "incident": incident_dict(inc), "note": text})
        return inc
    close_fields(inc, clock.now(), "cancelled_by_subscriber", None, text)
    inc.taken_by = None
    inc.taken_by_name = None
    await session.flush()
    audit.record(session, actor, "subscriber_cancel", "incident", inc.id, before,
                 audit.snapshot(inc), note=text, clock=clock)
    await release_account_flags(session, clock, actor, inc, out)
    out.add("incident.closed", {"incident": incident_dict(inc), "operator": actor.name})
    return inc


async def _account_ref(session: AsyncSession, clock: Clock, account_id: int) -> tuple[str, str]:
    """Number and name of an account for an incident opened outside the engine."""
    try:
        a = await crm.account_summary(session, account_id, clock.now().date())
    except crm.NotFound:
        return "", ""
    return str(a.get("number") or ""), str(a.get("name") or "")


async def _plan_steps(session: AsyncSession, kind: str, account_id: int) -> list[str]:
    rows = (await session.execute(select(ActionPlan).where(
        ActionPlan.archived_at.is_(None),
        (ActionPlan.account_id.is_(None)) | (ActionPlan.account_id == account_id)))).scalars()
    rules = [plans.PlanRule(p.id, p.account_id, p.zone, p.match, p.priority, p.event_class,
                            tuple(p.steps or ())) for p in rows]
    return plans.resolve(rules, kind, kind_info(kind).event_class, account_id, None)[1]


async def open_operator_incident(session: AsyncSession, account_id: int) -> Incident | None:
    """The account's open incident on the operator desk (there is at most one)."""
    return (await session.execute(select(Incident).where(
        Incident.account_key == f"id:{account_id}", Incident.desk == "operator",
        Incident.status != "closed").order_by(Incident.id).limit(1))).scalars().first()


async def raise_duress(session: AsyncSession, clock: Clock, actor: audit.Actor,
                       account_id: int, incident_id: int | None, note: str | None,
                       out: Outbox) -> Incident:
    """A duress code was given (to the IVR or on a call): escalate silently. The given
    incident (if still open and the account's), else the account's open operator incident,
    else a new ``duress`` incident, becomes priority 1 with a police step at the top of its
    checklist. Nothing here tells the caller anything; only consoles see it."""
    now = clock.now()
    inc: Incident | None = None
    if incident_id is not None:
        try:
            cand = await get(session, incident_id)
        except NotFound:
            cand = None
        if cand is not None and cand.status != "closed" and cand.account_id == account_id:
            inc = cand
    if inc is None:
        inc = await open_operator_incident(session, account_id)
    text = "duress code given" + (f": {note}" if note else "")
    if inc is None:
        duress = kind_info("duress")
        event_class, prio, desk = duress.event_class, duress.priority, duress.desk
        number, name = await _account_ref(session, clock, account_id)
        steps = plans.add_step(plans.checklist(await _plan_steps(session, "duress", account_id)),
                               "notify_police", first=True)
        new = Incident(account_id=account_id, account_key=f"id:{account_id}",
                       account_number=number, account_name=name, receiver="", desk=desk,
                       kind="duress", event_class=event_class, base_priority=prio,
                       priority=prio, escalation_level=0, status="new", zones={},
                       steps=steps, signal_count=0, first_signal_at=now, last_signal_at=now,
                       opened_at=now, cancelled_at_panel=False, duress=True, reopen_count=0)
        try:
            async with session.begin_nested():
                session.add(new)
                await session.flush()
        except IntegrityError:  # the engine opened one for the account meanwhile: join it
            inc = await open_operator_incident(session, account_id)
            if inc is None:
                raise
        else:
            audit.record(session, actor, "duress", "incident", new.id, None,
                         audit.snapshot(new), note=text, clock=clock)
            out.add("incident.opened", {"change": "duress", "incident": incident_dict(new),
                                        "signal_ids": []})
            return new
    before = audit.snapshot(inc)
    inc.duress = True
    inc.priority = 1
    inc.base_priority = min(inc.base_priority, 1)
    if inc.status == "held":
        inc.status = "new"
        inc.hold_until = None
    inc.steps = plans.add_step(inc.steps, "notify_police", first=True)
    await session.flush()
    audit.record(session, actor, "duress", "incident", inc.id, before, audit.snapshot(inc),
                 note=text, clock=clock)
    out.add("incident.updated", {"change": "duress", "incident": incident_dict(inc)})
    return inc
