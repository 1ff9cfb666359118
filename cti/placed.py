"""Live progress of the calls the console places: ``call.progress`` on the bus.

Every verification call, click-to-dial and spy is registered here when the CTI originates it
(:class:`PlacedCall`, keyed by the id the console got back: the Originate's ``ChannelId``, which
is also the call's Linkedid and its call record's ``call_id``). After each AMI message the
model has applied, the stage of the calls it concerns is recomputed from the model's state
(:func:`live_stage`, pure) and published when it changed; when the model emits the call's
record the last event (``final: true``) comes from the record (:func:`final_stage`, pure): the
outcome (busy, no answer, …) is told once, by that event, which follows the far leg's verdict
within milliseconds (the dialplan hangs up right after ``Dial()``).

Stages: ``dialing`` (the user's own phone rings), ``own_answered`` (it answered: the number is
being dialled, or ChanSpy started), ``calling`` (the far number is dialled, no ring tone yet),
``ringing`` (the far phone rings), ``answered`` (the far party answered; for a spy: listening),
then one of ``ended``, ``busy``, ``no_answer``, ``unavailable``, ``failed``. ``cause`` is a
machine code (:data:`CAUSE_TEXT` has its English words; the console translates the code).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.bus import Bus
from core.clock import Clock
from cti.legs import FAR_CAUSES, far_cause
from cti.model import CtiModel
from cti.records import CallState

log = logging.getLogger(__name__)

Json = dict[str, Any]
KINDS = ("verification", "dial", "spy")
TERMINAL = frozenset({"ended", "busy", "no_answer", "unavailable", "failed"})
#: the Originate's failure reason on the record -> cause (the user's own phone)
OWN_FAILURES = {"no_answer": "own_no_answer", "hangup": "own_no_answer", "busy": "own_busy",
                "failed": "own_unavailable", "congestion": "own_unavailable"}
CAUSE_TEXT = {
    "own_no_answer": "your phone did not answer",
    "own_busy": "your phone is busy",
    "own_unavailable": "your phone could not be reached",
    "busy": "the number is busy",
    "no_answer": "nobody answered",
    "canceled": "you hung up before anyone answered",
    "chanunavail": "the number could not be reached",
    "no_route": "the number could not be reached (no route)",
    "unallocated_number": "the number does not exist",
    "invalid_number": "the number is not valid",
    "congestion": "the network is busy",
    "subscriber_absent": "the phone called is switched off or out of reach",
    "no_user_response": "the phone called did not respond",
    "call_rejected": "the call was rejected",
    "destination_out_of_order": "the line called is out of order",
    "network_out_of_order": "the network is out of order",
    "temporary_failure": "the network failed",
    "rejected": "the call was rejected",
    "no_call": "the call to listen to has ended",
    "no_result": "the outcome of the call was not reported",
    "originate_failed": "Asterisk could not place the call",
    "ami_timeout": "Asterisk did not answer in time",
    "ami_unavailable": "the telephony link is down",
}


@dataclass(slots=True)
class PlacedCall:
    """A call the CTI placed for a user."""

    call_id: str
    kind: str
    user_id: int
    extension: str
    number: str | None
    placed_at: float
    action_id: str = ""
    incident_id: Any = None
    verification_id: Any = None
    extra: Json = field(default_factory=dict)  # spy: agent_user_id, agent_extension, mode
    stage: str = ""
    cause: str | None = None

    def event(self, stage: str, cause: str | None, at: float, final: bool) -> Json:
        return {"call_id": self.call_id, "kind": self.kind, "user_id": self.user_id,
                "extension": self.extension, "number": self.number, "stage": stage,
                "cause": cause, "message": CAUSE_TEXT.get(cause or ""),
                "incident_id": self.incident_id, "verification_id": self.verification_id,
                "at": round(at, 3), "final": final, **self.extra}


def _far_stage(status: str, cause: str | None) -> tuple[str, str | None]:
    if status == "ANSWER":
        return "answered", None
    if status == "BUSY":
        return "busy", "busy"
    if status == "NOANSWER":
        return "no_answer", cause or "no_answer"
    if status == "CHANUNAVAIL":
        return "unavailable", cause or "chanunavail"
    if status == "CANCEL":
        return "ended", "canceled"
    return "failed", cause or FAR_CAUSES.get(status, status.lower())


def live_stage(call: CallState, kind: str) -> tuple[str, str | None]:
    """The stage of a live placed call, from the model's state only."""
    legs = call.legs
    if call.originate_failed:
        return "failed", OWN_FAILURES.get(call.failure_reason or "", "own_unavailable")
    if kind == "spy":
        if call.spied_call_id is not None:
            return "answered", None
        return ("own_answered", None) if legs.own_answer_at is not None else ("dialing", None)
    status = (legs.dialstatus or "").upper()
    # the dialplan's verdict (DialEnd alone says NOANSWER for a 404); a failure whose cause is
    # not known yet (no far channel: the cause comes with the hangup, a moment later) waits
    if status and (status not in ("CHANUNAVAIL", "CONGESTION") or legs.far_cause is not None):
        return _far_stage(status, far_cause(legs))
    if legs.far_answer_at is not None:
        return "answered", None
    if legs.far_ring_at is not None:
        return "ringing", None
    if legs.far_dial_at is not None:
        return "calling", None
    if legs.own_answer_at is not None:
        return "own_answered", None
    return "dialing", None


def final_stage(record: Mapping[str, Any], kind: str) -> tuple[str, str | None]:
    """The last stage of a placed call, from its call record."""
    outcome = str(record.get("outcome") or "")
    reason = record.get("failure_reason")
    if outcome == "failed_originate":
        return "failed", OWN_FAILURES.get(str(reason or ""), "own_unavailable")
    if kind == "spy":
        return ("ended", None) if record.get("spied_call_id") else ("failed", "no_call")
    status = record.get("far_status")
    if status:
        stage, cause = _far_stage(str(status), reason)
        return ("ended", None) if stage == "answered" else (stage, cause)
    if outcome in ("answered", "transferred_blind", "transferred_attended"):
        return "ended", None
    if outcome == "canceled":
        return "ended", "canceled"
    if outcome in ("busy", "no_answer"):
        return outcome, outcome
    return "failed", str(reason) if reason else "no_result"


async def cancel_timers(timers: dict[str, asyncio.Task[None]]) -> None:
    """Stop and forget a registry's timeout tasks (shutdown)."""
    tasks = list(timers.values())
    timers.clear()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class PlacedCalls:
    """The registry and publisher of ``call.progress`` (see the module docstring)."""

    def __init__(self, bus: Bus, model: CtiModel, clock: Clock,
                 result_timeout: float = 180.0) -> None:
        self.bus, self.model, self.clock = bus, model, clock
        self.result_timeout = result_timeout
        self.calls: dict[str, PlacedCall] = {}
        self._by_action: dict[str, str] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self.listeners: list[Callable[[PlacedCall, Json], None]] = []

    def now(self) -> float:
        return self.clock.now().timestamp()

    # ------------------------------------------------------------------ registry

    def add(self, placed: PlacedCall) -> None:
        """Register a call about to be originated: its first stage is ``dialing``."""
        self.calls[placed.call_id] = placed
        if placed.action_id:
            self._by_action[placed.action_id] = placed.call_id
        self._publish(placed, "dialing", None, self.now(), final=False)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timers[placed.call_id] = loop.create_task(
            self._expire(placed.call_id), name=f"placed-timeout-{placed.call_id}")

    def fail(self, call_id: str, cause: str) -> None:
        """The Originate could not be sent (the error is raised to the caller too)."""
        placed = self._forget(call_id)
        if placed is not None:
            self._publish(placed, "failed", cause, self.now(), final=True)

    def of_user(self, user_id: int) -> list[Json]:
        """The user's placed calls still going on, as their latest event (console reload)."""
        now = self.now()
        return [p.event(p.stage, p.cause, now, final=False) for p in self.calls.values()
                if p.user_id == user_id]

    def _forget(self, call_id: str) -> PlacedCall | None:
        placed = self.calls.pop(call_id, None)
        if placed is not None and placed.action_id:
            self._by_action.pop(placed.action_id, None)
        timer = self._timers.pop(call_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        return placed

    async def _expire(self, call_id: str) -> None:
        """``failed``/``no_result`` when the call is neither live in the model nor ended after
        ``result_timeout`` (the AMI link dropped, the outcome was lost); a long conversation or
        spy is live, and is waited for."""
        await self.clock.sleep(self.result_timeout)
        while call_id in self.model.calls and call_id in self.calls:
            await self.clock.sleep(self.result_timeout)
        placed = self._forget(call_id)
        if placed is not None:
            log.warning("placed call %s: no call record within %g s", call_id,
                        self.result_timeout)
            self._publish(placed, "failed", "no_result", self.now(), final=True)

    async def close(self) -> None:
        await cancel_timers(self._timers)

    # ------------------------------------------------------------------ AMI in

    def handle(self, msg: Mapping[str, str], t: float) -> None:
        """After the model applied ``msg``: publish the stages that changed."""
        if not self.calls:
            return
        for key in ("Linkedid", "DestLinkedid", "SpyerLinkedid", "Uniqueid"):
            call_id = msg.get(key)
            if not call_id:
                continue
            placed = self.calls.get(call_id)
            call = self.model.calls.get(call_id)
            if placed is not None and call is not None:
                stage, cause = live_stage(call, placed.kind)
                # an outcome is told once, by the final event (the record, a moment later)
                if stage not in TERMINAL and (stage, cause) != (placed.stage, placed.cause):
                    self._publish(placed, stage, cause, t, final=False)

    def on_record(self, record: Mapping[str, Any]) -> None:
        """A call ended (the model emitted its record): the last event of a placed call."""
        call_id = str(record.get("call_id") or "")
        if call_id not in self.calls:
            call_id = self._by_action.get(str(record.get("originate_action_id") or ""), "")
        placed = self._forget(call_id) if call_id else None
        if placed is None:
            return
        stage, cause = final_stage(record, placed.kind)
        at = record.get("end_at")
        payload = self._publish(placed, stage, cause, float(at) if at else self.now(),
                                final=True, record=record)
        for listener in self.listeners:
            try:
                listener(placed, payload)
            except Exception:
                log.exception("placed-call listener failed")

    def _publish(self, placed: PlacedCall, stage: str, cause: str | None, at: float,
                 final: bool, record: Mapping[str, Any] | None = None) -> Json:
        placed.stage, placed.cause = stage, cause
        payload = placed.event(stage, cause, at, final)
        if record is not None:
            payload["cti_call_id"] = record.get("call_id")
            payload["talk_seconds"] = record.get("talk_seconds")
        self.bus.publish_nowait("call.progress", payload)
        return payload
