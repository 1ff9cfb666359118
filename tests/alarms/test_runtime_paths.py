"""Paths between the engine and the rest: crm through CrmDirectory, verification results over
the bus, the receiver-line trouble route, the handling-time report, and the running part on
several nodes (one incident per signal, timers under a lease)."""

from __future__ import annotations

import asyncio
from datetime import time

from sqlalchemy import select

from alarms import incidents, runtime
from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine
from alarms.incidents import Outbox
from alarms.models import Incident, IncidentSignal, VerificationCall
from alarms.subscriber import AccountInfo, CrmDirectory
from core.audit import Actor
from core.bus import Bus, Event
from core.clock import FakeClock
from core.lease import LeaseStore
from core.services import Services
from crm import records
from crm.models import Account, Panel, ScheduleWindow, Zone
from tests.alarms.conftest import FakeDirectory, sig
from tests.alarms.test_workflow import open_incident
from tests.conftest import LoginFactory, ensure_user

ADMIN = Actor("admin", None)


async def crm_account(services: Services, number: str = "7001", prefix: str = "02") -> int:
    clock = services.clock
    async with services.db.transaction() as s:
        a = await records.create_account(s, clock, ADMIN, number=number, name="Lotus Tea House",
                                         receiver_prefix=prefix, timezone="UTC")
        await records.create_contact(s, clock, ADMIN, account_id=a.id, name="Li Wei",
                                     passcode="2468", duress_code="1357",
                                     phones=[{"number": "13800138000"}])
        panel = await records.create(s, clock, ADMIN, Panel(account_id=a.id, model="DS-PWA64",
                                                            test_interval_minutes=1440))
        await records.create(s, clock, ADMIN, Zone(panel_id=panel.id, number=3,
                                                   device_model="PIR-200"))
        await records.create(s, clock, ADMIN, Zone(panel_id=panel.id, number=4))
        await records.create(s, clock, ADMIN, ScheduleWindow(account_id=a.id, weekday=0,
                                                             opens=time(8), closes=time(18)))
        return a.id


async def test_crm_directory_answers_from_real_crm_records(services: Services) -> None:
    aid = await crm_account(services)
    await crm_account(services, number="7002")  # no schedule difference: both have one
    d = CrmDirectory(services.db, services.clock)
    info = await d.lookup("7001", "02")
    assert info == AccountInfo(aid, "7001", "Lotus Tea House", "active", 1440)
    assert await d.lookup("7001", "") is None and await d.lookup("9999", "02") is None
    assert await d.account_by_id(aid) == info and await d.account_by_id(10_000) is None
    targets = await d.call_list(aid)
    assert [(t.name, t.numbers, t.has_passcode) for t in targets] == [
        ("Li Wei", ["+8613800138000"], True)]
    contact = targets[0].contact_id
    assert contact is not None
    assert [await d.verify_code(contact, c, ADMIN) for c in ("2468", "1357", "0000")] == [
        "valid", "duress", "invalid"]
    assert info.test_interval_minutes == 1440  # the shortest of its live panels
    sched = (await d.schedules([aid]))[aid]
    assert sched.timezone == "UTC" and [w.weekday for w in sched.windows] == [0]
    assert aid in await d.scheduled_account_ids()
    assert await d.zone_devices(aid) == {"3": "PIR-200", "4": "DS-PWA64"}
    order = await d.create_work_order(aid, "Check PIR zone 3", "3 false alarms", ADMIN)
    assert order > 0
    async with services.db.transaction() as s:
        await records.archive(s, services.clock, ADMIN, await records.get(s, Account, aid),
                              "contract ended")
    assert await d.lookup("7001", "02") is None


async def test_a_verification_calls_outcome_comes_over_the_bus_from_the_call(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    """The CTI's ``call.progress`` says the far party answered while the call goes on (the
    operator may check the passcode then); ``verification.call_result`` closes it. The
    operator's own leg answering is no answer; what the operator entered is never overwritten."""
    iid = await open_incident(engine, directory, clock)
    uid = await ensure_user(services, "ann", "agent")
    async with services.db.transaction() as s:
        await incidents.take(s, clock, Actor("ann", uid), iid, Outbox())
        call = await incidents.request_call(s, clock, Actor("ann", uid), iid,
                                            number="+8613800138000", contact_id=41,
                                            contact_name="Li Wei", step=None, out=Outbox())
    updates = services.bus.subscribe("incident.updated")
    await engine.start(tick=False)
    progress = {"call_id": "verif-1", "kind": "verification", "user_id": uid,
                "verification_id": call.id, "incident_id": iid}
    await services.bus.publish("call.progress", {**progress, "stage": "own_answered"})
    await services.bus.publish("call.progress", {**progress, "stage": "answered"})
    ev = await updates.get(within=10)
    assert ev.data["change"] == "call_result" and ev.data["call"]["result"] == "answered"
    async with services.db.transaction() as s:
        await incidents.record_call_check(s, clock, Actor("ann", uid), call.id,
                                          answered_by="Li Wei", code_result="valid",
                                          note="false alarm, cat", out=Outbox())
    await services.bus.publish("verification.call_result", {
        "call_id": call.id, "result": "answered", "cti_call_id": "verif-1",
        "call_record_id": 7, "talk_seconds": 42.0})
    ev = await updates.get(within=10)
    assert ev.data["call"]["completed_at"] is not None
    async with services.db.session() as s:
        row = await s.get(VerificationCall, call.id)
    assert row is not None
    assert (row.result, row.cti_call_id, row.call_record_id, row.talk_seconds) == (
        "answered", "verif-1", 7, 42.0)
    assert (row.answered_by, row.code_result, row.note) == ("Li Wei", "valid",
                                                            "false alarm, cat")


async def test_receiver_line_trouble_goes_to_the_technical_desk_per_line(
        engine: AlarmEngine, services: Services, clock: FakeClock) -> None:
    await engine.handle_signals([sig(clock, "", "354", line="R01L1", zone=""),
                                 sig(clock, "", "354", line="R01L1", zone=""),
                                 sig(clock, "", "354", line="R01L2", zone="")])
    await engine.handle_signals([sig(clock, "", "354", "restore", line="R01L1", zone="")])
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident).order_by(Incident.id))).scalars().all()
        logged = (await s.execute(select(IncidentSignal).order_by(IncidentSignal.id)))
        signals = logged.scalars().all()
    assert [(r.account_key, r.desk, r.kind, r.signal_count) for r in rows] == [
        ("receiver:dc09/R01L1", "technical", "comm_trouble", 3),
        ("receiver:dc09/R01L2", "technical", "comm_trouble", 1)]
    assert signals[-1].qualifier == "restore" and signals[-1].incident_id == rows[0].id


async def test_handling_time_report_over_http(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    uid = await ensure_user(services, "ann", "agent")
    ann = Actor("ann", uid)
    for taken_after in (30, 90):
        iid = await open_incident(engine, directory, clock, number=f"8{taken_after}")
        clock.advance(10)
        async with services.db.transaction() as s:
            await incidents.mark_shown(s, clock, iid, Outbox())
        clock.advance(taken_after - 10)
        async with services.db.transaction() as s:
            await incidents.take(s, clock, ann, iid, Outbox())
        clock.advance(60)
        async with services.db.transaction() as s:
            await incidents.close(s, clock, ann, iid, "false_alarm", "user_error", None,
                                  Outbox())
    await open_incident(engine, directory, clock, number="899")  # open: not counted
    sup = await login("supervisor")
    r = await sup.get("/api/alarm-stats/handling")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["incidents"] == 2
    assert (body["to_shown_s"], body["to_taken_s"], body["to_closed_s"]) == (10.0, 60.0, 120.0)
    assert body["to_dispatched_s"] is None


async def test_a_signal_fanned_out_to_two_nodes_opens_one_incident(
        services: Services, directory: FakeDirectory, clock: FakeClock) -> None:
    directory.add("1234")
    node_b = Services(settings=services.settings, db=services.db, bus=Bus(node="b"),
                      clock=clock)
    a = AlarmEngine(services, directory, local_only=True)
    b = AlarmEngine(node_b, directory, local_only=True)
    event = Event("signal.received", sig(clock, "1234", "130"), origin=services.bus.node)
    await a.handle_events([event])
    await b.handle_events([event])  # what node b receives through the cross-node bus
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident))).scalars().all()
    assert len(rows) == 1 and rows[0].signal_count == 1
    assert (a.processed, b.processed) == (1, 0)


async def test_run_alarms_uses_crm_handles_local_signals_and_holds_the_timer_lease(
        services: Services, clock: FakeClock) -> None:
    aid = await crm_account(services, prefix="")
    opened = services.bus.subscribe("incident.opened")
    task = asyncio.create_task(runtime.run_alarms(services))
    try:
        for _ in range(200):
            if "alarms.engine" in services.extra:
                break
            await asyncio.sleep(0.01)
        lease = None
        for _ in range(200):
            lease = await LeaseStore(services.db).get(runtime.TIMER_LEASE)
            if lease is not None:
                break
            await asyncio.sleep(0.02)
        assert lease is not None and lease.holder == services.settings.node_name
        await asyncio.sleep(0.05)  # let the engine subscribe
        await services.bus.publish("signal.received", sig(clock, "7001", "130", zone="003"))
        ev = await opened.get(within=10)
        assert ev.data["incident"]["account_id"] == aid
        assert ev.data["incident"]["account_name"] == "Lotus Tea House"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert services.extra["alarms.engine"]._tasks == []


async def test_receiver_without_a_prefix_reports_the_one_account_of_that_number(
        services: Services) -> None:
    # crm's generated subscribers (and `vigil demo`'s) all have a receiver prefix ("01" ...)
    # while no receiver has one configured: the panel's number alone must find its account.
    d = CrmDirectory(services.db, services.clock)
    aid = await crm_account(services, number="0166", prefix="01")
    assert (await d.lookup("0166", None)) == AccountInfo(aid, "0166", "Lotus Tea House",
                                                          "active", 1440)
    assert await d.lookup("0166", "") is None and await d.lookup("01660", None) is None
    other = await crm_account(services, number="0166", prefix="02")
    assert await d.lookup("0166", None) is None  # ambiguous: an administrator must say which
    assert (await d.lookup("0166", "02")) is not None
    assert (await d.lookup("0166", "02")).id == other  # type: ignore[union-attr]
    plain = await crm_account(services, number="0166", prefix="")
    assert (await d.lookup("0166", None)).id == plain  # type: ignore[union-attr]


async def test_crm_directory_answers_a_batch_of_numbers_with_the_same_rule(
        services: Services) -> None:
    d = CrmDirectory(services.db, services.clock)
    only = await crm_account(services, number="0166", prefix="01")
    a2 = await crm_account(services, number="0277", prefix="02")
    a3 = await crm_account(services, number="0277", prefix="03")
    plain = await crm_account(services, number="0388", prefix="")
    await crm_account(services, number="0388", prefix="04")
    keys: list[tuple[str, str | None]] = [
        ("0166", None), ("0166", "01"), ("0166", ""), ("0277", None), ("0277", "03"),
        ("0388", None), ("0388", "05"), ("9999", None), ("", None)]
    found = await d.lookup_many(keys)
    assert {k: (v.id if v else None) for k, v in found.items()} == {
        ("0166", None): only, ("0166", "01"): only, ("0166", ""): None,
        ("0277", None): None,  # two prefixes: ambiguous until the receiver's is configured
        ("0277", "03"): a3, ("0388", None): plain, ("0388", "05"): None,
        ("9999", None): None, ("", None): None}
    assert a2 != a3


async def test_signals_of_crm_accounts_on_a_receiver_without_prefix_are_not_unknown(
        services: Services, clock: FakeClock) -> None:
    aid = await crm_account(services, number="0166", prefix="01")
    plain = AlarmEngine(services, CrmDirectory(services.db, clock))
    await plain.handle_signals([sig(clock, "0166", "130", receiver="dc09")])
    wrong_line = AlarmEngine(services, CrmDirectory(services.db, clock), AlarmSettings(
        _env_file=None, receiver_prefixes={"dc09": "02"}))  # type: ignore[call-arg]
    await wrong_line.handle_signals([sig(clock, "0166", "130", receiver="dc09")])
    async with services.db.session() as s:
        rows = (await s.execute(select(Incident).order_by(Incident.id))).scalars().all()
    assert [(r.kind, r.account_id, r.account_key) for r in rows] == [
        ("burglary", aid, f"id:{aid}"), ("unknown_account", None, "unknown:0166")]


async def test_share_of_incidents_taken_within_30_and_60_seconds_today(
        services: Services, engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock,
        login: LoginFactory) -> None:
    uid = await ensure_user(services, "bea", "agent")
    bea = Actor("bea", uid)
    for taken_after in (20, 45, 90):
        iid = await open_incident(engine, directory, clock, number=f"7{taken_after}")
        clock.advance(taken_after)
        async with services.db.transaction() as s:
            await incidents.take(s, clock, bea, iid, Outbox())
    await open_incident(engine, directory, clock, number="7999")  # waiting 0 s: not judged
    sup = await login("supervisor")
    r = await sup.get("/api/alarm-stats/taken-within")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["opened"] == 4
    assert (body["judged_30s"], body["within_30s"]) == (3, round(1 / 3, 4))
    assert (body["judged_60s"], body["within_60s"]) == (3, round(2 / 3, 4))
    clock.advance(61)  # the waiting one is now a miss on both counts
    body = (await sup.get("/api/alarm-stats/taken-within")).json()
    assert (body["within_30s"], body["within_60s"]) == (0.25, 0.5)
    agent = await login("agent")
    assert (await agent.get("/api/alarm-stats/taken-within")).status_code == 403


async def test_run_alarms_applies_at_start_what_the_journal_holds_and_no_batch_applied(
        services: Services, clock: FakeClock) -> None:
    from receivers.journal import SignalJournal, journaled
    from receivers.signal import Signal

    aid = await crm_account(services, prefix="")
    async with SignalJournal(services.db, None, clock) as j:
        await j.store([Signal(received_at=clock.now(), receiver="dc09", line="R01L1",
                              protocol="dc09", account="7001", event_code="130",
                              event_system="cid", qualifier="new", zone="003",
                              sequence="0042")])
    clock.advance(120)  # journaled two minutes before the (re)start, never applied
    opened = services.bus.subscribe("incident.opened")
    task = asyncio.create_task(runtime.run_alarms(services, journal=journaled))
    try:
        ev = await opened.get(within=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert ev.data["incident"]["account_id"] == aid
    assert ev.data["incident"]["kind"] == "burglary" and ev.data["signal_ids"]


async def test_crm_directory_pages_through_live_accounts_for_the_book(
        services: Services) -> None:
    d = CrmDirectory(services.db, services.clock)
    ids = [await crm_account(services, number=f"09{n}", prefix=f"0{n}") for n in range(3)]
    async with services.db.transaction() as s:
        await records.archive(s, services.clock, ADMIN, await records.get(s, Account, ids[1]),
                              "contract ended")
    first = await d.live_accounts(0, 1)
    rest = await d.live_accounts(first[-1][1].id, 10)
    assert [(p, i.id, i.number, i.test_interval_minutes) for p, i in first + rest] == [
        ("00", ids[0], "090", 1440), ("02", ids[2], "092", 1440)]


async def test_a_signals_account_is_looked_up_once_as_the_journal_stores_it(
        services: Services, engine: AlarmEngine, directory: FakeDirectory,
        clock: FakeClock) -> None:
    """The assembly hands the journal the engine's account book: the journal stores and
    publishes each signal with its account, and the engine does not look it up again."""
    from receivers.journal import SignalJournal
    from receivers.signal import Signal
    from vigil.parts import EngineAccounts

    info = directory.add("1234")

    def panel(number: str, seq: str) -> Signal:
        return Signal(received_at=clock.now(), receiver="dc09", line="R01L1", protocol="dc09",
                      account=number, event_code="130", event_system="cid", qualifier="new",
                      zone="003", sequence=seq)

    with services.bus.subscribe("signal.received") as sub:
        async with SignalJournal(services.db, services.bus, clock,
                                 directory=EngineAccounts(services)) as journal:
            await journal.store([panel("1234", "0001"), panel("9999", "0002")])
            published = [dict((await sub.get(within=2)).data) for _ in range(2)]
    assert [(p["account_id"], p["unknown_account"]) for p in published] == [
        (info.id, False), (None, True)]
    asked = directory.lookup_calls
    assert asked == 1  # both numbers, once, for the journal
    await engine.handle_signals(published)
    assert directory.lookup_calls == asked  # the engine took the journal's answer
    rows = await all_incidents(services)
    assert [(r.kind, r.account_id) for r in rows] == [("burglary", info.id),
                                                      ("unknown_account", None)]


async def all_incidents(services: Services) -> list[Incident]:
    async with services.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())
