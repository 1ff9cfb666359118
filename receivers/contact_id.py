"""Contact ID (SIA DC-05): the 16-digit ``ACCT MT Q EEE GG ZZZ S`` form and its checksum.

Digit values: ``1``-``9`` are themselves, ``0`` counts as 10 and ``B``-``F`` as 11-15. The
checksum digit makes the sum of all 16 values a multiple of 15; a check value of 10 is written
``0`` and 15 ``F``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from core import event_codes
from receivers.signal import Signal

QUALIFIERS: Final[dict[str, str]] = {"1": "new", "3": "restore", "6": "status"}
QUALIFIER_DIGITS: Final[dict[str, str]] = {v: k for k, v in QUALIFIERS.items()}
MESSAGE_TYPES: Final = ("18", "98")
_VALUES: Final[dict[str, int]] = {
    **{str(d): d for d in range(1, 10)},
    "0": 10,
    "B": 11,
    "C": 12,
    "D": 13,
    "E": 14,
    "F": 15,
}
_DIGIT_FOR_VALUE: Final[dict[int, str]] = {v: k for k, v in _VALUES.items()}


class ContactIdError(ValueError):
    """A string that is not a valid Contact ID message."""


class ContactIdFormatError(ContactIdError):
    """Wrong length, an invalid digit, message type or qualifier."""


class ContactIdChecksumError(ContactIdError):
    """All fields look right but the checksum digit does not match."""


@dataclass(frozen=True, slots=True)
class ContactIdMessage:
    """One decoded Contact ID message."""

    account: str
    message_type: str
    qualifier: str  # "new" | "restore" | "status"
    event_code: str
    group: str  # partition
    number: str  # zone or user, as the code table says

    @property
    def concerns(self) -> str:
        """``zone`` or ``user``: what ``number`` means for this event code."""
        return event_codes.contact_id(self.event_code).concerns


def digit_value(ch: str) -> int:
    """Checksum value of one Contact ID digit."""
    try:
        return _VALUES[ch]
    except KeyError:
        raise ContactIdFormatError(f"invalid Contact ID digit {ch!r}") from None


def checksum_digit(first15: str) -> str:
    """The 16th digit that completes ``first15`` to a multiple of 15."""
    if len(first15) != 15:
        raise ContactIdFormatError(f"need 15 digits, got {len(first15)}")
    total = sum(digit_value(c) for c in first15.upper())
    return _DIGIT_FOR_VALUE[15 - total % 15]


def parse(text: str) -> ContactIdMessage:
    """Decode a 16-digit Contact ID string; raises a :class:`ContactIdError` subclass."""
    s = text.strip().upper()
    if len(s) != 16:
        raise ContactIdFormatError(f"Contact ID must be 16 digits, got {len(s)}")
    for ch in s:
        digit_value(ch)
    if s[4:6] not in MESSAGE_TYPES:
        raise ContactIdFormatError(f"unknown message type {s[4:6]!r}")
    if s[6] not in QUALIFIERS:
        raise ContactIdFormatError(f"unknown qualifier {s[6]!r}")
    if not s[7:15].isdigit():
        raise ContactIdFormatError("event code, group and zone must be decimal digits")
    total = sum(digit_value(c) for c in s)
    if total % 15:
        raise ContactIdChecksumError(f"checksum mismatch in {s!r} (sum {total})")
    return ContactIdMessage(
        account=s[0:4],
        message_type=s[4:6],
        qualifier=QUALIFIERS[s[6]],
        event_code=s[7:10],
        group=s[10:12],
        number=s[12:15],
    )


def build(
    account: str,
    qualifier: str,
    event_code: str,
    group: str = "00",
    number: str = "000",
    message_type: str = "18",
) -> str:
    """Encode a Contact ID message with its checksum digit (for simulators and tests)."""
    q = QUALIFIER_DIGITS.get(qualifier, qualifier)
    body = f"{account.upper():>04}{message_type}{q}{event_code:>03}{group:>02}{number:>03}"
    digit = checksum_digit(body)
    parse(body + digit)  # validate every field the same way a receiver would
    return body + digit


def signal_fields(event_code: str, number: str) -> dict[str, str | None]:
    """``zone`` / ``user`` keyword arguments for a Signal from the ZZZ field."""
    if event_codes.contact_id(event_code).concerns == "user":
        return {"zone": None, "user": number}
    return {"zone": number, "user": None}


def to_signal(
    msg: ContactIdMessage,
    *,
    received_at: datetime,
    receiver: str,
    line: str,
    protocol: str,
    raw: bytes,
    panel_time: datetime | None = None,
    sequence: str | None = None,
    extra: dict[str, str] | None = None,
) -> Signal:
    """A :class:`Signal` for a decoded message."""
    return Signal(
        received_at=received_at,
        receiver=receiver,
        line=line,
        protocol=protocol,
        account=msg.account,
        event_code=msg.event_code,
        event_system="cid",
        qualifier=msg.qualifier,
        partition=msg.group,
        panel_time=panel_time,
        sequence=sequence,
        extra=dict(extra or {}),
        raw=raw,
        **signal_fields(msg.event_code, msg.number),
    )
