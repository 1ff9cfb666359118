"""The engine's timers, run at each tick on the injected clock (under a cluster lease when
several nodes share the database, see :mod:`alarms.runtime`): held incidents whose hold ran
out join the queue, untaken incidents escalate with age, overdue test reports raise fail to
test, and schedules raise late-to-open and late-to-close."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from alarms import schedule_rules, workflow
from alarms.engine import rules, store
from alarms.engine.batch import Batch
from alarms.engine.effects import Effect
from alarms.incidents import Outbox, incident_dict
from alarms.models import AccountState, Incident, ScheduleMark
from alarms.subscriber import AccountInfo
from core import audit

if TYPE_CHECKING:
    from alarms.engine.alarm_engine import AlarmEngine


async def tick(engine: AlarmEngine) -> None:
    """Run every timer due at the clock's now."""
    engine.facts.forget_disaster()
    engine.facts.forget_plans()
    await holds_and_escalation(engine)
    await overdue_tests(engine)
    await schedule_exceptions(engine)


async def holds_and_escalation(engine: AlarmEngine) -> None:
    clock = engine.clock
    now = clock.now()
    ages = engine.settings.escalation_seconds
    out = Outbox()
    async with engine.db.transaction() as s:
        held = (await s.execute(select(Incident).where(
            Incident.status == "held", Incident.hold_until <= now))).scalars().all()
        for inc in held:
            before = audit.snapshot(inc)
            inc.status = "new"
            inc.hold_until = None
            inc.opened_at = now  # its age for escalation starts when operators see it
            audit.record(s, store.ACTOR, "hold_expired", "incident", inc.id, before,
                         audit.snapshot(inc), clock=clock)
            out.add("incident.updated", {"change": "hold_expired",
                                         "incident": incident_dict(inc)})
        if ages:
            rows = (await s.execute(select(Incident).where(
                Incident.status == "new", Incident.escalation_level < len(ages),
                Incident.opened_at <= now - timedelta(seconds=min(ages))))).scalars().all()
            for inc in rows:
                level, prio = workflow.escalation(inc.opened_at, now, inc.base_priority, ages)
                if level <= inc.escalation_level:
                    continue
                before = audit.snapshot(inc)
                inc.escalation_level = level
                inc.priority = min(inc.priority, prio)
                audit.record(s, store.ACTOR, "escalate", "incident", inc.id, before,
                             audit.snapshot(inc), note=f"level {level}", clock=clock)
                out.add("incident.updated", {"change": "escalated",
                                             "incident": incident_dict(inc)})
    await out.publish(engine.bus)


async def overdue_tests(engine: AlarmEngine) -> None:
    now = engine.clock.now()
    grace = timedelta(minutes=engine.settings.test_grace_minutes)
    ctx = await engine.context(now)
    out = Outbox()
    async with engine.db.transaction() as s:
        due = (await s.execute(select(AccountState).where(
            AccountState.test_due_at <= now - grace,
            AccountState.fail_to_test_incident_id.is_(None)))).scalars().all()
        if not due:
            return
        ids = [d.account_id for d in due]
        infos = await engine.book.by_ids(ids)
        open_map, _ = await store.load(s, {f"id:{a}" for a in ids}, set())
        b = Batch(now, open_map, {d.account_id: d for d in due})
        for st in due:
            b.apply(rules.overdue_test(st.account_id, infos.get(st.account_id), st, ctx,
                                       b.open))
        await store.write(s, b, engine.clock.now(), engine.incident_ids, out)
    await out.publish(engine.bus)


async def schedule_exceptions(engine: AlarmEngine) -> None:
    now = engine.clock.now()
    ids = sorted(await engine.facts.scheduled_ids())
    if not ids:
        return
    due = await _late(engine, ids)
    if not due:
        return
    infos = await engine.book.by_ids([a for a, _, _ in due])
    ctx = await engine.context(now)
    out = Outbox()
    async with engine.db.transaction() as s:
        marks = {(m.account_id, m.day, m.kind) for m in (await s.execute(
            select(ScheduleMark).where(ScheduleMark.account_id.in_(
                sorted({a for a, _, _ in due}))))).scalars()}
        todo = [d for d in due if (d[0], d[2], d[1]) not in marks]
        if not todo:
            return
        open_map, _ = await store.load(s, {f"id:{a}" for a, _, _ in todo}, set())
        b = Batch(now, open_map, {})
        for aid, kind, day in todo:
            effects: list[Effect] = rules.schedule_exception(
                infos.get(aid) or AccountInfo(aid, "", ""), kind, day, ctx, b.open)
            b.apply(effects)
        await store.write(s, b, engine.clock.now(), engine.incident_ids, out)
    await out.publish(engine.bus)


async def _late(engine: AlarmEngine, ids: list[int]) -> list[tuple[int, str, date]]:
    """(account, late_to_open/late_to_close kind, local day) that the schedules say are due."""
    now = engine.clock.now()
    st = engine.settings
    scheds = await engine.facts.schedules(ids)
    states: dict[int, AccountState] = {}
    async with engine.db.session() as s:
        for i in range(0, len(ids), 900):
            for row in (await s.execute(select(AccountState).where(
                    AccountState.account_id.in_(ids[i:i + 900])))).scalars():
                states[row.account_id] = row
    due: list[tuple[int, str, date]] = []
    for aid in ids:
        sch = scheds.get(aid)
        if sch is None:
            continue
        state = states.get(aid)
        for kind, day in schedule_rules.late_exceptions(
                sch, now, last_open_at=state.last_open_at if state else None,
                last_close_at=state.last_close_at if state else None,
                open_grace=timedelta(minutes=st.open_grace_minutes),
                close_grace=timedelta(minutes=st.close_grace_minutes),
                early=timedelta(minutes=st.early_open_minutes)):
            due.append((aid, kind, day))
    return due
