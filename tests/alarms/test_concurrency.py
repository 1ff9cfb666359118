"""Two writers on one account: two nodes opening an incident at the same moment (the partial
unique index and the batch retry), an operator taking an incident while a batch joins signals
to it, the batch's one UPDATE for many open incidents, and re-opening next to an open one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from alarms import api, incidents
from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine, store
from alarms.incidents import Outbox
from alarms.models import Incident
from alarms.subscriber import AccountInfo
from core.audit import Actor
from core.bus import Bus
from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from crm import records
from tests.alarms.conftest import FakeDirectory, sig
from tests.alarms.test_workflow import open_incident
from tests.conftest import ensure_user


def _row(key: str, status: str, clock: FakeClock) -> Incident:
    now = clock.now()
    return Incident(account_key=key, desk="operator", kind="burglary", event_class="alarm",
                    base_priority=3, priority=3, status=status, first_signal_at=now,
                    last_signal_at=now, opened_at=now)


def _before_first_write(monkeypatch: pytest.MonkeyPatch,
                        meanwhile: Callable[[], Awaitable[None]]) -> list[int]:
    """Run ``meanwhile`` once, right after the first batch has read the open incidents and
    before it writes anything; the open incidents each read of that engine found (the reads
    ``meanwhile`` makes itself are not counted)."""
    loads: list[int] = []
    original = store.load
    inside = False

    async def racing_load(*args: Any) -> Any:
        nonlocal inside
        result = await original(*args)
        if inside:
            return result
        loads.append(len(result[0]))
        if len(loads) == 1:
            inside = True
            try:
                await meanwhile()
            finally:
                inside = False
        return result

    monkeypatch.setattr(store, "load", racing_load)
    return loads


async def test_one_open_incident_per_account_and_desk_is_enforced_by_the_database(
        services: Services, clock: FakeClock) -> None:
    async with services.db.transaction() as s:
        s.add_all([_row("id:1", "closed", clock), _row("id:1", "closed", clock),
                   _row("id:1", "new", clock), _row("id:2", "new", clock)])
    with pytest.raises(IntegrityError):
        async with services.db.transaction() as s:
            s.add(_row("id:1", "taken", clock))
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident.account_key, Incident.status)
                                .order_by(Incident.id))).all()
    assert [tuple(r) for r in rows] == [("id:1", "closed"), ("id:1", "closed"), ("id:1", "new"),
                                        ("id:2", "new")]


async def test_two_nodes_opening_an_incident_for_one_account_end_with_one(
        services: Services, directory: FakeDirectory, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    directory.add("1234")
    node_b = Services(settings=services.settings, db=services.db, bus=Bus(node="b"),
                      clock=clock)
    a = AlarmEngine(services, directory, local_only=True)
    b = AlarmEngine(node_b, directory, local_only=True)
    events = services.bus.subscribe("incident.*")

    async def node_b_opens() -> None:
        await b.handle_signals([sig(clock, "1234", "130", zone="002")])

    loads = _before_first_write(monkeypatch, node_b_opens)
    await a.handle_signals([sig(clock, "1234", "130", zone="001")])
    assert loads == [0, 1]  # node a saw no incident, lost the INSERT, retried and found b's
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident))).scalars().all()
        opened = (await s.execute(select(AuditEntry.entity_id).where(
            AuditEntry.entity == "incident", AuditEntry.action == "open"))).scalars().all()
    assert len(rows) == 1
    assert rows[0].signal_count == 2 and sorted(rows[0].zones) == ["1", "2"]
    assert opened == [str(rows[0].id)]
    ev = await events.get(within=5)
    assert ev.topic == "incident.updated" and ev.data["incident"]["id"] == rows[0].id
    assert a.failed_batches == 0 and b.failed_batches == 0


async def test_a_take_racing_a_batch_keeps_the_operator_and_the_signals(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = await open_incident(engine, directory, clock)
    uid = await ensure_user(services, "ann", "agent")
    tasks: list[asyncio.Task[Incident]] = []

    async def take() -> Incident:
        async with services.db.transaction() as s:
            return await incidents.take(s, clock, Actor("ann", uid), iid, Outbox())

    sqlite = services.db.dialect == "sqlite"

    async def operator_takes() -> None:
        if sqlite:  # the batch has read without a lock: the take commits before it writes
            await take()
        else:  # the batch holds the row (FOR UPDATE): the take waits for its commit
            tasks.append(asyncio.create_task(take()))
            await asyncio.sleep(0.2)

    loads = _before_first_write(monkeypatch, operator_takes)
    await engine.handle_signals([sig(clock, "1234", "130", zone="005")])
    await asyncio.gather(*tasks)
    # SQLite: the version check failed the batch's UPDATE and the batch was retried.
    assert loads == ([1, 1] if sqlite else [1])
    async with services.db.session() as s:
        inc = await incidents.get(s, iid)
        actions = (await s.execute(select(AuditEntry.action).where(
            AuditEntry.entity == "incident", AuditEntry.entity_id == str(iid))
            .order_by(AuditEntry.id))).scalars().all()
    assert (inc.status, inc.taken_by, inc.taken_by_name) == ("taken", uid, "ann")
    assert inc.signal_count == 2 and sorted(inc.zones) == ["1", "5"]
    assert actions == ["open", "take"]
    assert engine.failed_batches == 0


async def test_one_batch_joins_many_open_incidents_and_audits_each_change(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    for n in range(5):
        directory.add(f"50{n}")
    await engine.handle_signals([sig(clock, f"50{n}", "130") for n in range(5)])  # burglary
    before = {r.account_number: r.version for r in await _incidents(services)}
    # a fire on two accounts raises their priority (audited); a zone on the others only joins
    await engine.handle_signals([sig(clock, f"50{n}", "110" if n < 2 else "130", zone="007")
                                 for n in range(5)])
    rows = await _incidents(services)
    assert len(rows) == 5
    assert all(r.signal_count == 2 and "7" in r.zones for r in rows)
    assert all(r.version == before[r.account_number] + 1 for r in rows)
    assert {r.account_number for r in rows if r.kind == "fire"} == {"500", "501"}
    async with services.db.session() as s:
        audited = (await s.execute(select(AuditEntry.entity_id, AuditEntry.after).where(
            AuditEntry.action == "signals"))).all()
    fire_ids = {str(r.id) for r in rows if r.kind == "fire"}
    assert {e for e, _ in audited} == fire_ids
    assert all(after["kind"] == "fire" for _, after in audited)


async def _incidents(services: Services) -> list[Incident]:
    async with services.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars().all())


async def test_reopen_is_refused_while_the_account_has_another_open_incident(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    uid = await ensure_user(services, "ann", "agent")
    ann = Actor("ann", uid)
    first = await open_incident(engine, directory, clock)
    async with services.db.transaction() as s:
        await incidents.take(s, clock, ann, first, Outbox())
        await incidents.close(s, clock, ann, first, "false_alarm", "user_error", None, Outbox())
    await engine.handle_signals([sig(clock, "1234", "130")])
    with pytest.raises(incidents.Conflict):
        async with services.db.transaction() as s:
            await incidents.reopen(s, clock, ann, first, None, Outbox())
    rows = await _incidents(services)
    assert [(r.id == first, r.status) for r in rows] == [(True, "closed"), (False, "new")]


async def test_a_duress_racing_the_engine_joins_the_incident_the_engine_opened(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    async with services.db.transaction() as s:
        account_id = (await records.create_account(s, clock, Actor("admin", None),
                                                   number="5501", name="Jade Bakery")).id
    directory.accounts["5501"] = AccountInfo(account_id, "5501", "Jade Bakery")
    await engine.handle_signals([sig(clock, "5501", "130")])
    found = api.open_operator_incident
    reads: list[int | None] = []

    async def read_before_the_engine_committed(s: Any, aid: int) -> Incident | None:
        inc = await found(s, aid) if reads else None  # the IVR's first read saw nothing
        reads.append(inc.id if inc else None)
        return inc

    monkeypatch.setattr(api, "open_operator_incident", read_before_the_engine_committed)
    out = Outbox()
    async with services.db.transaction() as s:
        inc = await api.raise_duress(s, clock, Actor.system("ivr"), account_id, None, None, out)
        iid = inc.id
    rows = await _incidents(services)
    assert reads == [None, iid] and [r.id for r in rows] == [iid]
    assert (rows[0].kind, rows[0].duress, rows[0].priority) == ("burglary", True, 1)
    assert [topic for topic, _ in out.events] == ["incident.updated"]


async def test_a_retried_batch_takes_its_runaway_tokens_once(
        services: Services, directory: FakeDirectory, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    directory.add("1234")
    node_b = Services(settings=services.settings, db=services.db, bus=Bus(node="b"),
                      clock=clock)
    limits = AlarmSettings(_env_file=None, runaway_capacity=2,  # type: ignore[call-arg]
                           runaway_rate_per_minute=0)
    a = AlarmEngine(services, directory, limits, local_only=True)
    b = AlarmEngine(node_b, directory, local_only=True)

    async def node_b_opens() -> None:
        await b.handle_signals([sig(clock, "1234", "130", zone="002")])

    loads = _before_first_write(monkeypatch, node_b_opens)
    await a.handle_signals([sig(clock, "1234", "130", zone="001")])  # rolled back once
    await a.handle_signals([sig(clock, "1234", "130", zone="003")])  # the second of two tokens
    assert len(loads) == 3
    rows = await _incidents(services)
    assert [(r.kind, r.signal_count) for r in rows] == [("burglary", 3)]
