"""A cache whose entries expire: one answer kept for ``ttl`` seconds, on a monotonic time the
caller passes in (the services' clock, so tests move time without sleeping).

An entry is a plain ``(value, expires)`` tuple: for values that are themselves tuples of
numbers and strings the garbage collector stops tracking them (see :mod:`core.heap`), which
matters for caches of 100,000 accounts. A miss is told apart from a cached ``None`` (an
account that does not exist is worth remembering too). With ``size`` the cache keeps at most
that many entries and drops the least recently stored first.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    __slots__ = ("ttl", "size", "_data")

    def __init__(self, ttl: float, size: int | None = None) -> None:
        if ttl < 0 or (size is not None and size < 1):
            raise ValueError("ttl must not be negative and size at least 1")
        self.ttl = ttl
        self.size = size
        self._data: dict[K, tuple[V, float]] = {}

    def get(self, key: K, now: float) -> tuple[bool, V | None]:
        """(whether ``key`` is cached and fresh at ``now``, its value)."""
        hit = self._data.get(key)
        if hit is None or hit[1] < now:
            return False, None
        return True, hit[0]

    def value(self, key: K, now: float) -> V | None:
        """The fresh value of ``key``, else None."""
        return self.get(key, now)[1]

    def put(self, key: K, value: V, now: float) -> None:
        if self.size is not None:
            self._data.pop(key, None)  # stored again: the most recent
        self._data[key] = (value, now + self.ttl)
        if self.size is not None:
            while len(self._data) > self.size:
                del self._data[next(iter(self._data))]

    def drop(self, key: K) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def values(self, now: float | None = None) -> Iterator[V]:
        """The cached values (only those fresh at ``now`` when it is given)."""
        for value, expires in list(self._data.values()):
            if now is None or expires >= now:
                yield value

    def entries(self) -> list[tuple[V, float]]:
        """The stored ``(value, expires)`` tuples, as kept (for memory checks)."""
        return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)
