"""State-model behaviour not covered by a capture: resync, wrap-up, time sources."""

from __future__ import annotations

from pathlib import Path

from cti.model import CtiModel, ModelConfig, spy_mode
from cti.replay import load_capture


def _member(event: str, name: str, interface: str, **extra: str) -> dict[str, str]:
    msg = {"Event": event, "Queue": "support", "MemberName": name, "Interface": interface,
           "StateInterface": interface, "Status": "1", "Paused": "0", "LoginTime": "100"}
    msg.update(extra)
    return msg


def test_resync_drops_what_the_lists_do_not_mention() -> None:
    model = CtiModel()
    model.feed(_member("QueueMemberAdded", "Alice", "PJSIP/1"), 100.0)
    model.feed(_member("QueueMemberAdded", "Ghost", "PJSIP/9"), 100.0)
    model.feed({"Event": "Newchannel", "Channel": "PJSIP/9-01", "Uniqueid": "9.1",
                "Linkedid": "9.1", "ChannelStateDesc": "Up"}, 101.0)
    model.begin_resync()
    for msg in (
        {"Event": "QueueParams", "Queue": "support", "Strategy": "rrmemory", "ActionID": "r1"},
        {"Event": "QueueMember", "Queue": "support", "Name": "Alice", "Location": "PJSIP/1",
         "StateInterface": "PJSIP/1", "Status": "1", "Paused": "1", "PausedReason": "break",
         "LastPause": "150", "LoginTime": "100", "ActionID": "r1"},
        {"Event": "QueueStatusComplete", "ActionID": "r1"},
        {"Event": "CoreShowChannelsComplete", "ActionID": "r2"},
        {"Event": "DeviceStateChange", "Device": "Queue:support", "State": "INUSE",
         "ActionID": "r3"},
        {"Event": "DeviceStateListComplete", "ActionID": "r3"},
    ):
        model.feed(msg, 200.0)
    assert not model.resyncing
    snap = model.snapshot()
    assert list(snap["queues"]["support"]["members"]) == ["PJSIP/1"]
    assert snap["queues"]["support"]["members"]["PJSIP/1"]["paused_reason"] == "break"
    assert snap["channels"] == {} and snap["devices"] == {"Queue:support": "INUSE"}
    [ghost] = model.take_sessions()
    assert (ghost["agent"], ghost["logout_at"]) == ("Ghost", 200.0)
    [lost] = model.take_records()
    assert (lost["call_id"], lost["resynced"], lost["end_at"]) == ("9.1", True, 200.0)
    alice = snap["agents"]["PJSIP/1"]
    assert alice["pauses"] == [{"queue": "support", "reason": "break", "started_at": 150.0,
                                "ended_at": None}]


def test_lists_seen_in_passing_only_add() -> None:
    model = CtiModel()
    model.feed(_member("QueueMemberAdded", "Alice", "PJSIP/1"), 100.0)
    model.feed({"Event": "QueueStatusComplete", "ActionID": "x"}, 101.0)
    model.feed({"Event": "QueueMember", "Queue": "support", "Name": "Bob", "Location": "PJSIP/2",
                "Status": "1", "ActionID": "x"}, 101.0)
    assert sorted(model.snapshot()["queues"]["support"]["members"]) == ["PJSIP/1", "PJSIP/2"]


def test_wrapup_after_a_call_uses_event_time() -> None:
    model = CtiModel(ModelConfig(queue_wrapup={"support": 2}))
    model.feed(_member("QueueMemberAdded", "Alice", "PJSIP/1"), 100.0)
    model.feed({"Event": "AgentComplete", "Queue": "support", "Interface": "PJSIP/1",
                "MemberName": "Alice", "TalkTime": "5", "Reason": "caller"}, 110.0)
    member = model.snapshot()["queues"]["support"]["members"]["PJSIP/1"]
    assert (member["in_wrapup"], member["wrapup_until"]) == (True, 112.0)
    model.feed({"Event": "DeviceStateChange", "Device": "x", "State": "NOT_INUSE"}, 112.5)
    assert model.snapshot()["queues"]["support"]["members"]["PJSIP/1"]["in_wrapup"] is False


def test_timestamp_header_wins_over_arrival_time() -> None:
    model = CtiModel()
    model.feed({"Event": "Newchannel", "Uniqueid": "1.1", "Linkedid": "1.1", "Channel": "PJSIP/a-1",
                "Timestamp": "1700000000.250000"}, 5.0)
    assert model.snapshot()["channels"]["1.1"]["created_at"] == 1700000000.25


def test_spy_modes() -> None:
    assert [spy_mode(d) for d in ("PJSIP/1,q", "PJSIP/1,qw", "PJSIP/1,qB", "PJSIP/1")] == [
        "listen", "whisper", "barge", "listen"]


def test_failed_originate_without_any_channel_still_gives_a_record() -> None:
    model = CtiModel()
    model.feed({"Event": "OriginateResponse", "ActionID": "o-1", "Response": "Failure",
                "Channel": "PJSIP/nobody", "Reason": "5", "Uniqueid": "<null>"}, 50.0)
    [rec] = model.take_records()
    assert (rec["outcome"], rec["failure_reason"], rec["originate_action_id"]) == (
        "failed_originate", "busy", "o-1")


def test_late_agent_complete_is_waited_for(captures: Path) -> None:
    items = load_capture(captures / "queue_answered.ami")
    complete = next(i for i, (m, _) in enumerate(items) if m.get("Event") == "AgentComplete")
    moved = items[:complete] + items[complete + 1:]
    end = max(i for i, (m, _) in enumerate(moved) if m.get("Event") == "Hangup")
    moved.insert(end + 1, items[complete])  # AgentComplete after the last Hangup
    model = CtiModel()
    for msg, t in moved:
        model.feed(msg, t)
    [rec] = model.take_records()
    assert (rec["talk_seconds"], rec["ended_by"]) == (6, "caller")


def _park_and_then(end: str) -> tuple[CtiModel, str]:
    """A queue call to 1002 in pbxsim's demo, parked, then ended by ``end``; every event goes
    through the model at pbxsim's virtual time. Returns the model and the caller's call id."""
    from pbxsim.demo import PbxSim
    from pbxsim.engine.clock import VirtualScheduler
    from pbxsim.engine.originate import OriginateRequest, originate

    sched = VirtualScheduler(start=1_795_299_800.0)
    sim = PbxSim(scheduler=sched)
    eng = sim.engine
    model = CtiModel(ModelConfig(agent_contexts=frozenset({"phones"})))
    eng.listeners.append(lambda m: model.feed(dict(m.pairs), sched.now()))
    eng.queues.add_member("support", "Local/1002@phones/n", "Bob")
    originate(eng, OriginateRequest(channel="Local/talk@callers", context="from-pstn",
                                    exten="4000", cid_num="+8613800000001",
                                    variables=[("CALLTIME", "600")]), lambda p: None)
    sched.advance(2)
    assert eng.phones.answer("1002")
    sched.advance(2)
    caller = next(c for c in eng.channels.values()
                  if c.name.startswith("Local/talk@callers") and c.name.endswith(";1"))
    space = eng.features.park(caller, timeout=30)
    sched.advance(3)
    [park] = model.calls[caller.linkedid].parks
    assert (park["space"], park["ended_at"]) == (str(space), None)
    if end == "retrieve":
        originate(eng, OriginateRequest(channel="Local/1002@phones", context="parkedcalls",
                                        exten=str(space)), lambda p: None)
        sched.advance(1)
        assert eng.phones.answer("1002")
    elif end == "hangup":
        eng.request_hangup(caller)
    sched.advance(1 if end != "timeout" else 40)
    return model, caller.linkedid


def test_park_ends_when_pbxsim_retrieves_it_and_the_call_goes_on() -> None:
    model, call_id = _park_and_then("retrieve")
    call = model.calls[call_id]
    [park] = call.parks
    assert park["result"] == "retrieved" and park["ended_at"] is not None
    assert call.live  # the caller now talks to the retriever


def test_park_ends_on_timeout_and_on_the_parked_caller_hanging_up() -> None:
    for end, result in (("timeout", "timeout"), ("hangup", "gave_up")):
        model, call_id = _park_and_then(end)
        # the call may already be finished (its record taken): look in both places
        parks = model.calls[call_id].parks if call_id in model.calls else [
            p for r in model.take_records() if r["call_id"] == call_id for p in r["parks"]]
        assert [(p["result"], p["ended_at"] is not None) for p in parks] == [(result, True)]
