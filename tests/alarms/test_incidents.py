"""Incidents from signals: grouping, restores, cancels, unknown accounts, on test, escalation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from alarms import api
from alarms.engine import AlarmEngine
from alarms.incidents import Outbox
from alarms.models import Incident, IncidentSignal
from alarms.subscriber import AccountInfo
from core.audit import Actor
from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from tests.alarms.conftest import FakeDirectory, sig


async def incidents(services: Services) -> list[Incident]:
    async with services.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())


async def logged(services: Services) -> list[IncidentSignal]:
    async with services.db.session() as s:
        return list((await s.execute(select(IncidentSignal).order_by(IncidentSignal.id)))
                    .scalars())


async def audit_of(services: Services, entity_id: int) -> list[AuditEntry]:
    async with services.db.session() as s:
        return list((await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "incident", AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id))).scalars())


async def test_signals_of_one_account_group_and_restores_are_shown(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    directory.add("1234")
    directory.add("5678")
    sub = services.bus.subscribe("incident.*")
    await engine.handle_signals([sig(clock, "1234", "131", zone="015")])
    clock.advance(20)
    await engine.handle_signals([sig(clock, "1234", "132", zone="003"),
                                 sig(clock, "5678", "110", zone="002")])
    clock.advance(20)
    await engine.handle_signals([sig(clock, "1234", "131", "restore", zone="015")])
    rows = await incidents(services)
    assert len(rows) == 2
    burglary = next(i for i in rows if i.account_number == "1234")
    assert burglary.kind == "burglary" and burglary.signal_count == 3
    assert burglary.zones["15"]["state"] == "restored"
    assert burglary.zones["3"]["state"] == "active"
    assert burglary.status == "new" and burglary.priority == 2
    fire = next(i for i in rows if i.account_number == "5678")
    assert fire.kind == "fire" and fire.priority == 1
    topics = [(await sub.get(within=1)).topic for _ in range(4)]
    assert topics.count("incident.opened") == 2 and topics.count("incident.updated") == 2
    entries = await audit_of(services, burglary.id)
    assert entries[0].action == "open" and entries[0].actor == "system:alarms"


async def test_user_cancel_right_after_alarm_marks_it_without_closing(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    directory.add("1234")
    directory.add("2222")
    await engine.handle_signals([sig(clock, "1234", "130"), sig(clock, "2222", "130")])
    clock.advance(60)
    await engine.handle_signals([sig(clock, "1234", "406", zone="002")])
    clock.advance(engine.settings.cancel_window_seconds)
    await engine.handle_signals([sig(clock, "2222", "BC", system="sia", zone="")])
    by_number = {i.account_number: i for i in await incidents(services)}
    assert by_number["1234"].cancelled_at_panel and by_number["1234"].status == "new"
    assert not by_number["2222"].cancelled_at_panel  # too late to count as a panel cancel
    assert by_number["2222"].signal_count == 2


async def test_unknown_account_opens_an_incident_for_an_administrator(
        services: Services, engine: AlarmEngine, clock: FakeClock) -> None:
    await engine.handle_signals([sig(clock, "9999", "130"), sig(clock, "9999", "131")])
    [inc] = await incidents(services)
    assert inc.kind == "unknown_account" and inc.desk == "admin" and inc.account_id is None
    assert inc.account_number == "9999" and inc.signal_count == 2


async def test_untaken_incident_escalates_by_age(services: Services, engine: AlarmEngine,
                                                 directory: FakeDirectory,
                                                 clock: FakeClock) -> None:
    directory.add("1234")
    await engine.handle_signals([sig(clock, "1234", "302")])
    [inc] = await incidents(services)
    assert inc.priority == 3
    clock.advance(119)
    await engine.tick()
    assert (await incidents(services))[0].priority == 3
    clock.advance(2)
    await engine.tick()
    [inc] = await incidents(services)
    assert (inc.priority, inc.escalation_level) == (2, 1)
    clock.advance(600)
    await engine.tick()
    [inc] = await incidents(services)
    assert (inc.priority, inc.escalation_level) == (1, 3)
    assert [e.action for e in await audit_of(services, inc.id)].count("escalate") == 2


async def test_on_test_account_logs_signals_without_incident(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    info = directory.add("1234")
    async with services.db.transaction() as s:
        await api.put_on_test(s, clock, Actor("agent", 1), info.id,
                              clock.now() + timedelta(hours=1), Outbox())
    await engine.handle_signals([sig(clock, "1234", "130")])
    assert await incidents(services) == []
    [row] = await logged(services)
    assert row.logged_reason == "on_test" and row.incident_id is None
    clock.advance(3601)
    await engine.handle_signals([sig(clock, "1234", "130")])
    assert len(await incidents(services)) == 1


async def test_on_hold_and_cancelled_accounts(services: Services, engine: AlarmEngine,
                                              directory: FakeDirectory,
                                              clock: FakeClock) -> None:
    directory.add("1000", status="on_hold")
    directory.add("2000", status="cancelled")
    await engine.handle_signals([sig(clock, "1000", "130"), sig(clock, "2000", "110"),
                                 sig(clock, "1000", "110")])
    rows = await incidents(services)
    assert [(i.account_number, i.kind) for i in rows] == [("1000", "fire")]
    reasons = sorted(r.logged_reason or "" for r in await logged(services))
    assert reasons == ["", "account_cancelled", "on_hold"]


async def test_engine_consumes_the_bus_in_batches(services: Services, engine: AlarmEngine,
                                                  directory: FakeDirectory,
                                                  clock: FakeClock) -> None:
    for n in range(20):
        directory.add(f"{1000 + n}")
    sub = services.bus.subscribe("incident.opened")
    await engine.start(tick=False)
    for n in range(20):
        await services.bus.publish("signal.received", sig(clock, f"{1000 + n}", "130"))
    seen: list[dict[str, Any]] = [dict((await sub.get(within=5)).data) for _ in range(20)]
    assert sorted(e["incident"]["account_number"] for e in seen) == \
        sorted(f"{1000 + n}" for n in range(20))
    assert all(e["signal_ids"] for e in seen)
    assert directory.lookups == 20


async def test_a_batch_asks_the_directory_once_for_every_account_it_has_not_seen(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    """A power cut brings signals from accounts not heard from in hours: one directory call
    for the batch's misses, not one per signal, and none while the cache holds them."""
    for n in range(30):
        directory.add(f"{2000 + n}")
    burst = [sig(clock, f"{2000 + n % 30}", "130", zone=f"{n // 30 + 1:03d}") for n in range(60)]
    burst.append(sig(clock, "9999", "130"))  # unknown: asked once too, and remembered
    await engine.handle_signals(burst)
    assert (directory.lookup_calls, directory.lookups) == (1, 31)
    rows = await incidents(services)
    assert len(rows) == 31 and sum(r.signal_count for r in rows) == 61
    assert sorted(r.kind for r in rows).count("unknown_account") == 1
    await engine.handle_signals([sig(clock, "2000", "130"), sig(clock, "9999", "130")])
    assert directory.lookup_calls == 1
    clock.advance(engine.settings.directory_ttl_seconds + 1)  # the cache's time to live
    await engine.handle_signals([sig(clock, "2000", "130"), sig(clock, "2001", "130")])
    assert (directory.lookup_calls, directory.lookups) == (2, 33)


async def test_each_accounts_signals_keep_their_order_across_batches_in_flight(
        services: Services, directory: FakeDirectory, clock: FakeClock) -> None:
    """Small batches, two in flight on PostgreSQL: an alarm and its restore from one account
    may land in different batches, yet the restore is never applied before its alarm."""
    from alarms.config import AlarmSettings

    settings = AlarmSettings(_env_file=None, batch_size=3, pipeline_depth=2)  # type: ignore[call-arg]
    eng = AlarmEngine(services, directory, settings)
    accounts = [f"{3000 + n}" for n in range(8)]
    for number in accounts:
        directory.add(number)
    await eng.start(tick=False)
    try:
        for round_ in range(5):
            for number in accounts:
                zone = f"{round_ + 1:03d}"
                await services.bus.publish("signal.received", sig(clock, number, "130",
                                                                  zone=zone))
                await services.bus.publish("signal.received", sig(clock, number, "130",
                                                                  "restore", zone=zone))
        expected = 8 * 5 * 2
        for _ in range(500):
            async with services.db.session() as s:
                done = len((await s.execute(select(IncidentSignal.id))).all())
            if done >= expected:
                break
            await asyncio.sleep(0.02)
    finally:
        await eng.stop()
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident))).scalars().all()
    assert sorted(r.account_number for r in rows) == sorted(accounts)  # one incident each
    for r in rows:
        states = {zone: z["state"] for zone, z in r.zones.items()}
        assert states == {str(z): "restored" for z in range(1, 6)}, r.account_number


async def test_a_loaded_account_book_answers_without_asking_crm(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    one = directory.add("8001")
    a = directory.add("8002")  # under receiver prefix 01
    b = AccountInfo(a.id + 1, "8002", "Shop 8002, line 2")  # the same number under 02
    directory.accounts["8002/02"] = b
    directory.prefixes.update({a.id: "01", b.id: "02"})
    assert await engine.load_accounts(page=2) == 3
    assert await engine.account("8001", None) == one
    assert await engine.account("8002", "02") == b
    assert await engine.account("8002", None) is None  # two prefixes: a receiver must say
    assert directory.lookup_calls == 0
    directory.add("8003")  # opened after the book was read: crm is asked, once
    await engine.handle_signals([sig(clock, "8003", "130"), sig(clock, "8001", "130")])
    assert (directory.lookup_calls, directory.lookups) == (1, 1)
    assert sorted(i.account_number for i in await incidents(services)) == ["8001", "8003"]
    clock.advance(3 * engine.settings.directory_ttl_seconds + 1)  # a book not reloaded ages out
    await engine.handle_signals([sig(clock, "8001", "130")])
    assert directory.lookup_calls == 2
