"""The demo engine: phones answered from outside (the console's softphone), auto-answer, the
scripted outbound trunk, and run_pbxsim serving AMI with the demo queues."""

from __future__ import annotations

import asyncio

from pbxsim.demo import PbxSim, run_pbxsim
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.framing import Message, Parser, encode


def rig(**kw: object) -> tuple[PbxSim, VirtualScheduler, list[Message]]:
    sched = VirtualScheduler()
    sim = PbxSim(scheduler=sched, **kw)  # type: ignore[arg-type]
    events: list[Message] = []
    sim.engine.listeners.append(events.append)
    return sim, sched, events


def inbound(sim: PbxSim, line: str = "4000", calltime: int = 120) -> None:
    originate(sim.engine, OriginateRequest(
        channel="Local/talk@callers", context="from-pstn", exten=line,
        cid_num="+8613800000001", cid_name="Zhang Wei",
        variables=[("CALLTIME", str(calltime))]), lambda p: None)


def names(events: list[Message]) -> list[str]:
    return [e.get("Event") for e in events]


def test_phone_rings_until_the_console_answers_then_hangs_up() -> None:
    sim, sched, ev = rig()
    sim.engine.queues.add_member("support", "Local/1001@phones/n", "Alice")
    inbound(sim)
    sched.advance(30)
    assert "AgentCalled" in names(ev) and "AgentConnect" not in names(ev)
    ringing = sim.engine.phones.ringing()
    assert [(r.exten, r.caller_num) for r in ringing] == [("1001", "+8613800000001")]
    assert sim.engine.phones.answer("1001")
    sched.advance(1)
    assert "AgentConnect" in names(ev)
    assert sim.engine.phones.ringing() == []
    assert not sim.engine.phones.answer("1001")  # nothing rings any more
    sched.advance(5)
    assert sim.engine.phones.hangup("1001")
    sched.advance(1)
    complete = [e for e in ev if e.get("Event") == "AgentComplete"]
    assert [e.get("Reason") for e in complete] == ["agent"]


def test_rejected_call_is_busy_and_the_queue_tries_again() -> None:
    sim, sched, ev = rig()
    sim.engine.queues.add_member("support", "Local/1001@phones/n", "Alice")
    inbound(sim)
    sched.advance(1)
    assert sim.engine.phones.reject("1001")
    sched.advance(1)
    ends = [e.get("DialStatus") for e in ev if e.get("Event") == "DialEnd"
            and e.get("DestChannel", "").startswith("Local/1001@phones")]
    assert ends[0] == "BUSY"
    sched.advance(10)  # retry after 3 s (plus wrap-up free): it rings again
    assert names(ev).count("AgentCalled") == 2


def test_auto_answer_after_the_configured_delay() -> None:
    sim, sched, ev = rig(auto_answer={"1002": 4.0})
    sim.engine.queues.add_member("billing", "Local/1002@phones/n", "Bob")
    inbound(sim, line="4002")
    sched.advance(3)
    assert "AgentConnect" not in names(ev)
    sched.advance(2)
    connect = [e for e in ev if e.get("Event") == "AgentConnect"]
    assert [e.get("Queue") for e in connect] == ["billing"]


def verification(sim: PbxSim, number: str) -> list[Pairs]:
    results: list[Pairs] = []
    originate(sim.engine, OriginateRequest(
        channel="Local/1001@phones", context="outbound", exten=number,
        variables=[("INCIDENT_ID", "42"), ("_VIGIL_AUTOANSWER", "yes")]), results.append)
    return results


Pairs = list[tuple[str, str]]


def dialstatus(ev: list[Message]) -> list[str]:
    return [e.get("Value") for e in ev if e.get("Variable") == "DIALSTATUS" and e.get("Value")]


def test_trunk_numbers_behave_as_scripted() -> None:
    outcomes = {"13900000001": ("answer", "ANSWER"), "13900000002": ("busy", "BUSY"),
                "13900000003": ("noanswer", "NOANSWER"), "13900000004": ("voicemail", "ANSWER")}
    for number, (outcome, status) in outcomes.items():
        sim, sched, ev = rig(auto_answer={"1001": 1.0})
        sim.engine.phones.script_number(number, outcome, after=3, talk=5)
        res = verification(sim, number)
        sched.advance(120)
        assert dict(res[0])["Response"] == "Success"
        assert set(dialstatus(ev)) == {status}, outcome
        assert not sim.engine.channels, outcome


async def test_run_pbxsim_serves_ami_with_the_demo_queues_and_stops() -> None:
    stop = asyncio.Event()
    ready: list[PbxSim] = []
    task = asyncio.create_task(run_pbxsim("127.0.0.1", 0, stop_event=stop,
                                          on_ready=ready.append))
    for _ in range(100):
        if ready:
            break
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", ready[0].ami_port)
    assert await reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
    writer.write(encode([("Action", "Login"), ("Username", "vigil"), ("Secret", "vigil"),
                         ("Events", "off"), ("ActionID", "1")]))
    writer.write(encode([("Action", "QueueSummary"), ("ActionID", "2")]))
    parser, got = Parser(), []
    while not any(m.get("Event") == "QueueSummaryComplete" for m in got):
        got += parser.feed(await asyncio.wait_for(reader.read(65536), 2))
    assert got[0].get("Message") == "Authentication accepted"
    assert {m.get("Queue") for m in got if m.get("Event") == "QueueSummary"} == {
        "support", "emergency", "billing"}
    writer.close()
    stop.set()
    await asyncio.wait_for(task, 2)


def test_demo_ivr_line_queues_the_caller_where_the_ivr_said() -> None:
    from pbxsim.demo import IVR_LINE, demo_dialplan
    from pbxsim.engine.dialplan import expand

    steps = demo_dialplan("agi://127.0.0.1:4573/ivr").lookup("from-pstn", IVR_LINE)
    assert steps is not None
    apps = [s.app for s in steps]
    assert apps.index("AGI") < apps.index("Queue")
    queue = next(s for s in steps if s.app == "Queue")

    class Chan:
        def __init__(self, vars: dict[str, str]) -> None:
            self.vars = vars
            self.exten = IVR_LINE

        def get_var(self, name: str) -> str | None:
            return self.vars.get(name)

    assert expand(Chan({"VIGIL_QUEUE": "billing"}), queue.data).startswith("billing,")  # type: ignore[arg-type]
    assert expand(Chan({}), queue.data).startswith("emergency,")  # type: ignore[arg-type]


def _caller(sim: PbxSim) -> str:
    return next(c.name for c in sim.engine.channels.values()
                if c.name.startswith("Local/talk@callers") and c.name.endswith(";1"))


def _talking_to(sim: PbxSim, channel: str) -> str | None:
    """The phone (``phones`` extension) the channel is bridged with, through its Local pair."""
    eng = sim.engine
    peer = eng.bridge_peer(eng.channels[channel])
    if peer is None or peer.local_peer is None or peer.local_peer.state != 6:
        return None
    return peer.local_peer.exten if peer.local_peer.context == "phones" else None


def test_blind_transfer_to_an_agent_rings_their_phone_and_keeps_the_caller() -> None:
    sim, sched, ev = rig()
    sim.engine.queues.add_member("support", "Local/1002@phones/n", "Bob")
    inbound(sim)
    sched.advance(2)
    assert sim.engine.phones.answer("1002")
    sched.advance(2)
    caller = _caller(sim)
    assert _talking_to(sim, caller) == "1002"
    agent_leg = sim.engine.bridge_peer(sim.engine.channels[caller])
    assert agent_leg is not None
    assert sim.engine.features.blind_transfer(agent_leg, "from-agents", "1001") == ""
    sched.advance(2)
    assert caller in sim.engine.channels  # the caller's call goes on ...
    assert [r.exten for r in sim.engine.phones.ringing()] == ["1001"]  # ... ringing 1001
    assert _talking_to(sim, caller) is None
    assert sim.engine.phones.answer("1001")
    sched.advance(1)
    assert _talking_to(sim, caller) == "1001"
    dial_ends = [e.get("DialStatus") for e in ev if e.get("Event") == "DialEnd"
                 and e.get("Channel") == caller
                 and e.get("DestChannel", "").startswith("Local/1001@phones-")]
    assert dial_ends == ["ANSWER"]


def test_retrieving_a_parked_call_unparks_it_and_bridges_the_retriever() -> None:
    sim, sched, ev = rig()
    eng = sim.engine
    eng.queues.add_member("support", "Local/1002@phones/n", "Bob")
    inbound(sim)
    sched.advance(2)
    assert eng.phones.answer("1002")
    sched.advance(2)
    caller = _caller(sim)
    space = eng.features.park(eng.channels[caller], timeout=60)
    sched.advance(5)
    assert "UnParkedCall" not in names(ev) and space in eng.features.parked
    originate(eng, OriginateRequest(channel="Local/1002@phones", context="parkedcalls",
                                    exten=str(space)), lambda p: None)
    sched.advance(1)
    assert [r.exten for r in eng.phones.ringing()] == ["1002"]
    assert eng.phones.answer("1002")
    sched.advance(1)
    unparked = [e for e in ev if e.get("Event") == "UnParkedCall"]
    assert len(unparked) == 1
    u = unparked[0]
    assert u.get("ParkingSpace") == str(space) and u.get("ParkeeChannel") == caller
    assert u.get("RetrieverChannel", "").startswith("Local/1002@phones-")
    assert u.get("ParkeeUniqueid") == eng.channels[caller].uniqueid
    assert space not in eng.features.parked
    assert _talking_to(sim, caller) == "1002"
    assert not any(e.get("Event") in ("ParkedCallGiveUp", "ParkedCallTimeOut") for e in ev)
    sched.advance(70)  # past the park timeout: nothing fires for a retrieved call
    assert not any(e.get("Event") == "ParkedCallTimeOut" for e in ev)
    assert eng.phones.hangup("1002")
    sched.advance(1)
    assert caller not in eng.channels  # the basic bridge ends: the caller is hung up too
    assert [e.get("Reason") for e in ev if e.get("Event") == "AgentComplete"] == ["agent"]


def test_retrieving_an_empty_space_hangs_up() -> None:
    sim, sched, ev = rig()
    originate(sim.engine, OriginateRequest(channel="Local/1002@phones", context="parkedcalls",
                                           exten="705"), lambda p: None)
    sched.advance(1)
    assert sim.engine.phones.answer("1002")
    sched.advance(1)
    assert "UnParkedCall" not in names(ev)
    assert not [c for c in sim.engine.channels.values() if not c.dead]
