"""The two legs of a call the PBX places for a user: pure, fed by :class:`cti.model.CtiModel`.

Verification calls, click-to-dial and spies are AMI Originates of the user's own phone
(``Local/<ext>@agent-phones``): the *own leg* rings first and, once it answers, its other half
runs the dialplan, which dials the *far leg* (the premises or keyholder through the trunk) or
runs ChanSpy. The call's outcome is the far leg's, never the own leg's: on real Asterisk the
own phone answers in milliseconds (auto-answer) while the premises has only begun to ring.

What Asterisk says of each (the lab's Asterisk 22 captures, tests/lab22):

* own leg: the Originate's ``DialBegin``/``DialEnd`` without a calling channel (``Dest*`` only),
  and ``OriginateResponse`` (Failure when the phone did not answer: Reason 3 no answer, 5 busy,
  0/1/8 the phone could not be reached);
* far leg: ``DialBegin``/``DialState``/``DialEnd`` whose calling channel is the own leg's dialplan
  half; the trunk channel's ``Hangup`` cause; and ``VIGIL_DIALSTATUS``, which asterisk-config's
  ``[outbound]`` sets from ``DIALSTATUS`` after ``Dial()``. That variable is the verdict: app_dial
  publishes ``DialEnd NOANSWER`` for a ``404`` and then sets ``DIALSTATUS=CHANUNAVAIL``, and a
  trunk that cannot be reached gives no DialBegin at all, only ``CHANUNAVAIL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

#: Asterisk's DIALSTATUS of the far leg -> the call's outcome
FAR_OUTCOMES = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "no_answer",
                "CHANUNAVAIL": "failed", "CONGESTION": "failed", "CANCEL": "canceled"}
#: DIALSTATUS -> the machine cause a failed far leg is reported with
FAR_CAUSES = {"CHANUNAVAIL": "chanunavail", "CONGESTION": "congestion", "BUSY": "busy",
              "NOANSWER": "no_answer", "CANCEL": "canceled", "DONTCALL": "rejected",
              "TORTURE": "rejected", "INVALIDARGS": "invalid_number"}
#: Q.850 causes that say more than CHANUNAVAIL does
CAUSE_NAMES = {1: "unallocated_number", 3: "no_route", 17: "busy", 18: "no_user_response",
               19: "no_answer", 20: "subscriber_absent", 21: "call_rejected",
               27: "destination_out_of_order", 28: "invalid_number", 34: "congestion",
               38: "network_out_of_order", 41: "temporary_failure", 42: "congestion"}
#: OriginateResponse Reason (the own phone) -> cause
OWN_CAUSES = {"3": "own_no_answer", "5": "own_busy", "1": "own_no_answer",
              "0": "own_unavailable", "8": "own_unavailable"}


@dataclass(slots=True)
class PlacedLegs:
    """What the model learnt about a placed call's own and far legs."""

    own_uniqueid: str | None = None
    own_device: str | None = None  # ``Local/1001@agent-phones``: whose phone rang first
    own_dial_at: float | None = None
    own_answer_at: float | None = None
    far_uniqueid: str | None = None
    far_channel: str | None = None
    far_dial_at: float | None = None
    far_ring_at: float | None = None
    far_answer_at: float | None = None
    far_dial_end: str | None = None  # DialEnd's DialStatus
    dialstatus: str | None = None  # VIGIL_DIALSTATUS: the dialplan's verdict
    far_cause: int | None = None  # the far channel's hangup cause (or the caller's, no channel)

    @property
    def far_status(self) -> str | None:
        """The far leg's final DIALSTATUS, once known (the dialplan's variable wins)."""
        if self.dialstatus:
            return self.dialstatus.upper()
        if self.far_dial_end and self.far_dial_end.upper() not in ("RINGING", "PROGRESS"):
            return self.far_dial_end.upper()
        return None

    @property
    def placed(self) -> bool:
        """A call the PBX rang a user's phone for (an Originate of an agent phone)."""
        return self.own_device is not None


def far_outcome(legs: PlacedLegs) -> str | None:
    """The call's outcome from its far leg, or None when no far leg was dialled."""
    status = legs.far_status
    if status is None:
        return "answered" if legs.far_answer_at is not None else None
    return FAR_OUTCOMES.get(status, "failed")


def far_cause(legs: PlacedLegs) -> str | None:
    """A machine cause for a far leg that did not answer (``busy``, ``no_answer``,
    ``unallocated_number``, ``congestion``, ``chanunavail``, ``canceled``…)."""
    status = legs.far_status
    if status is None or status == "ANSWER":
        return None
    if status in ("CHANUNAVAIL", "CONGESTION") and legs.far_cause in CAUSE_NAMES:
        return CAUSE_NAMES[legs.far_cause]
    return FAR_CAUSES.get(status, status.lower())


def record_fields(legs: PlacedLegs) -> Json:
    """The call record's fields about the legs (``None`` for calls nobody placed)."""
    return {
        "placed_from": legs.own_device,
        "own_answer_at": _ms(legs.own_answer_at),
        "far_ring_at": _ms(legs.far_ring_at),
        "far_answer_at": _ms(legs.far_answer_at),
        "far_status": legs.far_status,
        "far_cause": legs.far_cause,
    }


def extension_of_device(device: str) -> str:
    """``Local/1001@agent-phones`` or ``PJSIP/1001`` -> ``1001``."""
    _, _, rest = device.partition("/")
    return (rest or device).split("@")[0]


def _ms(t: float | None) -> float | None:
    return None if t is None else round(t, 3)
