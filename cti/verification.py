"""Alarm verification calls: ``verification.call_requested`` in, ``verification.call_result`` out.

The alarm engine asks for a call (incident, verification call id, operator, number, contact).
The CTI places it from the operator's phone (:meth:`cti.service.CtiService.verification`: the
phone rings first and answers by itself, then the number is dialled through the outbound
context; the call id is chosen here, before the call exists, and is the call record's
``call_id``). The result is read from the call record the model derives when the call ends,
once that record is stored, and published with the record's id. It is the far leg's
(:mod:`cti.legs`), never the operator's phone answering:

* ``answered`` — the premises answered (the record's outcome answered or transferred);
* ``busy`` — the number was busy;
* ``no_answer`` — it rang out (or the carrier said nothing), or the operator hung up before an
  answer (``cause`` ``canceled``);
* ``failed`` — the number could not be reached (``cause``: ``chanunavail``,
  ``unallocated_number``, ``congestion``, …), the operator's own phone did not answer
  (``own_no_answer``: "your phone did not answer"; ``own_busy``, ``own_unavailable``), the
  Originate could not be sent (``ami_timeout``, ``ami_unavailable``, ``originate_failed``), or no
  call record came within ``result_timeout`` seconds (``no_result``: the AMI connection dropped
  mid-call, the OriginateResponse or the hangup was lost), so the alarm engine never waits for
  ever.

``cause`` is a machine code the console translates; ``note`` says the same in English.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.bus import Bus
from core.clock import Clock, SystemClock
from cti.agents import AgentUser
from cti.ami_client import AmiError
from cti.errors import CtiError
from cti.placed import CAUSE_TEXT, OWN_FAILURES, cancel_timers

log = logging.getLogger(__name__)

Json = dict[str, Any]

_RESULTS = {"answered": "answered", "transferred_blind": "answered",
            "transferred_attended": "answered", "busy": "busy", "no_answer": "no_answer",
            "canceled": "no_answer"}


class Placer(Protocol):
    """What places the call (:class:`cti.service.CtiService`)."""

    async def user(self, user_id: int) -> AgentUser: ...

    async def verification(self, user_id: int, number: str, *, incident_id: Any,
                           verification_id: Any, account_id: Any = None,
                           call_id: str | None = None) -> Json: ...


def result_of(record: Mapping[str, Any]) -> tuple[str, str | None]:
    """(result, cause) of a verification call's record."""
    outcome = str(record.get("outcome") or "")
    reason = record.get("failure_reason")
    if outcome == "failed_originate":
        return "failed", OWN_FAILURES.get(str(reason or ""), "own_unavailable")
    if outcome in _RESULTS:
        result = _RESULTS[outcome]
        if result == "answered":
            return result, None
        return result, "canceled" if outcome == "canceled" else str(reason or outcome)
    return "failed", str(reason) if reason else (outcome or "failed")


@dataclass(slots=True)
class Pending:
    request: Json
    channel_id: str


class Verifier:
    """Places verification calls and reports their results."""

    def __init__(self, bus: Bus, placer: Placer, *, screenpop: Any = None,
                 clock: Clock | None = None, result_timeout: float = 120.0,
                 is_live: Callable[[str], bool] = lambda call_id: False) -> None:
        self.bus, self.placer = bus, placer
        self.screenpop = screenpop
        self.clock: Clock = clock or SystemClock()
        self.result_timeout = result_timeout
        self.is_live = is_live  # the call is still going on (the model has it): wait on
        self.pending: dict[str, Pending] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._seq = 0

    def _publish(self, req: Mapping[str, Any], result: str, cause: str | None,
                 note: str | None = None, record: Mapping[str, Any] | None = None,
                 record_id: int | None = None) -> Json:
        payload: Json = {
            "call_id": req.get("call_id"), "incident_id": req.get("incident_id"),
            "result": result, "cause": cause, "note": note or CAUSE_TEXT.get(cause or ""),
            "operator_id": req.get("operator_id"),
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
        try:
            user = await self.placer.user(req.get("operator_id"))  # type: ignore[arg-type]
        except CtiError:
            self._publish(req, "failed", "no_extension", "operator has no phone extension")
            return None
        self._seq += 1
        channel_id = f"verif-{req.get('incident_id')}-{req.get('call_id')}-{self._seq}"
        self.pending[channel_id] = Pending(req, channel_id)  # before the call can end
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
            await self.placer.verification(
                user.id, str(req.get("number") or ""), incident_id=req.get("incident_id"),
                verification_id=req.get("call_id"), account_id=req.get("account_id"),
                call_id=channel_id)
        except (AmiError, CtiError) as exc:
            self._forget(channel_id)
            self._publish(req, "failed", exc.code, str(exc))
            return None
        return channel_id

    def _forget(self, channel_id: str) -> Pending | None:
        pending = self.pending.pop(channel_id, None)
        timer = self._timers.pop(channel_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        return pending

    async def _expire(self, channel_id: str, deadline: float) -> None:
        """Report the call failed when its record has not come by ``deadline`` (monotonic)
        and it is not going on any more (a conversation with the premises may be long)."""
        await self.clock.sleep(deadline - self.clock.monotonic())
        while self.is_live(channel_id) and channel_id in self.pending:
            await self.clock.sleep(self.result_timeout)
        pending = self._forget(channel_id)
        if pending is not None:
            log.warning("verification call %s: no call record within %g s", channel_id,
                        self.result_timeout)
            self._publish(pending.request, "failed", "no_result",
                          f"no call record within {self.result_timeout:g} s (AMI connection "
                          "lost or the originate's outcome never reported)")

    async def close(self) -> None:
        """Stop the timers (shutdown); calls still pending get no result from this node."""
        await cancel_timers(self._timers)

    def on_record(self, record: Mapping[str, Any], record_id: int | None) -> Json | None:
        """A finished call's stored record: when it is a verification call, publish its result."""
        channel_id = str(record.get("call_id") or "")
        if channel_id not in self.pending:
            action = str(record.get("originate_action_id") or "")
            channel_id = action[:-len("-orig")] if action.endswith("-orig") else ""
        pending = self._forget(channel_id) if channel_id else None
        if pending is None:
            return None
        result, cause = result_of(record)
        return self._publish(pending.request, result, cause, None, record, record_id)
