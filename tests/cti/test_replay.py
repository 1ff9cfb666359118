"""Replaying every real Asterisk capture gives the call records and state Asterisk implies."""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

import pytest

from cti.ami_codec import AmiDecoder
from cti.model import CtiModel
from cti.queue_log import import_file
from cti.replay import anchor_times, load_capture, replay, replay_file, timeline_messages

ALL = ["agent_ring_no_answer", "blind_transfer", "fastagi_ivr", "hold_park", "originate_failure",
       "originate_verification", "pause_unpause", "queue_abandoned", "queue_answered", "recording",
       "status_snapshot", "supervisor_whisper", "webrtc_queue_call"]


def records(captures: Path, name: str) -> list[dict[str, Any]]:
    result = replay_file(captures / f"{name}.ami")
    assert result["state"]["channels"] == {}, "every capture ends with all channels gone"
    return result["records"]


def only(captures: Path, name: str) -> dict[str, Any]:
    recs = records(captures, name)
    assert len(recs) == 1
    return recs[0]


def test_every_capture_is_in_the_list(captures: Path) -> None:
    assert sorted(p.stem for p in captures.glob("*.ami")) == ALL


def test_queue_answered(captures: Path) -> None:
    rec = only(captures, "queue_answered")
    assert rec["call_id"] == rec["queue_call_id"] == "1795299810.0"
    assert (rec["direction"], rec["caller_number"], rec["caller_name"], rec["called_number"]) == (
        "inbound", "+8613800000001", "Zhang Wei", "4000")
    assert (rec["queue"], rec["agent"], rec["agent_interface"]) == (
        "support", "Alice", "Local/1001@agent-phones/n")
    assert (rec["wait_seconds"], rec["talk_seconds"]) == (2, 6)
    assert (rec["outcome"], rec["ended_by"]) == ("answered", "caller")
    # times: queued on join, rang at once, answered 2 s later, ended 6 s after that
    assert rec["ring_at"] == rec["enter_queue_at"]
    assert rec["answer_at"] - rec["enter_queue_at"] == pytest.approx(2.0, abs=0.01)
    assert rec["end_at"] - rec["answer_at"] == pytest.approx(6.0, abs=0.05)
    assert int(rec["enter_queue_at"]) == 1795299810  # ENTERQUEUE second in queue_log
    assert rec["ring_attempts"] == [{"agent": "Alice", "interface": "Local/1001@agent-phones/n",
                                     "uniqueid": "1795299810.2", "at": rec["ring_at"],
                                     "result": "answered", "ring_seconds": 2}]
    assert rec["recording_file"] is None and rec["spy_sessions"] == [] and not rec["resynced"]


def test_queue_abandoned(captures: Path) -> None:
    rec = only(captures, "queue_abandoned")
    assert (rec["call_id"], rec["caller_number"], rec["caller_name"]) == (
        "1795299825.4", "+8613800000003", "Li Na")
    assert (rec["outcome"], rec["abandon_position"], rec["original_position"]) == (
        "abandoned", 1, 1)
    assert (rec["wait_seconds"], rec["talk_seconds"], rec["agent"], rec["answer_at"]) == (
        5, None, None, None)
    assert rec["ended_by"] == "caller"


def test_agent_ring_no_answer(captures: Path) -> None:
    rec = only(captures, "agent_ring_no_answer")
    assert (rec["outcome"], rec["abandon_position"], rec["wait_seconds"]) == ("abandoned", 1, 21)
    assert rec["ended_by"] == "caller" and rec["agent"] is None
    first, second = rec["ring_attempts"]
    assert (first["agent"], first["result"], first["ring_seconds"]) == ("Slow", "no_answer", 15.0)
    assert (second["agent"], second["result"]) == ("Slow", "canceled")
    assert second["ring_seconds"] == pytest.approx(3.018, abs=0.01)  # RINGCANCELED|3018
    assert second["at"] - first["at"] == pytest.approx(17.0, abs=0.01)  # 15 s ring + 2 s retry


def test_blind_transfer(captures: Path) -> None:
    rec = only(captures, "blind_transfer")
    assert (rec["outcome"], rec["agent"], rec["wait_seconds"], rec["talk_seconds"]) == (
        "transferred_blind", "Alice", 2, 2)
    transfer = rec["transfer"]
    assert (transfer["type"], transfer["to"], transfer["context"], transfer["by"]) == (
        "blind", "1002", "agent-phones", "Alice")
    assert transfer["at"] - rec["answer_at"] == pytest.approx(2.0, abs=0.05)
    # the caller stays on the line after the transfer: the call ends when the caller hangs up
    assert rec["end_at"] - transfer["at"] == pytest.approx(11.0, abs=0.05)
    assert rec["ended_by"] == "transfer"


def test_recording(captures: Path) -> None:
    rec = only(captures, "recording")
    assert rec["recording_file"] == "/var/spool/asterisk/monitor/lab-recording-1.wav"
    [mix] = rec["recordings"]
    assert mix["channel"] == "Local/talk@callers-0000000d;1"
    assert mix["stopped_at"] - mix["started_at"] == pytest.approx(4.0, abs=0.01)
    assert (rec["outcome"], rec["talk_seconds"]) == ("answered", 10)


def test_supervisor_whisper(captures: Path) -> None:
    call, spy_call = records(captures, "supervisor_whisper")
    assert (call["call_id"], call["agent"], call["outcome"]) == ("1795299947.30", "Alice",
                                                                  "answered")
    [spy] = call["spy_sessions"]
    assert (spy["mode"], spy["supervisor"], spy["spied_channel"]) == (
        "whisper", "2001", "Local/1001@agent-phones-00000010;2")
    # the supervisor's phone hung up 8.4 s in: the spy is over for the record, although the
    # lab's Asterisk left ChanSpy on the spying Local half until the agent's call ended
    assert spy["ended_at"] - spy["started_at"] == pytest.approx(8.4, abs=0.01)
    assert (spy_call["direction"], spy_call["caller_number"], spy_call["spied_call_id"]) == (
        "internal", "2001", "1795299947.30")
    assert spy_call["outcome"] == "answered"


def test_hold_park(captures: Path) -> None:
    rec = only(captures, "hold_park")
    assert (rec["outcome"], rec["ended_by"], rec["talk_seconds"]) == ("answered", "caller", 14)
    [park] = rec["parks"]
    assert (park["space"], park["lot"], park["result"], park["parker"]) == (
        "701", "default", "gave_up", "Local/1001@agent-phones")
    assert park["ended_at"] == rec["end_at"]


def test_originate_verification(captures: Path) -> None:
    rec = only(captures, "originate_verification")
    assert rec["call_id"] == "verif-42-agent"  # the pre-assigned ChannelId is the call id
    # from the operator's phone (the Originate rang it first) to the premises
    assert (rec["direction"], rec["called_number"], rec["caller_number"]) == (
        "outbound", "13900000002", "1001")
    assert (rec["placed_from"], rec["far_status"]) == ("Local/1001@agent-phones", "ANSWER")
    # the far leg is dialled as soon as the own phone answered
    assert rec["ring_at"] - rec["own_answer_at"] == pytest.approx(0, abs=0.01)
    assert rec["far_answer_at"] == rec["answer_at"]
    assert (rec["incident_id"], rec["agent_interface"], rec["originate_action_id"]) == (
        "42", "Local/1001@agent-phones", "lab-2")
    assert (rec["outcome"], rec["ended_by"], rec["queue"]) == ("answered", "called", None)
    # the agent's phone answers after 2 s, then the premises rings and answers 3 s later
    assert rec["ring_at"] - rec["started_at"] == pytest.approx(2.0, abs=0.05)
    assert rec["answer_at"] - rec["ring_at"] == pytest.approx(3.0, abs=0.05)
    assert rec["talk_seconds"] == pytest.approx(8.51, abs=0.05)


def test_originate_failure(captures: Path) -> None:
    rec = only(captures, "originate_failure")
    assert (rec["outcome"], rec["failure_reason"], rec["originate_action_id"]) == (
        "failed_originate", "failed", "lab-2")
    assert (rec["direction"], rec["answer_at"], rec["ended_by"]) == ("outbound", None, "system")


def test_fastagi_ivr(captures: Path) -> None:
    rec = only(captures, "fastagi_ivr")
    assert (rec["direction"], rec["called_number"], rec["caller_number"]) == (
        "inbound", "4100", "+8613800000013")
    assert (rec["outcome"], rec["queue"], rec["ended_by"]) == ("ivr", None, "system")


def test_webrtc_queue_call(captures: Path) -> None:
    rec = only(captures, "webrtc_queue_call")
    assert (rec["agent"], rec["agent_interface"], rec["caller_number"]) == (
        "Chen Jing", "PJSIP/1101", "+8613700000009")
    assert (rec["wait_seconds"], rec["talk_seconds"], rec["outcome"]) == (1, 9, "answered")


def test_pause_unpause_session(captures: Path) -> None:
    result = replay_file(captures / "pause_unpause.ami")
    assert result["records"] == []
    [session] = result["sessions"]
    assert (session["agent"], session["queues"]) == ("Alice", ["support"])
    [pause] = session["pauses"]
    assert (pause["reason"], pause["started_at"]) == ("lunch", 1795299860.0)
    assert pause["ended_at"] - pause["started_at"] == pytest.approx(1.6, abs=0.5)
    assert session["logout_at"] > session["login_at"] == 1795299859.0


def _until(items: list[tuple[dict[str, str], float]], event: str) -> CtiModel:
    model = CtiModel()
    for msg, t in items:
        model.feed(msg, t)
        if msg.get("Event") == event:
            return model
    raise AssertionError(f"{event} not in capture")


def test_status_snapshot_state(captures: Path) -> None:
    items = load_capture(captures / "status_snapshot.ami")
    snap = _until(items, "QueueStatusComplete").snapshot()
    queue = snap["queues"]["support"]
    assert queue["params"]["Strategy"] == "rrmemory" and queue["params"]["Calls"] == "1"
    members = queue["members"]
    assert sorted(m["name"] for m in members.values()) == ["Alice", "Bob"]
    bob = members["Local/1002@agent-phones/n"]
    assert (bob["paused"], bob["paused_reason"]) == (True, "training")
    alice = members["Local/1001@agent-phones/n"]
    assert (alice["paused"], alice["in_call"], alice["status"]) == (False, True, "inuse")
    [caller] = queue["callers"]
    assert (caller["caller_number"], caller["position"], caller["uniqueid"]) == (
        "+8613800000011", 1, "1795299970.40")
    assert caller["wait"] == pytest.approx(2.0, abs=0.05)
    assert sorted(snap["agents"]) == ["Local/1001@agent-phones/n", "Local/1002@agent-phones/n"]
    assert snap["agents"]["Local/1002@agent-phones/n"]["pauses"][0]["reason"] == "training"
    # one talking call (4 channels, 2 of them in one bridge) and one waiting call (2 channels)
    assert {cid: len(c["channels"]) for cid, c in snap["calls"].items()} == {
        "1795299968.36": 4, "1795299970.40": 2}
    [bridge] = snap["bridges"].values()
    assert bridge["channels"] == ["1795299968.36", "1795299968.38"]


def test_status_snapshot_records(captures: Path) -> None:
    talked, waited = records(captures, "status_snapshot")
    assert (talked["agent"], talked["talk_seconds"], talked["outcome"]) == ("Alice", 10,
                                                                             "answered")
    assert (waited["outcome"], waited["wait_seconds"], waited["abandon_position"]) == (
        "abandoned", 10, 1)


def test_replay_is_deterministic(captures: Path) -> None:
    for name in ALL:
        assert replay_file(captures / f"{name}.ami") == replay_file(captures / f"{name}.ami")


QUEUE_FIELDS = ("queue", "agent", "caller_number", "wait_seconds", "talk_seconds", "outcome",
                "abandon_position", "original_position")


def test_queue_calls_agree_with_queue_log(captures: Path) -> None:
    logged = {r["call_id"]: r for r in import_file(str(captures / "queue_log.sample")).records}
    ours = [r for name in ALL for r in records(captures, name) if r["queue"] is not None]
    assert len(ours) == 10
    assert [r["call_id"] for r in ours if r["transfer"]] == [
        r["call_id"] for r in records(captures, "blind_transfer")]
    for rec in ours:
        ql = logged[rec["queue_call_id"]]
        assert {k: rec[k] for k in QUEUE_FIELDS} == {k: ql[k] for k in QUEUE_FIELDS}, rec["call_id"]
        assert (rec["transfer"] or {}).get("to") == (ql["transfer"] or {}).get("to")
        # queue_log stamps whole seconds (time(NULL)); ours are the event arrival times
        assert ql["enter_queue_at"] - 0.05 <= rec["enter_queue_at"] < ql["enter_queue_at"] + 1.05
        if rec["transfer"]:
            # queue_log ends the queue call at the transfer (BLINDTRANSFER); our record goes on
            # until the transferred call ends
            assert ql["end_at"] - 0.05 <= rec["transfer"]["at"] < ql["end_at"] + 1.05
            assert rec["transfer"]["at"] < rec["end_at"]
        else:
            assert ql["end_at"] - 0.05 <= rec["end_at"] < ql["end_at"] + 1.05
        assert [a["result"] for a in rec["ring_attempts"]] == [
            a["result"] for a in ql["ring_attempts"]]


def _timed(captures: Path, name: str) -> list[tuple[float, int, dict[str, str], float]]:
    """(relative t, order, message, absolute time) for one capture."""
    path = captures / f"{name}.ami"
    relative = timeline_messages(path.with_suffix(".jsonl").read_text().splitlines())
    absolute = anchor_times(relative)
    return [(rel, i, msg, abs_t) for i, ((msg, rel), (_, abs_t))
            in enumerate(zip(relative, absolute, strict=True))]


def _key(rec: dict[str, Any]) -> str:
    return str(rec["call_id"])


def test_concatenated_and_interleaved_give_the_same_records(captures: Path) -> None:
    separate = sorted((r for n in ALL for r in records(captures, n)), key=_key)
    concatenated = [(m, t) for n in ALL for _, _, m, t in _timed(captures, n)]
    assert sorted(replay(concatenated)["records"], key=_key) == separate
    # every capture started at the same moment, messages merged by their time since connect
    merged = heapq.merge(*(_timed(captures, n) for n in ALL), key=lambda x: (x[0], x[1]))
    interleaved = [(m, t) for _, _, m, t in merged]
    assert len(interleaved) == len(concatenated)
    assert sorted(replay(interleaved)["records"], key=_key) == separate


def test_raw_concatenated_bytes_decode_to_the_same_messages(captures: Path) -> None:
    raw = b"".join((captures / f"{n}.ami").read_bytes() for n in ALL)
    msgs = AmiDecoder().feed(raw)
    assert msgs == [m for n in ALL for _, _, m, _ in _timed(captures, n)]
