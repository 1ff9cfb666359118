"""Time for the engine: a virtual scheduler for tests, an asyncio-backed one for the demo.

The engine never sleeps; it asks a scheduler to call it back. Virtual time makes "the phone rings
2 s" happen instantly and in a reproducible order (timers due at the same moment run in the order
they were set).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def now(self) -> float:
        """Wall time, seconds since the epoch."""
        ...

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer: ...


class _VTimer:
    __slots__ = ("when", "seq", "fn", "args", "cancelled")

    def __init__(self, when: float, seq: int, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.when, self.seq, self.fn, self.args = when, seq, fn, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: _VTimer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class VirtualScheduler:
    """Time moves only through advance()/run_until(); callbacks run synchronously in due order."""

    def __init__(self, start: float = 1_795_299_800.0) -> None:
        self._now = start
        self._heap: list[_VTimer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> _VTimer:
        t = _VTimer(self._now + max(0.0, delay), next(self._seq), fn, args)
        heapq.heappush(self._heap, t)
        return t

    def run_until(self, when: float) -> None:
        """Run every callback due up to ``when`` (absolute) and leave the clock there."""
        while self._heap and self._heap[0].when <= when:
            t = heapq.heappop(self._heap)
            if t.cancelled:
                continue
            self._now = max(self._now, t.when)
            t.fn(*t.args)
        self._now = max(self._now, when)

    def advance(self, seconds: float) -> None:
        self.run_until(self._now + seconds)

    def run_pending(self) -> None:
        """Run callbacks due now (zero-delay work) without moving the clock."""
        self.run_until(self._now)

    def next_due(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None


class AsyncioScheduler:
    """Real time on the running asyncio loop (the demo and `vigil serve` against pbxsim)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def _l(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self._l().call_later(max(0.0, delay), fn, *args)
