"""Limits per source address on a receiver port, so one sender cannot stall or abuse it.

- Connections: at most ``per_source`` open TCP connections from one address and ``total`` in
  all; beyond that a connection is closed at once (500 slow connections from one address held
  the port before).
- Rejections: each address has a budget of answered rejections (NAK/DUH and their log lines),
  ``burst`` at once and ``per_second`` after that. Past it, frames are still decoded (a good
  frame is still taken and ACKed) but a rejection gets no reply and no log line: 20,000 bare
  CRs made 20,000 NAKs and 20,000 log lines, and a 1-byte UDP datagram answered with a 47-byte
  NAK lets anyone reflect traffic at a forged address. What was held back is logged once a
  minute per address.

Time is ``time.monotonic`` unless a clock is given (tests).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TRACKED = 10_000  # addresses remembered for their budget (forged UDP sources are endless)


@dataclass(frozen=True, slots=True)
class GuardLimits:
    total: int = 4096
    per_source: int = 64
    per_second: float = 1.0
    burst: int = 20
    summary_every: float = 60.0


@dataclass(slots=True)
class _Budget:
    tokens: float
    at: float
    held_back: int = 0
    summary_at: float = 0.0


@dataclass
class SourceGuard:
    """Connection counts and rejection budgets per address."""

    limits: GuardLimits = field(default_factory=GuardLimits)
    clock: Callable[[], float] = time.monotonic
    connections: dict[str, int] = field(default_factory=dict)
    refused_connections: int = 0
    held_back: int = 0
    _budgets: OrderedDict[str, _Budget] = field(default_factory=OrderedDict)

    @property
    def open_connections(self) -> int:
        return sum(self.connections.values())

    def connect(self, source: str) -> bool:
        """Count a new connection; False when it must be closed at once."""
        if (self.open_connections >= self.limits.total
                or self.connections.get(source, 0) >= self.limits.per_source):
            self.refused_connections += 1
            return False
        self.connections[source] = self.connections.get(source, 0) + 1
        return True

    def disconnect(self, source: str) -> None:
        left = self.connections.get(source, 0) - 1
        if left > 0:
            self.connections[source] = left
        else:
            self.connections.pop(source, None)

    def _budget(self, source: str) -> _Budget:
        now = self.clock()
        budget = self._budgets.get(source)
        if budget is None:
            budget = self._budgets[source] = _Budget(float(self.limits.burst), now, 0, now)
            if len(self._budgets) > MAX_TRACKED:
                self._budgets.popitem(last=False)
        else:
            self._budgets.move_to_end(source)
            budget.tokens = min(float(self.limits.burst),
                                budget.tokens + (now - budget.at) * self.limits.per_second)
            budget.at = now
        return budget

    def may_reject(self, source: str) -> bool:
        """Whether a rejection from ``source`` may still be answered and logged now."""
        return self._budget(source).tokens >= 1.0

    def rejected(self, source: str, answered: bool) -> str | None:
        """Count a rejection (answered ones use the budget); returns a summary line to log
        when held-back rejections are due to be reported."""
        budget = self._budget(source)
        if answered:
            budget.tokens = max(0.0, budget.tokens - 1.0)
            return None
        budget.held_back += 1
        self.held_back += 1
        now = self.clock()
        if now - budget.summary_at >= self.limits.summary_every:
            count, budget.held_back, budget.summary_at = budget.held_back, 0, now
            return f"{count} rejected frame(s) from {source} not answered nor logged (over budget)"
        return None
