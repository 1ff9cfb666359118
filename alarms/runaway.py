"""Runaway accounts: a token bucket per account on the engine's monotonic clock.

A panel may send a short burst (an alarm, its restore, a cancel) but not a stream: each signal
takes a token, tokens come back at ``rate`` per second up to ``capacity``. The engine raises one
runaway incident when a bucket runs dry and logs the rest until an operator clears it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key; in memory, because the limit is a protection, not a record."""

    def __init__(self, capacity: float, rate: float, max_keys: int = 500_000) -> None:
        if capacity < 1 or rate < 0:
            raise ValueError("capacity must be at least 1 and rate not negative")
        self.capacity = capacity
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: dict[object, Bucket] = {}

    def take(self, key: object, now: float) -> bool:
        """Take one token at monotonic time ``now``; False when the bucket is empty."""
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            b = self._buckets[key] = Bucket(self.capacity, now)
        else:
            b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.rate)
            b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return True
        return False

    def refund(self, key: object) -> None:
        """Give back a token taken for work that was undone (a batch rolled back)."""
        b = self._buckets.get(key)
        if b is not None:
            b.tokens = min(self.capacity, b.tokens + 1)

    def reset(self, key: object) -> None:
        self._buckets.pop(key, None)

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled; they are the same as new ones."""
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.at) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]
