"""Calls placed for a user in pbxsim: the own leg's auto-answer, the SIP trunk's outcomes as
the lab's Asterisk 22 produced them (tests/lab22), ChanSpy with and without ``E`` / ``u`` and
its DTMF mode switch."""

from __future__ import annotations

from typing import Any

import pytest

from cti.ami_codec import AmiDecoder
from pbxsim.demo import PbxSim
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.dialplan import Step
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.framing import Message
from tests.lab22 import LAB22, VERIFY

AUTO = ("_VIGIL_AUTOANSWER", "yes")


def rig(**kw: Any) -> tuple[PbxSim, VirtualScheduler, list[Message]]:
    sched = VirtualScheduler(start=1_796_490_000.0)
    sim = PbxSim(scheduler=sched, **kw)
    events: list[Message] = []
    sim.engine.listeners.append(events.append)
    return sim, sched, events


def place(sim: PbxSim, exten: str, context: str = "outbound", phone: str = "Local/1001@phones",
          variables: list[tuple[str, str]] | None = None, channel_id: str = "") -> list[Any]:
    results: list[Any] = []
    originate(sim.engine, OriginateRequest(
        channel=phone, context=context, exten=exten,
        variables=[AUTO] if variables is None else variables,
        channel_id=channel_id, other_channel_id=f"{channel_id}-2" if channel_id else ""),
        results.append)
    return results


def inbound(sim: PbxSim, line: str = "4000", talk: int = 60) -> None:
    originate(sim.engine, OriginateRequest(
        channel="Local/talk@callers", context="from-pstn", exten=line, cid_num="+8613800000001",
        variables=[("CALLTIME", str(talk))]), lambda p: None)


def of(events: list[Message], name: str, **match: str) -> list[Message]:
    return [e for e in events if e.get("Event") == name
            and all(e.get(k) == v for k, v in match.items())]


# ---------------------------------------------------------------------- the own leg


def test_a_call_placed_for_the_user_rings_their_phone_which_answers_at_once() -> None:
    sim, sched, ev = rig()
    sim.engine.phones.script_number("13900000002", "noanswer")
    res = place(sim, "13900000002", channel_id="dial-1")
    sched.advance(0.01)
    assert dict(res[0])["Response"] == "Success"  # the own leg answered without anyone
    up = of(ev, "Newstate", Uniqueid="dial-1-2", ChannelStateDesc="Up")
    assert up and up[0].get("Channel").startswith("Local/1001@phones-")
    assert sim.engine.phones.ringing() == []


def test_without_the_variable_the_phone_rings_until_answered() -> None:
    sim, sched, ev = rig(auto_answer={"1001": 4.0})  # the demo's hands-free agent
    res = place(sim, "13900000002", variables=[("VIGIL_INCIDENT_ID", "1")])
    sched.advance(20)
    assert res == [] and [r.exten for r in sim.engine.phones.ringing()] == ["1001"]
    assert sim.engine.phones.answer("1001")
    sched.advance(0.1)
    assert dict(res[0])["Response"] == "Success"


def test_the_demo_auto_answer_still_takes_queue_calls() -> None:
    sim, sched, ev = rig(auto_answer={"1002": 4.0})
    sim.engine.queues.add_member("support", "Local/1002@phones/n", "Bob")
    inbound(sim)
    sched.advance(3)
    assert not of(ev, "AgentConnect")
    sched.advance(2)
    assert len(of(ev, "AgentConnect")) == 1


@pytest.mark.parametrize(("name", "colleague_answers"), [("_VIGIL_AUTOANSWER", False),
                                                         ("__VIGIL_AUTOANSWER", True)])
def test_auto_answer_stops_at_the_users_own_phone(name: str, colleague_answers: bool) -> None:
    """With one underscore the variable reaches the phone's channel and nothing dialled after
    it; with two (what asterisk-config set before) it followed the premises into a transfer
    and the colleague's phone answered a call nobody had picked up."""
    sim, sched, ev = rig()
    eng = sim.engine
    eng.phones.script_number("13900000002", "answer", after=1, talk=60)
    place(sim, "13900000002", variables=[(name, "yes")])
    sched.advance(3)
    premises = next(c for c in eng.channels.values() if c.name.startswith("PJSIP/trunk-"))
    operator = eng.bridge_peer(premises)
    assert operator is not None and operator.name.startswith("Local/1001@phones-")
    assert eng.features.blind_transfer(operator, "from-agents", "1002") == ""
    sched.advance(2)
    ringing = [r.exten for r in eng.phones.ringing()]
    assert (ringing == []) is colleague_answers
    assert (ringing == ["1002"]) is not colleague_answers


def test_a_sip_phone_answers_on_the_call_info_header_of_the_predial_handler() -> None:
    sim, sched, ev = rig()
    eng = sim.engine
    eng.phones.endpoints["1101"] = "from-agents"
    eng.phones.script_number("13900000002", "noanswer")
    res = place(sim, "13900000002", phone="Local/1101@sip-phones", channel_id="v-1")
    sched.advance(0.01)
    assert dict(res[0])["Response"] == "Success"
    phone = [e for e in of(ev, "Newchannel") if e.get("Channel").startswith("PJSIP/1101-")]
    assert phone  # the real phone channel, with the variable inherited (and announced)
    varsets = of(ev, "VarSet", Channel=phone[0].get("Channel"))
    assert ("VIGIL_AUTOANSWER", "yes") in [(e.get("Variable"), e.get("Value")) for e in varsets]
    assert [e.get("Application") for e in of(ev, "Newexten", Channel=phone[0].get("Channel"))] \
        == ["Set"]  # the pre-dial handler ran on it
    # without the variable the same phone rings
    place(sim, "13900000002", phone="Local/1101@sip-phones", variables=[])
    sched.advance(5)
    assert [r.exten for r in eng.phones.ringing()] == ["1101"]


# ---------------------------------------------------------------------- the trunk, as the lab


def _far_essence(messages: list[Any]) -> dict[str, Any]:
    """What a verification call's far leg looked like on AMI: the operator leg's dial events in
    the outbound context, VIGIL_DIALSTATUS, and the hangup causes of both legs."""
    dials = [m for m in messages if m.get("Event") in ("DialBegin", "DialState", "DialEnd")
             and m.get("Context") == "outbound"]
    far_uid = next((m.get("DestUniqueid") for m in dials if m.get("Event") == "DialBegin"), None)
    operator = next(m.get("Uniqueid") for m in messages if m.get("Event") == "Newchannel"
                    and m.get("Channel", "").endswith(";1"))
    causes = {m.get("Uniqueid"): m.get("Cause") for m in messages if m.get("Event") == "Hangup"}
    return {
        "dial": [(m.get("Event"), m.get("DialStatus")) for m in dials],
        "vigil_dialstatus": [m.get("Value") for m in messages if m.get("Event") == "VarSet"
                             and m.get("Variable") == "VIGIL_DIALSTATUS"],
        "far_cause": causes.get(far_uid) if far_uid else None,
        "operator_cause": causes.get(operator),
    }


LAB_SCRIPTS = {  # what the lab's carrier did, as a pbxsim trunk script (outcome, after)
    "verify_answered": ("answer", 0.0), "verify_busy": ("busy", 0.0),
    "verify_no_answer": ("noanswer", 0.0), "verify_carrier_silent": ("silent", 0.0),
    "verify_unavailable": ("unavailable", 0.0), "verify_unavailable_404": ("invalid", 0.0),
    "verify_unavailable_480": ("absent", 0.0)}


def lab_outbound(sim: PbxSim) -> None:
    """[outbound] as the lab ran it that day: VIGIL_DIALSTATUS set after Dial() (so not for
    an answered call), before asterisk-config moved it into a hangup handler."""
    sim.engine.dialplan.add("outbound", "_X.", [
        Step("NoOp", "verification call to ${EXTEN}"),
        Step("Set", "CALLERID(num)=4000"), Step("Set", "CALLERID(name)=Alarm Center"),
        Step("Dial", "PJSIP/${EXTEN}@trunk,30"),
        Step("Set", "VIGIL_DIALSTATUS=${DIALSTATUS}"), Step("Hangup")])


@pytest.mark.parametrize("name", VERIFY)
def test_trunk_outcomes_are_what_asterisk_22_sent(name: str) -> None:
    lab = AmiDecoder().feed((LAB22 / f"{name}.ami").read_bytes())
    outcome, after = LAB_SCRIPTS[name]
    sim, sched, ev = rig()
    lab_outbound(sim)
    sim.engine.phones.script_number("057192319938", outcome, after=after, talk=60)
    place(sim, "057192319938")
    sched.advance(8.68)
    if outcome == "answer":
        assert sim.engine.phones.hangup("1001")  # the operator hangs up, as in the lab
    sched.advance(60)
    assert not sim.engine.channels
    sim_msgs = AmiDecoder().feed(b"".join(m.encode() for m in ev))
    assert _far_essence(sim_msgs) == _far_essence(lab)


# ---------------------------------------------------------------------- ChanSpy


def _agent_call(sim: PbxSim, sched: VirtualScheduler, talk: int = 20) -> None:
    inbound(sim, talk=talk)
    sched.advance(1)
    assert sim.engine.phones.answer("1001")
    sched.advance(1)


def _spy_sequence(events: list[Message]) -> list[tuple[str, str]]:
    return [(e.get("Event"), e.get("SpyeeUniqueid")) for e in events
            if e.get("Event") in ("ChanSpyStart", "ChanSpyStop")]


def _spy_rig() -> tuple[PbxSim, VirtualScheduler, list[Message]]:
    sim, sched, ev = rig()
    sim.engine.queues.add_member("support", "Local/1001@phones/n", "Alice")
    return sim, sched, ev


def test_chanspy_without_e_moves_on_to_the_agents_next_call() -> None:
    """What the lab's Asterisk did with ``ChanSpy(PJSIP/1001,q)`` (spy_listen)."""
    lab = AmiDecoder().feed((LAB22 / "spy_listen.ami").read_bytes())
    lab_seq = [m.get("Event") for m in lab if m.get("Event", "").startswith("ChanSpyS")]
    sim, sched, ev = _spy_rig()
    _agent_call(sim, sched, talk=10)
    originate(sim.engine, OriginateRequest(
        channel="Local/2001@phones", application="ChanSpy", data="Local/1001@phones-,q",
        variables=[AUTO]), lambda p: None)
    sched.advance(30)  # the first call ends; the spy keeps waiting
    assert [c for c in sim.engine.channels if c.startswith("Local/2001@phones-")]
    _agent_call(sim, sched, talk=10)  # the agent's next call: spied on again, unasked
    sched.advance(30)
    seq = _spy_sequence(ev)
    assert [e for e, _ in seq] == lab_seq == ["ChanSpyStart", "ChanSpyStop"] * 2
    assert seq[0][1] != seq[2][1]


def test_chanspy_with_e_ends_with_the_spied_call() -> None:
    lab = AmiDecoder().feed((LAB22 / "spy_dialplan_E.ami").read_bytes())
    lab_seq = [m.get("Event") for m in lab if m.get("Event", "").startswith("ChanSpyS")]
    sim, sched, ev = _spy_rig()
    _agent_call(sim, sched, talk=10)
    place(sim, "821001", context="supervisor-spy", phone="Local/2001@phones")
    sched.advance(30)
    assert not [c for c in sim.engine.channels if c.startswith("Local/2001@phones-")]
    _agent_call(sim, sched, talk=10)
    sched.advance(30)
    assert [e for e, _ in _spy_sequence(ev)] == lab_seq == ["ChanSpyStart", "ChanSpyStop"]


def test_chanspy_on_a_named_channel_never_spies_on_another() -> None:
    sim, sched, ev = _spy_rig()
    _agent_call(sim, sched, talk=10)
    phone = next(c.name for c in sim.engine.channels.values()
                 if c.name.startswith("Local/1001@phones-") and c.name.endswith(";2"))
    place(sim, "821001", context="supervisor-spy", phone="Local/2001@phones",
          variables=[AUTO, ("VIGIL_SPY_CHANNEL", phone)])
    sched.advance(30)
    assert _spy_sequence(ev)[0][0] == "ChanSpyStart"
    assert not [c for c in sim.engine.channels if c.startswith("Local/2001@phones-")]
    # a spy asked for after that call ended finds nothing and hangs up at once
    place(sim, "811001", context="supervisor-spy", phone="Local/2001@phones",
          variables=[AUTO, ("VIGIL_SPY_CHANNEL", phone)])
    sched.advance(1)
    _agent_call(sim, sched, talk=10)
    sched.advance(30)
    assert len(of(ev, "ChanSpyStart")) == 1
    assert not [c for c in sim.engine.channels if c.startswith("Local/2001@phones-")]


def test_playdtmf_received_on_the_spy_switches_its_mode() -> None:
    sim, sched, ev = _spy_rig()
    _agent_call(sim, sched, talk=30)
    place(sim, "811001", context="supervisor-spy", phone="Local/2001@phones")
    sched.advance(1)
    [spy] = sim.engine.features.spies
    assert spy.mode == "listen"
    spyer = of(ev, "ChanSpyStart")[0].get("SpyerChannel")
    for digit, mode in (("5", "whisper"), ("6", "barge"), ("4", "listen")):
        sim.engine.media.receive_end(sim.engine.channels[spyer], digit, 250)
        assert spy.mode == mode
    ends = of(ev, "DTMFEnd", Channel=spyer)
    assert [(e.get("Digit"), e.get("Direction")) for e in ends] == [
        ("5", "Received"), ("6", "Received"), ("4", "Received")]


def test_an_explicit_hangup_of_the_spy_ends_it_at_once() -> None:
    sim, sched, ev = _spy_rig()
    _agent_call(sim, sched, talk=60)
    place(sim, "811001", context="supervisor-spy", phone="Local/2001@phones")
    sched.advance(1)
    spyer = sim.engine.channels[of(ev, "ChanSpyStart")[0].get("SpyerChannel")]
    spyer.extra["explicit_hangup"] = True  # what AMI Hangup marks
    sim.engine.request_hangup(spyer)
    sched.advance(0.5)
    assert [e for e, _ in _spy_sequence(ev)] == ["ChanSpyStart", "ChanSpyStop"]
    assert not [c for c in sim.engine.channels if c.startswith("Local/2001@phones-")]
    assert [c for c in sim.engine.channels if c.startswith("Local/1001@phones-")]


@pytest.mark.parametrize(("outcome", "status"), [("answer", "ANSWER"), ("busy", "BUSY"),
                                                 ("unavailable", "CHANUNAVAIL")])
def test_the_demo_reports_every_dial_status_from_a_hangup_handler(outcome: str,
                                                                   status: str) -> None:
    """As asterisk-config now does: VIGIL_DIALSTATUS before the operator leg's Hangup, for an
    answered call too."""
    sim, sched, ev = rig()
    sim.engine.phones.script_number("13900000002", outcome, after=1, talk=3)
    place(sim, "13900000002", channel_id="v-9")
    sched.advance(60)
    names = [(e.get("Event"), e.get("Variable"), e.get("Uniqueid")) for e in ev]
    handler = names.index(("VarSet", "VIGIL_DIALSTATUS", "v-9"))
    assert names.index(("Hangup", "", "v-9")) > handler
    assert of(ev, "VarSet", Variable="VIGIL_DIALSTATUS")[0].get("Value") == status
