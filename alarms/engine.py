"""The alarm engine: consumes ``signal.received`` in batches, applies the rules, persists
incidents and publishes ``incident.*``; a periodic tick on the injected clock runs the timers
(escalation by age, disaster holds, fail-to-test, open/close schedules).

Per-account facts that change rarely (the account behind a number, its schedule, its test
interval, the action plans, disaster mode) are cached in memory with a time to live; what must
be right across nodes (open incidents, account states, marks) is read in each batch's
transaction. A batch that loses a race with another writer is retried as a whole.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    DateTime,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from alarms import call_events, disaster, plans, schedule_rules, workflow
from alarms.classify import Classified, classify, kind_info
from alarms.config import AlarmSettings
from alarms.incidents import (
    Outbox,
    close_fields,
    incident_dict,
)
from alarms.models import (
    AccountState,
    ActionPlan,
    CenterState,
    Incident,
    IncidentSignal,
    ScheduleMark,
)
from alarms.pg_batch import BatchStatement
from alarms.runaway import TokenBuckets
from alarms.subscriber import AccountInfo, LookupKey, SubscriberDirectory
from core import audit
from core.bus import Event, Subscription
from core.db import Database, in_param, one_of
from core.models import AuditEntry
from core.services import Services
from crm.schedule import Schedule

log = logging.getLogger(__name__)

# An account in the engine's book: receiver prefix, id, number, name, status, test interval
# (a plain tuple, which the garbage collector does not track).
_BookEntry = tuple[str, int, str, str, str, int | None]

# Reads the signal journal (receivers.journal.journaled): session, since, until, after id, limit.
JournalReader = Callable[[AsyncSession, datetime, datetime, int, int],
                         Awaitable[list[dict[str, Any]]]]

ACTOR = audit.Actor.system("alarms")
TOPICS = ("signal.received", "verification.call_result", "call.progress", "alarms.plans_changed",
          "alarms.disaster_changed", "alarms.runaway_cleared")
# Handled by the engine of the node that published them; the rest (cache invalidations) by all.
LOCAL_TOPICS = frozenset({"signal.received", "verification.call_result", "call.progress"})


def zone_key(zone: Any) -> str:
    z = str(zone or "").strip()
    return str(int(z)) if z.isdigit() else (z or "-")


def parse_time(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            return default
        return t if t.tzinfo is not None else default
    return default


class _TTLCache:
    """A small cache with a time to live on the engine's monotonic clock."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[Any, tuple[Any, float]] = {}

    def get(self, key: Any, now: float) -> tuple[bool, Any]:
        hit = self._data.get(key)
        if hit is None or hit[1] < now:
            return False, None
        return True, hit[0]

    def put(self, key: Any, value: Any, now: float) -> None:
        self._data[key] = (value, now + self.ttl)

    def drop(self, key: Any) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


INCIDENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in Incident.__table__.columns
                                         if c.name != "id")
_INCIDENTS = cast(Table, Incident.__table__)
_SIGNALS = cast(Table, IncidentSignal.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
# What makes a change of an incident by signals a state change worth an audit entry; a signal
# that merely joins (count, last time, zone states) is recorded by its own signal row.
WATCHED = ("status", "priority", "cancelled_at_panel", "duress", "hold_until", "kind")


# What signals and the engine's own closes change on an incident that is already open; the
# batch writes exactly these (one executemany UPDATE), never the operator's columns.
SIGNAL_COLUMNS = ("kind", "base_priority", "priority", "status", "cancelled_at_panel", "duress",
                  "hold_until", "zones", "signal_count", "last_signal_at", "disposition",
                  "false_alarm_cause", "close_note", "closed_at")
_UPDATE_OPEN = (
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("b_id"), _INCIDENTS.c.version == bindparam("b_version"))
    .values({name: bindparam(name) for name in SIGNAL_COLUMNS}
            | {"version": bindparam("b_next")}))


class IncidentRow:
    """An incident as the engine's batch holds it: a plain object with the incident's columns
    (no ORM bookkeeping). One opened in this batch has no id yet and is written with one
    multi-row INSERT; open ones read (and locked) at the start of the batch are written back
    with one executemany UPDATE, checked against their version."""

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

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INCIDENT_COLUMNS}

    def update_params(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in SIGNAL_COLUMNS}
        out.update(b_id=self.id, b_version=self.version, b_next=self.version + 1)
        return out

    def versioned_changes(self) -> dict[str, Any]:
        """The same for :mod:`alarms.pg_batch`: the id, the version read, the columns."""
        out = {name: getattr(self, name) for name in SIGNAL_COLUMNS}
        out.update(id=self.id, version=self.version)
        return out


AnyIncident = IncidentRow


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


_DATETIME_COLUMNS = tuple(c.name for c in Incident.__table__.columns
                          if c.name in INCIDENT_COLUMNS
                          and isinstance(getattr(c.type, "impl", c.type), DateTime))


def light_snapshot(inc: AnyIncident) -> dict[str, Any]:
    """The audit snapshot of an incident without the ORM's inspection: zones and steps hold
    JSON-safe values already, times become text."""
    out = inc.row()
    for name in _DATETIME_COLUMNS:
        v = out[name]
        if v is not None:
            out[name] = v.isoformat()
    out["id"] = inc.id
    return out


@dataclass
class _Batch:
    """One transaction's working set."""

    session: AsyncSession
    now: datetime
    open: dict[tuple[str, str], AnyIncident]
    states: dict[int, AccountState]
    new: list[IncidentRow] = field(default_factory=list)
    touched: dict[int, tuple[AnyIncident, list[str]]] = field(default_factory=dict)
    before: dict[int, dict[str, Any]] = field(default_factory=dict)
    rows: list[tuple[dict[str, Any], AnyIncident | None]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    after_flush: list[Any] = field(default_factory=list)
    marks: set[tuple[int, date, str]] = field(default_factory=set)
    out: Outbox = field(default_factory=Outbox)
    taken: list[int] = field(default_factory=list)  # runaway tokens taken, by account

    def touch(self, inc: AnyIncident, signal_id: str | None) -> None:
        key = id(inc)
        if key not in self.touched:
            self.touched[key] = (inc, [])
            if inc.id is not None and key not in self.before:
                self.before[key] = {f: getattr(inc, f) for f in WATCHED}
        if signal_id:
            self.touched[key][1].append(signal_id)


class AlarmEngine:
    def __init__(self, services: Services, directory: SubscriberDirectory,
                 settings: AlarmSettings | None = None, local_only: bool = False,
                 db: Database | None = None) -> None:
        self.services = services
        self.local_only = local_only
        self.db = db or services.db  # another than the services' is the engine's to dispose
        self.bus = services.bus
        self.clock = services.clock
        self.directory = directory
        self.settings = settings or AlarmSettings()
        st = self.settings
        self.buckets = TokenBuckets(st.runaway_capacity, st.runaway_rate_per_minute / 60.0)
        self._accounts = _TTLCache(st.directory_ttl_seconds)
        # every live account by number, loaded whole (keep_accounts): monotonic time, book
        self._book: tuple[float, dict[str, tuple[_BookEntry, ...]]] | None = None
        self._schedules = _TTLCache(st.schedule_refresh_seconds)
        self._scheduled_ids: tuple[float, frozenset[int]] | None = None
        self._plans: list[plans.PlanRule] | None = None
        self._disaster: disaster.DisasterState | None = None
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0
        self.failed_batches = 0  # batches that failed (and were applied in halves)
        self.failed_signals = 0  # signals that could not be applied at all
        self.db_unavailable_since: float | None = None  # monotonic; None while it answers
        self._retry_delay = 0.05
        self._ids = _IncidentIds()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, tick: bool = True, book: bool = False) -> None:
        """Subscribe and run in the background (``stop`` ends it); with ``book``, keep every
        live account in memory (:meth:`keep_accounts`)."""
        self._sub = self.bus.subscribe(*TOPICS, maxsize=200_000, name="alarms.engine")
        self._tasks.append(asyncio.create_task(self._consume(self._sub), name="alarms-consume"))
        if book:
            self._tasks.append(asyncio.create_task(self.keep_accounts(), name="alarms-book"))
        if tick:
            self._tasks.append(asyncio.create_task(self._tick_loop(), name="alarms-tick"))

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        if self.db is not self.services.db:
            await self.db.dispose()

    def _depth(self) -> int:
        """Batches in flight at once: SQLite has one writer, so one there."""
        return 1 if self.db.dialect == "sqlite" else self.settings.pipeline_depth

    async def _consume(self, sub: Subscription) -> None:
        """Take batches off the bus. While a batch waits on the database (its reads, its
        commit) the next one is prepared and run in its own transaction, as long as the two
        share no account: a signal whose account is in a batch still in flight (and every
        later signal of that account) is held back until that batch is done, so each
        account's signals are applied in order."""
        running: list[tuple[asyncio.Task[None], set[str]]] = []
        carry: list[tuple[dict[str, Any], AccountInfo | None, str]] = []
        try:
            while True:
                events: list[Event] = []
                if not carry:
                    events.append(await sub.get())
                while len(events) + len(carry) < self.settings.batch_size:
                    nxt = sub.get_nowait()
                    if nxt is None:
                        break
                    events.append(nxt)
                running = [r for r in running if not r[0].done()]
                if any(ev.topic != "signal.received" for ev in events):
                    # cache invalidations and call results: after everything before them
                    for task, _ in running:
                        await task
                    running.clear()
                    if carry:
                        await self._signals_guarded([c[0] for c in carry],
                                                    [c[1] for c in carry])
                        carry.clear()
                    await self.handle_events(events)
                    continue
                # the payloads are read, never changed: no copies
                fresh = [cast(dict[str, Any], ev.data) for ev in events
                         if not self._elsewhere(ev)]
                while True:  # crm away: keep the signals in hand and wait for it
                    try:
                        infos = await self._resolve(fresh)
                        break
                    except Exception as exc:
                        if not _unreachable(exc):
                            raise
                        await self._wait_for_database(exc)
                self._database_back()
                pending = carry + [(p, i, self._order_key(p, i))
                                   for p, i in zip(fresh, infos, strict=True)]
                if len(running) >= self._depth():
                    await running[0][0]
                    running.pop(0)
                busy = set().union(*(keys for _, keys in running))
                ready, carry = [], []
                for item in pending:
                    if item[2] in busy:
                        carry.append(item)
                    else:
                        ready.append(item)
                if ready:
                    keys = {item[2] for item in ready}
                    task = asyncio.create_task(self._signals_guarded(
                        [r[0] for r in ready], [r[1] for r in ready]), name="alarms-batch")
                    running.append((task, keys))
                elif running:
                    await running[0][0]
                    running.pop(0)
        except asyncio.CancelledError:
            for task, _ in running:
                task.cancel()
            for task, _ in running:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return

    def _order_key(self, p: dict[str, Any], info: AccountInfo | None) -> str:
        """What a batch's signals must not share with a batch in flight: the account. Signals
        of no known account may share a receiver line's incident, so they go one batch at a
        time (they are rare)."""
        return self._key(p, info) if info is not None else "unknown"

    async def _tick_loop(self) -> None:
        await self.run_timers()

    async def run_timers(self) -> None:
        """Run :meth:`tick` every ``tick_seconds`` until cancelled (under a cluster lease when
        several nodes share the database: see :mod:`alarms.runtime`)."""
        while True:
            await self.clock.sleep(self.settings.tick_seconds)
            try:
                await self.tick()
            except Exception:  # a bad tick must not stop the timers for good
                log.exception("alarm engine tick failed")

    def _elsewhere(self, ev: Event) -> bool:
        """An event another node published, which that node's engine handles (with
        ``local_only``, so a signal fanned out to every node opens one incident)."""
        return self.local_only and bool(ev.origin) and ev.origin != self.bus.node

    async def handle_events(self, events: Iterable[Event]) -> None:
        signals: list[dict[str, Any]] = []
        for ev in events:
            if ev.topic in LOCAL_TOPICS and self._elsewhere(ev):
                continue
            if ev.topic == "signal.received":
                signals.append(dict(ev.data))
            elif ev.topic == "alarms.plans_changed":
                self._plans = None
            elif ev.topic == "alarms.disaster_changed":
                self._disaster = None
            elif ev.topic == "alarms.runaway_cleared":
                self.buckets.reset(int(ev.data.get("account_id") or 0))
            elif ev.topic in call_events.TOPICS:
                try:
                    await call_events.apply(self.db, self.clock, self.bus, ev.topic, ev.data)
                except Exception:
                    log.exception("verification outcome not recorded: %s", dict(ev.data))
        if signals:
            await self._signals_guarded(signals)

    async def _signals_guarded(self, signals: list[dict[str, Any]],
                               infos: list[AccountInfo | None] | None = None) -> None:
        """Apply a batch; one that fails for a reason other than the database being away
        (which :meth:`handle_signals` waits out) is split in halves and each applied in
        turn, so a signal the rules cannot handle costs itself only, never its batch."""
        try:
            await self.handle_signals(signals, infos)
        except Exception:
            self.failed_batches += 1
            if len(signals) > 1:
                log.warning("alarm batch of %d signals failed: applying it in halves",
                            len(signals), exc_info=True)
                mid = len(signals) // 2
                await self._signals_guarded(signals[:mid], infos[:mid] if infos else None)
                await self._signals_guarded(signals[mid:], infos[mid:] if infos else None)
                return
            self.failed_signals += 1
            log.exception("alarm engine could not apply signal %s: %s",
                          signals[0].get("signal_id"), signals[0])

    async def catch_up(self, journal: JournalReader, since: datetime, until: datetime,
                       page: int = 500) -> int:
        """Apply the journaled signals received in [since, until) that no batch applied: a
        crash or a restart can catch signals between the journal's commit (after which the
        panel had its ACK) and the engine's. They are found by journal id, oldest first, and
        applied in batches; the number applied."""
        after, applied = 0, 0
        while True:
            async with self.db.reader() as s:
                found = await journal(s, since, until, after, page)
            if not found:
                return applied
            after = int(found[-1]["signal_id"])
            ids = [str(p["signal_id"]) for p in found]
            async with self.db.reader() as s:
                seen = set((await s.execute(select(IncidentSignal.signal_id).where(
                    one_of(s, IncidentSignal.signal_id, ids)))).scalars())
            missing = [p for p in found if str(p["signal_id"]) not in seen]
            if missing:
                log.warning("applying %d journaled signals no batch had applied", len(missing))
                await self._signals_guarded(missing)
                applied += len(missing)

    # --- cached facts -----------------------------------------------------------------------

    async def account(self, number: str, prefix: str | None) -> AccountInfo | None:
        return (await self.accounts([(number, prefix)]))[0]

    async def load_accounts(self, page: int = 5000) -> int:
        """Read every live account into the book (replacing it whole); the number read. A
        running engine answers most signals from the book, without asking crm per batch."""
        book: dict[str, tuple[_BookEntry, ...]] = {}
        after = 0
        while True:
            rows = await self.directory.live_accounts(after, page)
            for prefix, info in rows:
                entry = (prefix, info.id, info.number, info.name, info.status,
                         info.test_interval_minutes)
                book[info.number] = book.get(info.number, ()) + (entry,)
            if len(rows) < page:
                break
            after = rows[-1][1].id
            await asyncio.sleep(0)  # a page at a time: the loop keeps serving signals
        self._book = (self.clock.monotonic(), book)
        return sum(len(v) for v in book.values())

    async def keep_accounts(self) -> None:
        """Reload the book every ``directory_ttl_seconds`` until cancelled: an account's
        changes reach the engine within that time, as with the per-batch cache."""
        while True:
            try:
                await self.load_accounts()
            except Exception as exc:  # the book ages out and batches ask crm again
                log.warning("account book not reloaded: %s", exc)
            await self.clock.sleep(self.settings.directory_ttl_seconds)

    def health(self) -> dict[str, Any]:
        """What a supervisor needs to see at 3 a.m.: is the engine applying signals, how many
        wait, since when the database has been away, what could not be applied."""
        down = self.db_unavailable_since
        sub = self._sub
        return {
            "running": bool(self._tasks) and not all(t.done() for t in self._tasks),
            "processed": self.processed,
            "queued": sub.depth if sub is not None else 0,
            "dropped_from_queue": sub.dropped if sub is not None else 0,
            "database_unreachable_for_s": (round(self.clock.monotonic() - down, 1)
                                           if down is not None else None),
            "failed_batches": self.failed_batches, "failed_signals": self.failed_signals,
            "accounts_in_book": self.book_size,
        }

    @property
    def book_size(self) -> int | None:
        """Accounts in the book; None until it is first loaded."""
        return None if self._book is None else sum(len(v) for v in self._book[1].values())

    def _from_book(self, number: str, prefix: str | None) -> tuple[bool, AccountInfo | None]:
        """(whether the book answers, the account): by the rule of
        :func:`alarms.subscriber.pick_account`; a number the book lacks is asked of crm."""
        if self._book is None or self.clock.monotonic() - self._book[0] > \
                3 * self.settings.directory_ttl_seconds:  # not loaded, or stale
            return False, None
        entries = self._book[1].get(number)
        if not entries:
            return False, None  # a new account, or none: crm (and the cache) answer
        if prefix is not None:
            found = next((e for e in entries if e[0] == prefix), None)
        else:
            found = next((e for e in entries if e[0] == ""), None)
            if found is None and len(entries) == 1:
                found = entries[0]
        return True, AccountInfo(*found[1:]) if found is not None else None

    async def accounts(self, keys: list[LookupKey]) -> list[AccountInfo | None]:
        """The account behind each (number, receiver prefix): from the cache, and the misses
        from the directory in one call."""
        mono = self.clock.monotonic()
        out: list[AccountInfo | None] = []
        missing: dict[LookupKey, list[int]] = {}
        for key in keys:
            known, info = self._from_book(*key)
            if known:
                out.append(info)
                continue
            hit, value = self._accounts.get(key, mono)
            if not hit:
                missing.setdefault(key, []).append(len(out))
            out.append(AccountInfo(*value) if value is not None else None)
        if missing:
            found = await self.directory.lookup_many(list(missing))
            for key, places in missing.items():
                info = found.get(key)
                # kept as a plain tuple: the collector does not track those (see core.heap)
                self._accounts.put(key, None if info is None else
                                   (info.id, info.number, info.name, info.status,
                                    info.test_interval_minutes), mono)
                for i in places:
                    out[i] = info
        return out

    async def schedules(self, account_ids: Iterable[int]) -> dict[int, Schedule | None]:
        mono = self.clock.monotonic()
        out: dict[int, Schedule | None] = {}
        missing = []
        for aid in set(account_ids):
            hit, value = self._schedules.get(aid, mono)
            if hit:
                out[aid] = value
            else:
                missing.append(aid)
        if missing:
            # most accounts have no schedule: ask crm only for those listed as having one
            scheduled = await self.scheduled_ids()
            asked = [aid for aid in missing if aid in scheduled]
            found = await self.directory.schedules(asked) if asked else {}
            for aid in missing:
                sch = found.get(aid)
                value = sch if sch is not None and sch.windows else None
                self._schedules.put(aid, value, mono)
                out[aid] = value
        return out

    async def scheduled_ids(self) -> frozenset[int]:
        """The accounts with an open/close schedule, refreshed as often as schedules are."""
        mono = self.clock.monotonic()
        if self._scheduled_ids is None or \
                mono - self._scheduled_ids[0] > self.settings.schedule_refresh_seconds:
            self._scheduled_ids = (mono,
                                   frozenset(await self.directory.scheduled_account_ids()))
        return self._scheduled_ids[1]

    async def plan_rules(self) -> list[plans.PlanRule]:
        if self._plans is None:
            async with self.db.session() as s:
                rows = (await s.execute(select(ActionPlan).where(
                    ActionPlan.archived_at.is_(None)))).scalars().all()
            self._plans = [plans.PlanRule(p.id, p.account_id, p.zone, p.match, p.priority,
                                          p.event_class, tuple(p.steps or ())) for p in rows]
        return self._plans

    async def disaster_state(self) -> disaster.DisasterState:
        if self._disaster is None:
            async with self.db.session() as s:
                row = await s.get(CenterState, 1)
            if row is None or not row.disaster_active:
                self._disaster = disaster.DisasterState()
            else:
                self._disaster = disaster.DisasterState(
                    True, disaster.parse_rules(row.disaster_rules or {}))
        return self._disaster

    # --- signals ----------------------------------------------------------------------------

    async def _resolve(self, payloads: list[dict[str, Any]]) -> list[AccountInfo | None]:
        """The account behind each signal (from the cache, else the directory)."""
        prefixes = self.settings.receiver_prefixes
        # a receiver without a configured prefix: None, which is not the prefix ""
        return await self.accounts([(str(p.get("account") or ""),
                                     prefixes.get(str(p.get("receiver") or "")))
                                    for p in payloads])

    async def handle_signals(self, payloads: list[dict[str, Any]],
                             infos: list[AccountInfo | None] | None = None) -> None:
        """Classify and apply a batch of signals in one transaction, then publish."""
        if not payloads:
            return
        if infos is None:
            infos = await self._resolve(payloads)
        rules = await self.plan_rules()
        dstate = await self.disaster_state()
        prepared: list[tuple[dict[str, Any], AccountInfo | None, Classified]] = []
        need_schedule: set[int] = set()
        for p, info in zip(payloads, infos, strict=True):
            base = classify(p)
            override, _ = plans.resolve(rules, base.kind, base.event_class,
                                        info.id if info else None, zone_key(p.get("zone")))
            cls = classify(p, override) if override is not None else base
            prepared.append((p, info, cls))
            if info is not None and (cls.opening or cls.closing):
                need_schedule.add(info.id)
        scheds = await self.schedules(need_schedule) if need_schedule else {}

        attempt = 0
        while True:
            try:
                out = await self._apply_batch(prepared, rules, dstate, scheds)
                break
            except Exception as exc:
                if _unreachable(exc):  # hold the batch (the bus queues the rest) and wait
                    await self._wait_for_database(exc)
                    continue
                if not isinstance(exc, (StaleDataError, IntegrityError, DBAPIError)):
                    raise
                attempt += 1  # lost a race with another writer, or a locked SQLite
                if attempt == 6:
                    raise
                log.info("alarm batch retried after %s", type(exc).__name__)
                await asyncio.sleep(0.01 * attempt)
        self._database_back()
        self.processed += len(payloads)
        await out.publish(self.bus)

    async def _wait_for_database(self, exc: BaseException) -> None:
        """The database is away: log it once, then wait a little longer each time (at most
        ``database_retry_max_seconds``) before the caller tries again."""
        now = self.clock.monotonic()
        if self.db_unavailable_since is None:
            self.db_unavailable_since = now
            self._retry_delay = 0.05
            log.error("database unreachable (%s: %s): signals are held until it is back",
                      type(exc).__name__, exc)
        await asyncio.sleep(self._retry_delay)
        self._retry_delay = min(self._retry_delay * 2, self.settings.database_retry_max_seconds)

    def _database_back(self) -> None:
        if self.db_unavailable_since is not None:
            log.warning("database back after %.1f s",
                        self.clock.monotonic() - self.db_unavailable_since)
            self.db_unavailable_since = None

    async def _load(self, s: AsyncSession, keys: set[str],
                    account_ids: set[int]) -> tuple[dict[tuple[str, str], AnyIncident],
                                                    dict[int, AccountState]]:
        """The open incidents of ``keys`` (locked until the batch commits: FOR UPDATE on
        PostgreSQL, where an operator's take or edit then waits for the batch; SQLite renders
        no lock, and the version check of :meth:`_write_open` catches a write in between) and
        the engine's states of ``account_ids`` (locked too: the batch writes them back whole,
        so an operator's change waits for it rather than being overwritten)."""
        open_map: dict[tuple[str, str], AnyIncident] = {}
        states: dict[int, AccountState] = {}
        open_stmt, states_stmt = _load_statements(s.get_bind().dialect.name)
        klist = sorted(keys)
        for i in range(0, len(klist), 900):
            rows = (await s.execute(open_stmt, {"keys": klist[i:i + 900]})).mappings().all()
            for row in rows:
                inc = IncidentRow.loaded(row)
                open_map[(inc.account_key, inc.desk)] = inc
        alist = sorted(account_ids)
        for i in range(0, len(alist), 900):
            for st in (await s.execute(states_stmt, {"ids": alist[i:i + 900]})).scalars():
                states[st.account_id] = st
        return open_map, states

    async def _apply_batch(self, prepared: list[tuple[dict[str, Any], AccountInfo | None,
                                                      Classified]],
                           rules: list[plans.PlanRule], dstate: disaster.DisasterState,
                           scheds: dict[int, Schedule | None]) -> Outbox:
        now = self.clock.now()
        keys = {self._key(p, info) for p, info, _ in prepared}
        keys |= {_line_key(p) for p, info, c in prepared
                 if info is None and c.kind == "comm_trouble"}
        ids = {info.id for _, info, _ in prepared if info is not None}
        taken: list[int] = []
        try:
            async with self.db.transaction() as s:
                open_map, states = await self._load(s, keys, ids)
                b = _Batch(s, now, open_map, states, taken=taken)
                # the day's marks matter only where a schedule judges the opening or closing
                oc = sorted({info.id for _, info, c in prepared
                             if info is not None and (c.opening or c.closing)
                             and scheds.get(info.id) is not None})
                if oc:
                    b.marks = {(m.account_id, m.day, m.kind) for m in (await s.execute(
                        select(ScheduleMark).where(
                            one_of(s, ScheduleMark.account_id, oc),
                            ScheduleMark.day >= (now - timedelta(days=2)).date()))).scalars()}
                for p, info, cls in prepared:
                    await self._apply(b, p, info, cls, rules, dstate, scheds)
                await self._finish(b)
        except BaseException:  # a batch that did not commit (and is retried) took no tokens
            for aid in taken:
                self.buckets.refund(aid)
            raise
        return b.out

    def _key(self, p: dict[str, Any], info: AccountInfo | None) -> str:
        if info is not None:
            return f"id:{info.id}"
        return f"unknown:{p.get('account') or ''}"

    def _state(self, b: _Batch, account_id: int) -> AccountState:
        st = b.states.get(account_id)
        if st is None:
            st = AccountState(account_id=account_id)
            b.session.add(st)
            b.states[account_id] = st
        return st

    def _log(self, b: _Batch, p: dict[str, Any], info: AccountInfo | None, cls: Classified,
             inc: AnyIncident | None, reason: str | None, received: datetime) -> None:
        sid = str(p["signal_id"]) if p.get("signal_id") is not None else None
        row = {
            "incident_id": None, "signal_id": sid,
            "account_id": info.id if info else None, "account_key": self._key(p, info),
            "received_at": received, "processed_at": b.now,
            "event_system": str(p.get("event_system") or "cid")[:8],
            "event_code": str(p.get("event_code") or "")[:8],
            "qualifier": str(p.get("qualifier") or "new")[:8], "kind": cls.kind,
            "event_class": cls.event_class, "priority": cls.priority,
            "partition": _short(p.get("partition")), "zone": _short(p.get("zone")),
            "user": _short(p.get("user")), "logged_reason": reason}
        b.rows.append((row, inc))
        if inc is not None:
            inc.signal_count += 1
            if received > inc.last_signal_at:
                inc.last_signal_at = received
            b.touch(inc, sid)

    def _open(self, b: _Batch, *, key: str, desk: str, kind: str, event_class: str,
              priority: int, steps: list[str], info: AccountInfo | None, number: str,
              receiver: str, at: datetime, status: str = "new",
              hold_until: datetime | None = None) -> IncidentRow:
        inc = IncidentRow(
            account_id=info.id if info else None, account_key=key,
            account_number=info.number if info else number,
            account_name=info.name if info else "", receiver=receiver[:64], desk=desk,
            kind=kind, event_class=event_class, base_priority=priority, priority=priority,
            escalation_level=0, status=status, hold_until=hold_until, zones={},
            steps=plans.checklist(steps), signal_count=0, first_signal_at=at,
            last_signal_at=at, opened_at=b.now, cancelled_at_panel=False, duress=False,
            reopen_count=0)
        b.new.append(inc)
        b.open[(key, desk)] = inc
        b.touch(inc, None)
        return inc

    def _raise(self, b: _Batch, p: dict[str, Any], info: AccountInfo | None, kind: str,
               rules: list[plans.PlanRule], *, desk: str | None = None,
               priority: int | None = None, key: str | None = None) -> AnyIncident:
        """Open (or join) an engine-made incident: fail to test, runaway, schedules ..."""
        event_class, base_prio, default_desk = kind_info(kind)
        desk = desk or default_desk
        key = key or self._key(p, info)
        override, steps = plans.resolve(rules, kind, event_class, info.id if info else None,
                                        None)
        prio = priority or (override.priority if override and override.priority else base_prio)
        inc = b.open.get((key, desk))
        if inc is not None:
            self._join(b, inc, prio, kind_label=kind, zone=None, hold=False)
            return inc
        return self._open(b, key=key, desk=desk, kind=kind, event_class=event_class,
                          priority=prio, steps=steps, info=info,
                          number=str(p.get("account") or ""),
                          receiver=str(p.get("receiver") or ""),
                          at=parse_time(p.get("received_at"), b.now))

    def _join(self, b: _Batch, inc: AnyIncident, priority: int, kind_label: str,
              zone: str | None, hold: bool) -> None:
        b.touch(inc, None)
        if priority < inc.priority:
            inc.priority = priority
        if priority < inc.base_priority:
            inc.base_priority = priority
            inc.kind = kind_label
        if inc.status == "held" and not hold:
            inc.status = "new"
            inc.hold_until = None

    def _mark_zone(self, inc: AnyIncident, zone: str, kind: str, state: str, at: datetime) -> None:
        if inc.zones is None:
            inc.zones = {}
        inc.zones[zone] = {"kind": kind, "state": state, "at": at.isoformat()}

    async def _apply(self, b: _Batch, p: dict[str, Any], info: AccountInfo | None,
                     cls: Classified, rules: list[plans.PlanRule],
                     dstate: disaster.DisasterState,
                     scheds: dict[int, Schedule | None]) -> None:
        received = parse_time(p.get("received_at"), b.now)
        zone = zone_key(p.get("zone"))
        key = self._key(p, info)
        if info is None:
            if cls.kind == "comm_trouble":  # the receiver's own line trouble
                line_key = _line_key(p)
                if cls.restore:
                    inc = b.open.get((line_key, "technical"))
                    self._log(b, p, info, cls, inc, None if inc else "restore", received)
                    return
                inc = self._raise(b, p, info, "comm_trouble", rules, key=line_key)
            else:
                inc = self._raise(b, p, info, "unknown_account", rules,
                                  priority=min(cls.priority, kind_info("unknown_account")[1]))
            self._log(b, p, info, cls, inc, None, received)
            return
        if info.status == "cancelled":
            self._log(b, p, info, cls, None, "account_cancelled", received)
            return
        state = b.states.get(info.id)
        on_test = state is not None and state.on_test_until is not None \
            and b.now < state.on_test_until
        if cls.kind == "test":
            await self._test_received(b, p, info, cls, received, info.test_interval_minutes)
            return
        if on_test:
            self._log(b, p, info, cls, None, "on_test", received)
            return
        if info.status == "on_hold" and not cls.life_safety:
            self._log(b, p, info, cls, None, "on_hold", received)
            return
        if not cls.life_safety:
            allowed = self.buckets.take(info.id, self.clock.monotonic())
            if allowed:
                b.taken.append(info.id)
            runaway_open = state is not None and state.runaway_incident_id is not None
            if not allowed or runaway_open:
                if not runaway_open:
                    st = self._state(b, info.id)
                    inc = self._raise(b, p, info, "runaway", rules)
                    b.after_flush.append(lambda st=st, inc=inc: setattr(
                        st, "runaway_incident_id", inc.id))
                    st.runaway_incident_id = -1  # placeholder until the flush gives the id
                self._log(b, p, info, cls, None, "runaway", received)
                return
        if cls.opening or cls.closing:
            self._open_close(b, p, info, cls, received, rules, scheds.get(info.id))
            return
        own = b.open.get((key, cls.desk)) or b.open.get((key, "operator"))
        if cls.kind == "cancel":
            if own is not None and own.event_class == "alarm" and \
                    (received - own.first_signal_at).total_seconds() <= \
                    self.settings.cancel_window_seconds:
                b.touch(own, None)
                own.cancelled_at_panel = True
            self._log(b, p, info, cls, own, None if own else "cancel", received)
            return
        if cls.restore:
            target = None
            for desk in ("operator", "technical", "admin"):
                cand = b.open.get((key, desk))
                if cand is not None and zone in (cand.zones or {}):
                    target = cand
                    break
            if target is None:
                self._log(b, p, info, cls, own, None if own else "restore", received)
                return
            self._mark_zone(target, zone, target.zones[zone]["kind"], "restored", received)
            self._log(b, p, info, cls, target, None, received)
            if target.status == "held" and all(v["state"] == "restored"
                                               for v in target.zones.values()):
                b.after_flush.append(("close_held", target))
            return
        if not cls.raises_incident:
            self._log(b, p, info, cls, own, None if own else "no_incident", received)
            return
        rule = disaster.rule_for(dstate, cls.kind, cls.event_class)
        priority = cls.priority
        hold = False
        if rule is not None:
            if rule.mode == "log":
                self._log(b, p, info, cls, None, "disaster", received)
                return
            if rule.mode == "lower":
                priority = min(9, priority + rule.by)
            hold = rule.mode == "hold"
        inc = b.open.get((key, cls.desk))
        if inc is None:
            _, steps = plans.resolve(rules, cls.kind, cls.event_class, info.id, zone)
            inc = self._open(
                b, key=key, desk=cls.desk, kind=cls.kind, event_class=cls.event_class,
                priority=priority, steps=steps, info=info, number=info.number,
                receiver=str(p.get("receiver") or ""), at=received,
                status="held" if hold else "new",
                hold_until=b.now + timedelta(minutes=rule.minutes) if hold and rule else None)
        else:
            self._join(b, inc, priority, cls.kind, zone, hold)
        if cls.kind == "duress":
            inc.duress = True
        self._mark_zone(inc, zone, cls.kind, "active", received)
        self._log(b, p, info, cls, inc, None, received)

    async def _test_received(self, b: _Batch, p: dict[str, Any], info: AccountInfo,
                             cls: Classified, received: datetime,
                             interval: int | None) -> None:
        st = self._state(b, info.id)
        st.last_test_at = received
        st.test_interval_minutes = interval
        st.test_due_at = received + timedelta(minutes=interval) if interval else None
        self._log(b, p, info, cls, None, "test", received)
        if st.fail_to_test_incident_id:
            inc = next((i for i in b.open.values() if i.id == st.fail_to_test_incident_id),
                       None)
            st.fail_to_test_incident_id = None
            if inc is not None and inc.status != "closed":
                b.after_flush.append(("close_ftt", inc))

    def _open_close(self, b: _Batch, p: dict[str, Any], info: AccountInfo, cls: Classified,
                    received: datetime, rules: list[plans.PlanRule],
                    sched: Schedule | None) -> None:
        st = self._state(b, info.id)
        if cls.opening:
            st.armed = False
            st.last_open_at = received
        else:
            st.armed = True
            st.last_close_at = received
        early = timedelta(minutes=self.settings.early_open_minutes)
        kind = None
        if sched is not None:
            kind = (schedule_rules.judge_opening(sched, received, early) if cls.opening
                    else schedule_rules.judge_closing(sched, received, early))
        key = self._key(p, info)
        day = schedule_rules.local_day(sched, received) if sched else received.date()
        if kind is not None and (info.id, day, kind) not in b.marks:
            b.marks.add((info.id, day, kind))
            inc = self._raise(b, p, info, kind, rules)
            b.after_flush.append(("mark", info.id, day, kind, inc))
            self._log(b, p, info, cls, inc, None, received)
            return
        own = b.open.get((key, "operator"))
        self._log(b, p, info, cls, own, None if own else "open_close", received)

    async def _write_open(self, s: AsyncSession, incs: list[IncidentRow]) -> None:
        """Write back the batch's changes to incidents that were open: one executemany UPDATE,
        each row guarded by the version read at the start of the batch (a lost race raises
        :class:`StaleDataError`, and the batch is retried)."""
        if not incs:
            return
        incs.sort(key=lambda i: i.id or 0)
        result = await s.execute(_UPDATE_OPEN, [i.update_params() for i in incs])
        dialect = s.get_bind().dialect
        matched = getattr(result, "rowcount", -1)
        if dialect.supports_sane_multi_rowcount and matched not in (-1, len(incs)):
            raise StaleDataError(f"{len(incs) - matched} of {len(incs)} open incidents "
                                 "changed under the alarm batch")
        for inc in incs:
            inc.version += 1

    async def _finish(self, b: _Batch) -> None:
        """Write the batch, then queue its bus events. On PostgreSQL everything goes in one
        statement (:mod:`alarms.pg_batch`), new incidents with ids reserved ahead; elsewhere
        new incidents in one multi-row INSERT, changed open ones in one executemany UPDATE
        (version checked), signal rows and audit entries in one executemany INSERT each."""
        s = b.session
        new_ids = {id(i) for i in b.new}
        opened: dict[int, dict[str, Any]] = {}
        closed: list[tuple[IncidentRow, dict[str, Any], str]] = []
        rest: list[Any] = []
        for item in b.after_flush:
            if not callable(item) and item[0] in _SYSTEM_CLOSE:
                inc = item[1]
                if inc.status != "closed":  # restored while held, or a late test
                    disp, note = _SYSTEM_CLOSE[item[0]]
                    workflow.check_close(inc.status, disp, None, system=True)
                    before = light_snapshot(inc)
                    if id(inc) in new_ids:  # opened and closed in the same batch
                        opened[id(inc)] = before
                    else:
                        b.touch(inc, None)
                    close_fields(inc, b.now, disp, None, note)
                    closed.append((inc, before, note))
            else:
                rest.append(item)
        raw = await _raw(s)  # PostgreSQL: ids reserved ahead, then one statement writes all
        if raw is not None and b.new:
            for inc, new_id in zip(b.new, await self._ids.take(raw, len(b.new)), strict=True):
                inc.id = new_id
        elif b.new:
            result = await s.execute(
                insert(_INCIDENTS).returning(_INCIDENTS.c.id, sort_by_parameter_order=True),
                [i.row() for i in b.new])
            for inc, new_id in zip(b.new, result.scalars().all(), strict=True):
                inc.id = new_id
        for item in rest:  # what waited for the new incidents' ids
            if callable(item):
                item()
            elif item[0] == "mark":
                _, aid, day, kind, inc = item
                s.add(ScheduleMark(account_id=aid, day=day, kind=kind, incident_id=inc.id,
                                   at=b.now))
        for row, inc in b.rows:
            row["incident_id"] = inc.id if inc is not None else None
        at = self.clock.now()
        views: dict[int, dict[str, Any]] = {}  # new incidents as the bus shows them
        for inc in b.new:
            if id(inc) in opened:  # opened and closed in this batch: as it was opened
                snap = opened[id(inc)]
                snap["id"] = inc.id
            else:  # the event's view, and the same fields for the audit entry
                view = views[id(inc)] = incident_dict(inc)
                snap = {**view, "account_key": inc.account_key}
            b.audits.append(_entry(at, "open", inc.id, None, snap, None))
        for inc, snap, note in closed:
            old, new = audit.diff(snap, light_snapshot(inc))
            b.audits.append(_entry(at, "close", inc.id, old, new, note))
        for key, (inc, _sids) in b.touched.items():
            was = b.before.get(key)
            if key in new_ids or was is None or inc.status == "closed":
                continue  # opened above, or closed (and audited) just above
            changed = [f for f in WATCHED if was[f] != getattr(inc, f)]
            if changed:
                b.audits.append(_entry(at, "signals", inc.id,
                                       {f: _plain(was[f]) for f in changed},
                                       {f: _plain(getattr(inc, f)) for f in changed}, None))
        updated = sorted((inc for key, (inc, _) in b.touched.items() if key not in new_ids),
                         key=lambda i: i.id or 0)
        if raw is not None:
            states = []  # the changed states go in the statement, not through the ORM
            for st in list(b.states.values()):
                state = sa_inspect(st)
                if state.pending or state.modified:
                    states.append({c: getattr(st, c) for c in STATE_COLUMNS})
                    s.expunge(st)
            matched = await _PG_BATCH.run(
                raw, [[i.__dict__ for i in b.new], [row for row, _ in b.rows], b.audits, states],
                [i.versioned_changes() for i in updated])
            if matched != len(updated):
                raise StaleDataError(f"{len(updated) - matched} of {len(updated)} open "
                                     "incidents changed under the alarm batch")
            for inc in updated:
                inc.version += 1
        else:  # SQLite: one executemany statement each
            await self._write_open(s, updated)
            if b.rows:
                await s.execute(insert(_SIGNALS), [row for row, _ in b.rows])
            if b.audits:
                await s.execute(insert(_AUDIT), b.audits)
        await s.flush()
        for key, (inc, sids) in b.touched.items():
            if key in new_ids:
                topic = "incident.opened"
            elif inc.status == "closed":
                topic = "incident.closed"
            else:
                topic = "incident.updated"
            seen = views.get(key) if topic == "incident.opened" else None
            b.out.add(topic, {"change": "signals", "incident": seen or incident_dict(inc),
                              "signal_ids": sids})

    # --- timers -----------------------------------------------------------------------------

    async def tick(self) -> None:
        """Run every timer due at the clock's now."""
        self._disaster = None
        self._plans = None
        rules = await self.plan_rules()
        await self._tick_incidents()
        await self._tick_tests(rules)
        await self._tick_schedules(rules)

    async def _tick_incidents(self) -> None:
        now = self.clock.now()
        ages = self.settings.escalation_seconds
        out = Outbox()
        async with self.db.transaction() as s:
            held = (await s.execute(select(Incident).where(
                Incident.status == "held", Incident.hold_until <= now))).scalars().all()
            for inc in held:
                before = audit.snapshot(inc)
                inc.status = "new"
                inc.hold_until = None
                inc.opened_at = now  # its age for escalation starts when operators see it
                audit.record(s, ACTOR, "hold_expired", "incident", inc.id, before,
                             audit.snapshot(inc), clock=self.clock)
                out.add("incident.updated", {"change": "hold_expired",
                                             "incident": incident_dict(inc)})
            if ages:
                first = min(ages)
                rows = (await s.execute(select(Incident).where(
                    Incident.status == "new", Incident.escalation_level < len(ages),
                    Incident.opened_at <= now - timedelta(seconds=first)))).scalars().all()
                for inc in rows:
                    level, prio = workflow.escalation(inc.opened_at, now, inc.base_priority,
                                                      ages)
                    if level <= inc.escalation_level:
                        continue
                    before = audit.snapshot(inc)
                    inc.escalation_level = level
                    inc.priority = min(inc.priority, prio)
                    audit.record(s, ACTOR, "escalate", "incident", inc.id, before,
                                 audit.snapshot(inc), note=f"level {level}", clock=self.clock)
                    out.add("incident.updated", {"change": "escalated",
                                                 "incident": incident_dict(inc)})
        await out.publish(self.bus)

    async def _tick_tests(self, rules: list[plans.PlanRule]) -> None:
        now = self.clock.now()
        grace = timedelta(minutes=self.settings.test_grace_minutes)
        async with self.db.transaction() as s:
            due = (await s.execute(select(AccountState).where(
                AccountState.test_due_at <= now - grace,
                AccountState.fail_to_test_incident_id.is_(None)))).scalars().all()
            if not due:
                return
            ids = [d.account_id for d in due]
            infos = await self._infos_by_id(ids)
            keys = {f"id:{a}" for a in ids}
            open_map, _ = await self._load(s, keys, set())
            b = _Batch(s, now, open_map, {d.account_id: d for d in due})
            for st in due:
                info = infos.get(st.account_id)
                if info is None or info.status != "active":
                    st.test_due_at = None
                    continue
                if st.on_test_until is not None and now < st.on_test_until:
                    continue
                p = {"account": info.number, "received_at": now.isoformat()}
                inc = self._raise(b, p, info, "fail_to_test", rules)
                b.after_flush.append(lambda st=st, inc=inc: setattr(
                    st, "fail_to_test_incident_id", inc.id))
                st.fail_to_test_incident_id = -1
            await self._finish(b)
        await b.out.publish(self.bus)

    async def _infos_by_id(self, ids: list[int]) -> dict[int, AccountInfo]:
        """Account facts for ids: from the cache of numbers seen, else from the directory."""
        wanted = set(ids)
        found: dict[int, AccountInfo] = {}
        for value, _exp in list(self._accounts._data.values()):
            if value is not None and value[0] in wanted:
                found[value[0]] = AccountInfo(*value)
        for aid in wanted - set(found):
            info = await self.directory.account_by_id(aid)
            if info is not None:
                found[aid] = info
        return found

    async def _tick_schedules(self, rules: list[plans.PlanRule]) -> None:
        now = self.clock.now()
        ids = sorted(await self.scheduled_ids())
        if not ids:
            return
        scheds = await self.schedules(ids)
        st = self.settings
        due: list[tuple[int, str, date]] = []
        async with self.db.session() as s:
            states: dict[int, AccountState] = {}
            for i in range(0, len(ids), 900):
                for row in (await s.execute(select(AccountState).where(
                        AccountState.account_id.in_(ids[i:i + 900])))).scalars():
                    states[row.account_id] = row
        for aid in ids:
            sch = scheds.get(aid)
            if sch is None:
                continue
            state = states.get(aid)
            for kind, day in schedule_rules.late_exceptions(
                    sch, now, last_open_at=state.last_open_at if state else None,
                    last_close_at=state.last_close_at if state else None,
                    open_grace=timedelta(minutes=st.open_grace_minutes),
                    close_grace=timedelta(minutes=st.close_grace_minutes),
                    early=timedelta(minutes=st.early_open_minutes)):
                due.append((aid, kind, day))
        if not due:
            return
        infos = await self._infos_by_id([a for a, _, _ in due])
        async with self.db.transaction() as s:
            marks = {(m.account_id, m.day, m.kind) for m in (await s.execute(
                select(ScheduleMark).where(ScheduleMark.account_id.in_(
                    sorted({a for a, _, _ in due}))))).scalars()}
            todo = [d for d in due if (d[0], d[2], d[1]) not in marks]
            if not todo:
                return
            open_map, _ = await self._load(s, {f"id:{a}" for a, _, _ in todo}, set())
            b = _Batch(s, now, open_map, {})
            for aid, kind, day in todo:
                info = infos.get(aid) or AccountInfo(aid, "", "")
                if info.status != "active":
                    continue
                p = {"account": info.number, "received_at": now.isoformat()}
                inc = self._raise(b, p, info, kind, rules)
                b.after_flush.append(("mark", aid, day, kind, inc))
            await self._finish(b)
        await b.out.publish(self.bus)


_SYSTEM_CLOSE: dict[str, tuple[str, str]] = {
    "close_held": ("restored_on_hold", "restored while held in disaster mode"),
    "close_ftt": ("cleared_by_system", "test report received late"),
}


# The columns of the rows the batch appends (as :meth:`AlarmEngine._log` and :func:`_entry`
# make them), and the batch's one statement on PostgreSQL.
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

async def _raw(s: AsyncSession) -> Any:
    """The session's asyncpg connection, or None off PostgreSQL/asyncpg."""
    conn = await s.connection()
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "asyncpg":
        return None
    return (await conn.get_raw_connection()).driver_connection


class _IncidentIds:
    """Incident ids reserved from the table's sequence ahead of need (PostgreSQL), so a
    batch's new incidents go in by COPY, which returns nothing, and most batches spend no
    round trip on ids. Ids reserved and never used are a gap, as a sequence's own cache
    leaves after a restart; across nodes ids follow each node's reservations, not time."""

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


def _entry(at: datetime, action: str, incident_id: int | None, before: dict[str, Any] | None,
           after: dict[str, Any] | None, note: str | None) -> dict[str, Any]:
    """An audit-log row by the engine (the same shape :func:`core.audit.record` writes),
    inserted with the batch's other entries in one statement."""
    return {"at": at, "actor_id": ACTOR.user_id, "actor": ACTOR.name, "action": action,
            "entity": "incident", "entity_id": str(incident_id), "before": before,
            "after": after, "note": note}


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


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (refused, dropped, shutting down,
    starting up), as opposed to a statement that failed."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError,
                          asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                          asyncpg.AdminShutdownError, asyncpg.ConnectionDoesNotExistError)):
            return True
        e = getattr(e, "orig", None) or e.__cause__ or e.__context__
    return False


def _line_key(p: dict[str, Any]) -> str:
    """The incident key of a receiver line's own trouble (no account behind it)."""
    return f"receiver:{p.get('receiver') or ''}/{p.get('line') or ''}"


def _short(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)[:8]
