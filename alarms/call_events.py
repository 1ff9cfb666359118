"""Verification calls' outcomes from the CTI's events, onto the incident's call rows.

``call.progress`` (kind ``verification``) says what the far leg does while the call lives: the
premises or keyholder answered (the operator may now check the passcode), was busy, did not
answer, could not be reached. ``verification.call_result`` closes the call with its record.
Only the far leg counts: the operator's own phone answering is not an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alarms.incidents import Outbox, record_call_outcome
from core.bus import Bus
from core.clock import Clock
from core.db import Database

#: progress stage -> the call's result (stages not listed change nothing)
STAGE_RESULTS = {"answered": "answered", "busy": "busy", "no_answer": "no_answer",
                 "unavailable": "failed", "failed": "failed"}
TOPICS = ("call.progress", "verification.call_result")


def outcome(topic: str, data: Mapping[str, Any]) -> tuple[int, str, str | None, bool] | None:
    """(verification call id, result, cause, final) an event reports, or None."""
    if topic == "call.progress":
        if data.get("kind") != "verification" or data.get("verification_id") is None:
            return None
        result = STAGE_RESULTS.get(str(data.get("stage")))
        if result is None:
            return None
        cause = data.get("cause") or (data.get("stage") if result == "failed" else None)
        return int(data["verification_id"]), result, cause, False
    if topic == "verification.call_result" and data.get("call_id") is not None:
        return int(data["call_id"]), str(data.get("result")), data.get("cause") or \
            data.get("note"), True
    return None


async def apply(db: Database, clock: Clock, bus: Bus, topic: str,
                data: Mapping[str, Any]) -> bool:
    """Record what the event says; whether anything changed."""
    found = outcome(topic, data)
    if found is None:
        return False
    call_id, result, cause, final = found
    out = Outbox()
    async with db.transaction() as s:
        changed = await record_call_outcome(
            s, clock, call_id, result, out, cause=cause, final=final,
            cti_call_id=data.get("call_id") if topic == "call.progress" else
            data.get("cti_call_id"),
            record_id=data.get("call_record_id"), talk_seconds=data.get("talk_seconds"))
    await out.publish(bus)
    return changed is not None
