"""How signals get from the bus into batches and nothing is lost on the way.

- **Consume and order**: signals are taken off the bus in batches of ``batch_size``; while a
  batch waits on the database the next one runs in its own transaction, as long as the two
  share no account (``pipeline_depth`` batches at most, one on SQLite). A signal whose account
  is in a batch still in flight, and every later signal of that account, waits until that
  batch is done, so each account's signals are applied in order.
- **Halving**: a batch that fails for a reason other than the database being away is applied
  in halves, so a signal the rules cannot handle costs itself only.
- **Riding out an outage**: while the database (or crm) cannot be reached the batch in hand is
  held and retried, a little later each time; the bus queues the rest meanwhile. A batch that
  loses a race with another writer (a version changed under it, a locked SQLite) is retried
  as a whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from alarms.config import AlarmSettings
from alarms.subscriber import AccountInfo
from core.bus import Event, Subscription
from core.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")
Payload = Mapping[str, Any]
SIGNAL = "signal.received"


def unreachable(exc: BaseException) -> bool:
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


class Outage:
    """The database being away: logged once, then waited out a little longer each time (at
    most ``max_delay`` seconds between tries)."""

    def __init__(self, clock: Clock, max_delay: float) -> None:
        self.clock = clock
        self.max_delay = max_delay
        self.since: float | None = None  # monotonic; None while the database answers
        self._delay = 0.05

    async def wait(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = self.clock.monotonic()
            self._delay = 0.05
            log.error("database unreachable (%s: %s): signals are held until it is back",
                      type(exc).__name__, exc)
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, self.max_delay)

    def over(self) -> None:
        if self.since is not None:
            log.warning("database back after %.1f s", self.clock.monotonic() - self.since)
            self.since = None


async def patiently(outage: Outage, attempt: Callable[[], Awaitable[T]],
                    races: int = 0) -> T:
    """``attempt()`` until it succeeds: through an outage (waiting), and up to ``races``
    more times after losing a race with another writer."""
    lost = 0
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if unreachable(exc):  # hold it (the bus queues the rest) and wait
                await outage.wait(exc)
                continue
            if not isinstance(exc, (StaleDataError, IntegrityError, DBAPIError)) or \
                    lost == races:
                raise
            lost += 1  # a version changed under the batch, or a locked SQLite
            log.info("alarm batch retried after %s", type(exc).__name__)
            await asyncio.sleep(0.01 * lost)
            continue
        outage.over()
        return result


class Applier(Protocol):
    """What the pipeline drives (the engine)."""

    settings: AlarmSettings
    outage: Outage
    failed_batches: int
    failed_signals: int

    def depth(self) -> int: ...
    def elsewhere(self, ev: Event) -> bool: ...
    async def resolve(self, payloads: list[Payload]) -> list[AccountInfo | None]: ...
    async def handle_signals(self, payloads: list[Payload],
                             infos: list[AccountInfo | None] | None = None) -> None: ...
    async def handle_events(self, events: list[Event]) -> None: ...


async def in_halves(engine: Applier, signals: list[Payload],
                    infos: list[AccountInfo | None] | None = None) -> None:
    """Apply a batch; one that fails for a reason other than the database being away (which
    :meth:`handle_signals` waits out) is split in halves and each applied in turn."""
    try:
        await engine.handle_signals(signals, infos)
    except Exception:
        engine.failed_batches += 1
        if len(signals) > 1:
            log.warning("alarm batch of %d signals failed: applying it in halves",
                        len(signals), exc_info=True)
            mid = len(signals) // 2
            await in_halves(engine, signals[:mid], infos[:mid] if infos else None)
            await in_halves(engine, signals[mid:], infos[mid:] if infos else None)
            return
        engine.failed_signals += 1
        log.exception("alarm engine could not apply signal %s: %s",
                      signals[0].get("signal_id"), signals[0])


@dataclass(slots=True)
class _Pending:
    payload: Payload
    info: AccountInfo | None
    order: str  # what it must not share with a batch in flight


def order_key(info: AccountInfo | None) -> str:
    """A signal's account; signals of no known account may share a receiver line's
    incident, so they go one batch at a time (they are rare)."""
    return f"id:{info.id}" if info is not None else "unknown"


class _InFlight:
    """The batches running, each with the accounts it holds."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.running: list[tuple[asyncio.Task[None], set[str]]] = []

    def prune(self) -> None:
        self.running = [r for r in self.running if not r[0].done()]

    def busy(self) -> set[str]:
        return set().union(*(keys for _, keys in self.running))

    async def first_done(self) -> None:
        task, _ = self.running.pop(0)
        await task

    async def drain(self) -> None:
        while self.running:
            await self.first_done()

    async def cancel(self) -> None:
        for task, _ in self.running:
            task.cancel()
        for task, _ in self.running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.running.clear()

    def start(self, engine: Applier, ready: list[_Pending]) -> None:
        task = asyncio.create_task(in_halves(engine, [r.payload for r in ready],
                                             [r.info for r in ready]), name="alarms-batch")
        self.running.append((task, {r.order for r in ready}))


async def _take(sub: Subscription, room: int, block: bool) -> list[Event]:
    """Up to ``room`` events: what is queued, after waiting for the first when ``block``."""
    events: list[Event] = [await sub.get()] if block else []
    while len(events) < room:
        nxt = sub.get_nowait()
        if nxt is None:
            break
        events.append(nxt)
    return events


async def consume(engine: Applier, sub: Subscription) -> None:
    """Take batches off the bus and run them, in order per account (see the module), until
    cancelled."""
    flight = _InFlight(engine.depth())
    carry: list[_Pending] = []
    try:
        while True:
            events = await _take(sub, engine.settings.batch_size - len(carry), not carry)
            flight.prune()
            if any(ev.topic != SIGNAL for ev in events):
                # cache invalidations and call results: after everything before them
                await flight.drain()
                if carry:
                    await in_halves(engine, [c.payload for c in carry], [c.info for c in carry])
                    carry = []
                await engine.handle_events(events)
                continue
            # the payloads are read, never changed: no copies
            fresh = [cast(Payload, ev.data) for ev in events if not engine.elsewhere(ev)]
            infos = await patiently(engine.outage, functools.partial(engine.resolve, fresh))
            pending = carry + [_Pending(p, i, order_key(i))
                               for p, i in zip(fresh, infos, strict=True)]
            if len(flight.running) >= flight.depth:
                await flight.first_done()
            busy = flight.busy()
            ready = [item for item in pending if item.order not in busy]
            carry = [item for item in pending if item.order in busy]
            if ready:
                flight.start(engine, ready)
            elif flight.running:
                await flight.first_done()
    except asyncio.CancelledError:
        await flight.cancel()
