"""Nothing is lost: while the database is away the engine holds its signals and applies them
when it is back; a signal the rules cannot handle costs itself only, never its whole batch."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from alarms.classify import Classified
from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine, alarm_engine, pipeline
from alarms.models import Incident
from alarms.subscriber import LookupKey
from core.bus import Event
from core.clock import FakeClock
from core.db import Database
from core.services import Services
from tests.alarms.conftest import FakeDirectory, sig
from tests.conftest import LoginFactory


async def incidents(services: Services) -> list[Incident]:
    async with services.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())


def patient_engine(services: Services, directory: FakeDirectory) -> AlarmEngine:
    """An engine that retries an unreachable database every 0.1 s at most."""
    return AlarmEngine(services, directory, AlarmSettings(  # type: ignore[call-arg]
        _env_file=None, database_retry_max_seconds=0.1))


async def first_opened(services: Services, eng: AlarmEngine, signal: dict[str, Any]) -> Event:
    """Run the engine, publish ``signal`` and answer the first ``incident.opened``."""
    sub = services.bus.subscribe("incident.opened")
    await eng.start(tick=False)
    try:
        await services.bus.publish("signal.received", signal)
        return await sub.get(within=10)
    finally:
        await eng.stop()


async def test_a_signal_the_rules_cannot_handle_costs_only_itself(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = alarm_engine.classify

    def classify(p: dict[str, Any], override: Any = None) -> Classified:
        if p.get("event_code") == "999":
            raise ValueError("a code the rules trip over")
        return real(p, override)

    monkeypatch.setattr(alarm_engine, "classify", classify)
    for n in range(8):
        directory.add(f"{4000 + n}")
    batch = [sig(clock, f"{4000 + n}", "130") for n in range(8)]
    batch.insert(5, sig(clock, "4003", "999"))
    await pipeline.in_halves(engine, batch)
    rows = await incidents(services)
    assert sorted(r.account_number for r in rows) == [f"{4000 + n}" for n in range(8)]
    assert engine.failed_signals == 1 and engine.processed == 8


async def test_signals_wait_for_the_database_and_are_applied_when_it_is_back(
        services: Services, directory: FakeDirectory, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    eng = patient_engine(services, directory)
    directory.add("5001")
    real = eng._apply_batch
    outage = {"left": 4, "seen_down": False}

    async def flaky(*args: Any) -> Any:
        if outage["left"]:
            outage["left"] -= 1
            if eng.db_unavailable_since is not None:
                outage["seen_down"] = True
            raise ConnectionRefusedError(111, "Connect call failed")
        return await real(*args)

    monkeypatch.setattr(eng, "_apply_batch", flaky)
    opened = await first_opened(services, eng, sig(clock, "5001", "110"))
    assert opened.data["incident"]["account_number"] == "5001"
    assert outage == {"left": 0, "seen_down": True}
    assert eng.db_unavailable_since is None and eng.failed_batches == 0


async def test_the_consumer_waits_for_crm_instead_of_stopping(
        services: Services, directory: FakeDirectory, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    eng = patient_engine(services, directory)
    directory.add("5002")
    real = directory.lookup_many
    calls = {"n": 0}

    async def away_then_back(keys: list[LookupKey]) -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OSError("network is unreachable")
        return await real(keys)

    monkeypatch.setattr(directory, "lookup_many", away_then_back)
    opened = await first_opened(services, eng, sig(clock, "5002", "130"))
    assert opened.data["incident"]["account_number"] == "5002" and calls["n"] == 3
    assert eng.db_unavailable_since is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a server drops it
async def test_a_connection_the_server_dropped_fails_no_batch(
        services: Services, directory: FakeDirectory, clock: FakeClock) -> None:
    own = Database(services.db.url, pre_ping=False)  # as alarms.runtime makes the engine's
    eng = AlarmEngine(services, directory, AlarmSettings(_env_file=None),  # type: ignore[call-arg]
                      db=own)
    for n in range(3):
        directory.add(f"{6000 + n}")
    waits: list[BaseException] = []
    real_wait = eng.outage.wait

    async def wait(exc: BaseException) -> None:
        waits.append(exc)
        await real_wait(exc)

    eng.outage.wait = wait  # type: ignore[method-assign]
    try:
        await eng.handle_signals([sig(clock, "6000", "130")])  # the pool now holds a connection
        async with services.db.transaction() as s:  # the server drops it (a restart, a proxy)
            await s.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = ''"))
        await asyncio.sleep(0.05)
        await eng.handle_signals([sig(clock, "6001", "130"), sig(clock, "6002", "130")])
    finally:
        await eng.stop()
    assert sorted(i.account_number for i in await incidents(services)) == ["6000", "6001", "6002"]
    assert eng.failed_batches == 0 and eng.db_unavailable_since is None
    assert len(waits) == 1  # the dropped connection was met once, then replaced


async def test_start_up_applies_journaled_signals_no_batch_applied(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    """A crash between the journal's commit (the panel has its ACK) and the engine's: at the
    next start the engine finds those signals by journal id and applies them, once."""
    from receivers.journal import SignalJournal, journaled
    from receivers.signal import Signal

    for n in range(4):
        directory.add(f"{7000 + n}")
    async with SignalJournal(services.db, None, clock) as j:  # journaled, never published
        await j.store([Signal(received_at=clock.now(), receiver="dc09", line="R01L1",
                              protocol="dc09", account=f"{7000 + n}", event_code="130",
                              event_system="cid", qualifier="new", zone="001",
                              sequence=f"{n:04d}") for n in range(4)])
    applied_before = await journaled_ids(services)
    since, until = clock.now() - timedelta(hours=1), clock.now() + timedelta(seconds=1)
    # one of them was applied before the crash (it has its signal row already)
    first = (await journaled_payloads(services, since, until))[0]
    await engine.handle_signals([first])
    assert await engine.catch_up(journaled, since, until, page=2) == 3
    rows = await incidents(services)
    assert sorted(r.account_number for r in rows) == ["7000", "7001", "7002", "7003"]
    assert all(r.signal_count == 1 for r in rows)  # none applied twice
    assert await engine.catch_up(journaled, since, until) == 0
    assert applied_before == []


async def journaled_ids(services: Services) -> list[str]:
    from alarms.models import IncidentSignal

    async with services.db.session() as s:
        return [str(x) for x in (await s.execute(select(IncidentSignal.signal_id))).scalars()]


async def journaled_payloads(services: Services, since: Any, until: Any) -> list[dict[str, Any]]:
    from receivers.journal import journaled

    async with services.db.session() as s:
        return await journaled(s, since, until)


async def test_supervisors_see_the_engine_riding_out_an_outage(
        services: Services, directory: FakeDirectory, clock: FakeClock, login: LoginFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    eng = patient_engine(services, directory)
    services.extra["alarms.engine"] = eng
    directory.add("5003")
    down = asyncio.Event()
    back = asyncio.Event()
    real = eng._apply_batch

    async def away(*args: Any) -> Any:
        if not back.is_set():
            down.set()
            raise ConnectionRefusedError(111, "Connect call failed")
        return await real(*args)

    monkeypatch.setattr(eng, "_apply_batch", away)
    sup = await login("supervisor")
    await eng.start(tick=False)
    try:
        await services.bus.publish("signal.received", sig(clock, "5003", "130"))
        await asyncio.wait_for(down.wait(), 5)
        clock.advance(7)
        during = (await sup.get("/api/alarm-stats/engine")).json()
        back.set()
        for _ in range(200):
            if eng.processed:
                break
            await asyncio.sleep(0.01)
        after = (await sup.get("/api/alarm-stats/engine")).json()
    finally:
        await eng.stop()
    assert during["running"] and during["processed"] == 0
    assert during["database_unreachable_for_s"] == 7.0
    assert after["processed"] == 1 and after["database_unreachable_for_s"] is None
    assert after["failed_signals"] == 0 and after["node"] == services.settings.node_name
    agent = await login("agent")
    assert (await agent.get("/api/alarm-stats/engine")).status_code == 403
