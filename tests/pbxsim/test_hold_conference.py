"""The demo phone's hold key, AMI Redirect (dual) into ConfBridge, and app_queue's accounting
around both, in virtual time against the demo's own dialplan and queues."""

from __future__ import annotations

import asyncio

import pytest

from pbxsim.ami_server import AmiServer
from pbxsim.demo import CONFERENCE_CONTEXT, PbxSim
from pbxsim.engine.channels import Channel
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.framing import Message, Parser

START = 1_795_299_800.0


def demo() -> tuple[PbxSim, VirtualScheduler, list[Message]]:
    sched = VirtualScheduler(start=START)
    sim = PbxSim(scheduler=sched)
    events: list[Message] = []
    sim.engine.listeners.append(events.append)
    return sim, sched, events


def queue_call(sim: PbxSim, sched: VirtualScheduler, ext: str = "1002",
               queues: tuple[str, ...] = ("support",)) -> tuple[Channel, Channel]:
    """A support call answered on ``ext``'s phone: (caller ;1, the agent's leg bridged with
    it)."""
    eng = sim.engine
    for q in queues:
        eng.queues.add_member(q, f"Local/{ext}@phones/n", f"Agent {ext}")
    originate(eng, OriginateRequest(channel="Local/talk@callers", context="from-pstn",
                                    exten="4000", cid_num="+8613800000001",
                                    variables=[("CALLTIME", "600")]), lambda p: None)
    sched.advance(2)
    assert eng.phones.answer(ext)
    sched.advance(2)
    caller = next(c for c in eng.channels.values()
                  if c.name.startswith("Local/talk@callers") and c.name.endswith(";1"))
    leg = eng.bridge_peer(caller)
    assert leg is not None
    return caller, leg


def named(events: list[Message], *names: str) -> list[Message]:
    return [e for e in events if e.get("Event") in names]


def test_hold_is_on_the_phone_and_the_caller_hears_music_while_the_agent_stays_busy() -> None:
    sim, sched, ev = demo()
    eng = sim.engine
    assert not eng.phones.hold("1002")  # no call
    caller, leg = queue_call(sim, sched)
    phone = leg.local_peer
    assert phone is not None
    mark = len(ev)
    assert eng.phones.hold("1002")
    assert not eng.phones.hold("1002")  # already held
    [hold] = named(ev[mark:], "Hold")
    assert (hold.get("Channel"), hold.get("MusicClass")) == (phone.name, "default")
    # as on Asterisk 22 (tests/cti/asterisk22): the Local half next to the phone plays it
    [moh] = named(ev[mark:], "MusicOnHoldStart")
    assert (moh.get("Channel"), moh.get("Class")) == (leg.name, "default")
    sched.advance(5)
    # the call is up all along: no status change, no AgentComplete, the device stays in use
    assert not named(ev[mark:], "QueueMemberStatus", "AgentComplete", "BridgeLeave")
    assert eng.queues.queues["support"].members[0].status == 2
    assert eng.phones.unhold("1002")
    assert not eng.phones.unhold("1002")
    assert [e.get("Event") for e in named(ev[mark:], "Unhold", "MusicOnHoldStop")] == [
        "Unhold", "MusicOnHoldStop"]
    assert named(ev[mark:], "Unhold")[0].get("Channel") == phone.name
    assert eng.bridge_peer(caller) is leg
    assert not [e for e in ev[mark:] if e.get("Channel") == caller.name]


def test_hanging_up_while_held_stops_the_music() -> None:
    sim, sched, ev = demo()
    caller, leg = queue_call(sim, sched)
    assert sim.engine.phones.hold("1002")
    mark = len(ev)
    assert sim.engine.phones.hangup("1002")
    sched.advance(1)
    stops = named(ev[mark:], "MusicOnHoldStop")
    assert [e.get("Channel") for e in stops] in ([leg.name], [])  # unless already gone
    assert caller.name not in sim.engine.channels


def _redirect_into_room(sim: PbxSim, sched: VirtualScheduler, caller: Channel,
                        leg: Channel) -> str:
    room = caller.linkedid.replace(".", "")
    sim.engine.redirect([(caller, CONFERENCE_CONTEXT, "P" + room, 1),
                         (leg, CONFERENCE_CONTEXT, "A" + room, 1)])
    sched.advance(1)
    return room


def test_dual_redirect_keeps_both_parties_and_the_queue_call_until_a_hangup() -> None:
    sim, sched, ev = demo()
    eng = sim.engine
    caller, leg = queue_call(sim, sched)
    mark = len(ev)
    room = _redirect_into_room(sim, sched, caller, leg)
    got = ev[mark:]
    # both leave the queue's bridge, which goes away without hanging anyone up
    assert [e.get("Channel") for e in named(got, "BridgeLeave")] == [caller.name, leg.name]
    assert not named(got, "Hangup", "HangupRequest", "SoftHangupRequest", "AgentComplete")
    start = named(got, "ConfbridgeStart")
    assert [e.get("Conference") for e in start] == [f"vigil-{room}"]
    assert (start[0].get("BridgeType"), start[0].get("BridgeTechnology"),
            start[0].get("BridgeCreator"), start[0].get("BridgeNumChannels")) == (
        "base", "softmix", "ConfBridge", "1")  # the announcer counts, but is never shown
    joins = named(got, "ConfbridgeJoin")
    assert [e.get("Channel") for e in joins] == [caller.name, leg.name]
    assert [e.get("Admin") for e in joins] == ["No", "No"]
    # BridgeEnter comes before ConfbridgeJoin for each party
    names = [(e.get("Event"), e.get("Channel")) for e in got]
    assert names.index(("BridgeEnter", caller.name)) < names.index(("ConfbridgeJoin",
                                                                   caller.name))
    # the agent's device is still busy: a second caller is not offered to it
    originate(eng, OriginateRequest(channel="Local/talk@callers", context="from-pstn",
                                    exten="4000", cid_num="+8613800000002",
                                    variables=[("CALLTIME", "60")]), lambda p: None)
    sched.advance(3)
    assert not named(ev[mark:], "AgentCalled")


def test_the_agent_leaving_ends_the_room_and_completes_the_queue_call_as_agent() -> None:
    sim, sched, ev = demo()
    eng = sim.engine
    caller, leg = queue_call(sim, sched)
    room = _redirect_into_room(sim, sched, caller, leg)
    originate(eng, OriginateRequest(channel="Local/13900000002@outbound",
                                    context=CONFERENCE_CONTEXT, exten="P" + room,
                                    channel_id="conf-x"), lambda p: None)
    sched.advance(5)  # the trunk answers after 3 s
    third = eng.channels["Local/13900000002@outbound-00000002;1"]
    assert third.bridge is caller.bridge is leg.bridge
    mark = len(ev)
    assert eng.phones.hangup("1002")
    sched.advance(2)
    got = ev[mark:]
    [complete] = named(got, "AgentComplete")
    assert complete.get("Reason") == "agent"
    assert any(line.split("|")[4] == "COMPLETEAGENT" for line in eng.queue_log_lines)
    leaves = [e.get("Channel") for e in named(got, "ConfbridgeLeave")]
    assert leaves == [leg.name, caller.name, third.name]  # the agent first, then the kicked
    results = [(e.get("Channel"), e.get("Value")) for e in got
               if e.get("Variable") == "CONFBRIDGE_RESULT"]
    assert results == [(caller.name, "ENDMARKED"), (third.name, "ENDMARKED")]
    assert [e.get("Event") for e in got][-40:].count("ConfbridgeEnd") == 1
    assert eng.channels == {}  # everyone is gone, the trunk leg too
    assert eng.confbridges.rooms == {}


def test_the_caller_leaving_completes_as_caller_and_the_agent_talks_on() -> None:
    sim, sched, ev = demo()
    eng = sim.engine
    caller, leg = queue_call(sim, sched)
    room = _redirect_into_room(sim, sched, caller, leg)
    originate(eng, OriginateRequest(channel="Local/13900000002@outbound",
                                    context=CONFERENCE_CONTEXT, exten="P" + room),
              lambda p: None)
    sched.advance(5)
    mark = len(ev)
    eng.request_hangup(caller)
    sched.advance(1)
    [complete] = named(ev[mark:], "AgentComplete")
    assert complete.get("Reason") == "caller"
    assert leg.name in eng.channels and not named(ev[mark:], "ConfbridgeEnd")


async def test_redirect_over_ami_checks_its_headers() -> None:
    sim, sched, _ = demo()
    caller, leg = queue_call(sim, sched)
    server = AmiServer(sim.engine, {"vigil": "vigil"})
    port = await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()
    parser = Parser()

    async def ask(text: str) -> Message:
        writer.write(text.encode())
        await writer.drain()
        while True:
            data = await asyncio.wait_for(reader.read(65536), 5)
            assert data, "pbxsim closed the connection"
            for msg in parser.feed(data):
                if msg.has("Response"):
                    return msg

    try:
        login = await ask("Action: Login\r\nUsername: vigil\r\nSecret: vigil\r\n\r\n")
        assert login.get("Response") == "Success"
        base = (f"Action: Redirect\r\nChannel: {caller.name}\r\nContext: {CONFERENCE_CONTEXT}"
                f"\r\nExten: P1\r\nPriority: 1\r\n")
        bad = await ask(base + "ExtraChannel: Local/nobody@x-0;1\r\nExtraContext: c\r\n"
                        "ExtraExten: A1\r\nExtraPriority: 1\r\n\r\n")
        assert bad.get("Message") == "ExtraChannel does not exist: Local/nobody@x-0;1"
        missing = await ask(base + f"ExtraChannel: {leg.name}\r\nExtraContext: c\r\n\r\n")
        assert missing.get("Message") == "ExtraExten not specified"
        ok = await ask(base + f"ExtraChannel: {leg.name}\r\nExtraContext: {CONFERENCE_CONTEXT}"
                       "\r\nExtraExten: A1\r\nExtraPriority: 1\r\n\r\n")
        assert ok.get("Message") == "Dual Redirect successful"
    finally:
        writer.close()
        await server.close()


@pytest.mark.parametrize("shared", [True, False])
def test_wrapup_after_a_call_in_one_queue(shared: bool) -> None:
    """shared_lastcall: the wrap-up of the call's queue keeps the agent from every queue;
    without it only from that queue."""
    sim, sched, ev = demo()
    eng = sim.engine
    eng.queues.shared_lastcall = shared
    eng.queues.queues["support"].cfg.wrapuptime = 30
    caller, _ = queue_call(sim, sched, queues=("support", "emergency"))
    eng.request_hangup(caller)
    sched.advance(2)
    mark = len(ev)
    originate(eng, OriginateRequest(channel="Local/talk@callers", context="from-pstn",
                                    exten="4001", cid_num="+8613800000009",
                                    variables=[("CALLTIME", "60")]), lambda p: None)
    sched.advance(10)
    rung = [e.get("Queue") for e in named(ev[mark:], "AgentCalled")]
    assert rung == ([] if shared else ["emergency"])
    last_calls = {e.get("Queue"): e.get("LastCall") for e in named(ev, "QueueMemberStatus")}
    assert last_calls["support"] != "0"
    assert (last_calls["emergency"] != "0") == shared
