"""Event code -> incident kind, class and priority, with the action plan's overrides.

The receivers already attach a generic ``event_class`` and ``priority`` to each signal; the
engine needs finer kinds (fire is not burglary, a cancel is not an opening, AC loss is what a
storm produces) to choose an action plan and to apply disaster rules. Priority 1 is the most
urgent: life safety, then burglary, troubles, supervisory, open/close, tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

Desk = Literal["operator", "technical", "admin"]

# kind -> (event class, priority, desk)
KINDS: Final[dict[str, tuple[str, int, Desk]]] = {
    "duress": ("alarm", 1, "operator"),
    "fire": ("alarm", 1, "operator"),
    "panic": ("alarm", 1, "operator"),
    "medical": ("alarm", 1, "operator"),
    "burglary": ("alarm", 2, "operator"),
    "tamper": ("alarm", 2, "operator"),
    "alarm_24h": ("alarm", 2, "operator"),
    "ac_loss": ("trouble", 3, "operator"),
    "low_battery": ("trouble", 3, "technical"),
    "trouble": ("trouble", 3, "operator"),
    "comm_trouble": ("trouble", 3, "technical"),
    "supervisory": ("supervisory", 4, "operator"),
    "fail_to_test": ("supervisory", 4, "technical"),
    "runaway": ("supervisory", 4, "technical"),
    "unknown_account": ("supervisory", 4, "admin"),
    "fail_to_open": ("open_close", 4, "operator"),
    "fail_to_close": ("open_close", 4, "operator"),
    "early_open": ("open_close", 4, "operator"),
    "unscheduled_open": ("open_close", 4, "operator"),
    "unscheduled_close": ("open_close", 5, "operator"),
    "panel_open_close_exception": ("open_close", 4, "operator"),
    "opening": ("open_close", 5, "operator"),
    "closing": ("open_close", 5, "operator"),
    "cancel": ("open_close", 5, "operator"),
    "bypass": ("open_close", 5, "operator"),
    "test": ("test", 6, "operator"),
    "other": ("other", 7, "operator"),
}

# Kinds whose signals raise an incident; the rest are logged on the account (and may still
# trigger rules: tests feed supervision, openings and closings feed schedules).
INCIDENT_CLASSES: Final = frozenset({"alarm", "trouble", "supervisory"})
LIFE_SAFETY: Final = frozenset({"duress", "fire", "panic", "medical"})


def _cid_kind(code: int) -> str:
    if code == 121:
        return "duress"
    if 100 <= code <= 109:
        return "medical"
    if 110 <= code <= 119:
        return "fire"
    if 120 <= code <= 129:
        return "panic"
    if code in (137, 144, 145):
        return "tamper"
    if 130 <= code <= 149:
        return "burglary"
    if 150 <= code <= 169:
        return "alarm_24h"
    if 200 <= code <= 299:
        return "supervisory"
    if code == 301:
        return "ac_loss"
    if code in (302, 309, 311, 338, 342, 384):
        return "low_battery"
    if 350 <= code <= 359:
        return "comm_trouble"
    if 300 <= code <= 399:
        return "trouble"
    if code == 406:
        return "cancel"
    if 400 <= code <= 409 or code == 441 or code == 442:
        return "opening"  # direction comes from the qualifier
    if 450 <= code <= 459:
        return "panel_open_close_exception"
    if 570 <= code <= 579:
        return "bypass"
    if 601 <= code <= 609:
        return "test"
    return "other"


_SIA_EXACT: Final[dict[str, str]] = {
    "HA": "duress", "DU": "duress", "BC": "cancel", "OC": "cancel",
    "AT": "ac_loss", "AR": "ac_loss", "YT": "low_battery", "YR": "low_battery",
    "XT": "low_battery", "XR": "low_battery", "YC": "comm_trouble", "YK": "comm_trouble",
    "YS": "comm_trouble", "LT": "comm_trouble", "LR": "comm_trouble",
    "RP": "test", "RX": "test", "RY": "test", "TX": "test",
    "BB": "bypass", "BU": "bypass", "UB": "bypass",
    "OI": "panel_open_close_exception", "CI": "panel_open_close_exception",
    "CJ": "panel_open_close_exception", "OT": "panel_open_close_exception",
}
_SIA_FAMILY: Final[dict[str, str]] = {
    "F": "fire", "P": "panic", "M": "medical", "Q": "medical", "B": "burglary",
    "T": "tamper", "G": "alarm_24h", "W": "alarm_24h", "K": "alarm_24h", "Z": "alarm_24h",
}


def kind_of(event_system: str, code: str) -> str:
    """The engine's kind for an event code (Contact ID ``EEE`` or SIA two letters)."""
    code = code.strip().upper()
    if event_system == "cid":
        return _cid_kind(int(code)) if code.isdigit() else "other"
    if code in _SIA_EXACT:
        return _SIA_EXACT[code]
    if len(code) == 2 and code[0] == "O":
        return "opening"
    if len(code) == 2 and code[0] == "C":
        return "closing"
    if len(code) == 2 and code[1] == "T":  # FT, BT, PT ...: troubles of a family
        return "trouble"
    if len(code) == 2 and code[1] == "S":
        return "supervisory"
    if len(code) == 2 and code[0] in _SIA_FAMILY and code[1] in "AHR":
        return _SIA_FAMILY[code[0]]
    return "other"


@dataclass(frozen=True, slots=True)
class Override:
    """What an action plan may override for matching signals."""

    priority: int | None = None
    event_class: str | None = None


@dataclass(frozen=True, slots=True)
class Classified:
    kind: str
    event_class: str
    priority: int
    desk: Desk
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
    """Classify one ``signal.received`` payload, then apply an action plan's override."""
    system = str(data.get("event_system") or "cid")
    code = str(data.get("event_code") or "")
    qualifier = str(data.get("qualifier") or "new")
    kind = kind_of(system, code)
    if kind == "other" and data.get("event_class") in INCIDENT_CLASSES:
        # A code we have no finer kind for: trust the receiver's generic class.
        kind = {"alarm": "burglary", "trouble": "trouble",
                "supervisory": "supervisory"}[str(data["event_class"])]
    event_class, priority, desk = KINDS[kind]
    opening = closing = False
    restore = qualifier == "restore"
    if kind == "opening":
        if system == "cid":
            opening, closing = qualifier != "restore", qualifier == "restore"
            if closing:
                kind = "closing"
        else:
            opening = True
        restore = False
    elif kind == "closing":
        closing, restore = True, False
    elif system == "sia" and len(code) == 2 and code[1] == "R" and kind not in ("test",):
        restore = True
    if kind in ("cancel", "test", "bypass"):
        restore = False
    if override is not None:
        if override.priority is not None:
            priority = override.priority
        if override.event_class is not None:
            event_class = override.event_class
    return Classified(kind, event_class, priority, desk, restore, opening, closing)


def kind_info(kind: str) -> tuple[str, int, Desk]:
    """Class, priority and desk of an engine-made kind (fail to test, runaway, ...)."""
    return KINDS[kind]
