"""What other packages (the IVR, the console, the composition root) may ask of alarms.

Readers take a session; writers take ``(session, clock, actor, ...)``, add their audit entry and
return the bus events to publish after the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alarms import disaster
from alarms.incidents import Outbox, incident_dict
from alarms.models import AccountState, CenterState, Incident, IncidentSignal
from core import audit
from core.clock import Clock

__all__ = ["clear_runaway", "disaster_mode", "last_events", "open_incidents_of",
           "put_on_test", "set_disaster", "storm_greeting_active"]


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
