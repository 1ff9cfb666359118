"""What every codec returns: accepted signals with the reply to send, or a rejection."""

from __future__ import annotations

from dataclasses import dataclass

from receivers.signal import Signal


@dataclass(frozen=True, slots=True)
class Accepted:
    """A well-formed message.

    ``reply`` is sent only after the signals are durably stored. ``link_test`` is true for
    heartbeats and DC-09 NULL messages, which carry no signal but must be acknowledged.
    """

    signals: tuple[Signal, ...]
    reply: bytes
    link_test: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that cannot be taken: ``reply`` (NAK / DUH / serial NAK) tells the sender.
    ``malformed``: not even a frame (no valid envelope), so nothing proves a panel sent it."""

    reason: str
    reply: bytes
    malformed: bool = False


Outcome = Accepted | Rejected
