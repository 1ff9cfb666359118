"""The monitoring rules as pure functions: a signal (or a timer) and what the batch knows about
its account in, effects (:mod:`alarms.engine.effects`) out.

A signal goes through two steps because the runaway limit is a token bucket, the one piece of
state the rules may not hold: :func:`screened` handles what the account's state settles
before the limit (unknown and cancelled accounts, test reports, on test, on hold); for the
rest the engine takes a token (life-safety signals need none) and :func:`signal_effects`
decides with the answer.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from alarms import disaster, plans, schedule_rules
from alarms.classify import Classified, kind_info
from alarms.engine.effects import (
    CLOSE_FAIL_TO_TEST,
    CLOSE_HELD,
    Effect,
    Flag,
    IncidentKey,
    Join,
    LinkState,
    Log,
    MarkDay,
    MarkZone,
    Open,
    SetState,
    SystemClose,
)
from alarms.subscriber import AccountInfo
from crm.schedule import Schedule


class IncidentView(Protocol):
    """What the rules read of an open incident."""

    @property
    def id(self) -> int | None: ...
    @property
    def account_key(self) -> str: ...
    @property
    def desk(self) -> str: ...
    @property
    def event_class(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def zones(self) -> dict[str, Any]: ...
    @property
    def first_signal_at(self) -> datetime: ...


class StateView(Protocol):
    """What the rules read of an account's state (``alarm_account_states``)."""

    @property
    def on_test_until(self) -> datetime | None: ...
    @property
    def runaway_incident_id(self) -> int | None: ...
    @property
    def fail_to_test_incident_id(self) -> int | None: ...


Incidents = Mapping[IncidentKey, IncidentView]
Marks = Container[tuple[int, date, str]]  # (account id, local day, exception kind) raised


@dataclass(slots=True)
class Context:
    """The batch's (or tick's) time and the center's rules of the moment."""

    now: datetime
    plans: Sequence[plans.PlanRule]
    disaster: disaster.DisasterState
    cancel_window_s: float
    early_open: timedelta


@dataclass(slots=True)
class Incoming:
    """One signal as the rules see it: classified, its account resolved."""

    payload: Mapping[str, Any]  # the ``signal.received`` payload (its row is made from it)
    account: AccountInfo | None
    cls: Classified
    key: str  # the account's incident key: ``id:N``, or ``unknown:<number>``
    received: datetime
    zone: str

    @property
    def number(self) -> str:
        return str(self.payload.get("account") or "")

    @property
    def receiver(self) -> str:
        return str(self.payload.get("receiver") or "")


def account_key(account: AccountInfo | None, number: str) -> str:
    return f"id:{account.id}" if account is not None else f"unknown:{number}"


def line_key(payload: Mapping[str, Any]) -> str:
    """The incident key of a receiver line's own trouble (no account behind it)."""
    return f"receiver:{payload.get('receiver') or ''}/{payload.get('line') or ''}"


def zone_key(zone: Any) -> str:
    z = str(zone or "").strip()
    return str(int(z)) if z.isdigit() else (z or "-")


def raised(kind: str, ctx: Context, open_: Incidents, *, account: AccountInfo | None, key: str,
           number: str, receiver: str, at: datetime, priority: int | None = None,
           ) -> tuple[IncidentKey, list[Effect]]:
    """Open (or join) an incident the engine makes itself (fail to test, runaway, schedule
    exceptions, unknown accounts, a receiver line's trouble): its key and the effect."""
    info = kind_info(kind)
    event_class, base_prio, desk = info.event_class, info.priority, info.desk
    override, steps = plans.resolve(ctx.plans, kind, event_class,
                                    account.id if account else None, None)
    prio = priority or (override.priority if override and override.priority else base_prio)
    target = (key, desk)
    if target in open_:
        return target, [Join(target, prio, kind, hold=False)]
    return target, [Open(key, desk, kind, event_class, prio, tuple(steps), account, number,
                         receiver, at)]


def screened(s: Incoming, state: StateView | None, ctx: Context,
             open_: Incidents) -> list[Effect] | None:
    """The effects of a signal that the account (or its absence) settles before the runaway
    limit; None when the signal goes on to :func:`signal_effects`."""
    info, cls = s.account, s.cls
    if info is None:
        return _no_account(s, ctx, open_)
    if info.status == "cancelled":
        return [Log(None, "account_cancelled")]
    if cls.kind == "test":
        return test_received(s, info, state, open_)
    if state is not None and state.on_test_until is not None and ctx.now < state.on_test_until:
        return [Log(None, "on_test")]
    if info.status == "on_hold" and not cls.life_safety:
        return [Log(None, "on_hold")]
    return None


def _no_account(s: Incoming, ctx: Context, open_: Incidents) -> list[Effect]:
    """A number crm does not know (one incident for the admin desk), or the receiver's own
    line trouble (one incident per line)."""
    if s.cls.kind == "comm_trouble":
        line = line_key(s.payload)
        if s.cls.restore:
            target = (line, "technical")
            return [Log(target, None) if target in open_ else Log(None, "restore")]
        target, fx = raised("comm_trouble", ctx, open_, account=None, key=line,
                            number=s.number, receiver=s.receiver, at=s.received)
    else:
        target, fx = raised("unknown_account", ctx, open_, account=None, key=s.key,
                            number=s.number, receiver=s.receiver, at=s.received,
                            priority=min(s.cls.priority, kind_info("unknown_account").priority))
    return [*fx, Log(target, None)]


def test_received(s: Incoming, info: AccountInfo, state: StateView | None,
                  open_: Incidents) -> list[Effect]:
    """A test report: the next one is due an interval later, and a fail-to-test incident it
    answers late is closed."""
    interval = info.test_interval_minutes
    fx: list[Effect] = [
        SetState(info.id, {"last_test_at": s.received, "test_interval_minutes": interval,
                           "test_due_at": (s.received + timedelta(minutes=interval)
                                           if interval else None)}),
        Log(None, "test")]
    overdue = state.fail_to_test_incident_id if state is not None else None
    if overdue:
        fx.append(LinkState(info.id, "fail_to_test_incident_id", None))
        inc = next((i for i in open_.values() if i.id == overdue), None)
        if inc is not None and inc.status != "closed":
            fx.append(SystemClose((inc.account_key, inc.desk), *CLOSE_FAIL_TO_TEST))
    return fx


def signal_effects(s: Incoming, state: StateView | None, ctx: Context, open_: Incidents,
                   schedule: Schedule | None, marks: Marks, within_rate: bool) -> list[Effect]:
    """The effects of a signal of a live account that :func:`screened` let through;
    ``within_rate`` is the runaway bucket's answer (True for life-safety signals)."""
    info, cls = s.account, s.cls
    assert info is not None
    if not cls.life_safety:
        runaway_open = state is not None and state.runaway_incident_id is not None
        if not within_rate or runaway_open:
            fx: list[Effect] = []
            if not runaway_open:
                target, fx = raised("runaway", ctx, open_, account=info, key=s.key,
                                    number=s.number, receiver=s.receiver, at=s.received)
                fx.append(LinkState(info.id, "runaway_incident_id", target))
            fx.append(Log(None, "runaway"))
            return fx
    if cls.opening or cls.closing:
        return open_close(s, info, ctx, open_, schedule, marks)
    own = _own(s, open_)
    if cls.kind == "cancel":
        return _cancel(s, ctx, open_, own)
    if cls.restore:
        return _restore(s, open_, own)
    if not cls.raises_incident:
        return [Log(own, None if own else "no_incident")]
    return _alarm(s, info, ctx, open_)


def _own(s: Incoming, open_: Incidents) -> IncidentKey | None:
    """The open incident a signal that raises none belongs with: its desk's, else the
    operators'."""
    for desk in (s.cls.desk, "operator"):
        if (s.key, desk) in open_:
            return (s.key, desk)
    return None


def _cancel(s: Incoming, ctx: Context, open_: Incidents,
            own: IncidentKey | None) -> list[Effect]:
    """The panel's cancel marks an alarm cancelled at the panel within the cancel window."""
    fx: list[Effect] = []
    if own is not None:
        inc = open_[own]
        if inc.event_class == "alarm" and \
                (s.received - inc.first_signal_at).total_seconds() <= ctx.cancel_window_s:
            fx.append(Flag(own, "cancelled_at_panel"))
    fx.append(Log(own, None if own else "cancel"))
    return fx


def _restore(s: Incoming, open_: Incidents, own: IncidentKey | None) -> list[Effect]:
    """A zone's restore marks it restored on the incident that has it; a held incident whose
    zones are all restored closes by itself."""
    for desk in ("operator", "technical", "admin"):
        target = (s.key, desk)
        inc = open_.get(target)
        if inc is not None and s.zone in (inc.zones or {}):
            break
    else:
        return [Log(own, None if own else "restore")]
    fx: list[Effect] = [MarkZone(target, s.zone, inc.zones[s.zone]["kind"], "restored",
                                 s.received), Log(target, None)]
    if inc.status == "held" and all(v["state"] == "restored" for z, v in inc.zones.items()
                                    if z != s.zone):
        fx.append(SystemClose(target, *CLOSE_HELD))
    return fx


def _alarm(s: Incoming, info: AccountInfo, ctx: Context, open_: Incidents) -> list[Effect]:
    """A signal that raises an incident: opened (held or less urgent in disaster mode) or
    joined, its zone marked active."""
    cls = s.cls
    rule = disaster.rule_for(ctx.disaster, cls.kind, cls.event_class)
    priority, held_until = cls.priority, None
    if rule is not None:
        if rule.mode == "log":
            return [Log(None, "disaster")]
        if rule.mode == "lower":
            priority = min(9, priority + rule.by)
        elif rule.mode == "hold":
            held_until = ctx.now + timedelta(minutes=rule.minutes)
    target = (s.key, cls.desk)
    fx: list[Effect]
    if target in open_:
        fx = [Join(target, priority, cls.kind, hold=held_until is not None)]
    else:
        _, steps = plans.resolve(ctx.plans, cls.kind, cls.event_class, info.id, s.zone)
        fx = [Open(s.key, cls.desk, cls.kind, cls.event_class, priority, tuple(steps), info,
                   info.number, s.receiver, s.received, held_until)]
    if cls.kind == "duress":
        fx.append(Flag(target, "duress"))
    fx.append(MarkZone(target, s.zone, cls.kind, "active", s.received))
    fx.append(Log(target, None))
    return fx


def open_close(s: Incoming, info: AccountInfo, ctx: Context, open_: Incidents,
               schedule: Schedule | None, marks: Marks) -> list[Effect]:
    """An opening or closing: the account is armed or not; against its schedule it may be an
    exception (early, unscheduled ...), raised once a day."""
    cls = s.cls
    fx: list[Effect] = [SetState(info.id, {"armed": False, "last_open_at": s.received}
                                 if cls.opening else
                                 {"armed": True, "last_close_at": s.received})]
    kind = None
    if schedule is not None:
        judge = schedule_rules.judge_opening if cls.opening else schedule_rules.judge_closing
        kind = judge(schedule, s.received, ctx.early_open)
    day = schedule_rules.local_day(schedule, s.received) if schedule else s.received.date()
    if kind is not None and (info.id, day, kind) not in marks:
        target, raised_fx = raised(kind, ctx, open_, account=info, key=s.key, number=s.number,
                                   receiver=s.receiver, at=s.received)
        return [*fx, *raised_fx, MarkDay(info.id, day, kind, target), Log(target, None)]
    own = (s.key, "operator")
    return [*fx, Log(own, None) if own in open_ else Log(None, "open_close")]


# --- timers -------------------------------------------------------------------------------------

def overdue_test(account_id: int, account: AccountInfo | None, state: StateView, ctx: Context,
                 open_: Incidents) -> list[Effect]:
    """A test report is overdue: a fail-to-test incident, unless the account is no longer
    supervised (not active: it stops being due) or is on test."""
    if account is None or account.status != "active":
        return [SetState(account_id, {"test_due_at": None})]
    if state.on_test_until is not None and ctx.now < state.on_test_until:
        return []
    target, fx = raised("fail_to_test", ctx, open_, account=account, key=f"id:{account.id}",
                        number=account.number, receiver="", at=ctx.now)
    return [*fx, LinkState(account.id, "fail_to_test_incident_id", target)]


def schedule_exception(account: AccountInfo, kind: str, day: date, ctx: Context,
                       open_: Incidents) -> list[Effect]:
    """A late-to-open or late-to-close the schedule timer found, raised once that day."""
    if account.status != "active":
        return []
    target, fx = raised(kind, ctx, open_, account=account, key=f"id:{account.id}",
                        number=account.number, receiver="", at=ctx.now)
    return [*fx, MarkDay(account.id, day, kind, target)]
