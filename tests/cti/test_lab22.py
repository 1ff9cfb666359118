"""The model on real Asterisk 22 traffic with asterisk-config (tests/lab22): a verification
call's outcome is the premises', never the operator's own phone answering, and the call is an
outbound call from the operator to the number dialled."""

from __future__ import annotations

from typing import Any

import pytest

from cti.model import ModelConfig
from cti.replay import replay_file
from tests.lab22 import LAB22

PRODUCTION = ModelConfig()  # asterisk-config's contexts: from-pstn, outbound, agent-phones

EXPECTED = {  # capture -> (outcome, failure_reason, far_status, far_cause)
    "verify_answered": ("answered", None, "ANSWER", 16),
    "verify_busy": ("busy", "busy", "BUSY", 17),
    "verify_no_answer": ("no_answer", "no_answer", "NOANSWER", 0),
    "verify_carrier_silent": ("no_answer", "no_answer", "NOANSWER", 0),
    "verify_unavailable": ("failed", "no_route", "CHANUNAVAIL", 3),
    "verify_unavailable_404": ("failed", "unallocated_number", "CHANUNAVAIL", 1),
    "verify_unavailable_480": ("no_answer", "no_answer", "NOANSWER", 19),
}


def records(name: str) -> list[dict[str, Any]]:
    return list(replay_file(LAB22 / f"{name}.ami", PRODUCTION)["records"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_far_leg_decides_the_outcome(name: str) -> None:
    [rec] = records(name)
    assert (rec["outcome"], rec["failure_reason"], rec["far_status"], rec["far_cause"]) == \
        EXPECTED[name]
    # the operator's own phone answered every time: that is not the call's answer
    assert rec["own_answer_at"] is not None
    assert (rec["answer_at"] is not None) is (rec["outcome"] == "answered")
    # an outbound call from the operator to the premises (not "inbound, caller 4000")
    assert (rec["direction"], rec["caller_number"], rec["called_number"]) == (
        "outbound", "1001", "057192319938")
    assert (rec["agent_interface"], rec["placed_from"]) == ("Local/1001@agent-phones",
                                                            "Local/1001@agent-phones")
    assert (rec["incident_id"], rec["queue"]) == ("1", None)


def test_answered_when_the_premises_answered_not_the_operator() -> None:
    [rec] = records("verify_answered")
    assert rec["own_answer_at"] < rec["far_answer_at"] == rec["answer_at"]
    assert rec["talk_seconds"] == pytest.approx(8.66, abs=0.05)  # until the operator hung up
    assert rec["ended_by"] == "agent"  # the operator hung up first


def test_a_ringing_premises_is_seen_ringing() -> None:
    [rec] = records("verify_no_answer")
    assert rec["far_ring_at"] is not None
    [silent] = records("verify_carrier_silent")
    assert silent["far_ring_at"] is None  # the carrier never said it was ringing


def test_spy_without_e_listened_to_the_next_call_nobody_asked_for() -> None:
    """What the CTI of that day did (Originate Application=ChanSpy, no E): the model shows it,
    two spy sessions on two calls from one supervisor call."""
    recs = records("spy_listen")
    calls = [r for r in recs if r["spy_sessions"]]
    assert len(calls) == 2 and calls[0]["call_id"] != calls[1]["call_id"]
    spies = [s for r in calls for s in r["spy_sessions"]]
    assert {s["spyer_call_id"] for s in spies} == {"1796490082.8"}
    assert [(s["supervisor_extension"], s["agent_extension"], s["mode"]) for s in spies] == [
        ("2001", "1001", "listen")] * 2
    assert all(s["ended_at"] is not None for s in spies)


def test_spy_through_the_dialplan_with_e_ends_with_the_call() -> None:
    recs = records("spy_dialplan_E")
    spies = [s for r in recs for s in r["spy_sessions"]]
    assert len(spies) == 1
    spied = next(r for r in recs if r["spy_sessions"])
    assert spies[0]["ended_at"] <= spied["end_at"]
    supervisor = next(r for r in recs if r["spied_call_id"])
    assert (supervisor["caller_number"], supervisor["outcome"]) == ("2001", "answered")


def _essence(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: rec[k] for k in ("direction", "caller_number", "called_number", "outcome",
                                "failure_reason", "far_status", "far_cause", "queue")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pbxsim_gives_the_record_asterisk_gave(name: str) -> None:
    """The same premises behaviour through pbxsim's SIP trunk makes the same call record."""
    from cti.ami_codec import AmiDecoder
    from cti.model import replay_messages
    from tests.pbxsim.test_placed_calls import LAB_SCRIPTS, lab_outbound, place, rig

    outcome, after = LAB_SCRIPTS[name]
    sim, sched, ev = rig()
    lab_outbound(sim)
    sim.engine.phones.script_number("057192319938", outcome, after=after, talk=60)
    place(sim, "057192319938", channel_id="verif-1-1-1")
    sched.advance(8.68)
    if outcome == "answer":
        assert sim.engine.phones.hangup("1001")
    sched.advance(60)
    decoded = AmiDecoder().feed(b"".join(m.encode() for m in ev))
    config = ModelConfig(agent_contexts=frozenset({"agent-phones", "phones"}))
    [from_pbxsim], _ = replay_messages([(m, None) for m in decoded], config)
    [from_asterisk] = records(name)
    assert _essence(from_pbxsim) == _essence(from_asterisk)
