"""app_queue behaviour in virtual time: strategies, ring timeout, wrap-up, pause, joinempty,
park timeout, MixMonitor's WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.engine.queues import QueueConfig
from pbxsim.framing import Message


def make(
    strategy: str = "rrmemory", **cfg: object
) -> tuple[Engine, VirtualScheduler, list[Message]]:
    sched = VirtualScheduler()
    eng = Engine(sched)
    eng.queues.add_queue(QueueConfig("support", strategy=strategy, **cfg))  # type: ignore[arg-type]
    events: list[Message] = []
    eng.listeners.append(events.append)
    return eng, sched, events


def call(eng: Engine, seconds: int = 30, num: str = "+8613800000001") -> None:
    originate(eng, OriginateRequest(channel="Local/talk@callers", context="from-pstn",
                                    exten="4000", cid_num=num, cid_name="Caller",
                                    variables=[("CALLTIME", str(seconds))]), lambda p: None)


def called(events: list[Message]) -> list[str]:
    return [e.get("MemberName") for e in events if e.get("Event") == "AgentCalled"]


def slow(eng: Engine, *names: str, penalty: int = 0) -> None:
    for i, n in enumerate(names):
        eng.queues.add_member("support", f"Local/{1010 + len(eng.queues.queues['support'].members)}"
                              f"@slow-phones/n", n, penalty=penalty)
        _ = i


def test_ringall_rings_every_member_of_the_best_penalty_at_once() -> None:
    eng, sched, ev = make("ringall")
    slow(eng, "A", "B")
    slow(eng, "C", penalty=1)
    call(eng)
    sched.advance(1)
    assert sorted(called(ev)) == ["A", "B"]


def test_linear_always_starts_with_the_first_member_and_moves_on_after_timeout() -> None:
    eng, sched, ev = make("linear", timeout=5, retry=1)
    slow(eng, "A", "B", "C")
    call(eng)
    sched.advance(1)
    assert called(ev) == ["A"]
    sched.advance(6)  # A rang out after 5 s, retry 1 s: A again (linear has no memory)
    assert called(ev) == ["A", "A"]


def test_rrmemory_rotates_after_each_ring_timeout() -> None:
    eng, sched, ev = make("rrmemory", timeout=5, retry=1)
    slow(eng, "A", "B", "C")
    call(eng)
    sched.advance(20)
    assert called(ev)[:4] == ["A", "B", "C", "A"]
    assert any(e.get("Event") == "AgentRingNoAnswer" and e.get("RingTime") == "5000" for e in ev)


def test_leastrecent_and_fewestcalls_pick_by_history() -> None:
    for strategy, attr in (("leastrecent", "lastcall"), ("fewestcalls", "calls")):
        eng, sched, ev = make(strategy)
        slow(eng, "A", "B", "C")
        members = eng.queues.queues["support"].members
        for m, v in zip(members, (30, 10, 20), strict=True):
            setattr(m, attr, v)
        call(eng)
        sched.advance(1)
        assert called(ev) == ["B"], strategy


def test_random_and_wrandom_ring_one_available_member() -> None:
    for strategy in ("random", "wrandom"):
        eng, sched, ev = make(strategy)
        slow(eng, "A", "B", "C")
        call(eng)
        sched.advance(1)
        assert len(called(ev)) == 1 and called(ev)[0] in {"A", "B", "C"}


def test_penalty_tier_is_used_before_higher_penalties() -> None:
    eng, sched, ev = make("rrmemory")
    slow(eng, "Senior", penalty=2)
    slow(eng, "Junior", penalty=0)
    call(eng)
    sched.advance(1)
    assert called(ev) == ["Junior"]


def test_paused_member_is_not_rung_until_unpaused() -> None:
    eng, sched, ev = make("ringall")
    slow(eng, "A")
    eng.queues.pause_member("support", "Local/1010@slow-phones/n", True, "lunch")
    call(eng)
    sched.advance(3)
    assert called(ev) == []
    eng.queues.pause_member("support", "Local/1010@slow-phones/n", False)
    sched.advance(1)
    assert called(ev) == ["A"]
    assert "1795299800|NONE|support|A|PAUSE|lunch" in eng.queue_log_lines


def test_wrapup_keeps_the_agent_free_of_calls_after_hangup() -> None:
    eng, sched, ev = make("ringall", wrapuptime=10)
    eng.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    call(eng, seconds=5)
    sched.advance(7)  # answered at ~2 s, caller gone at ~5 s: wrap-up runs until ~15 s
    assert [e.get("Event") for e in ev].count("AgentComplete") == 1
    call(eng, seconds=30, num="+8613800000002")
    sched.advance(3)  # still inside wrap-up: not rung
    assert called(ev) == ["Alice"]
    sched.advance(10)
    assert called(ev) == ["Alice", "Alice"]


def test_joinempty_no_sends_the_caller_on() -> None:
    eng, sched, ev = make("ringall", joinempty=False)
    call(eng)
    sched.advance(1)
    assert not any(e.get("Event") == "QueueCallerJoin" for e in ev)
    assert any(e.get("Variable") == "QUEUESTATUS" and e.get("Value") == "JOINEMPTY" for e in ev)


def test_ringinuse_no_skips_a_member_on_a_call() -> None:
    eng, sched, ev = make("ringall", wrapuptime=0)
    eng.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    call(eng, seconds=60)
    sched.advance(5)
    call(eng, seconds=60, num="+8613800000002")
    sched.advance(5)
    assert called(ev) == ["Alice"]


def _answered_call(eng: Engine, sched: VirtualScheduler, seconds: int = 60) -> str:
    eng.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    call(eng, seconds=seconds)
    sched.advance(3)
    return next(c.name for c in eng.channels.values() if c.name.startswith("Local/talk")
                and c.name.endswith(";1"))


def test_parked_call_times_out() -> None:
    eng, sched, ev = make("ringall")
    caller = _answered_call(eng, sched)
    eng.features.park(eng.channels[caller], timeout=10)
    sched.advance(1)
    parked = [e for e in ev if e.get("Event") == "ParkedCall"]
    assert parked and parked[0].get("ParkingSpace") == "701"
    sched.advance(10)
    assert any(e.get("Event") == "ParkedCallTimeOut" for e in ev)
    assert caller not in eng.channels


def test_mixmonitor_writes_a_playable_wav(tmp_path: Path) -> None:
    eng, sched, ev = make("ringall")
    eng.recordings_dir = str(tmp_path)
    caller = _answered_call(eng, sched)
    eng.features.mixmonitor(eng.channels[caller], "rec.wav")
    sched.advance(4)
    assert eng.features.stop_mixmonitor(eng.channels[caller])
    with wave.open(str(tmp_path / "rec.wav")) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 8000)
        assert w.getnframes() == pytest.approx(4 * 8000, rel=0.01)
    names = [e.get("Event") for e in ev]
    assert names.index("MixMonitorStart") < names.index("MixMonitorStop")
