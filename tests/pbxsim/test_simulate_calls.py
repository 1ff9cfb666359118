"""``vigil simulate calls`` drives a running PBX over AMI, as it would drive Asterisk."""

import pytest

from pbxsim.demo import PbxSim
from pbxsim.framing import Message
from pbxsim.simulate_calls import originate_action, run_calls
from pbxsim.traffic import install_callers


async def test_simulated_subscribers_call_in_over_ami() -> None:
    sim = PbxSim(agi_port=1)  # no IVR listening: IVR callers fall through to a queue
    install_callers(sim.engine)
    events: list[Message] = []
    sim.engine.listeners.append(
        lambda m: events.append(m)
        if (m.get("Channel") or "").startswith("Local/sim@callers") else None)
    port = await sim.start("127.0.0.1", 0)
    numbers = [("+8613800000001", "Zhang Wei"), ("+8613900000002", "Li Na")]
    try:
        report = await run_calls("127.0.0.1", port, "vigil", "vigil", rate_per_second=40,
                                 duration=0.5, numbers=numbers, seed=7)
    finally:
        await sim.close()
    assert report.placed > 5 and report.queued_ok == report.placed and not report.errors
    # each call is a Local pair: one ;1 half per simulated subscriber, with a known number
    halves = {m.get("Channel") for m in events if m.get("Event") == "Newchannel"
              and (m.get("Channel") or "").endswith(";1")}
    assert len(halves) == report.placed
    # caller ID is set on the Originate, as Asterisk shows it once the channel is up
    shown = {m.get("Channel"): m.get("CallerIDNum") for m in events
             if m.get("Channel") in halves and m.get("CallerIDNum") != "<unknown>"}
    assert set(shown) == halves and set(shown.values()) <= {n for n, _ in numbers}


async def test_a_wrong_ami_secret_is_refused_clearly() -> None:
    sim = PbxSim()
    port = await sim.start("127.0.0.1", 0)
    try:
        with pytest.raises(PermissionError, match="refused"):
            await run_calls("127.0.0.1", port, "vigil", "wrong", 1, 0.1, [])
    finally:
        await sim.close()


def test_originate_is_a_local_caller_into_the_line_with_its_script() -> None:
    pairs = originate_action("+8613800000001", "Zhang Wei", "4100", "3:1", 30.0, 60.0, "menu")
    assert ("Channel", "Local/sim@callers") in pairs and ("Exten", "4100") in pairs
    assert ("CallerID", '"Zhang Wei" <+8613800000001>') in pairs
    assert ("Variable", "SCRIPT=3:1") in pairs and ("Async", "true") in pairs
