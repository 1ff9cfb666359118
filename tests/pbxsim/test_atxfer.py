"""Attended transfer (AMI Atxfer): the agent consults 1002 while the caller is held, then hangs
up and the caller is joined to 1002 in the original bridge."""

from __future__ import annotations

from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.framing import Message


def _answered_queue_call() -> tuple[Engine, list[Message], str, str]:
    eng = Engine(VirtualScheduler())
    events: list[Message] = []
    eng.listeners.append(events.append)
    eng.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    originate(eng, OriginateRequest(channel="Local/talk@callers", context="from-pstn",
                                    exten="4000", cid_num="+861380", cid_name="Caller",
                                    variables=[("CALLTIME", "40")]), lambda p: None)
    eng.sched.advance(4)
    connect = next(e for e in events if e.get("Event") == "AgentConnect")
    return eng, events, connect.get("Channel"), connect.get("DestChannel")


def _names(events: list[Message], since: int = 0) -> list[str]:
    return [e.get("Event") for e in events[since:]]


def test_atxfer_joins_the_caller_to_the_target_when_the_agent_hangs_up() -> None:
    eng, ev, caller_name, agent_name = _answered_queue_call()
    caller, agent = eng.channels[caller_name], eng.channels[agent_name]
    orig = caller.bridge
    assert orig is not None
    start = len(ev)
    assert eng.features.atxfer(agent, "agent-phones", "1002") == ""
    held = _names(ev, start)
    assert held[:2] == ["Hold", "MusicOnHoldStart"] and ev[start].get("Channel") == caller_name
    assert agent.bridge is not None and agent.bridge is not orig  # consulting apart
    eng.sched.advance(3)  # 1002 rings 2 s, answers
    target = eng.bridge_peer(agent)
    assert target is not None and target.name.startswith("Local/1002@agent-phones-")
    assert caller.bridge is orig and eng.bridge_peer(caller) is None  # alone, on hold

    eng.request_hangup(agent)
    eng.sched.run_pending()
    xfer = next(e for e in ev if e.get("Event") == "AttendedTransfer")
    assert (xfer.get("Result"), xfer.get("DestType")) == ("Success", "Bridge")
    assert xfer.get("DestBridgeUniqueid") == orig.uniqueid
    assert xfer.get("OrigTransfererChannel") == agent_name
    assert xfer.get("TransfereeChannel") == caller_name
    assert xfer.get("TransferTargetChannel") == target.name
    assert agent.dead and eng.bridge_peer(caller) is target and caller.bridge is orig
    done = next(e for e in ev if e.get("Event") == "AgentComplete")
    assert done.get("Reason") == "transfer"
    verbs = [line.split("|") for line in eng.queue_log_lines]
    att = next(v for v in verbs if v[4] == "ATTENDEDTRANSFER")
    assert att[1] == caller.uniqueid and att[5:7] == ["BRIDGE", orig.uniqueid]
    after = _names(ev, ev.index(xfer))
    assert after.index("MusicOnHoldStop") < after.index("Unhold")

    eng.sched.advance(40)  # the caller hangs up: the target is hung up, the bridge goes
    assert caller.dead and target.dead and orig.uniqueid not in eng.bridges


def test_atxfer_returns_to_the_caller_when_the_target_hangs_up_first() -> None:
    eng, ev, caller_name, agent_name = _answered_queue_call()
    caller, agent = eng.channels[caller_name], eng.channels[agent_name]
    orig = caller.bridge
    eng.features.atxfer(agent, "agent-phones", "1002")
    eng.sched.advance(3)
    target = eng.bridge_peer(agent)
    assert target is not None
    eng.request_hangup(target)
    eng.sched.run_pending()
    assert target.dead and not any(e.get("Event") == "AttendedTransfer" for e in ev)
    assert agent.bridge is orig and eng.bridge_peer(caller) is agent
    assert "Unhold" in _names(ev)


def test_atxfer_needs_a_bridged_channel_and_a_real_extension() -> None:
    eng, ev, caller_name, agent_name = _answered_queue_call()
    agent = eng.channels[agent_name]
    assert eng.features.atxfer(agent, "agent-phones", "nope") == "Extension does not exist"
    phone = agent.local_peer
    assert phone is not None
    assert eng.features.atxfer(phone, "agent-phones", "1002") == "Channel is not in a bridge"
