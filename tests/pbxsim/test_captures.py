"""pbxsim, driven over a real socket with each capture's actions, emits what Asterisk did."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest

from pbxsim.framing import Message

from .amicompare import diff
from .replay import CAPTURES, replay

# The lab had added Alice (Local/1001) before each of these scenarios, so Asterisk's device
# state cache already held her pause device as NOT_INUSE and sent no change when she was added
# again; pbxsim starts empty and sends one. Only that device's stream is left out.
ALICE_PAUSE = "device:Queue:support_pause_Local/1001@agent-phones/n"


@pytest.mark.parametrize("name", ["queue_answered", "queue_abandoned", "originate_verification",
                                  "originate_failure"])
async def test_scenario_matches_capture(name: str) -> None:
    r = await replay(name)
    assert diff(r.capture, r.sim) == []


async def test_pause_unpause_matches_capture() -> None:
    # ALICE_PAUSE: the lab's device-state cache hid one change (see above)
    r = await replay("pause_unpause")
    assert diff(r.capture, r.sim, skip_streams=(ALICE_PAUSE,)) == []


async def test_agent_ring_no_answer_matches_capture() -> None:
    # Asterisk computes HoldTime from whole-second wall clocks: 20.02 s became 21 there
    r = await replay("agent_ring_no_answer")
    assert diff(r.capture, r.sim, ignore={"HoldTime"}) == []
    log = [line.split("|")[4] for line in r.engine.queue_log_lines]
    assert log == ["ADDMEMBER", "ENTERQUEUE", "RINGNOANSWER", "RINGCANCELED", "ABANDON",
                   "REMOVEMEMBER"]


def _without_lab_history(msgs: list[Message]) -> list[Message]:
    """The lab's DeviceStateList also lists Slow's pause device, cached by Asterisk from the
    agent_ring_no_answer run before: drop that one entry and count it out of ListItems."""
    stale = "Queue:support_pause_Local/1009@slow-phones/n"
    out = []
    for m in msgs:
        if m.get("ActionID") == "lab-10" and m.get("Device") == stale:
            continue
        if m.get("Event") == "DeviceStateListComplete" and m.get("ActionID") == "lab-10":
            m = Message([(k, str(int(v) - 1) if k == "ListItems" else v) for k, v in m.pairs])
        out.append(m)
    return out


async def test_status_snapshot_matches_capture() -> None:
    # ALICE_PAUSE: the lab's device-state cache hid one change (see above)
    r = await replay("status_snapshot")
    assert diff(_without_lab_history(r.capture), r.sim,
                skip_streams=(ALICE_PAUSE,)) == []


async def test_queue_log_lines_have_asterisk_format() -> None:
    r = await replay("queue_answered")
    verbs = [line.split("|") for line in r.engine.queue_log_lines]
    enter = next(v for v in verbs if v[4] == "ENTERQUEUE")
    connect = next(v for v in verbs if v[4] == "CONNECT")
    complete = next(v for v in verbs if v[4] == "COMPLETECALLER")
    assert enter[2:] == ["support", "NONE", "ENTERQUEUE", "", "+8613800000001", "1"]
    assert connect[1] == enter[1] and connect[3:6] == ["Alice", "CONNECT", "2"]
    assert complete[3:] == ["Alice", "COMPLETECALLER", "2", "6", "1"]


async def test_recording_matches_capture_and_writes_the_wav(tmp_path: Path) -> None:
    r = await replay("recording", tmp_path)
    # the lab recorded into Asterisk's monitor dir; pbxsim into the directory it was given
    capture = [Message([(k, v.replace("/var/spool/asterisk/monitor", str(tmp_path)))
                        for k, v in m.pairs]) for m in r.capture]
    # ALICE_PAUSE: the lab's device-state cache hid one change (see above)
    assert diff(capture, r.sim, skip_streams=(ALICE_PAUSE,)) == []
    with wave.open(str(tmp_path / "lab-recording-1.wav")) as w:
        assert w.getnframes() > 0


async def test_supervisor_whisper_matches_capture() -> None:
    # ChanSpy keeps spying while its own hangup is pending; ChanSpyStop comes with the spyee's
    r = await replay("supervisor_whisper")
    assert diff(r.capture, r.sim, skip_streams=(ALICE_PAUSE,)) == []


async def test_blind_transfer_matches_capture_and_logs_blindtransfer() -> None:
    # ALICE_PAUSE: the lab's device-state cache hid one change (see above)
    r = await replay("blind_transfer")
    assert diff(r.capture, r.sim, skip_streams=(ALICE_PAUSE,)) == []
    sample = (CAPTURES / "queue_log.sample").read_text().splitlines()
    lab = next(line.split("|") for line in sample if "|BLINDTRANSFER|" in line)
    ours = [line.split("|") for line in r.engine.queue_log_lines]
    transfer = next(v for v in ours if v[4] == "BLINDTRANSFER")
    enter = next(v for v in ours if v[4] == "ENTERQUEUE")
    # exten|context|holdtime|talktime|original position, against the same call id
    assert transfer[1] == enter[1] and transfer[2:] == lab[2:]
    assert [v[4] for v in ours].count("COMPLETECALLER") == 0


async def test_hold_park_matches_capture_and_keeps_the_lot_bridge() -> None:
    # ALICE_PAUSE: the lab's device-state cache hid one change (see above)
    r = await replay("hold_park")
    assert diff(r.capture, r.sim, skip_streams=(ALICE_PAUSE,)) == []
    lots = [b for b in r.engine.bridges.values() if b.bridge_type == "parking"]
    assert len(lots) == 1 and lots[0].channels == []
    log = [line.split("|")[4] for line in r.engine.queue_log_lines]
    assert log == ["ADDMEMBER", "ENTERQUEUE", "CONNECT", "COMPLETECALLER", "REMOVEMEMBER"]


def _media_values_masked(msgs: list[Message]) -> list[Message]:
    """BRIDGEPVTCALLID is the browser's random SIP Call-ID; RTPAUDIOQOS* carry random SSRCs
    and figures from real audio. Keep their field names, mask what the fields hold."""
    out = []
    for m in msgs:
        var = m.get("Variable")
        if m.get("Event") == "VarSet" and var == "BRIDGEPVTCALLID" and m.get("Value"):
            m = Message([(k, "<call-id>" if k == "Value" else v) for k, v in m.pairs])
        elif m.get("Event") == "VarSet" and var.startswith("RTPAUDIOQOS"):
            m = Message([(k, re.sub(r"=[^;]*", "=", v) if k == "Value" else v)
                         for k, v in m.pairs])
        out.append(m)
    return out


async def test_webrtc_queue_call_matches_capture() -> None:
    # the browser answered 1 s after the ring started
    r = await replay("webrtc_queue_call",
                     setup=lambda eng: eng.phones.add_phone("1101", auto_answer=1.0))
    # Chen Jing's pause device: the lab sent no change on her QueueAdd (a state Asterisk had
    # cached before the capture, as with ALICE_PAUSE); pbxsim announces it on the first add
    assert diff(_media_values_masked(r.capture), _media_values_masked(r.sim),
                skip_streams=("device:Queue:support_pause_PJSIP/1101",)) == []
    agent = next(m.get("Channel") for m in r.sim if m.get("Event") == "Newchannel"
                 and m.get("Channel").startswith("PJSIP/1101-"))
    assert re.fullmatch(r"PJSIP/1101-[0-9a-f]{8}", agent)
    names = [(m.get("Event"), m.get("Channel")) for m in r.sim]
    up = next(i for i, (e, c) in enumerate(names) if e == "AgentConnect")
    gone = names.index(("Hangup", agent))
    rtcp = [i for i, (e, c) in enumerate(names) if e.startswith("RTCP")]
    # the lab's 9 s call had one report sent and four received; pbxsim reports at the same
    # cadence (every 5 s sent, 2.5 s received), only on the agent's channel while it is up
    assert {names[i][0] for i in rtcp} == {"RTCPSent", "RTCPReceived"}
    assert all(names[i][1] == agent and up < i < gone for i in rtcp)
    assert [e for e, _ in names].count("RTCPSent") == 1
    assert [e for e, _ in names].count("RTCPReceived") == 3
