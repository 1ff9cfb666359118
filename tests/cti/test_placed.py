"""The placed-call registry on its own: stages from the model's call, the final event from the
record, and the timeout that never cuts a call that is still going on."""

from __future__ import annotations

import asyncio

import pytest

from core.bus import Bus
from core.clock import FakeClock
from cti.model import CtiModel
from cti.placed import PlacedCall, PlacedCalls, final_stage, live_stage
from cti.records import CallState


def placed(call_id: str = "dial-1001-1", kind: str = "dial") -> PlacedCall:
    return PlacedCall(call_id=call_id, kind=kind, user_id=7, extension="1001",
                      number="+8613900000002", placed_at=0.0, action_id=f"{call_id}-orig")


def test_live_stages_follow_the_legs() -> None:
    call = CallState(call_id="c", started_at=0.0, origin="c")
    legs = call.legs
    assert live_stage(call, "dial") == ("dialing", None)
    legs.own_answer_at = 1.0
    assert live_stage(call, "dial") == ("own_answered", None)
    legs.far_dial_at = 1.0
    assert live_stage(call, "dial") == ("calling", None)
    legs.far_ring_at = 2.0
    assert live_stage(call, "dial") == ("ringing", None)
    legs.dialstatus = "BUSY"
    assert live_stage(call, "dial") == ("busy", "busy")
    legs.dialstatus = "CHANUNAVAIL"  # its cause comes with the hangup: nothing to say yet
    assert live_stage(call, "dial") == ("ringing", None)
    legs.far_cause = 1
    assert live_stage(call, "dial") == ("unavailable", "unallocated_number")
    spy = CallState(call_id="s", started_at=0.0, origin="s")
    spy.legs.own_answer_at = 1.0
    assert live_stage(spy, "spy") == ("own_answered", None)
    spy.spied_call_id = "q"
    assert live_stage(spy, "spy") == ("answered", None)


@pytest.mark.parametrize(("record", "kind", "expected"), [
    ({"outcome": "answered", "far_status": "ANSWER"}, "dial", ("ended", None)),
    ({"outcome": "canceled", "far_status": "CANCEL", "failure_reason": "canceled"}, "dial",
     ("ended", "canceled")),
    ({"outcome": "busy", "far_status": "BUSY", "failure_reason": "busy"}, "verification",
     ("busy", "busy")),
    ({"outcome": "failed", "far_status": "CHANUNAVAIL", "failure_reason": "no_route"}, "dial",
     ("unavailable", "no_route")),
    ({"outcome": "failed", "far_status": "CONGESTION", "failure_reason": "congestion"}, "dial",
     ("failed", "congestion")),
    ({"outcome": "failed_originate", "failure_reason": "busy"}, "dial", ("failed", "own_busy")),
    ({"outcome": "answered", "spied_call_id": "q"}, "spy", ("ended", None)),
    ({"outcome": "answered", "spied_call_id": None}, "spy", ("failed", "no_call")),
])
def test_the_final_stage_comes_from_the_record(record: dict[str, object], kind: str,
                                               expected: tuple[str, str | None]) -> None:
    assert final_stage(record, kind) == expected


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_call_still_going_on_is_not_timed_out_one_that_vanished_is() -> None:
    clock, bus, model = FakeClock(), Bus(node="t"), CtiModel()
    reg = PlacedCalls(bus, model, clock, result_timeout=60)
    sub = bus.subscribe("call.progress", name="t")
    reg.add(placed())
    model.calls["dial-1001-1"] = CallState(call_id="dial-1001-1", started_at=0.0,
                                           origin="dial-1001-1")
    for _ in range(4):  # a four-minute conversation
        clock.advance(60)
        await _settle()
    assert [e.data["stage"] for e in iter(sub.get_nowait, None)] == ["dialing"]
    del model.calls["dial-1001-1"]  # the AMI link dropped: the call was never reported
    clock.advance(60)
    await _settle()
    [last] = list(iter(sub.get_nowait, None))
    assert (last.data["stage"], last.data["cause"], last.data["final"]) == (
        "failed", "no_result", True)
    assert reg.calls == {}
    await reg.close()


async def test_the_record_of_an_originate_that_failed_before_any_channel() -> None:
    clock, bus = FakeClock(), Bus(node="t")
    reg = PlacedCalls(bus, CtiModel(), clock)
    sub = bus.subscribe("call.progress", name="t")
    reg.add(placed())
    reg.on_record({"call_id": "originate:dial-1001-1-orig", "outcome": "failed_originate",
                   "failure_reason": "no_answer", "originate_action_id": "dial-1001-1-orig"})
    events = [e.data for e in iter(sub.get_nowait, None)]
    assert [(e["stage"], e["cause"], e["final"]) for e in events] == [
        ("dialing", None, False), ("failed", "own_no_answer", True)]
    assert events[-1]["message"] == "your phone did not answer"
    assert reg.of_user(7) == []
    await reg.close()
