"""The signal journal: durable storage of every received signal, in group commits.

Transports call :meth:`SignalJournal.store` and send the ACK only when it returns, so a signal is
acknowledged only after the transaction that holds it has committed. Many concurrent ``store``
calls are gathered by one writer task into one transaction (a power-cut burst costs one commit per
few milliseconds, not one per signal). A failed commit fails every caller of that batch: their
panels get no ACK and retransmit.

Duplicates (a panel retransmitting a message whose ACK it missed) are recognised by protocol,
receiver, line, account and sequence within a time window: in memory, and for the first window
after a start also against the table (its dedup index), since the signals stored before a crash
are not in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.bus import Bus
from core.clock import Clock, SystemClock
from core.db import Database
from receivers.models import SignalRecord
from receivers.signal import Signal
from receivers.sink import duplicate_key

log = logging.getLogger(__name__)

# The journal row's columns and their PostgreSQL array types, for the one-statement insert.
_PG_TYPES: dict[str, str] = {
    "received_at": "timestamptz", "receiver": "text", "line": "text", "protocol": "text",
    "account": "text", "event_code": "text", "event_system": "text", "qualifier": "text",
    "event_class": "text", "priority": "int2", "partition": "text", "zone": "text",
    "user": "text", "panel_time": "timestamptz", "sequence": "text", "extra": "text",
    "raw": "bytea", "unknown_account": "bool",
}
_PG_COLUMNS = list(_PG_TYPES)
_PG_INSERT = (
    "INSERT INTO receiver_signals ({cols}) SELECT {select} FROM unnest({params}) "
    "WITH ORDINALITY AS t({names}, n) ORDER BY n RETURNING id"
).format(
    cols=", ".join(f'"{c}"' for c in _PG_COLUMNS),
    select=", ".join(f'"{c}"::json' if c == "extra" else f'"{c}"' for c in _PG_COLUMNS),
    params=", ".join(f"${i}::{t}[]" for i, t in enumerate(_PG_TYPES.values(), start=1)),
    names=", ".join(f'"{c}"' for c in _PG_COLUMNS),
)

AccountKey = tuple[str, str]  # (receiver, account)


class AccountDirectory(Protocol):
    """Which subscriber each signal belongs to (injected by the composition root: the alarm
    engine's account book). The journal asks once per signal, stores whether there is one and
    publishes the answer, so no consumer looks the account up again."""

    async def account_ids(self, accounts: set[AccountKey]) -> dict[AccountKey, int | None]:
        """For each (receiver, account as reported): the subscriber's id, None when there is
        none; a pair left out was not checked."""
        ...


@dataclass
class _Pending:
    signals: list[Signal]
    future: asyncio.Future[list[bool]]


@dataclass
class _Prepared:
    """A batch with its duplicate decisions, on its way to the database."""

    batch: list[_Pending]
    signals: list[Signal]
    done: asyncio.Future[None]  # the batch's commit (duplicates in later batches wait on it)
    keep: list[bool] = field(default_factory=list)
    depends: list[asyncio.Future[None] | None] = field(default_factory=list)
    fresh: dict[Hashable, datetime] = field(default_factory=dict)
    to_store: list[Signal] = field(default_factory=list)
    accounts: dict[AccountKey, int | None] = field(default_factory=dict)


@dataclass
class JournalStats:
    """Counters for health views and benchmarks."""

    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    failed_batches: int = 0
    largest_batch: int = 0
    db_dedup_queries: int = 0
    batch_sizes: list[int] = field(default_factory=list)


def record_row(signal: Signal, unknown: bool | None) -> dict[str, Any]:
    """The journal row of a signal."""
    return {
        "received_at": signal.received_at,
        "receiver": signal.receiver,
        "line": signal.line,
        "protocol": signal.protocol,
        "account": signal.account,
        "event_code": signal.event_code,
        "event_system": signal.event_system,
        "qualifier": signal.qualifier,
        "event_class": signal.event_class,
        "priority": signal.priority,
        "partition": signal.partition,
        "zone": signal.zone,
        "user": signal.user,
        "panel_time": signal.panel_time,
        "sequence": signal.sequence,
        "extra": dict(signal.extra),
        "raw": signal.raw,
        "unknown_account": unknown,
    }


async def journaled(session: AsyncSession, since: datetime, until: datetime,
                    after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
    """Stored signals received in [since, until) with a journal id above ``after_id``, oldest
    id first, as the ``signal.received`` payloads that announced them: for a consumer that
    catches up after a restart on what it may not have applied."""
    rows = (await session.execute(
        select(SignalRecord).where(SignalRecord.received_at >= since,
                                   SignalRecord.received_at < until,
                                   SignalRecord.id > after_id)
        .order_by(SignalRecord.id).limit(limit))).scalars().all()
    return [{**_signal_of(r).to_dict(), "signal_id": r.id, "account_id": None,
             "unknown_account": bool(r.unknown_account)} for r in rows]


def _signal_of(r: SignalRecord) -> Signal:
    return Signal(received_at=r.received_at, receiver=r.receiver, line=r.line,
                  protocol=r.protocol, account=r.account, event_code=r.event_code,
                  event_system=r.event_system, qualifier=r.qualifier, partition=r.partition,
                  zone=r.zone, user=r.user, panel_time=r.panel_time, sequence=r.sequence,
                  extra=dict(r.extra or {}), raw=r.raw or b"")


class SignalJournal:
    """A :class:`receivers.sink.SignalSink` backed by the database, with group commit."""

    def __init__(
        self,
        db: Database,
        bus: Bus | None = None,
        clock: Clock | None = None,
        *,
        duplicate_window: timedelta = timedelta(minutes=30),
        linger: float = 0.0,
        max_batch: int = 2000,
        directory: AccountDirectory | None = None,
        topic: str = "signal.received",
        preload_limit: int = 500_000,
        pipeline: int | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock or SystemClock()
        self.window = duplicate_window
        self.linger = linger
        self.max_batch = max_batch
        self.directory = directory
        self.topic = topic
        self.stats = JournalStats()
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        # duplicate key -> received_at of the stored signal, oldest first
        self._seen: OrderedDict[Hashable, datetime] = OrderedDict()
        self._started_at: datetime | None = None
        self.preload_limit = preload_limit
        # Batches committing at once: on PostgreSQL the next batch need not wait for the
        # previous one's WAL flush; SQLite has one writer anyway.
        self.pipeline = pipeline or (2 if db.dialect == "postgresql" else 1)
        self._committing: dict[Hashable, tuple[datetime, asyncio.Future[None]]] = {}
        # Memory knows every stored key with a receive time at or after this (None: none
        # yet, e.g. before the recent keys are loaded); for anything else ask the table.
        self._covered_since: datetime | None = None
        self._preload: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._pg_idle: list[Any] = []  # asyncpg connections on PostgreSQL
        self._insert_stmt = insert(SignalRecord).returning(
            SignalRecord.id, sort_by_parameter_order=True)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the recent duplicate keys and start the writer task (also done by the first
        ``store``)."""
        if self._writer is None:
            self._started_at = self.clock.now()
            self._covered_since = None  # until the recent keys are loaded, ask the table
            self._closing = False
            self._writer = asyncio.get_running_loop().create_task(
                self._run(), name="signal-journal")
            self._preload = asyncio.get_running_loop().create_task(self._load_recent())

    async def _load_recent(self) -> None:
        """Keys stored within the window before this start (a crash loses memory, not rows):
        with them in memory no batch needs to ask the table. If there are too many, or the
        query fails, the writer asks the table per batch during the first window instead."""
        assert self._started_at is not None
        since = self._started_at - self.window
        stmt = (select(SignalRecord.protocol, SignalRecord.receiver, SignalRecord.line,
                       SignalRecord.account, SignalRecord.sequence, SignalRecord.received_at)
                .where(SignalRecord.received_at >= since, SignalRecord.sequence.is_not(None))
                .order_by(SignalRecord.received_at)
                .limit(self.preload_limit + 1))
        try:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        except Exception:
            log.exception("signal journal: loading recent keys failed; asking the table")
            return
        if len(rows) > self.preload_limit:
            log.warning("signal journal: more than %d recent signals; asking the table",
                        self.preload_limit)
            return
        loaded: OrderedDict[Hashable, datetime] = OrderedDict()
        for row in rows:
            loaded[(row[0], row[1], row[2], row[3], row[4])] = row[5]
        loaded.update(self._seen)  # anything already written since the start is newer
        self._seen = loaded
        self._covered_since = since

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        self._closing = True
        self._wakeup.set()
        if self._preload is not None:
            self._preload.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._preload
            self._preload = None
        if self._writer is not None:
            writer, self._writer = self._writer, None
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close()
        while self._pg_idle:
            pg = self._pg_idle.pop()
            with contextlib.suppress(Exception):
                await pg.close()

    async def __aenter__(self) -> SignalJournal:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the sink -----------------------------------------------------------------------------

    async def store(self, signals: list[Signal]) -> list[bool]:
        """Commit ``signals``; per signal True once stored, False for a duplicate. Raises when
        the commit failed (then the caller must not acknowledge)."""
        if not signals:
            return []
        if self._closing:
            raise RuntimeError("signal journal is closed")
        if self._writer is None:
            await self.start()
        future: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(list(signals), future))
        self._wakeup.set()
        return await asyncio.shield(future)  # a cancelled caller does not undo a commit

    # --- the writer ---------------------------------------------------------------------------

    async def _run(self) -> None:
        inflight: set[asyncio.Task[None]] = set()
        try:
            while True:
                if not self._queue:
                    if self._closing:
                        if inflight:
                            await asyncio.wait(inflight)
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                if len(inflight) >= self.pipeline:
                    _, inflight = await asyncio.wait(inflight,
                                                     return_when=asyncio.FIRST_COMPLETED)
                    continue
                if self._count() < self.max_batch and not self._closing:
                    # Let the signals that arrive in the same moment join. Measured: waiting
                    # a fixed few ms costs more than it gathers; the signals that arrive while
                    # a commit runs are the natural batch, so the default is one loop turn.
                    await asyncio.sleep(self.linger)
                batch = self._take()
                try:
                    prepared = await self._prepare(batch)
                except Exception as exc:
                    self._fail(batch, exc)
                    continue
                task = asyncio.get_running_loop().create_task(self._commit(prepared))
                inflight.add(task)
        except asyncio.CancelledError:
            for t in inflight:
                t.cancel()
            for p in self._queue:
                if not p.future.done():
                    p.future.set_exception(RuntimeError("signal journal stopped"))
            raise

    def _fail(self, batch: list[_Pending], exc: BaseException) -> None:
        self.stats.failed_batches += 1
        log.error("signal journal: commit of %d signals failed: %r", self._size(batch), exc)
        for p in batch:
            if not p.future.done():
                p.future.set_exception(RuntimeError(f"journal commit failed: {exc!r}"))

    def _count(self) -> int:
        return sum(len(p.signals) for p in self._queue)

    @staticmethod
    def _size(batch: Iterable[_Pending]) -> int:
        return sum(len(p.signals) for p in batch)

    def _take(self) -> list[_Pending]:
        taken: list[_Pending] = []
        n = 0
        while self._queue and (not taken or n + len(self._queue[0].signals) <= self.max_batch):
            p = self._queue.popleft()
            taken.append(p)
            n += len(p.signals)
        return taken

    async def _prepare(self, batch: list[_Pending]) -> _Prepared:
        """Duplicate decisions for a batch, in arrival order (one batch at a time). A
        duplicate of a signal whose batch is still committing depends on that commit."""
        signals = [s for p in batch for s in p.signals]
        self._prune(self.clock.now())
        in_db = await self._stored_before_start(signals)
        prep = _Prepared(batch, signals, asyncio.get_running_loop().create_future())
        for sig in signals:
            key = duplicate_key(sig)
            if key is None:
                prep.keep.append(True)
                prep.depends.append(None)
                continue
            # most recent first: this batch, a batch still committing, memory, the table
            pending = self._committing.get(key)
            depend = None
            earlier = prep.fresh.get(key)
            if earlier is None and pending is not None:
                earlier, depend = pending
            if earlier is None:
                earlier = self._seen.get(key) or in_db.get(key)
            if earlier is not None and abs(sig.received_at - earlier) <= self.window:
                prep.keep.append(False)
                prep.depends.append(depend)
                continue
            prep.fresh[key] = sig.received_at
            prep.keep.append(True)
            prep.depends.append(None)
        for key, at in prep.fresh.items():
            self._committing[key] = (at, prep.done)
        prep.to_store = [s for s, k in zip(signals, prep.keep, strict=True) if k]
        prep.accounts = await self._accounts(prep.to_store)
        return prep

    async def _commit(self, prep: _Prepared) -> None:
        """Insert and commit; then remember, answer the callers and publish."""
        ids: list[int] = []
        try:
            if prep.to_store:
                rows = [record_row(s, _unknown(prep.accounts, s)) for s in prep.to_store]
                ids = await self._insert(rows)
        except BaseException as exc:
            self._release(prep)
            prep.done.set_exception(RuntimeError("batch not committed"))
            prep.done.exception()  # retrieved: dependants look at it themselves
            self._fail(prep.batch, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        # Committed: remember, answer the callers, then tell the rest of the system.
        for key, at in prep.fresh.items():
            self._seen[key] = at
            self._seen.move_to_end(key)
        self._release(prep)
        prep.done.set_result(None)
        pos = 0
        for p in prep.batch:
            n = len(p.signals)
            deps = {d for d in prep.depends[pos : pos + n] if d is not None}
            if deps:  # a duplicate of a signal still committing elsewhere: wait for it
                await asyncio.wait(deps)
            failed = any(d.exception() is not None for d in deps)
            if not p.future.done():
                if failed:
                    p.future.set_exception(RuntimeError("the original was not committed"))
                else:
                    p.future.set_result(prep.keep[pos : pos + n])
            pos += n
        self.stats.batches += 1
        self.stats.stored += len(prep.to_store)
        self.stats.duplicates += len(prep.signals) - len(prep.to_store)
        self.stats.largest_batch = max(self.stats.largest_batch, len(prep.signals))
        if self.bus is not None:
            for sig, sid in zip(prep.to_store, ids, strict=True):
                self.bus.publish_nowait(self.topic, {
                    **sig.to_dict(), "signal_id": sid,
                    "account_id": prep.accounts.get((sig.receiver, sig.account)),
                    "unknown_account": bool(_unknown(prep.accounts, sig))})

    def _release(self, prep: _Prepared) -> None:
        for key in prep.fresh:
            entry = self._committing.get(key)
            if entry is not None and entry[1] is prep.done:
                del self._committing[key]

    async def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert and commit in one transaction on the journal's own connection (held open:
        no pool check-out and liveness ping per batch). A failure discards the connection."""
        if self.db.dialect == "postgresql":
            return await self._insert_pg(rows)
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        conn = self._conn
        try:
            async with conn.begin():
                result = await conn.execute(self._insert_stmt, rows)
                ids = [int(r[0]) for r in result]
        except BaseException:
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()
            raise
        return ids

    async def _insert_pg(self, rows: list[dict[str, Any]]) -> list[int]:
        """PostgreSQL: the whole batch as one statement over arrays (``unnest``), prepared once
        per connection, in autocommit: one round trip per batch, and the reply comes only after
        the commit is flushed (synchronous_commit). Sequence values are drawn in row order, so
        the sorted ids belong to the rows in order."""
        if self._pg_idle:
            pg = self._pg_idle.pop()
        else:
            import asyncpg

            url = self.db.engine.url.set(drivername="postgresql")
            pg = await asyncpg.connect(url.render_as_string(hide_password=False))
        cols = [[row[c] for row in rows] for c in _PG_COLUMNS]
        i_extra = _PG_COLUMNS.index("extra")
        cols[i_extra] = [json.dumps(v, ensure_ascii=False) for v in cols[i_extra]]
        for i in (_PG_COLUMNS.index("received_at"), _PG_COLUMNS.index("panel_time")):
            cols[i] = [v.astimezone(UTC) if v is not None else None for v in cols[i]]
        try:
            records = await pg.fetch(_PG_INSERT, *cols)
        except BaseException:
            with contextlib.suppress(Exception):
                pg.terminate()  # an unknown state: never reuse it
            raise
        self._pg_idle.append(pg)
        return sorted(int(r[0]) for r in records)

    def _prune(self, now: datetime) -> None:
        horizon = now - self.window * 2  # keep some slack for panel clocks and slow batches
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if at >= horizon:
                break
            self._seen.popitem(last=False)

    async def _stored_before_start(self, signals: Sequence[Signal]) -> dict[Hashable, datetime]:
        """Keys of ``signals`` already in the table from before what memory covers: during
        the first window after a start when the recent keys could not be loaded, and for
        signals with old receive times (AlarmReceiver files ingested late)."""
        covered = self._covered_since
        candidates: dict[Hashable, Signal] = {}
        for sig in signals:
            key = duplicate_key(sig)
            if key is None or key in self._seen or key in candidates:
                continue
            if covered is not None and sig.received_at - self.window >= covered:
                continue  # its whole window is in memory
            candidates[key] = sig
        if not candidates:
            return {}
        self.stats.db_dedup_queries += 1
        earliest = min(s.received_at for s in candidates.values()) - self.window
        conds = [
            and_(
                SignalRecord.protocol == s.protocol,
                SignalRecord.receiver == s.receiver,
                SignalRecord.line == s.line,
                SignalRecord.account == s.account,
                SignalRecord.sequence == s.sequence,
            )
            for s in candidates.values()
        ]
        found: dict[Hashable, datetime] = {}
        async with self.db.engine.connect() as conn:
            for i in range(0, len(conds), 200):
                stmt = select(
                    SignalRecord.protocol, SignalRecord.receiver, SignalRecord.line,
                    SignalRecord.account, SignalRecord.sequence, SignalRecord.received_at,
                ).where(SignalRecord.received_at >= earliest, or_(*conds[i : i + 200]))
                for row in await conn.execute(stmt):
                    key = (row[0], row[1], row[2], row[3], row[4])
                    at: datetime = row[5]  # aware UTC (UTCDateTime)
                    if key not in found or at > found[key]:
                        found[key] = at
        return found

    async def _accounts(self, signals: Sequence[Signal]) -> dict[AccountKey, int | None]:
        """(receiver, account) -> the subscriber's id or None; empty when not checked."""
        if self.directory is None or not signals:
            return {}
        pairs = {(s.receiver, s.account) for s in signals}
        try:
            return await self.directory.account_ids(pairs)
        except Exception:  # the journal must not stop because the directory is down
            log.exception("signal journal: account lookup failed; stored as not checked")
            return {}


def _unknown(accounts: dict[AccountKey, int | None], signal: Signal) -> bool | None:
    """Whether the signal's account is unknown; None when it was not checked."""
    key = (signal.receiver, signal.account)
    return accounts[key] is None if key in accounts else None
