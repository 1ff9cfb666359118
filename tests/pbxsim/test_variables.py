"""Channel variable inheritance: ``_VAR`` reaches the channels a call creates (one level),
``__VAR`` every generation, so the CTI reads VIGIL_ACCOUNT_ID on the agent's leg too."""

from __future__ import annotations

import pytest

from pbxsim.engine.channels import Channel
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.engine.originate import OriginateRequest, originate
from pbxsim.framing import Message


def _chan(name: str) -> Channel:
    return Channel(name=name, uniqueid=name, linkedid=name, state=0, context="c", exten="s",
                   device=name, created=0.0)


def test_single_underscore_is_inherited_once_and_double_for_ever() -> None:
    caller, agent, onward = _chan("caller"), _chan("agent"), _chan("onward")
    caller.variables.update({"_ONCE": "1", "__ALWAYS": "2", "LOCAL": "3"})
    agent.inherit_from(caller)
    onward.inherit_from(agent)
    assert agent.variables == {"ONCE": "1", "__ALWAYS": "2"}
    assert onward.variables == {"__ALWAYS": "2"}
    # dialplan reads them without their prefixes
    assert (agent.get_var("ONCE"), agent.get_var("ALWAYS"), onward.get_var("ALWAYS")) == (
        "1", "2", "2")
    assert onward.get_var("ONCE") is None and agent.get_var("LOCAL") is None


def _queue_call(prefix: str) -> tuple[Engine, list[Message]]:
    eng = Engine(VirtualScheduler())
    events: list[Message] = []
    eng.listeners.append(events.append)
    eng.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    originate(eng, OriginateRequest(
        channel="Local/talk@callers", context="from-pstn", exten="4000", cid_num="+861380",
        cid_name="Caller", variables=[("CALLTIME", "30"), (f"{prefix}VIGIL_ACCOUNT_ID", "42")]),
        lambda p: None)
    eng.sched.advance(6)  # answered by the agent phone after 2 s of ringing
    return eng, events


@pytest.mark.parametrize("prefix,stored", [("_", "VIGIL_ACCOUNT_ID"),
                                           ("__", "__VIGIL_ACCOUNT_ID")])
def test_queue_agent_legs_inherit_the_callers_account_id(prefix: str, stored: str) -> None:
    eng, events = _queue_call(prefix)
    connect = next(e for e in events if e.get("Event") == "AgentConnect")
    agent = eng.channels[connect.get("DestChannel")]
    phone = agent.local_peer
    assert agent.bridge is not None and phone is not None
    for leg in (agent, phone):
        assert leg.get_var("VIGIL_ACCOUNT_ID") == "42"
        assert stored in leg.variables
    # inheritance is silent: no VarSet for the account id on the agent's legs
    assert not [e for e in events if e.get("Event") == "VarSet"
                and e.get("Variable").endswith("VIGIL_ACCOUNT_ID")
                and e.get("Channel").startswith("Local/1001@")]


def test_a_plain_variable_stays_on_the_caller() -> None:
    eng, events = _queue_call("")
    connect = next(e for e in events if e.get("Event") == "AgentConnect")
    assert eng.channels[connect.get("DestChannel")].get_var("VIGIL_ACCOUNT_ID") is None
    assert eng.channels[connect.get("Channel")].get_var("VIGIL_ACCOUNT_ID") == "42"
