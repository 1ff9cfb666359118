"""A signal's classification as the alarm engine uses it, with the action plan's overrides.

The receiver classified the signal from the one event-code table (:mod:`core.event_codes`)
and carried the answer on ``signal.received``: kind, class, priority, desk, restore, arming.
The engine reads it from there; a payload without it (made by hand: a tool, a test) is
classified from its code by the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import event_codes
from core.event_codes import INCIDENT_CLASSES, KINDS, LIFE_SAFETY, Desk, KindInfo, kind_info

__all__ = ["INCIDENT_CLASSES", "KINDS", "LIFE_SAFETY", "Classified", "Desk", "KindInfo",
           "Override", "classify", "kind_info"]


@dataclass(frozen=True, slots=True)
class Override:
    """What an action plan may override for matching signals."""

    priority: int | None = None
    event_class: str | None = None


@dataclass(slots=True)
class Classified:
    """A signal's classification (a value, made once per signal of a burst)."""

    kind: str
    event_class: str
    priority: int
    desk: str
    restore: bool
    opening: bool
    closing: bool

    @property
    def raises_incident(self) -> bool:
        return not self.restore and self.event_class in INCIDENT_CLASSES

    @property
    def life_safety(self) -> bool:
        return self.kind in LIFE_SAFETY


def classify(data: Mapping[str, Any], override: Override | None = None) -> Classified:
    """The classification a ``signal.received`` payload carries, with an action plan's
    override applied."""
    kind: Any = data.get("kind")
    event_class: str
    desk: str
    if kind is None:
        c = event_codes.classify(str(data.get("event_system") or "cid"),
                                 str(data.get("event_code") or ""),
                                 str(data.get("qualifier") or "new"))
        kind, event_class, priority, desk = c.kind, c.event_class, c.priority, c.desk
        restore, arming = c.restore, c.arming
    else:
        event_class, priority, desk = str(data["event_class"]), int(data["priority"]), \
            str(data["desk"])
        restore, arming = bool(data["restore"]), data.get("arming")
    if override is not None:
        if override.priority is not None:
            priority = override.priority
        if override.event_class is not None:
            event_class = override.event_class
    return Classified(str(kind), event_class, priority, desk, restore, arming == "open",
                      arming == "close")
