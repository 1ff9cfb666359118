"""Alarm verification calls: ``verification.call_requested`` in, ``verification.call_result`` out.

The alarm engine asks for a call (incident, verification call id, operator, number, contact).
The CTI rings the operator's phone and, when it answers, dials the number through the outbound
context (an async Originate with a pre-assigned ChannelId, so the call's Linkedid — the call
record's ``call_id`` — is known before the call exists; channel variables carry the incident,
the verification call and the account). The result is read from the call record the model derives
when the call ends, once that record is stored, and published with the record's id:

* ``answered`` — the premises answered (the record's outcome answered or transferred);
* ``busy`` — the number was busy;
* ``no_answer`` — it rang out, or the operator gave up before an answer;
* ``failed`` — the number could not be reached, the operator's phone did not answer the
  Originate, the action could not be sent, or no call record came within ``result_timeout``
  seconds of the request (the AMI connection dropped mid-call, the OriginateResponse or the
  hangup was lost): ``note`` says which, so the alarm engine never waits for ever.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from core.bus import Bus
from core.clock import Clock, SystemClock
from cti.agents import AgentDirectory, PhonePlan
from cti.ami_client import AmiError
from cti.commands import Commands, originate

log = logging.getLogger(__name__)

Json = dict[str, Any]

_RESULTS = {"answered": "answered", "transferred_blind": "answered",
            "transferred_attended": "answered", "busy": "busy", "no_answer": "no_answer",
            "canceled": "no_answer"}


def dial_string(number: str, region: str = "CN") -> str:
    """What the outbound context is given: the number as dialled from ``region`` (national
    form for domestic numbers, ``00`` + country code otherwise), digits only."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return re.sub(r"[^0-9*#]", "", number)
    out = phonenumbers.format_out_of_country_calling_number(parsed, region)
    return re.sub(r"[^0-9*#]", "", out.replace("+", "00"))


def result_of(record: Mapping[str, Any]) -> tuple[str, str | None]:
    """(result, note) of a verification call's record."""
    outcome = str(record.get("outcome") or "")
    if outcome == "failed_originate":
        reason = record.get("failure_reason") or "failed"
        return "failed", f"operator phone: {reason}"
    if outcome in _RESULTS:
        return _RESULTS[outcome], None
    return "failed", outcome or None


@dataclass(slots=True)
class Pending:
    request: Json
    channel_id: str
    action_id: str


class Verifier:
    """Places verification calls and reports their results."""

    def __init__(self, bus: Bus, commands: Commands, directory: AgentDirectory, plan: PhonePlan,
                 outbound_context: str, region: str = "CN", caller_id: str | None = None,
                 ring_timeout_s: int = 30, screenpop: Any = None, clock: Clock | None = None,
                 result_timeout: float = 120.0) -> None:
        self.bus, self.commands, self.directory = bus, commands, directory
        self.plan = plan
        self.outbound_context = outbound_context
        self.region = region
        self.caller_id = caller_id
        self.ring_timeout_s = ring_timeout_s
        self.screenpop = screenpop
        self.clock: Clock = clock or SystemClock()
        self.result_timeout = result_timeout
        self.pending: dict[str, Pending] = {}
        self._by_action: dict[str, str] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._seq = 0

    def _publish(self, req: Mapping[str, Any], result: str, note: str | None,
                 record: Mapping[str, Any] | None = None,
                 record_id: int | None = None) -> Json:
        payload: Json = {
            "call_id": req.get("call_id"), "incident_id": req.get("incident_id"),
            "result": result, "note": note, "operator_id": req.get("operator_id"),
            "operator": req.get("operator"), "contact_id": req.get("contact_id"),
            "contact_name": req.get("contact_name"), "number": req.get("number"),
            "call_record_id": record_id,
            "cti_call_id": record.get("call_id") if record else None,
            "talk_seconds": record.get("talk_seconds") if record else None,
            "recording_file": record.get("recording_file") if record else None,
        }
        self.bus.publish_nowait("verification.call_result", payload)
        return payload

    async def request(self, req: Mapping[str, Any]) -> str | None:
        """Place the call; returns its call id (ChannelId), or None when it failed at once."""
        req = dict(req)
        user = await self.directory.by_id(req.get("operator_id"))
        if user is None:
            self._publish(req, "failed", "operator has no phone extension")
            return None
        self._seq += 1
        channel_id = f"verif-{req.get('incident_id')}-{req.get('call_id')}-{self._seq}"
        action_id = f"{channel_id}-orig"
        variables = {"VIGIL_INCIDENT_ID": str(req.get("incident_id") or ""),
                     "VIGIL_VERIFICATION_ID": str(req.get("call_id") or ""),
                     "__VIGIL_AUTOANSWER": "yes"}
        if req.get("account_id") is not None:
            variables["VIGIL_ACCOUNT_ID"] = str(req["account_id"])
        action = originate(self.plan.channel(user.extension), self.outbound_context,
                           dial_string(str(req.get("number") or ""), self.region),
                           caller_id=self.caller_id, variables=variables,
                           channel_id=channel_id, other_channel_id=f"{channel_id}-2",
                           timeout_ms=self.ring_timeout_s * 1000)
        action["ActionID"] = action_id
        self.pending[channel_id] = Pending(req, channel_id, action_id)
        self._by_action[action_id] = channel_id
        deadline = self.clock.monotonic() + self.result_timeout
        self._timers[channel_id] = asyncio.get_running_loop().create_task(
            self._expire(channel_id, deadline), name=f"verification-timeout-{channel_id}")
        if self.screenpop is not None:
            try:
                await self.screenpop.pop_outbound(
                    user_id=user.id, username=user.username, extension=user.extension,
                    number=str(req.get("number") or ""), account_id=req.get("account_id"),
                    incident_id=req.get("incident_id"), call_id=channel_id,
                    contact_id=req.get("contact_id"), contact_name=req.get("contact_name"))
            except Exception:
                log.exception("verification screen pop failed")
        try:
            await self.commands.send(action)
        except AmiError as exc:
            self._forget(channel_id)
            self._publish(req, "failed", str(exc))
            return None
        return channel_id

    def _forget(self, channel_id: str) -> Pending | None:
        pending = self.pending.pop(channel_id, None)
        if pending is not None:
            self._by_action.pop(pending.action_id, None)
        timer = self._timers.pop(channel_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        return pending

    async def _expire(self, channel_id: str, deadline: float) -> None:
        """Report the call failed when its record has not come by ``deadline`` (monotonic)."""
        await self.clock.sleep(deadline - self.clock.monotonic())
        pending = self._forget(channel_id)
        if pending is not None:
            log.warning("verification call %s: no call record within %g s", channel_id,
                        self.result_timeout)
            self._publish(pending.request, "failed",
                          f"no call record within {self.result_timeout:g} s (AMI connection "
                          "lost or the originate's outcome never reported)")

    async def close(self) -> None:
        """Stop the timers (shutdown); calls still pending get no result from this node."""
        timers = list(self._timers.values())
        self._timers.clear()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)

    def on_record(self, record: Mapping[str, Any], record_id: int | None) -> Json | None:
        """A finished call's stored record: when it is a verification call, publish its result."""
        channel_id = str(record.get("call_id") or "")
        if channel_id not in self.pending:
            channel_id = self._by_action.get(str(record.get("originate_action_id") or ""), "")
        pending = self._forget(channel_id) if channel_id else None
        if pending is None:
            return None
        result, note = result_of(record)
        return self._publish(pending.request, result, note, record, record_id)
