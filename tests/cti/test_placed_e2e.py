"""Calls the console places, end to end: the CTI over real AMI to pbxsim (demo dialplan, the
premises behind the scripted SIP trunk), in pbxsim's virtual time.

Nobody answers a phone in these tests: the user's own leg answers by itself because the
user asked for the call (``_VIGIL_AUTOANSWER``), as the production phone does on the
pre-dial handler's ``Call-Info`` header; the premises behave as scripted.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import HTTPException
from sqlalchemy import select

from core.bus import Event, Subscription
from cti.ami_client import AmiConnectionLost
from cti.errors import CtiError
from cti.http import run_command
from cti.models import CallRecord
from tests.conftest import ensure_user
from tests.cti.test_e2e_pbxsim import World, world  # noqa: F401  (the fixture)

PREMISES = "+8613900000002"
DIALLED = "13900000002"


class Events:
    """What a subscription received, kept by topic while virtual time runs."""

    def __init__(self, w: World, *topics: str) -> None:
        self.w = w
        self.sub: Subscription = w.services.bus.subscribe(*topics, name="test")
        self.got: list[Event] = []

    def take(self, topic: str) -> list[dict[str, Any]]:
        """Everything received so far on ``topic``, removed from what is kept."""
        while (ev := self.sub.get_nowait()) is not None:
            self.got.append(ev)
        mine = [e for e in self.got if e.topic == topic]
        self.got = [e for e in self.got if e.topic != topic]
        return [dict(e.data) for e in mine]

    async def until(self, topic: str, pred: Any = lambda d: True,
                    within: float = 90.0) -> dict[str, Any]:
        end = self.w.sched.now() + within
        while self.w.sched.now() < end:
            while (ev := self.sub.get_nowait()) is not None:
                self.got.append(ev)
            for i, ev in enumerate(self.got):
                if ev.topic == topic and pred(ev.data):
                    del self.got[i]
                    return dict(ev.data)
            await self.w.run_for(0.25)
        raise AssertionError(f"no {topic} within {within} virtual s")

    async def progress(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """A placed call's ``call.progress`` up to its final one (the first call's when
        ``call_id`` is None)."""
        first = await self.until("call.progress",
                                 lambda d: call_id is None or d["call_id"] == call_id)
        seen = [first]
        while not seen[-1]["final"]:
            seen.append(await self.until("call.progress",
                                         lambda d: d["call_id"] == first["call_id"]))
        return seen


def request_verification(w: World, verification_id: int) -> None:
    """What the alarm engine publishes when the operator clicks "call" on an incident."""
    w.services.bus.publish_nowait("verification.call_requested", {
        "incident_id": 42, "call_id": verification_id, "operator_id": w.agent_id,
        "operator": "agent1", "number": PREMISES, "contact_id": None,
        "contact_name": "premises", "account_id": None})


def stages(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["stage"], e["cause"]) for e in events]


async def record_of(w: World, call_id: str) -> CallRecord:
    for _ in range(100):
        async with w.services.db.session() as s:
            row = await s.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
        if row is not None:
            return row
        await w.run_for(0.1)
    raise AssertionError(f"no call record {call_id}")


CASES = {  # trunk script -> (progress stages after own_answered, result, cause)
    "answer": ([("calling", None), ("ringing", None), ("answered", None), ("ended", None)],
               "answered", None),
    "busy": ([("calling", None), ("busy", "busy")], "busy", "busy"),
    "noanswer": ([("calling", None), ("ringing", None), ("no_answer", "no_answer")],
                 "no_answer", "no_answer"),
    "unavailable": ([("unavailable", "no_route")], "failed", "no_route"),
    "invalid": ([("calling", None), ("unavailable", "unallocated_number")], "failed",
                "unallocated_number"),
    "congestion": ([("calling", None), ("failed", "congestion")], "failed", "congestion"),
}


@pytest.mark.parametrize("script", sorted(CASES))
async def test_a_verification_call_is_the_premises_outcome_with_the_own_leg_answered(
        world: World, script: str) -> None:  # noqa: F811
    w = world
    w.sim.engine.phones.script_number(DIALLED, script, after=3.0, talk=5.0)
    got = Events(w, "call.progress", "verification.call_result")
    request_verification(w, 7)
    events = await got.progress()
    call_id = events[0]["call_id"]
    expected, result, cause = CASES[script]
    # nobody touched the operator's phone: it answered because the operator asked
    assert stages(events)[:2] == [("dialing", None), ("own_answered", None)]
    assert stages(events)[2:] == expected
    assert all((e["kind"], e["user_id"], e["extension"], e["incident_id"],
                e["verification_id"]) == ("verification", w.agent_id, "1001", 42, 7)
               for e in events)
    assert events[-1]["final"] and not any(e["final"] for e in events[:-1])
    verdict = await got.until("verification.call_result")
    assert (verdict["result"], verdict["cause"]) == (result, cause)
    row = await record_of(w, call_id)
    assert verdict["call_record_id"] == row.id
    # an outbound call from the operator to the premises, the operator's phone answered
    assert (row.direction, row.caller_number, row.called_number) == ("outbound", "1001",
                                                                     DIALLED)
    assert (row.agent, row.agent_interface, row.data["user_id"]) == (
        "王芳 Wang Fang", "Local/1001@phones", w.agent_id)
    assert row.data["own_answer_at"] is not None and row.incident_id == "42"
    assert (row.answer_at is not None) is (result == "answered")


async def test_click_to_dial_returns_at_once_and_reports_its_progress(
        world: World) -> None:  # noqa: F811
    w = world
    w.sim.engine.phones.script_number("13900000005", "answer", after=4.0, talk=6.0)
    got = Events(w, "call.progress")
    answer = await w.cti.service.dial(w.agent_id, "+86 139-0000-0005")
    call_id = answer["call_id"]
    [first] = got.take("call.progress")  # published before anything happened on the PBX
    assert (first["call_id"], first["stage"], first["kind"]) == (call_id, "dialing", "dial")
    assert w.cti.service.placed_calls(w.agent_id)[0]["call_id"] == call_id
    restored = await w.cti.service.current_call(w.agent_id)  # a console reloading now
    assert [(p["call_id"], p["stage"]) for p in restored["placed"]] == [(call_id, "dialing")]
    events = await got.progress(call_id)
    assert stages(events) == [("own_answered", None), ("calling", None), ("ringing", None),
                              ("answered", None), ("ended", None)]
    assert events[-1]["talk_seconds"] == pytest.approx(6.0, abs=0.5)
    assert w.cti.service.placed_calls(w.agent_id) == []
    row = await record_of(w, call_id)
    assert (row.direction, row.caller_number, row.called_number, row.outcome) == (
        "outbound", "1001", "13900000005", "answered")


async def test_an_own_phone_that_does_not_answer_is_its_own_failure(
        world: World) -> None:  # noqa: F811
    w = world
    w.sim.engine.phones.add_phone("1001", answers=False)  # the softphone is not there
    got = Events(w, "call.progress", "verification.call_result")
    request_verification(w, 8)
    events = await got.progress()
    assert stages(events) == [("dialing", None), ("failed", "own_no_answer")]
    assert events[-1]["message"] == "your phone did not answer"
    verdict = await got.until("verification.call_result")
    assert (verdict["result"], verdict["cause"]) == ("failed", "own_no_answer")


async def test_a_call_asterisk_cannot_take_is_raised_and_published(
        world: World) -> None:  # noqa: F811
    w = world
    got = Events(w, "call.progress")
    await w.cti.client.stop()  # the AMI link is down
    with pytest.raises(AmiConnectionLost) as info:
        await w.cti.service.dial(w.agent_id, PREMISES)
    assert info.value.code == "ami_unavailable"
    events = got.take("call.progress")
    assert stages(events) == [("dialing", None), ("failed", "ami_unavailable")]
    assert events[-1]["final"]
    with pytest.raises(HTTPException) as http:
        await run_command(w.cti.service.dial(w.agent_id, PREMISES))
    assert (http.value.status_code, http.value.detail["code"]) == (503, "ami_unavailable")


# ---------------------------------------------------------------------- supervision


async def _connected_queue_call(w: World, talk: int, login: bool = True) -> str:
    """agent1 takes a support call (its phone answers queue calls after 2 s, hands-free)."""
    w.sim.engine.phones.add_phone("1001", auto_answer=2.0)
    svc = w.cti.service
    if login:
        await svc.login(w.agent_id, ["support"])
        await w.run_for(0.5)
    await svc.commands.originate({
        "Action": "Originate", "Channel": "Local/talk@callers", "Context": "from-pstn",
        "Exten": "4000", "Priority": 1, "CallerID": '"Caller" <+8613800000009>',
        "Async": "true", "Variable": [f"CALLTIME={talk}"]})
    for _ in range(40):
        await w.run_for(0.25)
        try:
            return svc.other_party("1001").linkedid
        except CtiError:
            continue
    raise AssertionError("agent1 never connected")


async def test_a_spy_ends_with_the_call_and_never_listens_to_the_next(
        world: World) -> None:  # noqa: F811
    w = world
    sup = await ensure_user(w.services, "sup1", "supervisor", extension="2001",
                            display_name="Supervisor")
    got = Events(w, "call.progress", "spy.*")
    spied_call = await _connected_queue_call(w, talk=20)
    svc = w.cti.service
    spy_id = (await svc.spy(sup, w.agent_id, "listen"))["call_id"]
    await w.run_for(1.0)
    assert [e["stage"] for e in got.take("call.progress")] == [
        "dialing", "own_answered", "answered"]
    [started] = got.take("spy.started")
    assert (started["supervisor_user_id"], started["agent_user_id"], started["mode"],
            started["call_id"], started["spy_call_id"]) == (
        sup, w.agent_id, "listen", spied_call, spy_id)
    assert [s["call_id"] for s in svc.spies()] == [spied_call]
    # whisper, then barge: the keys 5 and 6, received on the spying channel
    for mode in ("whisper", "barge"):
        assert (await svc.spy_mode(sup, mode))["mode"] == mode
        await w.run_for(0.5)
        [changed] = got.take("spy.changed")
        assert changed["mode"] == mode
        assert w.sim.engine.features.spies[0].mode == mode  # pbxsim's ChanSpy switched
    # the caller hangs up: the spy is over, the supervisor's phone hangs up
    await w.run_for(20)
    [ended] = got.take("spy.ended")
    assert ended["call_id"] == spied_call and ended["ended_at"] is not None
    final = [e for e in got.take("call.progress") if e["final"]]
    assert [(f["call_id"], f["stage"]) for f in final] == [(spy_id, "ended")]
    assert not [c for c in w.sim.engine.channels if c.startswith("Local/2001@phones-")]
    assert svc.spies() == []
    # the agent's next call is nobody's business
    await _connected_queue_call(w, talk=10, login=False)
    await w.run_for(15)
    assert got.take("spy.started") == []
    assert len(w.sim.engine.features.spies[0].attached) == 1
    row = await record_of(w, spied_call)
    [session] = row.data["spy_sessions"]
    assert [m["mode"] for m in session["modes"]] == ["listen", "whisper", "barge"]
    assert (session["supervisor_extension"], session["agent_extension"]) == ("2001", "1001")


async def test_spying_needs_a_connected_call_and_one_spy_at_a_time(
        world: World) -> None:  # noqa: F811
    w = world
    sup = await ensure_user(w.services, "sup1", "supervisor", extension="2001")
    svc = w.cti.service
    with pytest.raises(CtiError) as info:
        await svc.spy(sup, w.agent_id, "listen")
    assert info.value.code == "agent_no_call"
    with pytest.raises(CtiError) as info:
        await svc.spy_mode(sup, "barge")
    assert info.value.code == "no_spy"
    await _connected_queue_call(w, talk=30)
    await svc.spy(sup, w.agent_id, "whisper")
    await w.run_for(1.0)
    with pytest.raises(HTTPException) as http:
        await run_command(svc.spy(sup, w.agent_id, "listen"))
    assert (http.value.status_code, http.value.detail["code"]) == (409, "already_spying")
    await svc.spy_stop(sup)
    await w.run_for(1.0)
    assert svc.spies() == []
    assert [c for c in w.sim.engine.channels if c.startswith("Local/1001@phones-")]


async def test_asterisk_refusals_arrive_as_codes(world: World) -> None:  # noqa: F811
    w = world
    svc = w.cti.service
    await svc.login(w.agent_id, ["support"])
    await w.run_for(0.5)
    with pytest.raises(HTTPException) as http:
        await run_command(svc.commands.login(["support"], "Local/1001@phones/n", "x"))
    assert http.value.status_code == 409
    assert http.value.detail == {"code": "already_in_queue", "message":
                                 "AMI QueueAdd failed: Unable to add interface: Already there"}
    with pytest.raises(HTTPException) as http:
        await run_command(svc.commands.logout(["billing"], "Local/1001@phones/n"))
    assert http.value.detail["code"] == "not_in_queue"
    with pytest.raises(HTTPException) as http:
        await run_command(svc.hangup(w.agent_id))
    assert (http.value.status_code, http.value.detail["code"]) == (409, "no_call")
    other = await ensure_user(w.services, "clerk", "agent")  # no extension
    with pytest.raises(HTTPException) as http:
        await run_command(svc.dial(other, PREMISES))
    assert http.value.detail["code"] == "no_extension"
