"""The alarm engine: the parts of :mod:`alarms.engine` put together and run.

A batch of signals is resolved to accounts (:mod:`.book`), classified with the action plans'
overrides, then in one transaction: the open incidents and states of its accounts are read
(:mod:`.store`), the rules decide (:mod:`.rules`), the batch applies their effects
(:mod:`.batch`) and the store writes them; the ``incident.*`` events go out after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alarms import call_events, plans
from alarms.classify import classify
from alarms.config import AlarmSettings
from alarms.engine import pipeline, rules, store, timers
from alarms.engine.batch import Batch
from alarms.engine.book import AccountBook
from alarms.engine.facts import Facts
from alarms.engine.rules import Incoming
from alarms.engine.runaway import TokenBuckets
from alarms.incidents import Outbox
from alarms.models import IncidentSignal, ScheduleMark
from alarms.subscriber import AccountInfo, LookupKey, SubscriberDirectory
from core.bus import Event, Subscription
from core.db import Database, one_of
from core.services import Services
from crm.schedule import Schedule

log = logging.getLogger(__name__)

Payload = Mapping[str, Any]
# Reads the signal journal (receivers.journal.journaled): session, since, until, after id, limit.
JournalReader = Callable[[AsyncSession, datetime, datetime, int, int],
                         Awaitable[list[dict[str, Any]]]]

TOPICS = ("signal.received", *call_events.TOPICS, "alarms.plans_changed",
          "alarms.disaster_changed", "alarms.runaway_cleared")
# Handled by the engine of the node that published them; the rest (cache invalidations) by all.
LOCAL_TOPICS = frozenset({"signal.received", *call_events.TOPICS})


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
        self.settings = st = settings or AlarmSettings()
        self.buckets = TokenBuckets(st.runaway_capacity, st.runaway_rate_per_minute / 60.0)
        self.book = AccountBook(directory, self.clock, st.directory_ttl_seconds)
        self.facts = Facts(self.db, directory, self.clock, st.schedule_refresh_seconds)
        self.outage = pipeline.Outage(self.clock, st.database_retry_max_seconds)
        self.incident_ids = store.IncidentIds()
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0
        self.failed_batches = 0  # batches that failed (and were applied in halves)
        self.failed_signals = 0  # signals that could not be applied at all

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, tick: bool = True, book: bool = False) -> None:
        """Subscribe and run in the background (``stop`` ends it); with ``book``, keep every
        live account in memory (:meth:`AccountBook.keep`)."""
        self._sub = self.bus.subscribe(*TOPICS, maxsize=200_000, name="alarms.engine")
        self._tasks.append(asyncio.create_task(pipeline.consume(self, self._sub),
                                               name="alarms-consume"))
        if book:
            self._tasks.append(asyncio.create_task(self.book.keep(), name="alarms-book"))
        if tick:
            self._tasks.append(asyncio.create_task(self.run_timers(), name="alarms-tick"))

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

    def depth(self) -> int:
        """Batches in flight at once: SQLite has one writer, so one there."""
        return 1 if self.db.dialect == "sqlite" else self.settings.pipeline_depth

    def elsewhere(self, ev: Event) -> bool:
        """An event another node published, which that node's engine handles (with
        ``local_only``, so a signal fanned out to every node opens one incident)."""
        return self.local_only and bool(ev.origin) and ev.origin != self.bus.node

    async def run_timers(self) -> None:
        """Run :meth:`tick` every ``tick_seconds`` until cancelled (under a cluster lease when
        several nodes share the database: see :mod:`alarms.runtime`)."""
        while True:
            await self.clock.sleep(self.settings.tick_seconds)
            try:
                await self.tick()
            except Exception:  # a bad tick must not stop the timers for good
                log.exception("alarm engine tick failed")

    async def tick(self) -> None:
        """Run every timer due at the clock's now."""
        await timers.tick(self)

    @property
    def db_unavailable_since(self) -> float | None:
        return self.outage.since

    def health(self) -> dict[str, Any]:
        """What a supervisor needs to see at 3 a.m.: is the engine applying signals, how many
        wait, since when the database has been away, what could not be applied."""
        down = self.outage.since
        sub = self._sub
        return {
            "running": bool(self._tasks) and not all(t.done() for t in self._tasks),
            "processed": self.processed,
            "queued": sub.depth if sub is not None else 0,
            "dropped_from_queue": sub.dropped if sub is not None else 0,
            "database_unreachable_for_s": (round(self.clock.monotonic() - down, 1)
                                           if down is not None else None),
            "failed_batches": self.failed_batches, "failed_signals": self.failed_signals,
            "accounts_in_book": self.book.size,
        }

    # --- events -----------------------------------------------------------------------------

    async def handle_events(self, events: Iterable[Event]) -> None:
        signals: list[Payload] = []
        for ev in events:
            if ev.topic in LOCAL_TOPICS and self.elsewhere(ev):
                continue
            if ev.topic == "signal.received":
                signals.append(dict(ev.data))
            elif ev.topic == "alarms.plans_changed":
                self.facts.forget_plans()
            elif ev.topic == "alarms.disaster_changed":
                self.facts.forget_disaster()
            elif ev.topic == "alarms.runaway_cleared":
                self.buckets.reset(int(ev.data.get("account_id") or 0))
            elif ev.topic in call_events.TOPICS:
                try:
                    await call_events.apply(self.db, self.clock, self.bus, ev.topic, ev.data)
                except Exception:
                    log.exception("verification outcome not recorded: %s", dict(ev.data))
        if signals:
            await pipeline.in_halves(self, signals)

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
            missing: list[Payload] = [p for p in found if str(p["signal_id"]) not in seen]
            if missing:
                log.warning("applying %d journaled signals no batch had applied", len(missing))
                await pipeline.in_halves(self, missing)
                applied += len(missing)

    # --- accounts and facts -----------------------------------------------------------------

    async def account(self, number: str, prefix: str | None) -> AccountInfo | None:
        return (await self.book.resolve([(number, prefix)]))[0]

    async def accounts(self, keys: list[LookupKey]) -> list[AccountInfo | None]:
        return await self.book.resolve(keys)

    async def load_accounts(self, page: int = 5000) -> int:
        return await self.book.load(page)

    @property
    def book_size(self) -> int | None:
        return self.book.size

    async def accounts_of(self, reported: list[tuple[str, str]]) -> list[AccountInfo | None]:
        """The account behind each (receiver, account number as reported), by the receiver's
        prefix (``VIGIL_ALARMS_RECEIVER_PREFIXES``): what the signal journal asks as it stores
        each signal (the assembly hands it this), so that a signal's account is looked up once."""
        prefixes = self.settings.receiver_prefixes
        # a receiver without a configured prefix: None, which is not the prefix ""
        return await self.book.resolve([(number, prefixes.get(receiver))
                                        for receiver, number in reported])

    async def resolve(self, payloads: list[Payload]) -> list[AccountInfo | None]:
        """The account behind each signal: the one the journal found (``account_id``), none
        when the journal found none (``unknown_account``), else looked up here (a journal
        without a directory, or one that could not ask)."""
        out: list[AccountInfo | None] = [None] * len(payloads)
        by_id: dict[int, list[int]] = {}
        asked: list[int] = []
        for i, p in enumerate(payloads):
            aid = p.get("account_id")
            if aid is not None:
                by_id.setdefault(int(aid), []).append(i)
            elif not p.get("unknown_account"):
                asked.append(i)
        if by_id:
            found = await self.book.by_ids(by_id)
            for aid, places in by_id.items():
                for i in places:
                    out[i] = found.get(aid)
        if asked:
            infos = await self.accounts_of([(str(payloads[i].get("receiver") or ""),
                                             str(payloads[i].get("account") or ""))
                                            for i in asked])
            for i, info in zip(asked, infos, strict=True):
                out[i] = info
        return out

    async def schedules(self, account_ids: Iterable[int]) -> dict[int, Schedule | None]:
        return await self.facts.schedules(account_ids)

    async def context(self, now: datetime) -> rules.Context:
        st = self.settings
        return rules.Context(now, await self.facts.plan_rules(),
                             await self.facts.disaster_state(), st.cancel_window_seconds,
                             timedelta(minutes=st.early_open_minutes))

    # --- signals ----------------------------------------------------------------------------

    async def handle_signals(self, payloads: list[Payload],
                             infos: list[AccountInfo | None] | None = None) -> None:
        """Classify and apply a batch of signals in one transaction, then publish."""
        if not payloads:
            return
        if infos is None:
            infos = await self.resolve(payloads)
        plan_rules = await self.facts.plan_rules()
        incoming: list[Incoming] = []
        need_schedule: set[int] = set()
        for p, info in zip(payloads, infos, strict=True):
            base = classify(p)
            zone = rules.zone_key(p.get("zone"))
            override, _ = plans.resolve(plan_rules, base.kind, base.event_class,
                                        info.id if info else None, zone)
            cls = classify(p, override) if override is not None else base
            number = str(p.get("account") or "")
            incoming.append(Incoming(p, info, cls, rules.account_key(info, number),
                                     parse_time(p.get("received_at"), self.clock.now()), zone))
            if info is not None and (cls.opening or cls.closing):
                need_schedule.add(info.id)
        scheds = await self.facts.schedules(need_schedule) if need_schedule else {}
        out = await pipeline.patiently(self.outage,
                                       lambda: self._apply_batch(incoming, scheds), races=5)
        self.processed += len(payloads)
        await out.publish(self.bus)

    async def _apply_batch(self, incoming: list[Incoming],
                           scheds: dict[int, Schedule | None]) -> Outbox:
        """One transaction: read, decide, write. A batch that does not commit (and is
        retried) gives back the runaway tokens it took."""
        now = self.clock.now()
        ctx = await self.context(now)
        keys = {s.key for s in incoming}
        keys |= {rules.line_key(s.payload) for s in incoming
                 if s.account is None and s.cls.kind == "comm_trouble"}
        ids = {s.account.id for s in incoming if s.account is not None}
        out = Outbox()
        taken: list[int] = []
        try:
            async with self.db.transaction() as session:
                open_map, states = await store.load(session, keys, ids)
                b = Batch(now, open_map, states, taken=taken)
                b.marks = await self._marks(session, incoming, scheds, now)
                for s in incoming:
                    self._decide(b, ctx, s, scheds)
                await store.write(session, b, self.clock.now(), self.incident_ids, out)
        except BaseException:
            for aid in taken:
                self.buckets.refund(aid)
            raise
        return out

    def _decide(self, b: Batch, ctx: rules.Context, s: Incoming,
                scheds: dict[int, Schedule | None]) -> None:
        """One signal: the rules' effects, applied to the batch."""
        info = s.account
        state = b.states.get(info.id) if info is not None else None
        effects = rules.screened(s, state, ctx, b.open)
        if effects is None:
            assert info is not None
            within = True
            if not s.cls.life_safety:  # the runaway limit: a token, unless life safety
                within = self.buckets.take(info.id, self.clock.monotonic())
                if within:
                    b.taken.append(info.id)
            effects = rules.signal_effects(s, state, ctx, b.open, scheds.get(info.id), b.marks,
                                           within)
        b.apply(effects, s)

    @staticmethod
    async def _marks(session: AsyncSession, incoming: list[Incoming],
                     scheds: dict[int, Schedule | None], now: datetime,
                     ) -> set[tuple[int, date, str]]:
        """The days' schedule marks, where a schedule judges the batch's openings and
        closings."""
        oc = sorted({s.account.id for s in incoming if s.account is not None
                     and (s.cls.opening or s.cls.closing)
                     and scheds.get(s.account.id) is not None})
        if not oc:
            return set()
        return {(m.account_id, m.day, m.kind) for m in (await session.execute(
            select(ScheduleMark).where(
                one_of(session, ScheduleMark.account_id, oc),
                ScheduleMark.day >= (now - timedelta(days=2)).date()))).scalars()}
