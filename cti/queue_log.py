"""Asterisk queue_log import (``vigil import-queue-log FILE``): lines -> call records.

Each line is ``epoch|callid|queue|agent|EVENT|data1|data2|...``. ``callid`` is the Uniqueid of
the caller's channel (``NONE`` for member events, ``MANAGER`` for actions over AMI). The records
use the same fields as :mod:`cti.records` so history imported from queue_log and history recorded
live can be reported together; what queue_log does not say (recording, spy sessions, IVR path,
sub-second times) is ``None`` or empty. Member lines become agent sessions (ADDMEMBER to
REMOVEMEMBER, PAUSE/UNPAUSE with reasons).

Data fields per event, as app_queue writes them:

* ENTERQUEUE ``url|callerid|position``
* CONNECT ``holdtime|bridged-uniqueid|ringtime``
* COMPLETECALLER / COMPLETEAGENT ``holdtime|talktime|origposition``
* ABANDON, EXITWITHTIMEOUT, EXITEMPTY ``position|origposition|waittime``
* EXITWITHKEY ``key|position|origposition|waittime``
* BLINDTRANSFER ``extension|context|holdtime|talktime|origposition``
* ATTENDEDTRANSFER ``BRIDGE|bridge|holdtime|talktime|origposition``,
  ``APP|app|holdtime|talktime|origposition`` or ``LINK|chan1|chan2|holdtime|talktime|origposition``
* TRANSFER (old) ``extension|context|holdtime|talktime|origposition``
* RINGNOANSWER ``ringtime-ms``; RINGCANCELED ``ringtime-ms``
* PAUSE ``reason``; UNPAUSE ``reason``
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cti.records import Json

_EXITS = {"ABANDON": "abandoned", "EXITWITHTIMEOUT": "timeout", "EXITEMPTY": "exit_leaveempty",
          "EXITWITHKEY": "exit_withkey"}


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    time: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]

    def arg(self, index: int) -> str:
        return self.data[index] if index < len(self.data) else ""


def parse_line(line: str) -> QueueLogLine | None:
    """One queue_log line, or None for a blank or malformed one."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[0].strip().isdigit():
        return None
    return QueueLogLine(int(parts[0]), parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def _num(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _blank_record(call_id: str, queue: str, at: int) -> Json:
    return {
        "call_id": call_id, "queue_call_id": call_id, "direction": "inbound",
        "caller_number": None, "caller_name": None, "called_number": None, "queue": queue,
        "ivr_path": None, "account_id": None, "incident_id": None, "agent": None,
        "agent_interface": None, "started_at": float(at), "enter_queue_at": float(at),
        "ring_at": None, "answer_at": None, "end_at": None, "wait_seconds": None,
        "talk_seconds": None, "duration_seconds": None, "hold_seconds": 0.0, "outcome": None,
        "ended_by": None, "abandon_position": None, "original_position": None, "transfer": None,
        "failure_reason": None, "originate_action_id": None, "recording_file": None,
        "recordings": [], "spy_sessions": [], "parks": [], "ring_attempts": [],
        "spied_call_id": None, "resynced": False,
    }


@dataclass(slots=True)
class QueueLogImport:
    records: list[Json] = field(default_factory=list)
    sessions: list[Json] = field(default_factory=list)
    skipped: int = 0


def _finish(rec: Json, line: QueueLogLine) -> None:
    rec["end_at"] = float(line.time)
    rec["duration_seconds"] = float(line.time) - rec["started_at"]


def import_lines(lines: Iterable[str]) -> QueueLogImport:
    """Parse queue_log lines into call records (ended calls, in end order) and agent sessions."""
    out = QueueLogImport()
    open_calls: dict[str, Json] = {}
    sessions: dict[tuple[str, str], Json] = {}
    for raw in lines:
        line = parse_line(raw)
        if line is None:
            if raw.strip():
                out.skipped += 1
            continue
        ev = line.event
        if ev == "ENTERQUEUE":
            rec = _blank_record(line.callid, line.queue, line.time)
            rec["caller_number"] = line.arg(1) or None
            rec["original_position"] = _num(line.arg(2))
            open_calls[line.callid] = rec
            continue
        if ev in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE"):
            _member_line(line, sessions, out)
            continue
        rec_or_none = open_calls.get(line.callid)
        if rec_or_none is None:
            continue
        rec = rec_or_none
        if ev in ("RINGNOANSWER", "RINGCANCELED"):
            ms_ = _num(line.arg(0))
            rec["ring_attempts"].append({
                "agent": line.agent, "interface": None, "uniqueid": None, "at": None,
                "result": "no_answer" if ev == "RINGNOANSWER" else "canceled",
                "ring_seconds": None if ms_ is None else ms_ / 1000.0})
        elif ev == "CONNECT":
            rec["agent"] = line.agent
            rec["answer_at"] = float(line.time)
            rec["wait_seconds"] = _num(line.arg(0))
            rec["ring_attempts"].append({
                "agent": line.agent, "interface": None, "uniqueid": line.arg(1) or None,
                "at": None, "result": "answered", "ring_seconds": _num(line.arg(2))})
        elif ev in ("COMPLETECALLER", "COMPLETEAGENT"):
            rec["outcome"] = "answered"
            rec["ended_by"] = "caller" if ev == "COMPLETECALLER" else "agent"
            rec["wait_seconds"] = _num(line.arg(0))
            rec["talk_seconds"] = _num(line.arg(1))
            rec["original_position"] = _num(line.arg(2))
            _finish(rec, line)
            out.records.append(open_calls.pop(line.callid))
        elif ev in ("BLINDTRANSFER", "TRANSFER", "ATTENDEDTRANSFER"):
            transfer: dict[str, Any]
            if ev == "ATTENDEDTRANSFER":
                method = line.arg(0)
                tail = line.data[3:] if method == "LINK" else line.data[2:]
                to = line.arg(2) if method == "LINK" else line.arg(1)
                transfer = {"type": "attended", "to": to or None, "context": None}
            else:
                tail = line.data[2:]
                transfer = {"type": "blind", "to": line.arg(0) or None,
                            "context": line.arg(1) or None}
            transfer.update({"at": float(line.time), "by": line.agent})
            rec["transfer"] = transfer
            rec["outcome"] = "transferred_" + str(transfer["type"])
            rec["ended_by"] = "transfer"
            rec["wait_seconds"] = _num(tail[0]) if len(tail) > 0 else None
            rec["talk_seconds"] = _num(tail[1]) if len(tail) > 1 else None
            rec["original_position"] = _num(tail[2]) if len(tail) > 2 else None
            _finish(rec, line)
            out.records.append(open_calls.pop(line.callid))
        elif ev in _EXITS:
            offset = 1 if ev == "EXITWITHKEY" else 0
            rec["outcome"] = _EXITS[ev]
            rec["ended_by"] = "caller" if ev in ("ABANDON", "EXITWITHKEY") else "system"
            if ev == "ABANDON":
                rec["abandon_position"] = _num(line.arg(offset))
            rec["original_position"] = _num(line.arg(offset + 1))
            rec["wait_seconds"] = _num(line.arg(offset + 2))
            _finish(rec, line)
            out.records.append(open_calls.pop(line.callid))
    for (_, _), session in sorted(sessions.items()):
        out.sessions.append(session)
    return out


def _member_line(line: QueueLogLine, sessions: dict[tuple[str, str], Json],
                 out: QueueLogImport) -> None:
    key = (line.queue, line.agent)
    session = sessions.get(key)
    at = float(line.time)
    if line.event == "ADDMEMBER":
        sessions[key] = {"interface": None, "agent": line.agent, "login_at": at,
                         "logout_at": None, "queues": [line.queue], "pauses": []}
        return
    if session is None:
        return
    pauses: list[dict[str, Any]] = session["pauses"]
    if line.event == "PAUSE":
        pauses.append({"queue": line.queue, "reason": line.arg(0) or None,
                       "started_at": at, "ended_at": None})
    elif line.event == "UNPAUSE":
        for pause in pauses:
            if pause["ended_at"] is None:
                pause["ended_at"] = at
    else:  # REMOVEMEMBER
        for pause in pauses:
            if pause["ended_at"] is None:
                pause["ended_at"] = at
        session["logout_at"] = at
        out.sessions.append(sessions.pop(key))


def import_file(path: str) -> QueueLogImport:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return import_lines(fh)
