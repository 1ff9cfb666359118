"""Action plans: which steps an operator takes for a kind of incident, and the checklist rules.

A plan matches an incident kind (``burglary``) or an event class (``alarm``); the center's plans
have no account, an account's plan overrides them and a zone's plan overrides the account's.
The steps become the incident's checklist; completing a step is recorded with who and when.
Enhanced call verification (ECV) means two verification calls to two different numbers before
the police may be asked to respond.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from alarms.classify import Override

STEP_KINDS: Final = (
    "call_premises", "ask_passcode", "call_list", "ecv", "dispatch_guard", "notify_police",
    "notify_sms", "notify_email", "log_only",
)

LABELS: Final[dict[str, str]] = {
    "call_premises": "Call the premises",
    "ask_passcode": "Ask for the passcode",
    "call_list": "Call the call list in order",
    "ecv": "Enhanced call verification: two calls to two different numbers",
    "dispatch_guard": "Dispatch a guard",
    "notify_police": "Notify the police",
    "notify_sms": "Notify by SMS",
    "notify_email": "Notify by e-mail",
    "log_only": "Log only",
}

_BURGLARY = ["call_premises", "ask_passcode", "call_list", "ecv", "dispatch_guard",
             "notify_police", "notify_sms"]
DEFAULT_STEPS: Final[dict[str, list[str]]] = {
    "burglary": _BURGLARY,
    "tamper": _BURGLARY,
    "alarm_24h": ["call_premises", "call_list", "dispatch_guard", "notify_sms"],
    "fire": ["notify_police", "call_premises", "call_list", "notify_sms"],
    "panic": ["notify_police", "call_premises", "call_list"],
    "duress": ["notify_police", "call_list"],
    "medical": ["call_premises", "notify_police", "call_list"],
    "ac_loss": ["call_premises", "notify_sms"],
    "low_battery": ["call_premises", "notify_email"],
    "trouble": ["call_premises", "notify_sms"],
    "comm_trouble": ["call_premises", "notify_email"],
    "supervisory": ["call_premises", "notify_sms"],
    "fail_to_test": ["call_premises", "notify_email"],
    "runaway": ["call_premises", "notify_email"],
    "unknown_account": ["log_only"],
    "fail_to_open": ["call_list"],
    "fail_to_close": ["call_list", "notify_sms"],
    "early_open": ["call_premises", "ask_passcode", "call_list"],
    "unscheduled_open": ["call_premises", "ask_passcode", "call_list", "dispatch_guard"],
    "unscheduled_close": ["call_list"],
    "panel_open_close_exception": ["call_list"],
}
POLICE_STEPS: Final = frozenset({"notify_police"})
CALL_STEPS: Final = frozenset({"call_premises", "call_list", "ecv"})


@dataclass(frozen=True, slots=True)
class PlanRule:
    """One stored plan, as plain values (the engine caches these)."""

    id: int
    account_id: int | None
    zone: str | None
    match: str
    priority: int | None
    event_class: str | None
    steps: tuple[str, ...]


def _score(rule: PlanRule, kind: str, event_class: str, account_id: int | None,
           zone: str | None) -> int | None:
    if rule.match not in (kind, event_class):
        return None
    if rule.account_id is not None and rule.account_id != account_id:
        return None
    if rule.zone is not None and (rule.account_id is None or rule.zone != zone):
        return None
    score = 1 if rule.match == event_class else 2
    if rule.account_id is not None:
        score += 10
    if rule.zone is not None:
        score += 100
    return score


def resolve(rules: Iterable[PlanRule], kind: str, event_class: str, account_id: int | None,
            zone: str | None) -> tuple[Override | None, list[str]]:
    """The most specific plan's override and steps; the built-in steps when none matches."""
    best: PlanRule | None = None
    best_score = -1
    for rule in rules:
        s = _score(rule, kind, event_class, account_id, zone)
        if s is not None and s > best_score:
            best, best_score = rule, s
    if best is None:
        return None, list(DEFAULT_STEPS.get(kind, ["call_premises"]))
    override = Override(best.priority, best.event_class)
    steps = list(best.steps) or list(DEFAULT_STEPS.get(kind, ["call_premises"]))
    return override, steps


def checklist(steps: Sequence[str]) -> list[dict[str, Any]]:
    """An incident's checklist from a plan's steps."""
    return [{"step": s, "label": LABELS.get(s, s), "done": False, "done_at": None,
             "done_by": None, "note": None} for s in steps]


def add_step(items: list[dict[str, Any]], step: str, first: bool = False) -> list[dict[str, Any]]:
    """The checklist with ``step`` added, or moved to the top when ``first`` (a new list, for
    JSON change tracking)."""
    present = [i for i in items if i["step"] == step]
    if present:
        if not first:
            return list(items)
        return present + [i for i in items if i["step"] != step]
    new = checklist([step])
    return new + list(items) if first else list(items) + new


class StepRefused(ValueError):
    """A step that may not be completed yet; the message says what is missing, ``code`` which
    rule it is (for the console's words)."""

    def __init__(self, message: str, code: str = "step_refused") -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, object] = {}


def ecv_satisfied(call_numbers: Iterable[str]) -> bool:
    """Two calls with a result, to two different numbers."""
    return len(set(call_numbers)) >= 2


def complete_step(items: list[dict[str, Any]], index: int, *, by: str, at: datetime,
                  note: str | None, completed_call_numbers: Sequence[str],
                  duress: bool) -> list[dict[str, Any]]:
    """Mark step ``index`` done. The ECV step, and the police step of a plan that has one,
    need two answered-or-not calls to two different numbers (a duress code skips ECV: the life
    threat is confirmed)."""
    if not 0 <= index < len(items):
        raise StepRefused(f"no step {index}", "no_such_step")
    item = items[index]
    if item["done"]:
        raise StepRefused("the step is already done", "step_done")
    has_ecv = any(i["step"] == "ecv" for i in items)
    needs_ecv = item["step"] == "ecv" or (item["step"] in POLICE_STEPS and has_ecv)
    if needs_ecv and not duress and not ecv_satisfied(completed_call_numbers):
        raise StepRefused("enhanced call verification needs calls to two different numbers "
                          "first", "ecv_needs_two_calls")
    out = [dict(i) for i in items]
    out[index].update(done=True, done_at=at.isoformat(), done_by=by, note=note)
    return out
