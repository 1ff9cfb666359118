"""One transaction's working set: the open incidents and account states it read, the incidents
it opens, the signal rows, and the effects of the rules applied to them in order (a later
signal of the batch sees what an earlier one did). Nothing here talks to the database; the
writer (:mod:`alarms.engine.writer`) persists the result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from alarms import plans
from alarms.engine.effects import (
    Effect,
    Flag,
    IncidentKey,
    Join,
    Link,
    LinkState,
    Log,
    MarkDay,
    MarkZone,
    Open,
    SetState,
    SystemClose,
)
from alarms.engine.rules import Incoming
from alarms.models import AccountState, Incident

INCIDENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in Incident.__table__.columns
                                         if c.name != "id")
# What makes a change of an incident by signals a state change worth an audit entry; a signal
# that merely joins (count, last time, zone states) is recorded by its own signal row.
WATCHED = ("status", "priority", "cancelled_at_panel", "duress", "hold_until", "kind")
# What signals and the engine's own closes change on an incident that is already open; the
# batch writes exactly these, never the operator's columns.
SIGNAL_COLUMNS = ("kind", "base_priority", "priority", "status", "cancelled_at_panel", "duress",
                  "hold_until", "zones", "signal_count", "last_signal_at", "disposition",
                  "false_alarm_cause", "close_note", "closed_at")


class IncidentRow:
    """An incident as the engine's batch holds it: a plain object with the incident's columns
    (no ORM bookkeeping). One opened in this batch has no id until the writer gives it one;
    open ones read (and locked) at the start of the batch are written back checked against
    their version."""

    id: int | None
    version: int
    account_id: int | None
    account_key: str
    account_number: str
    account_name: str
    receiver: str
    desk: str
    kind: str
    event_class: str
    base_priority: int
    priority: int
    escalation_level: int
    status: str
    taken_by: int | None
    taken_by_name: str | None
    cancelled_at_panel: bool
    duress: bool
    hold_until: datetime | None
    zones: dict[str, Any]
    steps: list[Any]
    signal_count: int
    disposition: str | None
    false_alarm_cause: str | None
    close_note: str | None
    reopen_count: int
    first_signal_at: datetime
    last_signal_at: datetime
    opened_at: datetime
    shown_at: datetime | None
    taken_at: datetime | None
    first_call_at: datetime | None
    dispatched_at: datetime | None
    closed_at: datetime | None

    def __init__(self, **values: Any) -> None:
        columns = dict.fromkeys(INCIDENT_COLUMNS)
        columns.update(values)
        self.__dict__.update(columns)
        self.id = None
        self.version = 1

    @classmethod
    def loaded(cls, values: Any) -> IncidentRow:
        """An open incident from a row of ``alarm_incidents``."""
        inc = cls(**dict(values))
        inc.id = values["id"]
        inc.version = values["version"]
        return inc

    @classmethod
    def opened(cls, e: Open, now: datetime) -> IncidentRow:
        info = e.account
        return cls(
            account_id=info.id if info else None, account_key=e.key,
            account_number=info.number if info else e.number,
            account_name=info.name if info else "", receiver=e.receiver[:64], desk=e.desk,
            kind=e.kind, event_class=e.event_class, base_priority=e.priority,
            priority=e.priority, escalation_level=0,
            status="held" if e.held_until is not None else "new", hold_until=e.held_until,
            zones={}, steps=plans.checklist(e.steps), signal_count=0, first_signal_at=e.at,
            last_signal_at=e.at, opened_at=now, cancelled_at_panel=False, duress=False,
            reopen_count=0)

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INCIDENT_COLUMNS}

    def update_params(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in SIGNAL_COLUMNS}
        out.update(b_id=self.id, b_version=self.version, b_next=self.version + 1)
        return out

    def versioned_changes(self) -> dict[str, Any]:
        """The same for :mod:`alarms.engine.pg_batch`: the id, the version read, the
        columns."""
        out = {name: getattr(self, name) for name in SIGNAL_COLUMNS}
        out.update(id=self.id, version=self.version)
        return out


def short(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)[:8]


@dataclass
class Batch:
    """The working set of one transaction; :meth:`apply` carries out the rules' effects."""

    now: datetime
    open: dict[IncidentKey, IncidentRow]
    states: dict[int, AccountState]
    marks: set[tuple[int, date, str]] = field(default_factory=set)
    new: list[IncidentRow] = field(default_factory=list)
    new_states: list[AccountState] = field(default_factory=list)
    touched: dict[int, tuple[IncidentRow, list[str]]] = field(default_factory=dict)
    before: dict[int, dict[str, Any]] = field(default_factory=dict)
    rows: list[tuple[dict[str, Any], IncidentRow | None]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    closes: list[tuple[IncidentRow, str, str]] = field(default_factory=list)
    links: list[tuple[AccountState, Link, IncidentRow]] = field(default_factory=list)
    days: list[tuple[int, date, str, IncidentRow]] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)  # runaway tokens taken, by account

    def touch(self, inc: IncidentRow, signal_id: str | None = None) -> None:
        key = id(inc)
        if key not in self.touched:
            self.touched[key] = (inc, [])
            if inc.id is not None and key not in self.before:
                self.before[key] = {f: getattr(inc, f) for f in WATCHED}
        if signal_id:
            self.touched[key][1].append(signal_id)

    def state(self, account_id: int) -> AccountState:
        """The account's state, a new one when it has none yet."""
        st = self.states.get(account_id)
        if st is None:
            st = AccountState(account_id=account_id)
            self.states[account_id] = st
            self.new_states.append(st)
        return st

    def apply(self, effects: list[Effect], signal: Incoming | None = None) -> None:
        """Carry out ``effects`` in order (``signal``: the signal they are the effects of,
        whose row a :class:`Log` adds)."""
        for e in effects:
            _APPLY[type(e)](self, e, signal)

    def _open(self, e: Open, _s: Incoming | None) -> None:
        inc = IncidentRow.opened(e, self.now)
        self.new.append(inc)
        self.open[(e.key, e.desk)] = inc
        self.touch(inc)

    def _join(self, e: Join, _s: Incoming | None) -> None:
        inc = self.open[e.incident]
        self.touch(inc)
        if e.priority < inc.priority:
            inc.priority = e.priority
        if e.priority < inc.base_priority:
            inc.base_priority = e.priority
            inc.kind = e.kind
        if inc.status == "held" and not e.hold:
            inc.status = "new"
            inc.hold_until = None

    def _mark_zone(self, e: MarkZone, _s: Incoming | None) -> None:
        inc = self.open[e.incident]
        if inc.zones is None:
            inc.zones = {}
        inc.zones[e.zone] = {"kind": e.kind, "state": e.state, "at": e.at.isoformat()}

    def _flag(self, e: Flag, _s: Incoming | None) -> None:
        inc = self.open[e.incident]
        self.touch(inc)
        setattr(inc, e.name, True)

    def _close(self, e: SystemClose, _s: Incoming | None) -> None:
        self.closes.append((self.open[e.incident], e.disposition, e.note))

    def _set_state(self, e: SetState, _s: Incoming | None) -> None:
        st = self.state(e.account_id)
        for name, value in e.changes.items():
            setattr(st, name, value)

    def _link(self, e: LinkState, _s: Incoming | None) -> None:
        st = self.state(e.account_id)
        if e.incident is None:
            setattr(st, e.field, None)
            return
        setattr(st, e.field, -1)  # a placeholder until the writer knows the incident's id
        self.links.append((st, e.field, self.open[e.incident]))

    def _mark_day(self, e: MarkDay, _s: Incoming | None) -> None:
        self.marks.add((e.account_id, e.day, e.kind))
        self.days.append((e.account_id, e.day, e.kind, self.open[e.incident]))

    def _log(self, e: Log, s: Incoming | None) -> None:
        assert s is not None, "a signal row needs its signal"
        inc = self.open[e.incident] if e.incident is not None else None
        self.rows.append((signal_row(s, self.now, e.reason), inc))
        if inc is not None:
            inc.signal_count += 1
            if s.received > inc.last_signal_at:
                inc.last_signal_at = s.received
            sid = s.payload.get("signal_id")
            self.touch(inc, str(sid) if sid is not None else None)


_APPLY: dict[type, Callable[[Batch, Any, Incoming | None], None]] = {
    Open: Batch._open, Join: Batch._join, MarkZone: Batch._mark_zone, Flag: Batch._flag,
    SystemClose: Batch._close, SetState: Batch._set_state, LinkState: Batch._link,
    MarkDay: Batch._mark_day, Log: Batch._log,
}


def signal_row(s: Incoming, now: datetime, reason: str | None) -> dict[str, Any]:
    """A signal's row in ``alarm_incident_signals`` (its incident id is filled in when the
    batch is written)."""
    p, cls, info = s.payload, s.cls, s.account
    sid = p.get("signal_id")
    return {
        "incident_id": None, "signal_id": str(sid) if sid is not None else None,
        "account_id": info.id if info else None, "account_key": s.key,
        "received_at": s.received, "processed_at": now,
        "event_system": str(p.get("event_system") or "cid")[:8],
        "event_code": str(p.get("event_code") or "")[:8],
        "qualifier": str(p.get("qualifier") or "new")[:8], "kind": cls.kind,
        "event_class": cls.event_class, "priority": cls.priority,
        "partition": short(p.get("partition")), "zone": short(p.get("zone")),
        "user": short(p.get("user")), "logged_reason": reason}
