"""In-process publish/subscribe for typed events.

Each subscriber owns a bounded queue, so a slow console or engine never blocks a publisher or
another subscriber: when its queue is full the oldest event is dropped, counted, and the
subscriber is marked as having lost events so it can resynchronize from the source of truth.
A cross-node backend plugs in through :class:`BusBackend` without changing callers.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Event ids: unique across processes (a random prefix) and cheap (a counter), since every
# signal and incident change is an event; uuid4 per event was a measurable share of the
# alarm engine's time.
_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def _event_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened: a dotted topic (``incident.opened``) and a JSON-safe payload."""

    topic: str
    data: Mapping[str, Any]
    id: str = field(default_factory=_event_id)
    ts: float = field(default_factory=time.time)
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "data": dict(self.data), "id": self.id, "ts": self.ts,
                "origin": self.origin}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        return cls(topic=str(raw["topic"]), data=dict(raw.get("data") or {}),
                   id=str(raw.get("id") or _event_id()), ts=float(raw.get("ts") or 0.0),
                   origin=str(raw.get("origin") or ""))


class BusBackend(Protocol):
    """Carries events to other nodes; the local bus delivers what it receives."""

    async def start(self, deliver: Any) -> None: ...

    async def send(self, event: Event) -> None: ...

    async def stop(self) -> None: ...


class Subscription:
    """A subscriber's bounded queue of events matching its topic patterns."""

    _ids = itertools.count(1)

    def __init__(self, bus: Bus, patterns: tuple[str, ...], maxsize: int, name: str) -> None:
        self.id = next(self._ids)
        self.name = name or f"sub-{self.id}"
        self.patterns = patterns
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0
        self.delivered = 0
        self.closed = False

    def matches(self, topic: str) -> bool:
        return any(p == topic or fnmatch.fnmatchcase(topic, p) for p in self.patterns)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def _offer(self, event: Event) -> None:
        if self.closed:
            return
        if self._queue.full():
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:  # pragma: no cover - raced with a reader
                pass
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("bus subscriber %s is slow: %d events dropped", self.name, self.dropped)
        self._queue.put_nowait(event)
        self.delivered += 1

    async def get(self, within: float | None = None) -> Event:
        """The next event; raises TimeoutError after ``within`` seconds, or when closed."""
        item = await asyncio.wait_for(self._queue.get(), within)
        if item is None:
            raise asyncio.CancelledError("subscription closed")
        return item

    def get_nowait(self) -> Event | None:
        try:
            item = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        return item

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._remove(self)
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._queue.get_nowait()
            self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus:
    """Publish/subscribe within one process, optionally bridged to other nodes."""

    def __init__(self, queue_size: int = 10_000, node: str = "") -> None:
        self.queue_size = queue_size
        self.node = node
        self._subs: list[Subscription] = []
        self._routes: dict[str, tuple[Subscription, ...]] = {}  # topic -> its subscribers
        self._backend: BusBackend | None = None
        self.published = 0

    def subscribe(self, *patterns: str, maxsize: int | None = None, name: str = "") -> Subscription:
        """Subscribe to topics; patterns may use shell wildcards (``incident.*``, ``*``)."""
        if not patterns:
            raise ValueError("subscribe needs at least one topic pattern")
        sub = Subscription(self, tuple(patterns), maxsize or self.queue_size, name)
        self._subs.append(sub)
        self._routes.clear()
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._routes.clear()

    def publish_nowait(self, topic: str, data: Mapping[str, Any] | None = None) -> Event:
        """Deliver locally now and schedule cross-node delivery; never blocks."""
        event = Event(topic=topic, data=dict(data or {}), origin=self.node)
        self._deliver_local(event)
        if self._backend is not None:
            task = asyncio.get_running_loop().create_task(self._backend.send(event))
            task.add_done_callback(_log_task_error)
        return event

    async def publish(self, topic: str, data: Mapping[str, Any] | None = None) -> Event:
        """Deliver locally and to other nodes through the backend, if any."""
        event = Event(topic=topic, data=dict(data or {}), origin=self.node)
        self._deliver_local(event)
        if self._backend is not None:
            await self._backend.send(event)
        return event

    def _deliver_local(self, event: Event) -> None:
        self.published += 1
        subs = self._routes.get(event.topic)
        if subs is None:  # patterns are matched once per topic until subscribers change
            if len(self._routes) > 4096:
                self._routes.clear()
            subs = self._routes[event.topic] = tuple(
                s for s in self._subs if s.matches(event.topic))
        for sub in subs:
            sub._offer(event)

    def deliver_remote(self, event: Event) -> None:
        """Called by a backend for an event published on another node."""
        if event.origin and event.origin == self.node:
            return
        self._deliver_local(event)

    async def attach_backend(self, backend: BusBackend) -> None:
        self._backend = backend
        await backend.start(self.deliver_remote)

    async def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
        if self._backend is not None:
            await self._backend.stop()
            self._backend = None

    def stats(self) -> list[dict[str, Any]]:
        """Queue depth and drop counters per subscriber, for the supervisor's health view."""
        return [
            {"name": s.name, "patterns": list(s.patterns), "depth": s.depth,
             "dropped": s.dropped, "delivered": s.delivered}
            for s in self._subs
        ]


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("bus backend send failed: %s", task.exception())
