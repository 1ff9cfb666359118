"""pbxsim, driven over a real socket with each capture's actions, emits what Asterisk did."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from pbxsim.framing import Message

from .amicompare import diff
from .replay import CAPTURES, replay

pytestmark = pytest.mark.skipif(not CAPTURES.is_dir(),
                                reason=f"asterisk captures not found at {CAPTURES}")


@pytest.mark.parametrize("name", ["queue_answered", "queue_abandoned", "originate_verification",
                                  "originate_failure"])
async def test_scenario_matches_capture(name: str) -> None:
    r = await replay(name)
    assert diff(r.capture, r.sim) == []


async def test_pause_unpause_matches_capture() -> None:
    # the lab had used this member's pause device before, so Asterisk's cache hid one change
    r = await replay("pause_unpause")
    assert diff(r.capture, r.sim, skip_streams=("device:Queue:support_pause_",)) == []


async def test_agent_ring_no_answer_matches_capture() -> None:
    # Asterisk computes HoldTime from whole-second wall clocks: 20.02 s became 21 there
    r = await replay("agent_ring_no_answer")
    assert diff(r.capture, r.sim, ignore={"HoldTime"}) == []
    log = [line.split("|")[4] for line in r.engine.queue_log_lines]
    assert log == ["ADDMEMBER", "ENTERQUEUE", "RINGNOANSWER", "RINGCANCELED", "ABANDON",
                   "REMOVEMEMBER"]


async def test_status_snapshot_responses_match_capture() -> None:
    r = await replay("status_snapshot")

    def responses(msgs: list) -> list:  # DeviceStateList also lists the lab's earlier members
        return [m for m in msgs if m.get("ActionID") != "lab-10"]

    problems = diff(responses(r.capture), responses(r.sim))
    assert [p for p in problems if p.startswith("[actions]")] == []


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
    # as in pause_unpause: the lab's device-state cache already held this member's pause state
    assert diff(capture, r.sim, skip_streams=("device:Queue:support_pause_",)) == []
    with wave.open(str(tmp_path / "lab-recording-1.wav")) as w:
        assert w.getnframes() > 0


async def test_supervisor_whisper_matches_capture() -> None:
    # ChanSpy keeps spying while its own hangup is pending; ChanSpyStop comes with the spyee's
    r = await replay("supervisor_whisper")
    assert diff(r.capture, r.sim, skip_streams=("device:Queue:support_pause_",)) == []
