"""Disaster mode: center-wide rules for storms and power cuts, switched on by a supervisor.

Each rule names an incident kind (``ac_loss``) or an event class (``trouble``) and a mode:
``hold`` keeps the incident out of the queue for ``minutes`` and closes it by itself when the
restore arrives in time; ``lower`` makes it ``by`` steps less urgent; ``log`` records the signal
without an incident. Life-safety kinds are never held, lowered or logged only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from alarms.classify import LIFE_SAFETY

Mode = Literal["hold", "lower", "log"]
MODES: Final = ("hold", "lower", "log")


@dataclass(frozen=True, slots=True)
class Rule:
    mode: Mode
    minutes: float = 30.0
    by: int = 2


@dataclass(frozen=True, slots=True)
class DisasterState:
    """What the IVR and the engine read: on/off, since when, and the rules."""

    active: bool = False
    rules: Mapping[str, Rule] | None = None

    @property
    def storm_greeting(self) -> bool:
        """The IVR plays its storm greeting while disaster mode is on."""
        return self.active


def parse_rules(raw: Mapping[str, Any]) -> dict[str, Rule]:
    """Rules from their JSON form; raises ValueError naming the bad entry."""
    out: dict[str, Rule] = {}
    for key, value in raw.items():
        if key in LIFE_SAFETY:
            raise ValueError(f"{key}: life-safety alarms cannot be held, lowered or logged")
        if not isinstance(value, Mapping) or value.get("mode") not in MODES:
            raise ValueError(f"{key}: mode must be one of {', '.join(MODES)}")
        minutes = float(value.get("minutes", 30.0))
        by = int(value.get("by", 2))
        if minutes <= 0 or by < 0:
            raise ValueError(f"{key}: minutes must be positive and by not negative")
        out[str(key)] = Rule(value["mode"], minutes, by)
    return out


def rules_json(rules: Mapping[str, Rule]) -> dict[str, Any]:
    return {k: {"mode": r.mode, "minutes": r.minutes, "by": r.by} for k, r in rules.items()}


def rule_for(state: DisasterState, kind: str, event_class: str) -> Rule | None:
    """The rule that applies to a signal now, if any (a kind rule beats a class rule)."""
    if not state.active or not state.rules or kind in LIFE_SAFETY:
        return None
    return state.rules.get(kind) or state.rules.get(event_class)
