"""The call in progress and the agent's state, end to end: pbxsim plays Asterisk over a real AMI
socket, the CTI runs as in ``vigil demo``, time is pbxsim's virtual clock.

Phones are the console's demo phones (``pbxsim.engine.phones``: answer, hang up, hold, as the
console's phone panel drives them); callers and keyholders are pbxsim's scripted parties. What is
checked is what the console reads: ``CtiService.current_call``, ``ScreenPop.current``, the bus
events (``agent.state``, ``call.ended``) and the stored call records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.models import AuditEntry
from crm.models import Phone
from cti.dispositions import dispose
from cti.service import CtiError
from cti.store import CallFilter, get_record, list_records, record_json
from tests.cti.pbx_world import Agents, open_world


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[Agents]:
    async with open_world(db_url) as w:
        yield w


async def answered(world: Agents, ext: str = "1001", number: str = "+8613900000077",
                   seconds: int = 600) -> str:
    """The user of ``ext`` logs into support and answers a caller; returns the call id."""
    user_id = world.agent_id if ext == "1001" else world.agent2_id
    await world.cti.service.login(user_id, ["support"])
    await world.run_for(0.5)
    await world.queue_call(number, seconds)
    await world.run_for(1)
    assert [r.exten for r in world.sim.engine.phones.ringing()] == [ext]
    assert world.sim.engine.phones.answer(ext)
    await world.run_for(1)
    view = (await world.cti.service.current_call(user_id))["call"]
    assert view is not None and view["state"] == "connected"
    return str(view["call_id"])


async def stored(world: Agents, call_id: str) -> dict[str, Any]:
    async with world.services.db.session() as s:
        rows, _ = await list_records(s, CallFilter())
    [row] = [r for r in rows if r.call_id == call_id]
    return record_json(row)


def agent_rows(world: Agents, events: list[Any], ext: str) -> list[dict[str, Any]]:
    return [dict(e.data) for e in events if e.topic == "agent.state"
            and e.data.get("extension") == ext]


# ---------------------------------------------------------------------- hold


async def test_hold_keeps_the_agent_busy_and_the_call_shows_held(world: Agents) -> None:
    sub = world.services.bus.subscribe("agent.state", name="test")
    svc = world.cti.service
    call_id = await answered(world)
    world.cti.live.flush()
    assert world.sim.engine.phones.hold("1001")  # the phone panel's hold key
    await world.run_for(1)
    held_at = world.sched.now() - 1
    now = await svc.current_call(world.agent_id)
    assert now["call"]["state"] == "held"
    assert now["call"]["since"] == pytest.approx(held_at, abs=0.3)
    assert (now["agent"]["state"], now["agent"]["on_hold"]) == ("in_call", True)
    world.cti.live.flush()
    await world.run_for(9)
    # a second caller is not offered to the agent who holds a call
    await world.queue_call("+8613900000088", 30)
    await world.run_for(2)
    assert world.sim.engine.phones.ringing() == []
    assert world.sim.engine.phones.unhold("1001")
    await world.run_for(1)
    assert (await svc.current_call(world.agent_id))["call"]["state"] == "connected"
    world.cti.live.flush()
    rows = agent_rows(world, world.drain(sub), "1001")
    assert [(r["state"], r["on_hold"]) for r in rows] == [
        ("in_call", False), ("in_call", True), ("in_call", False)]
    assert world.sim.engine.phones.hangup("1001")
    await world.run_for(2)
    rec = await stored(world, call_id)
    [hold] = rec["holds"]
    assert hold["ended_at"] - hold["started_at"] == pytest.approx(12, abs=0.5)
    assert rec["hold_seconds"] == pytest.approx(12, abs=0.5) and rec["outcome"] == "answered"
    sub.close()


# ---------------------------------------------------------------------- conference


async def test_conference_adds_a_keyholder_and_ends_with_the_agent(world: Agents) -> None:
    world.sim.engine.phones.script_number("13900000002", "answer", after=3.0, talk=600)
    sub = world.services.bus.subscribe("call.ended", name="test")
    svc = world.cti.service
    call_id = await answered(world)
    out = await svc.conference(world.agent_id, "+86 139 0000 0002")
    assert (out["call_id"], out["party"]) == (call_id, "external")
    await world.run_for(5)
    view = (await svc.current_call(world.agent_id))["call"]
    assert view["call_id"] == call_id and view["state"] == "connected"
    parties = view["conference"]["participants"]
    assert [(p["role"], p["number"], p["left_at"]) for p in parties] == [
        ("party", "+8613900000077", None), ("agent", None, None),
        ("external", "+86 139 0000 0002", None)]
    # the agent hangs up: the caller and the keyholder are let go, everyone's call ends
    assert world.sim.engine.phones.hangup("1001")
    await world.run_for(3)
    assert world.sim.engine.channels == {}
    assert (await svc.current_call(world.agent_id))["call"] is None
    rec = await stored(world, call_id)
    assert rec["conference"]["room"] == out["room"]
    assert all(p["left_at"] is not None for p in rec["conference"]["participants"])
    assert (rec["outcome"], rec["ended_by"]) == ("answered", "agent")
    keyholder = await stored(world, out["invite_id"])
    assert (keyholder["conference_call_id"], keyholder["direction"]) == (call_id, "outbound")
    ended = [e.data for e in world.drain(sub) if e.data.get("call_id") == call_id]
    assert [a["user_id"] for a in ended[-1]["agents"]] == [world.agent_id]
    sub.close()


async def test_conference_with_a_colleague_who_answers_then_the_caller_leaves(
        world: Agents) -> None:
    svc = world.cti.service
    call_id = await answered(world)
    await svc.conference(world.agent_id, "1002")
    await world.run_for(1)
    assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1002"]
    colleague = (await svc.current_call(world.agent2_id))["call"]
    assert colleague["state"] == "ringing" and colleague["kind"] == "internal"
    assert world.sim.engine.phones.answer("1002")
    await world.run_for(1)
    colleague = (await svc.current_call(world.agent2_id))["call"]
    assert colleague["state"] == "connected"
    parties = [(p["role"], p["number"]) for p in colleague["conference"]["participants"]]
    assert parties == [("party", "+8613900000077"), ("agent", None), ("colleague", "1002")]
    # the caller hangs up: the agent and the colleague talk on; app_queue completes the
    # queue call as the caller's
    caller = next(c for c in world.sim.engine.channels.values()
                  if c.name.startswith("Local/talk@callers") and c.name.endswith(";1"))
    world.sim.engine.request_hangup(caller)
    await world.run_for(1)
    assert (await svc.current_call(world.agent_id))["call"]["state"] == "connected"
    with pytest.raises(CtiError):
        await svc.conference(world.agent_id, "1001")  # not yourself
    assert world.sim.engine.phones.hangup("1001")
    await world.run_for(2)
    assert world.sim.engine.channels == {}
    rec = await stored(world, call_id)
    assert rec["ended_by"] == "caller"  # app_queue's AgentComplete reason


async def test_an_invitation_still_ringing_when_the_agent_leaves_is_withdrawn(
        world: Agents) -> None:
    svc = world.cti.service
    await answered(world)
    await svc.conference(world.agent_id, "1002")
    await world.run_for(1)
    assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1002"]
    assert world.sim.engine.phones.hangup("1001")
    await world.run_for(2)
    assert world.sim.engine.phones.ringing() == []
    assert world.sim.engine.channels == {}


async def test_conference_needs_a_connected_call(world: Agents) -> None:
    with pytest.raises(CtiError, match="no call"):
        await world.cti.service.conference(world.agent_id, "13900000002")
    with pytest.raises(ValueError, match="target"):
        await world.cti.service.conference(world.agent_id, "  ")


# ---------------------------------------------------------------------- away


@pytest.mark.parametrize("action", ["logout", "pause"])
async def test_a_signed_out_agent_is_not_rung_the_next_caller_rings_someone_else(
        db_url: str, action: str) -> None:
    async with open_world(db_url, away_action=action) as world:
        sub = world.services.bus.subscribe("agent.state", name="test")
        svc = world.cti.service
        await svc.login(world.agent_id, ["support", "emergency"])
        await svc.login(world.agent2_id, ["support"])
        await world.run_for(0.5)
        world.cti.live.flush()
        world.services.bus.publish_nowait("console.agent_away", {
            "user_id": world.agent_id, "reason": "signed_out"})
        await world.run_for(1)
        world.cti.live.flush()
        for _ in range(3):  # rrmemory would otherwise come back to 1001 in turn
            await world.queue_call(seconds=2)
            await world.run_for(1)
            assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1002"]
            assert world.sim.engine.phones.answer("1002")
            await world.run_for(9)
        rows = agent_rows(world, world.drain(sub), "1001")
        if action == "logout":
            assert rows[-1]["state"] == "logged_out"
        else:
            assert (rows[-1]["state"], rows[-1]["pause_reason"]) == ("paused", "away")
            assert rows[-1]["paused_queues"] == ["emergency", "support"]
        async with world.services.db.session() as s:
            entries = (await s.execute(select(AuditEntry).where(
                AuditEntry.entity == "agent"))).scalars().all()
        [entry] = entries
        assert (entry.actor, entry.action, entry.entity_id, entry.note) == (
            "system:cti", f"away_{action}", str(world.agent_id), "signed_out")
        assert entry.before == {"queues": ["emergency", "support"], "paused_queues": []}
        sub.close()


async def test_away_for_an_agent_in_no_queue_does_nothing(world: Agents) -> None:
    assert await world.cti.away.handle({"user_id": world.agent_id,
                                        "reason": "tab_closed"}) is None


# ---------------------------------------------------------------------- wrap-up


async def test_wrapup_after_a_queue_call_is_asterisks_and_ends_by_itself(world: Agents) -> None:
    sub = world.services.bus.subscribe("agent.state", name="test")
    call_id = await answered(world, seconds=6)
    world.cti.live.flush()
    await world.run_for(6)  # the caller hangs up
    world.cti.live.flush()
    [row] = [r for r in world.cti.service.agents() if r["extension"] == "1001"]
    assert (row["state"], row["wrapup_call_id"], row["wrapup_queue"]) == (
        "wrapup", call_id, "support")
    lastcall = world.cti.model.queues["support"].members["Local/1001@phones/n"].last_call
    assert row["wrapup_until"] == lastcall + 5  # the demo queues' wrapuptime
    now = await world.cti.service.current_call(world.agent_id)
    assert now["call"] is None and now["agent"]["wrapup_until"] == row["wrapup_until"]
    # a caller arriving meanwhile waits for the end of the wrap-up, as app_queue makes it
    await world.queue_call("+8613900000099", 60)
    await world.run_for(1)
    assert world.sim.engine.phones.ringing() == []
    while world.sched.now() < row["wrapup_until"] + 0.5:
        await world.run_for(0.5)
        world.cti.live.flush()
    states = [r["state"] for r in agent_rows(world, world.drain(sub), "1001")]
    assert states[-3:] == ["in_call", "wrapup", "ready"] or states[-2:] == ["wrapup", "ready"]
    await world.run_for(4)  # the queue's retry
    assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1001"]
    sub.close()


# ---------------------------------------------------------------------- dispositions


async def test_a_disposition_picked_during_the_call_waits_for_the_record(world: Agents) -> None:
    call_id = await answered(world, seconds=5)
    agent = Actor("agent1", world.agent_id)
    early = await dispose(world.services.db, world.services.clock, agent, call_id,
                          "false_alarm", "panel tamper, customer aware")
    assert (early["pending"], early["record_id"]) == (True, None)
    sub = world.services.bus.subscribe("call.ended", name="test")
    await world.run_for(8)
    [ended] = [e.data for e in world.drain(sub) if e.data.get("scope") == "call"]
    assert ended["disposition"] == "false_alarm"
    rec = await stored(world, call_id)
    assert (rec["disposition"], rec["disposition_note"], rec["disposition_by"]) == (
        "false_alarm", "panel tamper, customer aware", world.agent_id)
    assert rec["disposition_at"] == pytest.approx(early["disposition_at"], abs=0.01)
    # changed afterwards: on the record at once, audited with before and after
    later = await dispose(world.services.db, world.services.clock, agent, call_id, "billing")
    assert (later["pending"], later["record_id"]) == (False, rec["id"])
    async with world.services.db.session() as s:
        row = await get_record(s, rec["id"])
        assert row is not None and row.disposition == "billing"
        entries = (await s.execute(select(AuditEntry).where(
            AuditEntry.action.in_(["set_disposition", "apply_disposition"]))
            .order_by(AuditEntry.id))).scalars().all()
    assert [(e.action, e.actor) for e in entries] == [
        ("set_disposition", "agent1"), ("apply_disposition", "system:cti"),
        ("set_disposition", "agent1")]
    assert entries[-1].before["disposition"] == "false_alarm"
    with pytest.raises(ValueError, match="disposition"):
        await dispose(world.services.db, world.services.clock, agent, call_id, " ")
    sub.close()


# ---------------------------------------------------------------------- the server is the truth


async def test_reload_during_ring_and_call_restores_the_call_and_the_pop(world: Agents) -> None:
    async with world.services.db.session() as s:
        number, account_id = (await s.execute(select(Phone.e164, Phone.account_id).where(
            Phone.contact_id.is_(None)).order_by(Phone.id).limit(1))).one()
    svc = world.cti.service
    await svc.login(world.agent_id, ["support"])
    await world.run_for(0.5)
    await world.queue_call(str(number), 6)
    await world.run_for(1)
    ringing = await svc.current_call(world.agent_id)
    assert (ringing["call"]["state"], ringing["call"]["kind"], ringing["call"]["number"]) == (
        "ringing", "queue", str(number))
    pop = world.cti.screenpop.current(world.agent_id)
    assert pop is not None and pop["call_id"] == ringing["call"]["call_id"]
    assert ringing["pop"]["account"]["id"] == account_id and pop["detail"] is True
    assert world.sim.engine.phones.answer("1001")
    await world.run_for(1)
    connected = await svc.current_call(world.agent_id)
    assert connected["call"]["state"] == "connected" and connected["pop"] == pop
    await world.run_for(6)
    assert world.cti.screenpop.current(world.agent_id) is None
    after = await svc.current_call(world.agent_id)
    assert after["call"] is None and after["pop"] is None
    # the direct line set no account variable; the record keeps the account the pop found
    rec = await stored(world, str(pop["call_id"]))
    assert (rec["account_id"], rec["account_lookup"]) == (str(account_id), "caller_number")


async def test_a_blind_transfer_ends_the_call_for_the_agent_who_passed_it(world: Agents) -> None:
    sub = world.services.bus.subscribe("call.ended", "screenpop", name="test")
    svc = world.cti.service
    call_id = await answered(world, ext="1002")
    assert world.cti.screenpop.current(world.agent2_id) is not None
    await svc.transfer(world.agent2_id, "1001")
    await world.run_for(1)
    events = world.drain(sub)
    [gone] = [e.data for e in events if e.topic == "call.ended"]
    assert (gone["scope"], gone["reason"], gone["call_id"], gone["user_id"]) == (
        "user", "transferred", call_id, world.agent2_id)
    assert world.cti.screenpop.current(world.agent2_id) is None
    assert (await svc.current_call(world.agent2_id))["call"] is None
    # the colleague's phone rings with the transferred caller
    ringing = (await svc.current_call(world.agent_id))["call"]
    assert (ringing["call_id"], ringing["kind"], ringing["state"]) == (
        call_id, "transfer", "ringing")
    assert world.sim.engine.phones.answer("1001")
    await world.run_for(1)
    assert world.sim.engine.phones.hangup("1001")
    await world.run_for(2)
    ended = [e.data for e in world.drain(sub) if e.topic == "call.ended"]
    # 1001 hung up first (its part ends at once), then the caller: the whole call, naming both
    assert [(e["scope"], sorted(a["extension"] for a in e["agents"])) for e in ended] == [
        ("user", ["1001"]), ("call", ["1001", "1002"])]
    assert ended[0]["reason"] == "left"
    sub.close()


async def test_a_ring_that_times_out_ends_for_that_agent_only(world: Agents) -> None:
    sub = world.services.bus.subscribe("call.ended", name="test")
    svc = world.cti.service
    await svc.login(world.agent_id, ["support"])
    await svc.login(world.agent2_id, ["support"])
    await world.run_for(0.5)
    await world.queue_call(seconds=60)
    await world.run_for(1)
    [first] = world.sim.engine.phones.ringing()
    user = world.agent_id if first.exten == "1001" else world.agent2_id
    assert world.cti.screenpop.current(user) is not None
    await world.run_for(21)  # the demo queues ring 20 s
    [gone] = [e.data for e in world.drain(sub)]
    assert (gone["scope"], gone["reason"], gone["user_id"]) == ("user", "no_answer", user)
    assert world.cti.screenpop.current(user) is None
    sub.close()


async def test_an_abandoned_direct_line_call_has_no_answer_or_talk_time(world: Agents) -> None:
    await world.queue_call(seconds=7)  # the line answers, then queues; nobody is logged in
    await world.run_for(10)
    async with world.services.db.session() as s:
        [row], _ = await list_records(s, CallFilter(queue="support"))
    assert (row.outcome, row.answer_at, row.talk_seconds) == ("abandoned", None, None)
    assert row.wait_seconds is not None and row.wait_seconds >= 6
