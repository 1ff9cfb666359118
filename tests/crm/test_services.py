"""crm services on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from crm import kb, records, tickets
from crm import services as crm
from crm.errors import FieldError
from crm.models import Account, Contact, Phone, Ticket

ACTOR = Actor("tester", None)


async def audit_of(svc: Services, entity: str, entity_id: Any) -> list[AuditEntry]:
    async with svc.db.session() as s:
        rows = await s.execute(select(AuditEntry).where(
            AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id))
        return list(rows.scalars())


async def make_account(svc: Services, number: str = "1234", **kw: Any) -> int:
    async with svc.db.transaction() as s:
        a = await records.create_account(s, svc.clock, ACTOR, number=number,
                                         name=kw.pop("name", "王芳"), **kw)
        return a.id


async def test_account_create_update_archive_are_audited_and_archived_stays_readable(
        services: Services) -> None:
    account_id = await make_account(services)
    async with services.db.transaction() as s:
        a = await records.get(s, Account, account_id)
        await records.update(s, services.clock, ACTOR, a,
                             {"name": "Wang Fang", "status": "on_hold"})
    async with services.db.transaction() as s:
        a = await records.get(s, Account, account_id)
        await records.archive(s, services.clock, ACTOR, a, "contract ended")
    entries = await audit_of(services, "account", account_id)
    assert [e.action for e in entries] == ["create", "update", "archive"]
    assert entries[0].after and entries[0].after["number"] == "1234"
    assert entries[1].before == {"name": "王芳", "status": "active"}
    assert entries[1].after and entries[1].after["name"] == "Wang Fang"
    assert entries[2].note == "contract ended" and entries[2].after
    assert entries[2].after["archived_at"] is not None
    async with services.db.session() as s:
        a = await records.load_account(s, account_id)
        assert a.archived and a.name == "Wang Fang"
        items, total = await records.list_accounts(s)
        assert total == 0
        items, total = await records.list_accounts(s, include_archived=True)
        assert total == 1 and items[0]["archived"] is True


async def test_failed_change_rolls_back_with_its_audit_entry(services: Services) -> None:
    await make_account(services, "1000")
    other = await make_account(services, "2000")
    with pytest.raises(FieldError) as err:
        async with services.db.transaction() as s:
            a = await records.get(s, Account, other)
            await records.update(s, services.clock, ACTOR, a, {"number": "1000"})
    assert err.value.loc == ["number"] and "already exists" in err.value.msg
    assert [e.action for e in await audit_of(services, "account", other)] == ["create"]
    # the same number under another receiver prefix is a different account
    await make_account(services, "1000", receiver_prefix="02")


async def test_phone_lookup_in_every_written_form(services: Services) -> None:
    account_id = await make_account(services)
    async with services.db.transaction() as s:
        owner = await records.create_contact(
            s, services.clock, ACTOR, account_id=account_id, name="王芳", role="owner",
            passcode="2580", phones=[{"number": "138 0013 8000", "kind": "mobile"}])
        await records.add_phone(s, services.clock, ACTOR, account_id=account_id,
                                number="010-6552 9988", kind="premises")
    async with services.db.session() as s:
        for raw in ["138 0013 8000", "+86-138-0013-8000", "008613800138000"]:
            found = await crm.lookup_by_phone(s, raw, "CN")
            assert [(o.account_id, o.contact_id, o.contact_role) for o in found] == [
                (account_id, owner.id, "owner")], raw
        line = await crm.lookup_by_phone(s, "(010) 65529988")
        assert [(o.account_id, o.contact_id, o.kind) for o in line] == [
            (account_id, None, "premises")]
        assert await crm.lookup_by_phone(s, "139 0000 0000") == []
        assert await crm.lookup_by_phone(s, "anonymous") == []
    # an archived number no longer pops the account
    async with services.db.transaction() as s:
        phone = (await s.execute(select(Phone).where(Phone.e164 == "+8613800138000"))).scalar_one()
        await records.archive(s, services.clock, ACTOR, phone)
    async with services.db.session() as s:
        assert await crm.lookup_by_phone(s, "13800138000") == []


async def test_invalid_phone_names_the_field(services: Services) -> None:
    account_id = await make_account(services)
    with pytest.raises(FieldError) as err:
        async with services.db.transaction() as s:
            await records.create_contact(s, services.clock, ACTOR, account_id=account_id,
                                         name="x", phones=[{"number": "13800138000"},
                                                           {"number": "12"}])
    assert err.value.loc == ["phones", 1, "number"]


async def test_call_list_order_and_code_verification(services: Services) -> None:
    account_id = await make_account(services)
    async with services.db.transaction() as s:
        second = await records.create_contact(s, services.clock, ACTOR, account_id=account_id,
                                              name="Li Qiang", role="keyholder", call_order=2,
                                              phones=[{"number": "13900139000"}])
        first = await records.create_contact(s, services.clock, ACTOR, account_id=account_id,
                                             name="王芳", role="owner", call_order=1,
                                             passcode="2580", duress_code="9111",
                                             phones=[{"number": "13800138000"}])
        await records.add_phone(s, services.clock, ACTOR, account_id=account_id,
                                number="02165529988", kind="premises")
        stored = await records.get(s, Contact, first.id)
        assert stored.passcode_hash and "2580" not in stored.passcode_hash
    async with services.db.session() as s:
        entries = await crm.call_list(s, account_id)
    assert [(e.role, e.contact_id) for e in entries] == [
        ("premises", None), ("owner", first.id), ("keyholder", second.id)]
    assert entries[1].has_passcode and not entries[2].has_passcode
    results = {}
    async with services.db.transaction() as s:
        for code in ["2580", "9111", "0000"]:
            results[code] = await crm.verify_contact_code(s, services.clock, ACTOR, first.id,
                                                          code)
    assert results == {"2580": "valid", "9111": "duress", "0000": "invalid"}
    audit = await audit_of(services, "contact", first.id)
    assert [e.note for e in audit if e.action == "verify_code"] == ["valid", "duress", "invalid"]
    create = next(e for e in audit if e.action == "create")
    assert create.after and create.after["passcode_hash"] == "***"
    with pytest.raises(FieldError) as err:
        async with services.db.transaction() as s:
            await records.create_contact(s, services.clock, ACTOR, account_id=account_id,
                                         name="x", passcode="1111", duress_code="1111")
    assert err.value.loc == ["duress_code"]


async def test_summary_completeness_and_schedule(services: Services) -> None:
    account_id = await make_account(services)
    async with services.db.session() as s:
        summary = await crm.account_summary(s, account_id, services.clock.now().date())
        assert summary["number"] == "1234" and summary["premises"] is None
        assert summary["completeness"]["score"] == 0
        assert (await crm.get_schedule(s, account_id)).windows == ()


async def ticket_for(svc: Services, **kw: Any) -> int:
    async with svc.db.transaction() as s:
        t = await tickets.create_ticket(s, svc.clock, ACTOR, kind=kw.pop("kind", "repair"),
                                        subject="主机故障", policy=tickets.SlaPolicy(), **kw)
        return t.id


async def user_id(svc: Services, name: str) -> int:
    from tests.conftest import ensure_user

    return await ensure_user(svc, name, "agent")


async def test_ticket_life_cycle_is_timed_and_audited(services: Services,
                                                      clock: FakeClock) -> None:
    worker = await user_id(services, "agent7")
    tid = await ticket_for(services)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("assign", {"assignee_id": worker}), ("start", {}), ("finish", {}),
        ("rework", {"note": "zone 3 still faulty"}), ("start", {}), ("finish", {}),
        ("close", {})]
    for action, kw in steps:
        clock.advance(600)
        async with services.db.transaction() as s:
            t = await records.get(s, Ticket, tid)
            await tickets.transition(s, services.clock, ACTOR, t, action, **kw)
    async with services.db.session() as s:
        history = await tickets.ticket_history(s, tid)
        t = await records.get(s, Ticket, tid)
    assert [h["to"] for h in history] == ["recorded", "assigned", "in_progress", "done",
                                          "rework", "in_progress", "done", "closed"]
    times = [h["at"] for h in history]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert t.status == "closed" and t.assignee_id == worker and t.closed_at == clock.now()
    actions = [e.action for e in await audit_of(services, "ticket", tid)]
    assert actions == ["create"] + [a for a, _ in steps]
    with pytest.raises(FieldError) as err:
        async with services.db.transaction() as s:
            t = await records.get(s, Ticket, tid)
            await tickets.transition(s, services.clock, ACTOR, t, "start")
    assert err.value.loc == ["action"] and "closed" in err.value.msg
    with pytest.raises(FieldError) as err:
        async with services.db.transaction() as s:
            t = await records.get(s, Ticket, tid)
            await records.update(s, services.clock, ACTOR, t, {"status": "recorded"})
    assert err.value.loc == ["status"]


async def test_sla_colours_follow_the_fake_clock(services: Services, clock: FakeClock) -> None:
    policy = tickets.SlaPolicy(yellow_hours=4)
    tid = await ticket_for(services, due_at=clock.now() + timedelta(hours=10))
    async with services.db.session() as s:
        t = await records.get(s, Ticket, tid)
        assert tickets.sla_colour(t, clock.now(), policy) == "green"
        assert tickets.sla_colour(t, clock.now() + timedelta(hours=6, minutes=1), policy) == \
            "yellow"
        assert tickets.sla_colour(t, clock.now() + timedelta(hours=10, seconds=1), policy) == \
            "red"
    # work finished in time stays green afterwards; the default due time follows the kind
    clock.advance(3600)
    async with services.db.transaction() as s:
        t = await records.get(s, Ticket, tid)
        await tickets.transition(s, services.clock, ACTOR, t, "assign",
                                 assignee_id=await user_id(services, "agent8"))
        await tickets.transition(s, services.clock, ACTOR, t, "start")
        await tickets.transition(s, services.clock, ACTOR, t, "finish")
    async with services.db.session() as s:
        t = await records.get(s, Ticket, tid)
        assert tickets.sla_colour(t, clock.now() + timedelta(days=3), policy) == "green"
    quick = await ticket_for(services, kind="consultation")
    async with services.db.session() as s:
        t = await records.get(s, Ticket, quick)
        assert t.due_at == clock.now() + timedelta(hours=24)


async def test_kb_search_and_view_counts(services: Services) -> None:
    async with services.db.transaction() as s:
        zh = await kb.create_article(s, services.clock, ACTOR, title="如何取消误报",
                                     body="请对方说出密码，核对后关闭警情。", tags="误报")
        en = await kb.create_article(s, services.clock, ACTOR, title="Cancel a False Alarm",
                                     body="Ask for the passcode.", language="en")
        old = await kb.create_article(s, services.clock, ACTOR, title="旧的误报流程",
                                      body="已作废")
        await records.archive(s, services.clock, ACTOR, old)
    async with services.db.session() as s:
        assert [a.id for a in (await kb.search(s, "误报"))[0]] == [zh.id]
        assert [a.id for a in (await kb.search(s, "FALSE alarm"))[0]] == [en.id]
        assert [a.id for a in (await kb.search(s, "passcode alarm"))[0]] == [en.id]
        assert (await kb.search(s, "误报 passcode"))[1] == 0
        rows, total = await kb.search(s, "误报", include_archived=True)
        assert total == 2 and {a.id for a in rows} == {zh.id, old.id}
        assert (await kb.search(s, "100%"))[1] == 0  # wildcards are searched literally
    for _ in range(3):
        async with services.db.transaction() as s:
            article = await kb.view_article(s, zh.id)
    assert article.views == 3
    async with services.db.transaction() as s:
        article = await records.get(s, type(zh), zh.id)
        await records.update(s, services.clock, ACTOR, article, {"body": "新的流程：先核对姓名"})
    async with services.db.session() as s:
        assert [a.id for a in (await kb.search(s, "核对姓名"))[0]] == [zh.id]
    assert [e.action for e in await audit_of(services, "kb_article", zh.id)] == [
        "create", "update"]


async def test_work_order_and_schedule_audited(services: Services, clock: FakeClock) -> None:
    account_id = await make_account(services)
    async with services.db.transaction() as s:
        wo = await tickets.create_work_order(s, services.clock, ACTOR, account_id=account_id,
                                             summary="更换烟感")
        await records.update(s, services.clock, ACTOR, wo, {"status": "done"})
        assert wo.completed_at == clock.now()
    assert [e.action for e in await audit_of(services, "work_order", wo.id)] == [
        "create", "update"]


async def test_account_code_check_and_codes_kept_apart(services: Services) -> None:
    account_id = await make_account(services)
    async with services.db.transaction() as s:
        await records.create_contact(s, services.clock, ACTOR, account_id=account_id,
                                     name="A", role="owner", passcode="2580")
        second = await records.create_contact(s, services.clock, ACTOR, account_id=account_id,
                                              name="B", passcode="1357", duress_code="9111")
    async with services.db.transaction() as s:
        assert await crm.verify_account_code(s, services.clock, ACTOR, account_id, "1357") == (
            "valid", second.id)
        assert await crm.verify_account_code(s, services.clock, ACTOR, account_id, "9111") == (
            "duress", second.id)
        assert await crm.verify_account_code(s, services.clock, ACTOR, account_id, "1") == (
            "invalid", None)
    notes = [e.note for e in await audit_of(services, "account", account_id)
             if e.action == "verify_code"]
    assert notes == [f"valid contact={second.id}", f"duress contact={second.id}", "invalid"]
    with pytest.raises(FieldError) as err:
        async with services.db.transaction() as s:
            c = await records.get(s, Contact, second.id)
            await records.update(s, services.clock, ACTOR, c, {"passcode": "9111"})
    assert err.value.loc == ["passcode"]
    async with services.db.transaction() as s:
        c = await records.get(s, Contact, second.id)
        await records.update(s, services.clock, ACTOR, c, {"duress_code": ""})
        assert c.duress_hash is None


async def test_schedule_for_the_alarm_engine_round_trips(services: Services) -> None:
    from datetime import UTC, date, datetime, time

    from crm.models import Holiday, ScheduleException, ScheduleWindow

    account_id = await make_account(services)
    other = await make_account(services, "5678")
    async with services.db.transaction() as s:
        for wd in range(5):
            await records.create(s, services.clock, ACTOR, ScheduleWindow(
                account_id=account_id, weekday=wd, opens=time(9, 0), closes=time(18, 30)))
        await records.create(s, services.clock, ACTOR, Holiday(
            account_id=account_id, day=date(2026, 2, 17), name="春节"))
        await records.create(s, services.clock, ACTOR, ScheduleException(
            account_id=account_id, starts_at=datetime(2026, 3, 2, tzinfo=UTC),
            ends_at=datetime(2026, 3, 9, tzinfo=UTC), expected="closed", reason="装修"))
        gone = await records.create(s, services.clock, ACTOR, ScheduleWindow(
            account_id=account_id, weekday=6, opens=time(10), closes=time(12)))
        await records.archive(s, services.clock, ACTOR, gone)
    async with services.db.session() as s:
        sched = await crm.get_schedule(s, account_id)
        both = await crm.get_schedules(s, [account_id, other])
    assert len(sched.windows) == 5 and sched.windows[0].closes == time(18, 30)
    assert sched.holidays == frozenset({date(2026, 2, 17)})
    assert both[other].windows == () and both[account_id] == sched
    at = datetime(2026, 1, 5, 10, 29, tzinfo=UTC)  # Monday 18:29 in Shanghai
    assert crm.expected_state(sched, at) == "open"
    assert crm.expected_state(sched, at.replace(minute=31)) == "closed"
    assert crm.expected_state(sched, datetime(2026, 2, 17, 3, tzinfo=UTC)) == "closed"
    assert crm.expected_state(sched, datetime(2026, 3, 3, 3, tzinfo=UTC)) == "closed"
    assert crm.expected_state(sched, datetime(2026, 3, 10, 3, tzinfo=UTC)) == "open"
    entries = await audit_of(services, "schedule_window", gone.id)
    assert [e.action for e in entries] == ["create", "archive"]
    assert entries[0].after and entries[0].after["opens"] == "10:00:00"


async def test_lookup_sees_the_sessions_own_unflushed_changes(services: Services) -> None:
    account_id = await make_account(services)
    async with services.db.transaction() as s:
        s.add(Phone(account_id=account_id, kind="premises", raw="021 6552 9988",
                    e164="+862165529988"))
        found = await crm.lookup_by_phone(s, "02165529988")
        assert [o.account_id for o in found] == [account_id]


async def test_light_readers_for_other_packages(services: Services) -> None:
    from datetime import time

    from crm.models import Panel, ScheduleWindow, Zone

    account_id = await make_account(services, "0077", receiver_prefix="03")
    plain = await make_account(services, "0078", receiver_prefix="03")
    async with services.db.transaction() as s:
        panel = await records.create(s, services.clock, ACTOR, Panel(
            account_id=account_id, model="Vista-20P", test_interval_minutes=1440))
        await records.create(s, services.clock, ACTOR, Zone(
            panel_id=panel.id, number=2, description="后门", device_model="MC-31"))
        old = await records.create(s, services.clock, ACTOR, Zone(panel_id=panel.id, number=1))
        await records.archive(s, services.clock, ACTOR, old)
        await records.create(s, services.clock, ACTOR, ScheduleWindow(
            account_id=account_id, weekday=0, opens=time(9), closes=time(17)))
    async with services.db.session() as s:
        info = await crm.find_account_info(s, "0077", "03")
        assert info and info["id"] == account_id and info["status"] == "active"
        assert await crm.find_account_info(s, "0077", "04") is None
        assert await crm.find_account(s, "0078", "03") == plain
        assert (await crm.account_info(s, plain) or {})["number"] == "0078"
        assert await crm.account_info(s, 999999) is None
        assert await crm.scheduled_account_ids(s) == [account_id]
        assert [(z["number"], z["device_model"], z["panel_model"])
                for z in await crm.zones(s, account_id)] == [(2, "MC-31", "Vista-20P")]
        assert [p["test_interval_minutes"] for p in await crm.panel_settings(s, account_id)] == [
            1440]


async def test_sample_subscriber_numbers_are_live_subscribers_in_e164(
        services: Services) -> None:
    live = await make_account(services, "2001", name="Zhang Wei")
    gone = await make_account(services, "2002", name="Old Shop")
    async with services.db.transaction() as s:
        await records.add_phone(s, services.clock, ACTOR, account_id=live,
                                number="138 0013 8000", kind="mobile")
        await records.add_phone(s, services.clock, ACTOR, account_id=gone,
                                number="139 0013 9000", kind="mobile")
        await records.archive(s, services.clock, ACTOR, await records.get(s, Account, gone),
                              "cancelled")
    async with services.db.session() as s:
        assert await crm.sample_subscriber_numbers(s) == [("+8613800138000", "Zhang Wei")]
