"""Verification calls end with a result even when their call record never comes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.bus import Bus, Event
from core.clock import FakeClock
from cti.agents import AgentUser
from cti.ami_client import AmiConnectionLost, AmiTimeout
from cti.errors import CtiError
from cti.verification import Verifier, result_of

OPERATOR = AgentUser(7, "agent1", "Wang Fang", "1001", "agent")
REQUEST = {"incident_id": 42, "call_id": 3, "operator_id": 7, "operator": "agent1",
           "number": "+8613900000002", "contact_id": 5, "contact_name": "Zhang Wei",
           "account_id": 11}


class Placer:
    """Records the calls placed; raises ``error`` instead when set (the AMI failing)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.placed: list[tuple[int, str, dict[str, Any]]] = []
        self.error = error

    async def user(self, user_id: int) -> AgentUser:
        if user_id == OPERATOR.id:
            return OPERATOR
        raise CtiError("this user has no phone extension", code="no_extension")

    async def verification(self, user_id: int, number: str, **kw: Any) -> dict[str, Any]:
        self.placed.append((user_id, number, kw))
        if self.error is not None:
            raise self.error
        return {"call_id": kw["call_id"]}


def verifier(clock: FakeClock, placer: Placer, timeout: float = 90.0,
             live: set[str] | None = None) -> tuple[Verifier, Bus]:
    bus = Bus(node="t")
    v = Verifier(bus, placer, clock=clock, result_timeout=timeout,  # type: ignore[arg-type]
                 is_live=(live if live is not None else set()).__contains__)
    return v, bus


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def results(sub: Any) -> list[Event]:
    out = []
    while (ev := sub.get_nowait()) is not None:
        out.append(ev)
    return out


async def test_no_call_record_times_out_as_failed() -> None:
    clock = FakeClock()
    v, bus = verifier(clock, Placer())
    sub = bus.subscribe("verification.call_result", name="t")
    channel_id = await v.request(REQUEST)
    assert channel_id is not None and channel_id in v.pending
    clock.advance(89)
    await settle()
    assert results(sub) == []  # still within the timeout
    clock.advance(1)
    await settle()
    [ev] = results(sub)
    assert (ev.data["result"], ev.data["incident_id"], ev.data["call_id"]) == ("failed", 42, 3)
    assert "no call record within 90 s" in ev.data["note"] and ev.data["cause"] == "no_result"
    assert ev.data["call_record_id"] is None and ev.data["operator_id"] == 7
    assert v.pending == {}
    # a record that turns up after all is not reported a second time
    assert v.on_record({"call_id": channel_id, "outcome": "answered"}, 9) is None
    clock.advance(1000)
    await settle()
    assert results(sub) == []


async def test_record_in_time_reports_it_and_stops_the_timer() -> None:
    clock = FakeClock()
    v, bus = verifier(clock, Placer())
    sub = bus.subscribe("verification.call_result", name="t")
    channel_id = await v.request(REQUEST)
    clock.advance(30)
    await settle()
    v.on_record({"call_id": channel_id, "outcome": "busy"}, 12)
    clock.advance(600)
    await settle()
    [ev] = results(sub)
    assert (ev.data["result"], ev.data["call_record_id"]) == ("busy", 12)


@pytest.mark.parametrize("error", [
    AmiTimeout("no response to Originate (ActionID verif-42-3-1-orig) within 5 s"),
    AmiConnectionLost("AMI connection lost")])
async def test_originate_that_cannot_be_sent_fails_at_once(error: Exception) -> None:
    clock = FakeClock()
    placer = Placer(error)
    v, bus = verifier(clock, placer)
    sub = bus.subscribe("verification.call_result", name="t")
    assert await v.request(REQUEST) is None
    [ev] = results(sub)
    assert ev.data["result"] == "failed" and ev.data["note"] == str(error)
    assert ev.data["cause"] == error.code  # type: ignore[attr-defined]
    [(user_id, number, kw)] = placer.placed
    assert (user_id, number, kw["incident_id"], kw["verification_id"]) == (
        7, "+8613900000002", 42, 3)
    clock.advance(1000)
    await settle()
    assert results(sub) == [] and v.pending == {}


async def test_operator_without_phone_fails_and_close_stops_timers() -> None:
    clock = FakeClock()
    v, bus = verifier(clock, Placer())
    sub = bus.subscribe("verification.call_result", name="t")
    assert await v.request({**REQUEST, "operator_id": 99}) is None
    [ev] = results(sub)
    assert (ev.data["note"], ev.data["cause"]) == ("operator has no phone extension",
                                                   "no_extension")
    await v.request(REQUEST)
    await v.close()
    clock.advance(1000)
    await settle()
    assert results(sub) == []


@pytest.mark.parametrize(("record", "expected"), [
    ({"outcome": "answered"}, ("answered", None)),
    ({"outcome": "busy", "failure_reason": "busy"}, ("busy", "busy")),
    ({"outcome": "no_answer", "failure_reason": "no_answer"}, ("no_answer", "no_answer")),
    ({"outcome": "canceled", "failure_reason": "canceled"}, ("no_answer", "canceled")),
    ({"outcome": "failed", "failure_reason": "unallocated_number"},
     ("failed", "unallocated_number")),
    ({"outcome": "failed_originate", "failure_reason": "no_answer"},
     ("failed", "own_no_answer")),
    ({"outcome": "failed_originate", "failure_reason": "failed"},
     ("failed", "own_unavailable")),
])
def test_result_and_cause_of_a_record(record: dict[str, Any],
                                      expected: tuple[str, str | None]) -> None:
    assert result_of(record) == expected


async def test_own_phone_not_answering_is_its_own_cause() -> None:
    clock = FakeClock()
    v, bus = verifier(clock, Placer())
    sub = bus.subscribe("verification.call_result", name="t")
    channel_id = await v.request(REQUEST)
    v.on_record({"call_id": f"originate:{channel_id}-orig", "outcome": "failed_originate",
                 "failure_reason": "no_answer", "originate_action_id": f"{channel_id}-orig"}, 5)
    [ev] = results(sub)
    assert (ev.data["result"], ev.data["cause"], ev.data["note"]) == (
        "failed", "own_no_answer", "your phone did not answer")


async def test_a_long_conversation_is_waited_for() -> None:
    clock = FakeClock()
    live: set[str] = set()
    v, bus = verifier(clock, Placer(), live=live)
    sub = bus.subscribe("verification.call_result", name="t")
    channel_id = await v.request(REQUEST)
    assert channel_id is not None
    live.add(channel_id)  # the operator talks with the premises for minutes
    for _ in range(5):
        clock.advance(90)
        await settle()
    assert results(sub) == []
    v.on_record({"call_id": channel_id, "outcome": "answered"}, 4)
    [ev] = results(sub)
    assert ev.data["result"] == "answered"
