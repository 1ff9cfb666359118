"""Where transports put signals: anything with ``store`` (the signal journal in production).

Transports acknowledge a message only after ``store`` has returned for its signals, so an ACKed
signal is never lost; if ``store`` raises, nothing is acknowledged and the sender retries.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from receivers.signal import Signal


class SignalSink(Protocol):
    """Durable destination for signals."""

    async def store(self, signals: list[Signal]) -> list[bool]:
        """Commit ``signals``; per signal True once stored, False if it was a duplicate of one
        already stored (the sender still gets its ACK)."""
        ...


def duplicate_key(signal: Signal) -> Hashable | None:
    """Identity of a signal for duplicate detection, or None when it carries no sequence."""
    if signal.sequence is None:
        return None
    return (signal.protocol, signal.receiver, signal.line, signal.account, signal.sequence)


class MemorySink:
    """In-memory sink for tests, simulators and the bare parse-and-ACK benchmark.

    Duplicates are recognised by :func:`duplicate_key` (no time window: it is not a journal).
    """

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self._seen: set[Hashable] = set()
        self.calls = 0

    async def store(self, signals: list[Signal]) -> list[bool]:
        self.calls += 1
        results = []
        for sig in signals:
            key = duplicate_key(sig)
            if key is not None and key in self._seen:
                results.append(False)
                continue
            if key is not None:
                self._seen.add(key)
            self.signals.append(sig)
            results.append(True)
        return results
