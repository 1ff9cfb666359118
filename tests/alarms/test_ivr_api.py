"""What the IVR asks of alarms: a subscriber's cancel by phone and a silent duress escalation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alarms import api, incidents, workflow
from alarms.engine import AlarmEngine
from alarms.incidents import Outbox
from alarms.models import Incident
from alarms.subscriber import AccountInfo
from core.audit import Actor
from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from crm import records
from tests.alarms.conftest import FakeDirectory, sig
from tests.alarms.test_workflow import open_incident
from tests.conftest import ensure_user

IVR = Actor.system("ivr")


async def audit_of(services: Services, incident_id: int) -> list[AuditEntry]:
    async with services.db.session() as s:
        return list((await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "incident", AuditEntry.entity_id == str(incident_id))
            .order_by(AuditEntry.id))).scalars())


async def test_subscriber_cancel_by_phone_closes_a_taken_incident_and_is_audited(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    iid = await open_incident(engine, directory, clock)
    uid = await ensure_user(services, "ann", "agent")
    async with services.db.transaction() as s:
        await incidents.take(s, clock, Actor("ann", uid), iid, Outbox())
    clock.advance(40)
    out = Outbox()
    async with services.db.transaction() as s:
        await api.cancel_by_subscriber(s, clock, IVR, iid, "caller 13800138000", out)
    async with services.db.session() as s:
        inc = await incidents.get(s, iid)
    assert inc.status == "closed" and inc.disposition == "cancelled_by_subscriber"
    assert inc.close_note is not None and api.SUBSCRIBER_CANCEL_NOTE in inc.close_note
    assert inc.closed_at == clock.now() and inc.taken_by is None
    entry = (await audit_of(services, iid))[-1]
    assert entry.action == "subscriber_cancel" and entry.actor == "system:ivr"
    assert entry.note is not None and "passcode verified" in entry.note
    assert entry.before and entry.before["status"] == "taken"
    assert entry.after and entry.after["status"] == "closed"
    assert [t for t, _ in out.events] == ["incident.closed"]
    with pytest.raises(workflow.TransitionError):
        async with services.db.transaction() as s:
            await api.cancel_by_subscriber(s, clock, IVR, iid, None, Outbox())


async def test_subscriber_cancel_after_dispatch_is_recorded_but_leaves_it_to_the_operator(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    iid = await open_incident(engine, directory, clock)
    uid = await ensure_user(services, "ann", "agent")
    ann = Actor("ann", uid)
    async with services.db.transaction() as s:
        await incidents.take(s, clock, ann, iid, Outbox())
        await incidents.add_dispatch(s, clock, ann, iid, kind="guard", reference="G7",
                                     note=None, evidence={}, out=Outbox())
    out = Outbox()
    async with services.db.transaction() as s:
        await api.cancel_by_subscriber(s, clock, IVR, iid, None, out)
    async with services.db.session() as s:
        inc = await incidents.get(s, iid)
    assert inc.status == "dispatched" and inc.taken_by == uid
    entry = (await audit_of(services, iid))[-1]
    assert entry.action == "subscriber_cancel" and entry.actor == "system:ivr"
    assert entry.note is not None and "call the dispatch off" in entry.note
    assert out.events[0][0] == "incident.updated"
    assert out.events[0][1]["change"] == "cancelled_by_subscriber"


async def test_duress_by_phone_escalates_the_open_incident_silently(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    iid = await open_incident(engine, directory, clock, code="301")  # AC loss, priority 3
    async with services.db.session() as s:
        before = await incidents.get(s, iid)
    assert before.priority == 3 and not before.duress
    out = Outbox()
    async with services.db.transaction() as s:
        await api.raise_duress(s, clock, IVR, before.account_id or 0, iid, "ivr pin", out)
    async with services.db.session() as s:
        inc = await incidents.get(s, iid)
    assert inc.duress and inc.priority == 1 and inc.status == "new"
    assert inc.steps[0]["step"] == "notify_police" and not inc.steps[0]["done"]
    entry = (await audit_of(services, iid))[-1]
    assert entry.action == "duress" and entry.actor == "system:ivr"
    assert entry.after and entry.after["priority"] == 1 and entry.after["duress"] is True
    assert [(t, d["change"]) for t, d in out.events] == [("incident.updated", "duress")]


async def test_duress_without_open_incident_opens_a_top_priority_one_that_signals_join(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    async with services.db.transaction() as s:
        a = await records.create_account(s, clock, Actor("admin", None), number="5501",
                                         name="Jade Bakery")
        account_id = a.id
    out = Outbox()
    async with services.db.transaction() as s:
        inc = await api.raise_duress(s, clock, IVR, account_id, None, None, out)
        iid = inc.id
    assert out.events[0][0] == "incident.opened"
    async with services.db.session() as s:
        inc = await incidents.get(s, iid)
    assert (inc.kind, inc.priority, inc.duress, inc.status) == ("duress", 1, True, "new")
    assert (inc.account_number, inc.account_name) == ("5501", "Jade Bakery")
    assert inc.steps[0]["step"] == "notify_police"
    entries = await audit_of(services, iid)
    assert [e.action for e in entries] == ["duress"] and entries[0].actor == "system:ivr"
    # The panel's burglary signal that follows joins the duress incident.
    directory.accounts["5501"] = AccountInfo(account_id, "5501", "Jade Bakery")
    await engine.handle_signals([sig(clock, "5501", "130")])
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident))).scalars().all()
    assert [(r.id, r.priority, r.signal_count) for r in rows] == [(iid, 1, 1)]
