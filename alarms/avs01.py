"""The ANSI/TMA AVS-01 alarm validation score (0-4) from what the center knows.

Levels, as the standard names them: 0 no call for service; 1 call for service with limited or no
further information; 2 confirmed or highly probable human presence, intent unknown; 3 confirmed
threat to property; 4 confirmed threat to life. The score is computed from the verification
outcome and the operator's observations, and the reasons are kept with it so the dispatcher
(and later a reviewer) sees why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

CallOutcome = Literal["not_attempted", "no_contact", "cancelled", "unverified",
                      "confirmed_presence", "duress"]
CALL_OUTCOMES: Final = ("not_attempted", "no_contact", "cancelled", "unverified",
                        "confirmed_presence", "duress")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What is known about an alarm: the call verification outcome (``cancelled`` = an
    authorised person gave the valid passcode and cancelled), audio or video confirmation of
    people on site, and confirmed threats."""

    call: CallOutcome = "not_attempted"
    audio_video_presence: bool = False
    multiple_zones: bool = False
    threat_to_property: bool = False
    threat_to_life: bool = False


@dataclass(frozen=True, slots=True)
class Score:
    """``reasons`` are codes (``threat_to_life``, ``duress``, ``no_contact``…): the console
    words them in the operator's language, the dispatch record keeps them."""

    level: int
    reasons: list[str] = field(default_factory=list)


def score(e: Evidence) -> Score:
    """The level and every reason that supports it (highest level wins)."""
    reasons: list[str] = []
    if e.threat_to_life:
        reasons.append("threat_to_life")
    if e.call == "duress":
        reasons.append("duress")
    if reasons:
        return Score(4, reasons)
    if e.threat_to_property:
        return Score(3, ["threat_to_property"])
    if e.audio_video_presence:
        reasons.append("audio_video_presence")
    if e.call == "confirmed_presence":
        reasons.append("call_presence")
    if e.multiple_zones:
        reasons.append("multiple_zones")
    if reasons:
        return Score(2, reasons)
    if e.call == "cancelled":
        return Score(0, ["cancelled"])
    return Score(1, [e.call])
