"""The state model on hold, three-way conferences, the answer of a queue call and wrap-up.

The event streams are pbxsim's demo (the same events Asterisk 22 sends for these scenarios,
see tests/pbxsim/test_hold_conference.py), fed to the model at pbxsim's virtual time, so every
assertion is about what the model derives from the wire; where a capture covers a case, it is
replayed as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cti.live import queues_view
from cti.model import CtiModel, ModelConfig
from cti.replay import replay_file
from pbxsim.demo import CONFERENCE_CONTEXT, PbxSim
from pbxsim.engine.channels import Channel
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.originate import OriginateRequest, originate

START = 1_795_299_800.0


@dataclass
class Rig:
    sim: PbxSim
    sched: VirtualScheduler
    model: CtiModel

    def call_in(self, line: str = "4000", number: str = "+8613800000001",
                seconds: int = 600, **kw: Any) -> None:
        originate(self.sim.engine, OriginateRequest(
            channel="Local/talk@callers", context="from-pstn", exten=line, cid_num=number,
            variables=[("CALLTIME", str(seconds))], **kw), lambda p: None)

    def caller(self) -> Channel:
        return next(c for c in self.sim.engine.channels.values()
                    if c.name.startswith("Local/talk@callers") and c.name.endswith(";1"))

    def records(self) -> list[dict[str, Any]]:
        self.model.flush()
        return self.model.take_records()


@contextmanager
def rig(shared_lastcall: bool = True) -> Iterator[Rig]:
    sched = VirtualScheduler(start=START)
    sim = PbxSim(scheduler=sched)
    sim.engine.queues.shared_lastcall = shared_lastcall
    model = CtiModel(ModelConfig(agent_contexts=frozenset({"phones"}),
                                 queue_wrapup=sim.queue_wrapup(),
                                 shared_lastcall=shared_lastcall))
    sim.engine.listeners.append(lambda m: model.feed(dict(m.pairs), sched.now()))
    yield Rig(sim, sched, model)


def answered(r: Rig, ext: str = "1002", queues: tuple[str, ...] = ("support",)) -> Channel:
    for q in queues:
        r.sim.engine.queues.add_member(q, f"Local/{ext}@phones/n", f"Agent {ext}")
    r.call_in()
    r.sched.advance(2)
    assert r.sim.engine.phones.answer(ext)
    r.sched.advance(2)
    return r.caller()


def test_hold_is_timed_on_the_phone_and_the_agent_stays_in_call() -> None:
    with rig() as r:
        caller = answered(r)
        call = r.model.calls[caller.linkedid]
        assert r.sim.engine.phones.hold("1002")
        r.sched.advance(4)
        [hold] = call.holds
        assert (hold["channel"].startswith("Local/1002@phones-"), hold["music_class"],
                hold["ended_at"]) == (True, "default", None)
        member = r.model.snapshot()["queues"]["support"]["members"]["Local/1002@phones/n"]
        assert member["status"] == "inuse" and not member["in_wrapup"]
        assert r.sim.engine.phones.unhold("1002")
        r.sched.advance(3)
        assert r.sim.engine.phones.hold("1002")
        r.sched.advance(2)
        r.sim.engine.phones.hangup("1002")  # hangs up while held: the hold ends with the call
        r.sched.advance(1)
        [rec] = r.records()
    assert [h["ended_at"] - h["started_at"] for h in rec["holds"]] == [4.0, 2.0]
    assert rec["hold_seconds"] == 6.0 and rec["outcome"] == "answered"
    assert rec["agent_devices"] == ["Local/1002@phones"]


def test_unhold_without_hold_in_the_blind_transfer_capture_is_no_hold(captures: Path) -> None:
    [rec] = replay_file(captures / "blind_transfer.ami")["records"]
    assert (rec["holds"], rec["hold_seconds"]) == ([], 0.0)


def test_a_three_way_call_is_listed_on_the_call_it_grew_from() -> None:
    with rig() as r:
        caller = answered(r)
        engine = r.sim.engine
        leg = engine.bridge_peer(caller)
        assert leg is not None
        room = caller.linkedid.replace(".", "")
        engine.redirect([(caller, CONFERENCE_CONTEXT, "P" + room, 1),
                         (leg, CONFERENCE_CONTEXT, "A" + room, 1)])
        r.sched.advance(1)
        originate(engine, OriginateRequest(
            channel="Local/13900000002@outbound", context=CONFERENCE_CONTEXT, exten="P" + room,
            channel_id="conf-1", variables=[("VIGIL_CONFERENCE", caller.linkedid),
                                            ("VIGIL_CONFERENCE_TARGET", "+86 139 0000 0002")]),
            lambda p: None)
        r.sched.advance(6)
        engine.phones.hangup("1002")
        r.sched.advance(2)
        records = {rec["call_id"]: rec for rec in r.records()}
    host = records[caller.linkedid]
    conf = host["conference"]
    assert conf["room"] == f"vigil-{room}"
    assert [(p["role"], p["number"], p["name"]) for p in conf["participants"]] == [
        ("party", "+8613800000001", None), ("agent", None, "Agent 1002"),
        ("external", "+86 139 0000 0002", None)]
    joined = [p["joined_at"] - START for p in conf["participants"]]
    assert joined == [4.0, 4.0, 8.0]  # redirected at 4 s; dialled at 5 s, answered 3 s later
    assert {p["left_at"] for p in conf["participants"]} == {conf["ended_at"]}
    # the queue call stays one answered call whose talk runs until the agent hung up
    assert (host["outcome"], host["ended_by"], host["talk_seconds"]) == ("answered", "agent", 9)
    third = records["conf-1"]
    assert (third["conference_call_id"], third["direction"], third["called_number"]) == (
        caller.linkedid, "outbound", "13900000002")


def test_an_abandoned_call_has_no_answer_even_when_the_line_answered_first() -> None:
    with rig() as r:
        r.sim.engine.queues.add_member("support", "Local/1009@slow-phones/n", "Slow")
        # the direct line runs Answer() before Queue(); here the caller is even originated
        # straight into Queue, so its channel answer comes with the OriginateResponse
        r.call_in(seconds=7)
        originate(r.sim.engine, OriginateRequest(
            channel="Local/talk@callers", application="Queue", data="support",
            cid_num="+8613800000002", variables=[("CALLTIME", "9")]), lambda p: None)
        r.sched.advance(20)
        records = r.records()
    assert [rec["outcome"] for rec in records] == ["abandoned", "abandoned"]
    for rec in records:
        assert (rec["answer_at"], rec["talk_seconds"]) == (None, None), rec["caller_number"]
        assert rec["wait_seconds"] is not None and rec["enter_queue_at"] is not None


def test_an_answer_before_the_queue_does_not_count_once_queued() -> None:
    """The same on a synthetic stream: a Dial answered before the call was queued."""
    model = CtiModel()
    base = {"Uniqueid": "1.1", "Linkedid": "1.1", "Channel": "PJSIP/trunk-1"}
    for event, extra, t in (
        ("Newchannel", {"Context": "from-pstn", "Exten": "4000"}, 10.0),
        ("DialEnd", {"DialStatus": "ANSWER", "DestUniqueid": "x"}, 11.0),
        ("QueueCallerJoin", {"Queue": "support", "Position": "1"}, 12.0),
        ("QueueCallerAbandon", {"Queue": "support", "Position": "1", "HoldTime": "5",
                                "OriginalPosition": "1"}, 17.0),
        ("Hangup", {}, 17.0),
    ):
        model.feed({"Event": event, **base, **extra}, t)
    [rec] = model.take_records()
    assert (rec["outcome"], rec["answer_at"], rec["talk_seconds"], rec["wait_seconds"]) == (
        "abandoned", None, None, 5)


@pytest.mark.parametrize("shared", [True, False])
def test_wrapup_is_the_last_queues_in_every_queue_with_shared_lastcall(shared: bool) -> None:
    with rig(shared) as r:
        r.sim.engine.queues.queues["support"].cfg.wrapuptime = 30
        r.model.config = ModelConfig(agent_contexts=frozenset({"phones"}),
                                     queue_wrapup=r.sim.queue_wrapup(), shared_lastcall=shared)
        caller = answered(r, queues=("support", "emergency"))
        call_id = caller.linkedid
        r.sim.engine.request_hangup(caller)
        r.sched.advance(1)
        ended = int(r.sched.now()) - 1
        members = {q: m for q, m in ((q, r.model.snapshot()["queues"][q]["members"]
                                      ["Local/1002@phones/n"]) for q in ("support", "emergency"))}
        assert members["support"]["in_wrapup"] and members["support"]["wrapup_call_id"] == call_id
        assert members["support"]["wrapup_until"] == pytest.approx(ended + 30, abs=1)
        # app_queue applies the wrap-up of the queue the call came from (lastqueue)
        assert members["emergency"]["in_wrapup"] is shared
        if shared:
            assert members["emergency"]["wrapup_until"] == members["support"]["wrapup_until"]
        # the wrap-up ends by itself: the live view at that time (no event marks it)
        later = queues_view(r.model, r.sched.now() + 30)["queues"]
        assert not later["support"]["members"]["Local/1002@phones/n"]["in_wrapup"]


def test_a_members_own_wrapuptime_wins() -> None:
    model = CtiModel(ModelConfig(queue_wrapup={"support": 30}))
    model.feed({"Event": "QueueMemberAdded", "Queue": "support", "Interface": "PJSIP/1",
                "MemberName": "A", "Status": "1", "Wrapuptime": "4"}, 100.0)
    model.feed({"Event": "AgentComplete", "Queue": "support", "Interface": "PJSIP/1",
                "MemberName": "A", "TalkTime": "5"}, 110.2)
    member = model.snapshot()["queues"]["support"]["members"]["PJSIP/1"]
    assert member["wrapup_until"] == 114.0  # lastcall is whole seconds, as app_queue keeps it
    # a later QueueMemberStatus with Asterisk's own LastCall moves it
    model.feed({"Event": "QueueMemberStatus", "Queue": "support", "Interface": "PJSIP/1",
                "MemberName": "A", "Status": "1", "LastCall": "111"}, 111.5)
    assert model.snapshot()["queues"]["support"]["members"]["PJSIP/1"]["wrapup_until"] == 115.0
