"""The CTI model derives the same call records from pbxsim's event stream as from the capture.

tests/pbxsim/replay.py replays each capture's client actions against pbxsim over a socket. Both
streams go through the model without arrival times (pbxsim's virtual clock does not stamp its
messages), so the comparison covers everything that does not depend on wall time: direction,
parties, queue, agent, outcome, who ended it, positions, Asterisk's own HoldTime/TalkTime,
transfers, spy modes, recording files and the incident.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from cti.ami_codec import AmiDecoder
from cti.model import replay_messages
from tests.pbxsim.replay import replay as pbx_replay

SCENARIOS = ["queue_answered", "queue_abandoned", "agent_ring_no_answer", "pause_unpause",
             "originate_verification", "originate_failure", "recording", "supervisor_whisper",
             "blind_transfer", "hold_park", "status_snapshot", "webrtc_queue_call", "fastagi_ivr"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _records(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    decoded = AmiDecoder().feed(b"".join(m.encode() for m in messages))
    records, model = replay_messages([(m, None) for m in decoded])
    sessions = [{"agent": s["agent"], "interface": s["interface"], "queues": s["queues"],
                 "pauses": [(p["queue"], p["reason"]) for p in s["pauses"]]}
                for s in model.take_sessions()]
    return records, sessions


def _essence(rec: dict[str, Any]) -> dict[str, Any]:
    queue_call = rec["queue"] is not None
    return {
        "direction": rec["direction"], "caller": rec["caller_number"],
        "caller_name": rec["caller_name"], "called": rec["called_number"],
        "queue": rec["queue"], "agent": rec["agent"], "interface": rec["agent_interface"],
        "outcome": rec["outcome"], "ended_by": rec["ended_by"],
        "abandon_position": rec["abandon_position"],
        "original_position": rec["original_position"],
        "wait": rec["wait_seconds"] if queue_call else None,
        "talk": rec["talk_seconds"] if queue_call else None,
        "transfer": None if rec["transfer"] is None else (rec["transfer"]["type"],
                                                          rec["transfer"]["to"]),
        "spies": [s["mode"] for s in rec["spy_sessions"]],
        "recordings": [Path(r["file"]).name for r in rec["recordings"] if r.get("file")],
        "incident": rec["incident_id"], "failure": rec["failure_reason"],
        "ring_results": [a["result"] for a in rec["ring_attempts"]],
    }


@pytest.mark.parametrize("name", SCENARIOS)
async def test_same_records_from_pbxsim_as_from_capture(name: str, captures: Path,
                                                        tmp_path: Path) -> None:
    closed = _closed_port()

    def setup(eng: Any) -> None:
        # The browser softphone of the webrtc capture answered after 1 s, as a person would.
        if name == "webrtc_queue_call":
            eng.phones.add_phone("1101", auto_answer=1.0)
        # nobody serves FastAGI here, whatever else on this machine listens on 4573
        eng.agi_address = lambda host, port: ("127.0.0.1", closed)

    r = await pbx_replay(name, tmp_path, setup=setup)
    cap_records, cap_sessions = _records(r.capture)
    sim_records, sim_sessions = _records(r.sim)
    from_capture = [_essence(x) for x in cap_records]
    from_pbxsim = [_essence(x) for x in sim_records]
    assert from_capture or cap_sessions, "every scenario makes a call or an agent session"
    if name == "agent_ring_no_answer":
        # Asterisk's HoldTime comes from whole-second wall clocks: 20.02 s became 21 in the lab
        assert abs(from_pbxsim[0].pop("wait") - from_capture[0].pop("wait")) <= 1
    assert from_pbxsim == from_capture
    assert sim_sessions == cap_sessions
