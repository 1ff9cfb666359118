"""The traffic generator: seeded, Poisson arrivals, subscriber numbers from the CRM's list,
callers who abandon when nobody answers and hang up after talking when someone does."""

from __future__ import annotations

import random
import statistics

from pbxsim.demo import PbxSim
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.framing import Message
from pbxsim.traffic import TrafficGenerator, TrafficProfile, install_callers, plan_calls

NUMBERS = [("+8613800000001", "Zhang Wei"), ("+8613800000002", "Li Na"),
           ("+8613800000003", "Wang Fang")]


def test_same_seed_same_calls_and_the_rate_is_poisson() -> None:
    profile = TrafficProfile(rate_per_minute=30, numbers=NUMBERS)
    a = [plan_calls(profile, random.Random(5)) for _ in range(3)]
    b = [plan_calls(profile, random.Random(5)) for _ in range(3)]
    assert a == b
    rng = random.Random(11)
    plans = [plan_calls(profile, rng) for _ in range(4000)]
    gaps = [p.at for p in plans]
    assert abs(statistics.mean(gaps) - 2.0) < 0.1  # 30 calls a minute: 2 s apart on average
    assert abs(statistics.pstdev(gaps) - 2.0) < 0.15  # exponential: sd equals the mean
    assert {p.number for p in plans} == {n for n, _ in NUMBERS}
    ivr = [p for p in plans if p.line == "4100"]
    assert 0.45 < len(ivr) / len(plans) < 0.55
    assert all(p.script for p in ivr if p.path != "silent")


def test_generated_calls_are_answered_or_abandoned_in_the_demo_engine() -> None:
    sched = VirtualScheduler()
    sim = PbxSim(scheduler=sched, auto_answer={"1001": 2.0, "1002": 2.0})
    install_callers(sim.engine)
    events: list[Message] = []
    sim.engine.listeners.append(events.append)
    for q, ext in (("support", "1001"), ("emergency", "1002"), ("billing", "1002")):
        sim.engine.queues.add_member(q, f"Local/{ext}@phones/n", f"agent{ext}")
    # IVR share 0: there is no FastAGI server in this test
    gen = TrafficGenerator(sim.engine, TrafficProfile(rate_per_minute=6, numbers=NUMBERS,
                                                      ivr_share=0, patience_mean=20,
                                                      talk_mean=30), seed=3)
    gen.start()
    sched.advance(600)
    gen.stop()
    sched.advance(900)
    names = [e.get("Event") for e in events]
    joined = names.count("QueueCallerJoin")
    assert joined == len(gen.placed) > 30
    assert names.count("AgentConnect") > 0 and names.count("QueueCallerAbandon") > 0
    assert names.count("AgentConnect") + names.count("QueueCallerAbandon") == joined
    callers = {e.get("CallerIDNum") for e in events if e.get("Event") == "QueueCallerJoin"}
    assert callers <= {n for n, _ in NUMBERS}
    assert not sim.engine.channels  # everyone hung up in the end
