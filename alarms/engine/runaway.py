"""Runaway accounts: a token bucket per account on the engine's monotonic clock.

A panel may send a short burst (an alarm, its restore, a cancel) but not a stream: each signal
takes a token, tokens come back at ``rate`` per second up to ``capacity``. The engine raises one
runaway incident when a bucket runs dry and logs the rest until an operator clears it.
"""

from __future__ import annotations


class TokenBuckets:
    """One bucket per key; in memory, because the limit is a protection, not a record.

    A bucket is a plain ``(tokens, at)`` tuple of floats, replaced on each take: such tuples
    are not tracked by the garbage collector, so a bucket for each of 100,000 accounts does
    not lengthen its full collections (objects did, by tens of milliseconds)."""

    def __init__(self, capacity: float, rate: float, max_keys: int = 500_000) -> None:
        if capacity < 1 or rate < 0:
            raise ValueError("capacity must be at least 1 and rate not negative")
        self.capacity = capacity
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}

    def take(self, key: object, now: float) -> bool:
        """Take one token at monotonic time ``now``; False when the bucket is empty."""
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            tokens = self.capacity
        else:
            tokens = min(self.capacity, b[0] + (now - b[1]) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return True
        self._buckets[key] = (tokens, now)
        return False

    def refund(self, key: object) -> None:
        """Give back a token taken for work that was undone (a batch rolled back)."""
        b = self._buckets.get(key)
        if b is not None:
            self._buckets[key] = (min(self.capacity, b[0] + 1), b[1])

    def reset(self, key: object) -> None:
        self._buckets.pop(key, None)

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled; they are the same as new ones."""
        full = [k for k, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]
