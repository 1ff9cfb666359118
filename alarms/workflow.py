"""The operator workflow as a pure state machine, and escalation by age.

::

    held --(hold expires / non-holdable signal)--> new
    new --take--> taken --verify--> verifying --dispatch--> dispatched --close--> closed
    (taken|verifying|dispatched) --release--> unowned (taken goes back to new)
    closed --reopen--> new

One operator owns an incident at a time (``taken_by``); taking is a conditional UPDATE in
:mod:`alarms.incidents`, this module only says which moves are legal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

STATUSES: Final = ("held", "new", "taken", "verifying", "dispatched", "closed")
OPEN_STATUSES: Final = frozenset({"held", "new", "taken", "verifying", "dispatched"})
DISPOSITIONS: Final = ("false_alarm", "real_alarm", "test", "cancelled_by_subscriber",
                       "restored_on_hold", "cleared_by_system")
OPERATOR_DISPOSITIONS: Final = ("false_alarm", "real_alarm", "test", "cancelled_by_subscriber")
FALSE_ALARM_CAUSES: Final = ("user_error", "device_fault", "installation", "environment",
                             "communication", "unknown")


class TransitionError(ValueError):
    """A move the workflow does not allow; ``code`` says which rule refused it (the console
    words it in the operator's language), the message says it in English."""

    def __init__(self, message: str, code: str = "not_allowed", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def can_take(status: str, taken_by: int | None) -> bool:
    return status in ("new", "taken", "verifying", "dispatched") and taken_by is None


def after_take(status: str) -> str:
    return "taken" if status == "new" else status


def after_release(status: str) -> str:
    return "new" if status == "taken" else status


def check_owner(status: str, taken_by: int | None, user_id: int, supervisor: bool) -> None:
    """Work on an incident needs the incident to be open and taken by this operator (a
    supervisor may act on anyone's)."""
    if status not in OPEN_STATUSES or status == "held":
        raise TransitionError(f"the incident is {status}", "incident_not_open", status=status)
    if taken_by is None:
        raise TransitionError("take the incident first", "take_first")
    if taken_by != user_id and not supervisor:
        raise TransitionError("the incident is taken by another operator", "taken_by_other")


def after_call(status: str) -> str:
    return "verifying" if status == "taken" else status


def after_dispatch(status: str) -> str:
    if status not in ("taken", "verifying", "dispatched"):
        raise TransitionError(f"cannot dispatch an incident that is {status}", "cannot_dispatch",
                              status=status)
    return "dispatched"


def check_close(status: str, disposition: str, cause: str | None, *, system: bool = False) -> None:
    if status == "closed":
        raise TransitionError("the incident is already closed", "already_closed")
    allowed = DISPOSITIONS if system else OPERATOR_DISPOSITIONS
    if disposition not in allowed:
        raise TransitionError(f"disposition must be one of {', '.join(allowed)}", "bad_disposition")
    if disposition == "false_alarm" and cause not in FALSE_ALARM_CAUSES:
        raise TransitionError(f"a false alarm needs a cause: {', '.join(FALSE_ALARM_CAUSES)}",
                              "cause_needed")
    if disposition != "false_alarm" and cause is not None:
        raise TransitionError("only a false alarm has a cause", "cause_only_false")


def check_reopen(status: str) -> None:
    if status != "closed":
        raise TransitionError("only a closed incident can be re-opened", "reopen_only_closed")


def escalation(opened_at: datetime, now: datetime, base_priority: int,
               ages: Sequence[float]) -> tuple[int, int]:
    """(level, priority) of an untaken incident: one step more urgent (lower number, never
    below 1) for each configured age, in seconds, it has passed."""
    age = (now - opened_at).total_seconds()
    level = sum(1 for a in sorted(ages) if age >= a)
    return level, max(1, base_priority - level)


def next_escalation_at(opened_at: datetime, level: int, ages: Sequence[float]) -> datetime | None:
    ordered = sorted(ages)
    if level >= len(ordered):
        return None
    return opened_at + timedelta(seconds=ordered[level])
