"""What the IVR needs from the rest of the system, as narrow protocols.

Flows depend only on these; :mod:`ivr.adapters` implements them over ``crm`` (and over ``alarms``
when its public functions land), the tests use in-memory fakes, and the composition root passes
``cti``'s live queue statistics in as a :class:`QueueStats` (the IVR may not import ``cti``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

CodeCheck = Literal["valid", "duress", "invalid"]
ArmedState = Literal["armed", "disarmed", "unknown"]
EventKind = Literal["alarm", "open", "close", "trouble", "test", "other"]


class ServiceUnavailable(Exception):
    """A part the IVR relies on cannot answer now; the caller is put through to an operator."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """An account as the IVR knows a caller: who, which contact (if the number is a person's),
    and the language to greet them in."""

    account_id: int
    account_number: str
    language: str
    contact_id: int | None = None


@dataclass(frozen=True, slots=True)
class IncidentRef:
    incident_id: int
    account_id: int
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class PastEvent:
    kind: EventKind
    at: datetime


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """Live figures of one queue: callers already waiting and the expected wait in seconds."""

    waiting: int
    estimated_wait_s: float
    agents_free: int = 0


class SubscriberLookup(Protocol):
    async def by_caller_id(self, number: str) -> list[Subscriber]:
        """Accounts owning the calling number (empty for unknown or withheld numbers)."""
        ...

    async def by_account_number(self, number: str) -> Subscriber | None: ...

    async def verify_pin(self, subscriber: Subscriber, pin: str) -> CodeCheck:
        """Check the IVR PIN; ``duress`` is accepted to the caller and escalated silently."""
        ...

    async def verify_passcode(self, subscriber: Subscriber, code: str) -> tuple[CodeCheck,
                                                                                int | None]:
        """Check a passcode against the account's contacts; the result and whose code it was."""
        ...


class AlarmActions(Protocol):
    async def disaster_mode(self) -> bool: ...

    async def recent_incident(self, account_id: int) -> IncidentRef | None:
        """The account's latest open incident, if it opened recently enough to cancel by phone."""
        ...

    async def cancel_by_subscriber(self, incident: IncidentRef, contact_id: int | None,
                                   caller: str, note: str) -> None: ...

    async def escalate_duress(self, account_id: int, incident: IncidentRef | None,
                              contact_id: int | None, caller: str) -> None:
        """A duress code was given: raise the highest-priority incident, silently."""
        ...

    async def put_on_test(self, account_id: int, hours: int, caller: str) -> datetime:
        """Put the account on test; the end of the test period."""
        ...

    async def last_events(self, account_id: int, limit: int) -> list[PastEvent]: ...

    async def armed_state(self, account_id: int) -> ArmedState: ...


class QueueStats(Protocol):
    def snapshot(self, queue: str) -> QueueSnapshot | None:
        """Live figures of ``queue``, or None when they are not known."""
        ...


class Tickets(Protocol):
    async def voicemail(self, account_id: int | None, caller: str, recording: str,
                        language: str) -> int:
        """Record a message left in the IVR as a ticket; the ticket id."""
        ...
