"""What the rules decide, as values: each signal (or timer) gives a list of effects, which the
batch then applies to its working set and the writer persists. The rules never touch the
database, the clock or the bus, so they are tested with plain values.

An incident is named by its key and desk (``IncidentKey``): an account has at most one open
incident per desk, whether it was read from the database or opened earlier in the same batch.
Effects are values: nothing changes one once made (they are not frozen dataclasses only
because those cost several times as much to make, and a burst makes a few per signal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from alarms.subscriber import AccountInfo

IncidentKey = tuple[str, str]  # (account key, desk)
Link = Literal["runaway_incident_id", "fail_to_test_incident_id"]


@dataclass(slots=True)
class Log:
    """The signal's row: the incident it joined, or why it opened none."""

    incident: IncidentKey | None
    reason: str | None


@dataclass(slots=True)
class Open:
    """A new incident; ``held_until`` keeps it out of the queue until then (disaster mode)."""

    key: str
    desk: str
    kind: str
    event_class: str
    priority: int
    steps: tuple[str, ...]
    account: AccountInfo | None
    number: str
    receiver: str
    at: datetime
    held_until: datetime | None = None


@dataclass(slots=True)
class Join:
    """Another signal for an open incident: more urgent if it is, out of hold unless held."""

    incident: IncidentKey
    priority: int
    kind: str
    hold: bool


@dataclass(slots=True)
class MarkZone:
    incident: IncidentKey
    zone: str
    kind: str
    state: Literal["active", "restored"]
    at: datetime


@dataclass(slots=True)
class Flag:
    """Set a flag of the incident: a duress signal, or the panel's own cancel."""

    incident: IncidentKey
    name: Literal["duress", "cancelled_at_panel"]


@dataclass(slots=True)
class SystemClose:
    """Close the incident when the batch is written (unless closed by then)."""

    incident: IncidentKey
    disposition: str
    note: str


@dataclass(slots=True)
class SetState:
    """Change the engine's columns of an account's state."""

    account_id: int
    changes: Mapping[str, Any]


@dataclass(slots=True)
class LinkState:
    """Point an account state's field at an incident (its id is known once written), or
    clear it (``incident`` None)."""

    account_id: int
    field: Link
    incident: IncidentKey | None


@dataclass(slots=True)
class MarkDay:
    """Remember that the day's schedule exception ``kind`` was raised (once a day)."""

    account_id: int
    day: date
    kind: str
    incident: IncidentKey


Effect = Log | Open | Join | MarkZone | Flag | SystemClose | SetState | LinkState | MarkDay

CLOSE_HELD = ("restored_on_hold", "restored while held in disaster mode")
CLOSE_FAIL_TO_TEST = ("cleared_by_system", "test report received late")
