"""Timers and account rules on the fake clock: fail to test, schedules, runaway, disaster."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from alarms import api, avs01, classify
from alarms.engine import AlarmEngine
from alarms.incidents import Outbox
from alarms.models import AccountState, Incident, IncidentSignal
from core.audit import Actor
from core.clock import FakeClock
from core.services import Services
from receivers import dc09
from receivers.dc09 import Dc09Config, Dc09Receiver
from receivers.outcome import Accepted
from tests.alarms.conftest import FakeDirectory, sig, weekdays


async def incidents(services: Services) -> list[Incident]:
    async with services.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())


async def test_missed_periodic_test_raises_fail_to_test_and_late_test_clears_it(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    info = directory.add("1234")
    directory.intervals[info.id] = 60
    await engine.handle_signals([sig(clock, "1234", "602", zone="000")])
    clock.advance(60 * 60 + engine.settings.test_grace_minutes * 60 - 1)
    await engine.tick()
    assert await incidents(services) == []
    clock.advance(2)
    await engine.tick()
    await engine.tick()  # raised once, not at every tick
    [inc] = await incidents(services)
    assert inc.kind == "fail_to_test" and inc.desk == "technical" and inc.status == "new"
    clock.advance(600)
    sub = services.bus.subscribe("incident.closed")
    await engine.handle_signals([sig(clock, "1234", "RP", system="sia", zone="")])
    [inc] = await incidents(services)
    assert inc.status == "closed" and inc.disposition == "cleared_by_system"
    assert (await sub.get(within=1)).data["incident"]["id"] == inc.id
    clock.advance(59 * 60)
    await engine.tick()
    assert len(await incidents(services)) == 1  # the timer restarted from the late test


async def test_late_to_close_from_weekly_schedule_skips_holiday(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    # Monday 2026-01-05, 09:00 UTC; windows Mon-Fri 09:00-18:00; Tuesday is a holiday.
    info = directory.add("1234")
    directory.scheds[info.id] = weekdays(time(9), time(18), account_id=info.id,
                                         holidays=frozenset({date(2026, 1, 6)}))
    await engine.handle_signals([sig(clock, "1234", "401", zone="001")])  # opened on time
    clock.set(datetime(2026, 1, 5, 18, 29, tzinfo=UTC))
    await engine.tick()
    assert await incidents(services) == []
    clock.set(datetime(2026, 1, 5, 18, 31, tzinfo=UTC))
    await engine.tick()
    clock.advance(600)
    await engine.tick()
    [inc] = await incidents(services)
    assert inc.kind == "fail_to_close" and inc.account_id == info.id
    async with services.db.transaction() as s:
        st = await s.get(Incident, inc.id)
        assert st is not None
        st.status, st.closed_at, st.disposition = "closed", clock.now(), "test"
    # Still open on the holiday: no window, so no late-to-close (and no fail-to-open).
    clock.set(datetime(2026, 1, 6, 19, 0, tzinfo=UTC))
    await engine.tick()
    assert len(await incidents(services)) == 1
    # Wednesday: the panel opens at 07:00, well before the window: unscheduled open.
    await engine.handle_signals([sig(clock, "1234", "401", "restore")])  # closing
    clock.set(datetime(2026, 1, 7, 7, 0, tzinfo=UTC))
    await engine.handle_signals([sig(clock, "1234", "401")])
    clock.set(datetime(2026, 1, 7, 7, 0, 1, tzinfo=UTC))
    await engine.handle_signals([sig(clock, "1234", "401")])
    kinds = [i.kind for i in await incidents(services)]
    assert kinds == ["fail_to_close", "unscheduled_open"]  # one per kind and day


async def test_fail_to_open_is_raised_once_per_day(services: Services, engine: AlarmEngine,
                                                   directory: FakeDirectory,
                                                   clock: FakeClock) -> None:
    info = directory.add("1234")
    directory.scheds[info.id] = weekdays(time(9), time(18), account_id=info.id)
    clock.set(datetime(2026, 1, 5, 9, 31, tzinfo=UTC))
    for _ in range(5):
        await engine.tick()
        clock.advance(60)
    [inc] = await incidents(services)
    assert inc.kind == "fail_to_open"


async def test_runaway_account_raises_one_incident_and_logs_the_burst(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock, login: object) -> None:
    info = directory.add("1234")
    capacity = int(engine.settings.runaway_capacity)
    burst = [sig(clock, "1234", "130", zone=f"{n % 8:03d}") for n in range(capacity + 30)]
    await engine.handle_signals(burst[:10])
    await engine.handle_signals(burst[10:])
    rows = await incidents(services)
    assert sorted(i.kind for i in rows) == ["burglary", "runaway"]
    async with services.db.session() as s:
        logged = (await s.execute(select(IncidentSignal).where(
            IncidentSignal.logged_reason == "runaway"))).scalars().all()
    assert len(logged) == 30
    clock.advance(3600)  # the bucket refills, but the runaway stays until cleared
    await engine.handle_signals([sig(clock, "1234", "130")])
    assert len(await incidents(services)) == 2
    async with services.db.transaction() as s:
        out = Outbox()
        assert await api.clear_runaway(s, clock, Actor("sup", 1), info.id, out)
    await engine.handle_events([])  # nothing queued; clearing is read from the database
    await engine.handle_signals([sig(clock, "1234", "301", zone="000")])
    trouble = [i for i in await incidents(services) if i.kind != "runaway"]
    assert trouble[0].signal_count == capacity + 1  # joined the open operator incident


async def test_disaster_hold_closes_by_itself_on_restore_and_releases_when_due(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    for n in ("1001", "1002", "1003"):
        directory.add(n)
    async with services.db.transaction() as s:
        assert not await api.storm_greeting_active(s)
        await api.set_disaster(s, clock, Actor("sup", 1), True,
                               {"ac_loss": {"mode": "hold", "minutes": 10},
                                "trouble": {"mode": "lower", "by": 2},
                                "comm_trouble": {"mode": "log"}}, Outbox())
    async with services.db.session() as s:
        assert await api.storm_greeting_active(s)
    await engine.handle_signals([
        sig(clock, "1001", "301", zone="000"),
        sig(clock, "1002", "301", zone="000"),
        sig(clock, "1003", "380", zone="004"),
        sig(clock, "1003", "354", zone="000"),
        sig(clock, "1003", "110", zone="009")])
    by = {i.account_number + i.kind: i for i in await incidents(services)}
    assert by["1001ac_loss"].status == "held" and by["1002ac_loss"].status == "held"
    assert by["1003fire"].priority == 1  # the fire joined the lowered trouble
    clock.advance(300)
    await engine.handle_signals([sig(clock, "1001", "301", "restore", zone="000")])
    clock.advance(301)
    await engine.tick()
    by = {i.account_number: i for i in await incidents(services)}
    assert by["1001"].status == "closed" and by["1001"].disposition == "restored_on_hold"
    assert by["1002"].status == "new"  # the hold ran out without a restore
    async with services.db.session() as s:
        logged = (await s.execute(select(IncidentSignal.logged_reason).where(
            IncidentSignal.event_code == "354"))).scalars().all()
    assert logged == ["disaster"]
    with pytest.raises(ValueError):
        async with services.db.transaction() as s:
            await api.set_disaster(s, clock, Actor("sup", 1), True,
                                   {"fire": {"mode": "log"}}, Outbox())


async def test_disaster_lowers_priority(services: Services, engine: AlarmEngine,
                                        directory: FakeDirectory, clock: FakeClock) -> None:
    directory.add("1001")
    async with services.db.transaction() as s:
        await api.set_disaster(s, clock, Actor("sup", 1), True,
                               {"trouble": {"mode": "lower", "by": 2}}, Outbox())
    await engine.handle_signals([sig(clock, "1001", "380", zone="004")])
    [inc] = await incidents(services)
    assert inc.priority == 5 and inc.status == "new"


@pytest.mark.parametrize("call", avs01.CALL_OUTCOMES)
@pytest.mark.parametrize("av", [False, True])
@pytest.mark.parametrize("zones", [False, True])
@pytest.mark.parametrize("prop", [False, True])
@pytest.mark.parametrize("life", [False, True])
def test_avs01_score_for_each_input_combination(call: avs01.CallOutcome, av: bool,
                                                zones: bool, prop: bool, life: bool) -> None:
    s = avs01.score(avs01.Evidence(call, av, zones, prop, life))
    if life or call == "duress":
        expected = 4
    elif prop:
        expected = 3
    elif av or zones or call == "confirmed_presence":
        expected = 2
    elif call == "cancelled":
        expected = 0
    else:
        expected = 1
    assert s.level == expected and s.reasons


def test_classification_and_plan_overrides() -> None:
    assert classify.classify({"event_system": "cid", "event_code": "121"}).kind == "duress"
    c = classify.classify({"event_system": "cid", "event_code": "401", "qualifier": "restore"})
    assert c.closing and not c.restore and c.kind == "closing"
    c = classify.classify({"event_system": "sia", "event_code": "BR"})
    assert c.restore and c.kind == "burglary"
    assert classify.classify({"event_system": "sia", "event_code": "OP"}).opening
    c = classify.classify({"event_system": "cid", "event_code": "130"},
                          classify.Override(priority=1))
    assert c.priority == 1 and c.raises_incident
    ranks = [classify.classify({"event_system": "cid", "event_code": code}).priority
             for code in ("110", "130", "300", "200", "401", "602")]
    assert ranks == sorted(ranks) and ranks[0] == 1


async def test_zone_plan_overrides_account_and_center_plans(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock, login: object) -> None:
    from tests.conftest import LoginFactory

    make: LoginFactory = login  # type: ignore[assignment]
    info = directory.add("1234")
    admin = await make("admin")
    r = await admin.post("/api/action-plans", json={"match": "burglary", "account_id": info.id,
                                                      "steps": ["call_list"]})
    assert r.status_code == 201
    r = await admin.post("/api/action-plans", json={
        "match": "alarm", "account_id": info.id, "zone": "7", "priority": 1,
        "steps": ["dispatch_guard"]})
    assert r.status_code == 201
    await engine.handle_events([])
    engine.facts.forget_plans()
    await engine.handle_signals([sig(clock, "1234", "130", zone="007")])
    [inc] = await incidents(services)
    assert inc.priority == 1 and [s["step"] for s in inc.steps] == ["dispatch_guard"]
    directory.add("5555")
    await engine.handle_signals([sig(clock, "5555", "130", zone="007"),
                                 sig(clock, "1234", "130", zone="002", at=clock.now()
                                     + timedelta(seconds=1))])
    rows = await incidents(services)
    assert [s["step"] for s in rows[1].steps][:2] == ["call_premises", "ask_passcode"]


async def test_the_engine_acts_on_what_the_receiver_decoded(
        engine: AlarmEngine, directory: FakeDirectory, services: Services,
        clock: FakeClock) -> None:
    """SIA frames through the DC-09 codec to the engine: the receiver classified each signal
    once (a burglary, its restore, a late close) and the engine acts on that."""
    info = directory.add("1234")
    receiver = Dc09Receiver(Dc09Config(check_timestamp=False))

    def decoded(seq: int, data: str) -> dict[str, Any]:
        frame = dc09.build_message("SIA-DCS", seq, "1234", f"#1234|N{data}")
        outcome = receiver.handle(frame, clock.now())
        assert isinstance(outcome, Accepted)
        [signal] = outcome.signals
        return {**signal.to_dict(), "signal_id": str(seq)}

    await engine.handle_signals([decoded(1, "ri1/BA003")])
    await engine.handle_signals([decoded(2, "ri1/BH003")])  # "burglary alarm restored"
    await engine.handle_signals([decoded(3, "ri1/CJ007")])  # "late close": the user armed
    [inc] = await incidents(services)
    assert (inc.kind, inc.zones["3"]["state"]) == ("burglary", "restored")
    async with services.db.session() as s:
        state = await s.get(AccountState, info.id)
        rows = (await s.execute(select(IncidentSignal.event_code, IncidentSignal.kind,
                                       IncidentSignal.incident_id)
                                .order_by(IncidentSignal.id))).all()
    assert state is not None and state.armed is True
    assert [tuple(r) for r in rows] == [("BA", "burglary", inc.id), ("BH", "burglary", inc.id),
                                        ("CJ", "closing", inc.id)]
