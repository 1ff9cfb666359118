"""The batch's database side: it reads (and locks) the open incidents and account states of
its accounts, then writes what the rules did: new incidents, changed open ones (each checked
against the version read), one row per signal, the audit entries, account states and
schedule marks.

On PostgreSQL everything goes in one statement (:mod:`alarms.engine.pg_batch`), new incidents
with ids reserved ahead; elsewhere new incidents in one multi-row INSERT, changed open ones in
one executemany UPDATE, signal rows and audit entries in one executemany INSERT each. Bus
events are queued on the outbox, published by the caller after the commit.
"""

from __future__ import annotations

import collections
from datetime import datetime
from typing import Any, cast

from sqlalchemy import DateTime, Table, bindparam, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from alarms import workflow
from alarms.engine.batch import INCIDENT_COLUMNS, SIGNAL_COLUMNS, WATCHED, Batch, IncidentRow
from alarms.engine.effects import IncidentKey
from alarms.engine.pg_batch import BatchStatement
from alarms.incidents import Outbox, close_fields, incident_dict
from alarms.models import AccountState, Incident, IncidentSignal, ScheduleMark
from core import audit
from core.db import in_param
from core.models import AuditEntry

ACTOR = audit.Actor.system("alarms")

_INCIDENTS = cast(Table, Incident.__table__)
_SIGNALS = cast(Table, IncidentSignal.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_UPDATE_OPEN = (
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("b_id"), _INCIDENTS.c.version == bindparam("b_version"))
    .values({name: bindparam(name) for name in SIGNAL_COLUMNS}
            | {"version": bindparam("b_next")}))
# The columns of the rows a batch appends (signal rows, audit entries), and its one statement
# on PostgreSQL.
SIGNAL_ROW_COLUMNS = ("incident_id", "signal_id", "account_id", "account_key", "received_at",
                      "processed_at", "event_system", "event_code", "qualifier", "kind",
                      "event_class", "priority", "partition", "zone", "user", "logged_reason")
AUDIT_ROW_COLUMNS = ("at", "actor_id", "actor", "action", "entity", "entity_id", "before",
                     "after", "note")
# The engine's columns of an account's state; on_test_until/on_test_by are the operators'.
STATE_COLUMNS = ("account_id", "armed", "last_open_at", "last_close_at", "runaway_incident_id",
                 "test_interval_minutes", "last_test_at", "test_due_at",
                 "fail_to_test_incident_id")
_PG_BATCH = BatchStatement(
    [(_INCIDENTS, ("id",) + INCIDENT_COLUMNS), (_SIGNALS, SIGNAL_ROW_COLUMNS),
     (_AUDIT, AUDIT_ROW_COLUMNS)], _INCIDENTS, SIGNAL_COLUMNS,
    upserts=[(cast(Table, AccountState.__table__), STATE_COLUMNS, "account_id",
              STATE_COLUMNS[1:])])
_DATETIME_COLUMNS = tuple(c.name for c in Incident.__table__.columns
                          if c.name in INCIDENT_COLUMNS
                          and isinstance(getattr(c.type, "impl", c.type), DateTime))


# --- reads ------------------------------------------------------------------------------------

_LOAD_STATEMENTS: dict[str, tuple[Any, Any]] = {}


def _load_statements(dialect: str) -> tuple[Any, Any]:
    """A batch's two reads (built once per dialect): the open incidents of its accounts and
    their states, both locked."""
    found = _LOAD_STATEMENTS.get(dialect)
    if found is None:
        found = _LOAD_STATEMENTS[dialect] = (
            select(_INCIDENTS).where(in_param(dialect, _INCIDENTS.c.account_key, "keys"),
                                     _INCIDENTS.c.status != "closed")
            .order_by(_INCIDENTS.c.id).with_for_update(),
            select(AccountState).where(in_param(dialect, AccountState.account_id, "ids"))
            .with_for_update())
    return found


async def load(s: AsyncSession, keys: set[str], account_ids: set[int],
               ) -> tuple[dict[IncidentKey, IncidentRow], dict[int, AccountState]]:
    """The open incidents of ``keys`` (locked until the batch commits: FOR UPDATE on
    PostgreSQL, where an operator's take or edit then waits for the batch; SQLite renders no
    lock, and the version check of the write catches a write in between) and the engine's
    states of ``account_ids`` (locked too: the batch writes them back whole, so an
    operator's change waits for it rather than being overwritten)."""
    open_map: dict[IncidentKey, IncidentRow] = {}
    states: dict[int, AccountState] = {}
    open_stmt, states_stmt = _load_statements(s.get_bind().dialect.name)
    klist = sorted(keys)
    for i in range(0, len(klist), 900):
        for row in (await s.execute(open_stmt, {"keys": klist[i:i + 900]})).mappings().all():
            inc = IncidentRow.loaded(row)
            open_map[(inc.account_key, inc.desk)] = inc
    alist = sorted(account_ids)
    for i in range(0, len(alist), 900):
        for st in (await s.execute(states_stmt, {"ids": alist[i:i + 900]})).scalars():
            states[st.account_id] = st
    return open_map, states


# --- writes -----------------------------------------------------------------------------------

class IncidentIds:
    """Incident ids reserved from the table's sequence ahead of need (PostgreSQL), so a
    batch's new incidents go in with the batch's one statement and most batches spend no
    round trip on ids. Ids reserved and never used are a gap, as a sequence's own cache leaves
    after a restart; across nodes ids follow each node's reservations, not time."""

    def __init__(self, chunk: int = 1000) -> None:
        self.chunk = chunk
        self._free: collections.deque[int] = collections.deque()
        self._sequence: str | None = None

    async def take(self, raw: Any, n: int) -> list[int]:
        while len(self._free) < n:
            if self._sequence is None:
                self._sequence = await raw.fetchval(
                    "SELECT pg_get_serial_sequence($1, 'id')", _INCIDENTS.name)
            got = await raw.fetch("SELECT nextval($1::regclass) FROM generate_series(1, $2)",
                                  self._sequence, max(self.chunk, n))
            self._free.extend(sorted(r[0] for r in got))
        return [self._free.popleft() for _ in range(n)]


async def write(s: AsyncSession, b: Batch, at: datetime, ids: IncidentIds, out: Outbox) -> None:
    """Write the batch in ``s``'s transaction (the caller commits), then queue its bus events
    on ``out``; ``at`` stamps the audit entries."""
    s.add_all(b.new_states)
    opened, closed = _close_by_system(b)
    raw = await _raw(s)
    await _assign_ids(s, b, raw, ids)
    _resolve_links(s, b)
    views = _audit_entries(b, at, opened, closed)
    new_ids = {id(i) for i in b.new}
    updated = sorted((inc for key, (inc, _) in b.touched.items() if key not in new_ids),
                     key=lambda i: i.id or 0)
    if raw is not None:
        await _write_pg(s, raw, b, updated)
    else:
        await _write_sqlite(s, b, updated)
    await s.flush()
    _events(b, views, out)


def _close_by_system(b: Batch) -> tuple[dict[int, dict[str, Any]],
                                        list[tuple[IncidentRow, dict[str, Any], str]]]:
    """The closes the rules asked for (a held incident restored, a late test report): the
    snapshot of each before (for the audit) and, for one opened in this batch, as opened."""
    new_ids = {id(i) for i in b.new}
    opened: dict[int, dict[str, Any]] = {}
    closed: list[tuple[IncidentRow, dict[str, Any], str]] = []
    for inc, disposition, note in b.closes:
        if inc.status == "closed":
            continue
        workflow.check_close(inc.status, disposition, None, system=True)
        before = light_snapshot(inc)
        if id(inc) in new_ids:  # opened and closed in the same batch
            opened[id(inc)] = before
        else:
            b.touch(inc)
        close_fields(inc, b.now, disposition, None, note)
        closed.append((inc, before, note))
    return opened, closed


async def _assign_ids(s: AsyncSession, b: Batch, raw: Any, ids: IncidentIds) -> None:
    """Ids for the incidents opened in this batch: reserved ahead on PostgreSQL (they are
    written later, with everything else), else inserted now, returning them."""
    if not b.new:
        return
    if raw is not None:
        new_ids = await ids.take(raw, len(b.new))
    else:
        result = await s.execute(
            insert(_INCIDENTS).returning(_INCIDENTS.c.id, sort_by_parameter_order=True),
            [i.row() for i in b.new])
        new_ids = list(result.scalars().all())
    for inc, new_id in zip(b.new, new_ids, strict=True):
        inc.id = new_id


def _resolve_links(s: AsyncSession, b: Batch) -> None:
    """What waited for the new incidents' ids: account states pointing at them, the day's
    schedule marks, the signal rows."""
    for st, name, inc in b.links:
        setattr(st, name, inc.id)
    for account_id, day, kind, inc in b.days:
        s.add(ScheduleMark(account_id=account_id, day=day, kind=kind, incident_id=inc.id,
                           at=b.now))
    for row, maybe in b.rows:
        row["incident_id"] = maybe.id if maybe is not None else None


def _audit_entries(b: Batch, at: datetime, opened: dict[int, dict[str, Any]],
                   closed: list[tuple[IncidentRow, dict[str, Any], str]],
                   ) -> dict[int, dict[str, Any]]:
    """The batch's audit entries (opened, closed, changed by signals); the new incidents as
    the bus shows them, by ``id()``."""
    views: dict[int, dict[str, Any]] = {}
    for inc in b.new:
        if id(inc) in opened:  # opened and closed in this batch: as it was opened
            snap = opened[id(inc)]
            snap["id"] = inc.id
        else:  # the event's view, and the same fields for the audit entry
            view = views[id(inc)] = incident_dict(inc)
            snap = {**view, "account_key": inc.account_key}
        b.audits.append(entry(at, "open", inc.id, None, snap, None))
    for inc, snap, note in closed:
        old, new = audit.diff(snap, light_snapshot(inc))
        b.audits.append(entry(at, "close", inc.id, old, new, note))
    new_ids = {id(i) for i in b.new}
    for key, (inc, _sids) in b.touched.items():
        was = b.before.get(key)
        if key in new_ids or was is None or inc.status == "closed":
            continue  # opened above, or closed (and audited) just above
        changed = [f for f in WATCHED if was[f] != getattr(inc, f)]
        if changed:
            b.audits.append(entry(at, "signals", inc.id,
                                  {f: _plain(was[f]) for f in changed},
                                  {f: _plain(getattr(inc, f)) for f in changed}, None))
    return views


async def _write_pg(s: AsyncSession, raw: Any, b: Batch, updated: list[IncidentRow]) -> None:
    """Everything in one statement; the changed states go in it too, not through the ORM."""
    states = []
    for st in list(b.states.values()):
        state = sa_inspect(st)
        if state.pending or state.modified:
            states.append({c: getattr(st, c) for c in STATE_COLUMNS})
            s.expunge(st)
    matched = await _PG_BATCH.run(
        raw, [[i.__dict__ for i in b.new], [row for row, _ in b.rows], b.audits, states],
        [i.versioned_changes() for i in updated])
    if matched != len(updated):
        raise StaleDataError(f"{len(updated) - matched} of {len(updated)} open incidents "
                             "changed under the alarm batch")
    for inc in updated:
        inc.version += 1


async def _write_sqlite(s: AsyncSession, b: Batch, updated: list[IncidentRow]) -> None:
    """One executemany statement each; a lost race on an open incident raises
    :class:`StaleDataError` (the batch is retried)."""
    if updated:
        result = await s.execute(_UPDATE_OPEN, [i.update_params() for i in updated])
        matched = getattr(result, "rowcount", -1)
        if s.get_bind().dialect.supports_sane_multi_rowcount and \
                matched not in (-1, len(updated)):
            raise StaleDataError(f"{len(updated) - matched} of {len(updated)} open incidents "
                                 "changed under the alarm batch")
        for inc in updated:
            inc.version += 1
    if b.rows:
        await s.execute(insert(_SIGNALS), [row for row, _ in b.rows])
    if b.audits:
        await s.execute(insert(_AUDIT), b.audits)


def _events(b: Batch, views: dict[int, dict[str, Any]], out: Outbox) -> None:
    new_ids = {id(i) for i in b.new}
    for key, (inc, sids) in b.touched.items():
        if key in new_ids:
            topic = "incident.opened"
        elif inc.status == "closed":
            topic = "incident.closed"
        else:
            topic = "incident.updated"
        seen = views.get(key) if topic == "incident.opened" else None
        out.add(topic, {"change": "signals", "incident": seen or incident_dict(inc),
                        "signal_ids": sids})


def entry(at: datetime, action: str, incident_id: int | None, before: dict[str, Any] | None,
          after: dict[str, Any] | None, note: str | None) -> dict[str, Any]:
    """An audit-log row by the engine (the same shape :func:`core.audit.record` writes),
    inserted with the batch's other entries in one statement."""
    return {"at": at, "actor_id": ACTOR.user_id, "actor": ACTOR.name, "action": action,
            "entity": "incident", "entity_id": str(incident_id), "before": before,
            "after": after, "note": note}


def light_snapshot(inc: IncidentRow) -> dict[str, Any]:
    """The audit snapshot of an incident without the ORM's inspection: zones and steps hold
    JSON-safe values already, times become text."""
    out = inc.row()
    for name in _DATETIME_COLUMNS:
        v = out[name]
        if v is not None:
            out[name] = v.isoformat()
    out["id"] = inc.id
    return out


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


async def _raw(s: AsyncSession) -> Any:
    """The session's asyncpg connection, or None off PostgreSQL/asyncpg."""
    conn = await s.connection()
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "asyncpg":
        return None
    return (await conn.get_raw_connection()).driver_connection
