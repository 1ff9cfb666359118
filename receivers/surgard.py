"""Sur-Gard MLR2 / SG-System 5 automation output ("DC-07 family"), one line per signal.

Lines end with DC4 (0x14); the automation answers ACK (0x06) once the signal is stored and NAK
(0x15) for a garbled line, which makes the receiver send it again.

- Contact ID: ``5RRL 18AAAAQEEEGGZZZ`` (Q: ``E`` new, ``R`` restore, ``P`` previous/still present)
- SIA:        ``3RRL    AAAAAAXXYYYY`` (account right-aligned in 6, SIA code, zone/user)
- heartbeat:  ``1RRL           @    ``
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Final

from core import event_codes
from receivers import contact_id
from receivers.outcome import Accepted, Outcome, Rejected
from receivers.serial_lines import ACK, DC4, NAK, split_lines
from receivers.signal import Signal

log = logging.getLogger(__name__)

_CID = re.compile(
    r"5(?P<rr>[0-9A-F]{2})(?P<l>[0-9A-F]) 18(?P<acct>[0-9A-F]{4,10})(?P<q>[ERP])"
    r"(?P<code>[0-9A-F]{3})(?P<gg>[0-9A-F]{2})(?P<zzz>[0-9A-F]{3})\Z"
)
_SIA = re.compile(
    r"3(?P<rr>[0-9A-F]{2})(?P<l>[0-9A-F]) +(?P<acct>[0-9A-F]{3,10})"
    r"(?P<code>[A-Z]{2})(?P<num>[0-9A-F]{4}) *\Z"
)
_HEARTBEAT = re.compile(r"1(?P<rr>[0-9A-F]{2})(?P<l>[0-9A-F]) +@ *\Z")
QUALIFIERS: Final = {"E": "new", "R": "restore", "P": "status"}


def split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete DC4-terminated lines in a stream buffer, and the rest."""
    return split_lines(buffer, DC4)


def parse_line(raw: bytes, now: datetime, receiver: str = "surgard") -> Outcome:
    """Decode one line (with or without its DC4); never raises."""
    try:
        return _parse(raw, now, receiver)
    except Exception as exc:  # noqa: BLE001 - a codec must answer whatever it gets
        log.exception("surgard %s: internal error on %r", receiver, raw[:200])
        return Rejected(f"internal error: {exc!r}", NAK)


def _reject(receiver: str, raw: bytes, reason: str) -> Rejected:
    log.warning("surgard %s: rejected %r: %s", receiver, raw[:200], reason)
    return Rejected(reason, NAK)


def _parse(raw: bytes, now: datetime, receiver: str) -> Outcome:
    body = raw.rstrip(DC4).strip(b"\r\n")
    if not raw.endswith(DC4) and raw != body:
        return _reject(receiver, raw, "line not terminated by DC4")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return _reject(receiver, raw, "non-ASCII bytes in line")
    if m := _HEARTBEAT.match(text):
        return Accepted((), ACK, link_test=True)
    if m := _CID.match(text):
        msg = contact_id.ContactIdMessage(
            account=m["acct"],
            message_type="18",
            qualifier=QUALIFIERS[m["q"]],
            event_code=m["code"],
            group=m["gg"],
            number=m["zzz"],
        )
        sig = contact_id.to_signal(
            msg,
            received_at=now,
            receiver=receiver,
            line=f"R{m['rr']}L{m['l']}",
            protocol="surgard",
            raw=raw,
        )
        return Accepted((sig,), ACK)
    if m := _SIA.match(text):
        code = m["code"]
        number = m["num"] or None
        concerns = event_codes.sia(code).concerns
        extra = {"number": number} if number and concerns == "none" else {}
        sig = Signal(
            received_at=now,
            receiver=receiver,
            line=f"R{m['rr']}L{m['l']}",
            protocol="surgard",
            account=m["acct"],
            event_code=code,
            event_system="sia",
            qualifier=event_codes.sia_qualifier(code),
            zone=number if concerns == "zone" else None,
            user=number if concerns == "user" else None,
            extra=extra,
            raw=raw,
        )
        return Accepted((sig,), ACK)
    return _reject(receiver, raw, "unrecognised Sur-Gard line")


def build_contact_id_line(
    receiver_no: str, line_no: str, msg: contact_id.ContactIdMessage
) -> bytes:
    """A Sur-Gard Contact ID line (for the receiver simulator and tests)."""
    q = {v: k for k, v in QUALIFIERS.items()}[msg.qualifier]
    text = f"5{receiver_no}{line_no} 18{msg.account}{q}{msg.event_code}{msg.group}{msg.number}"
    return text.encode("ascii") + DC4


def build_heartbeat(receiver_no: str, line_no: str) -> bytes:
    """The Sur-Gard heartbeat line: ``1RRL``, 11 spaces, ``@``, 4 spaces, DC4."""
    return f"1{receiver_no}{line_no}{' ' * 11}@{' ' * 4}".encode("ascii") + DC4
