"""Ademco 685 receiver emulation: ``<LF>RL AAAA 18 QXYZ GG UCCC<CR>``.

``R`` receiver, ``L`` line, ``Q`` qualifier (``E``/``1`` new, ``R``/``3`` restore, ``P``/``6``
still present), ``XYZ`` Contact ID event code, ``GG`` group, ``U`` ``C`` for a zone or ``U`` for
a user and ``CCC`` its number. Heartbeat: ``<LF>RL OKAY @ <CR>``. Replies ACK 0x06 / NAK 0x15.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Final

from receivers import contact_id
from receivers.outcome import Accepted, Outcome, Rejected
from receivers.serial_lines import ACK, NAK, split_lines
from receivers.signal import Signal

log = logging.getLogger(__name__)

_EVENT = re.compile(
    r"(?P<r>[0-9A-F])(?P<l>[0-9A-F]) +(?P<acct>[0-9A-F]{3,10}) +18 +"
    r"(?P<q>[ERP136])(?P<code>[0-9A-F]{3}) +(?P<gg>[0-9A-F]{2}) +"
    r"(?P<u>[CU])(?P<ccc>[0-9A-F]{3}) *\Z"
)
_HEARTBEAT = re.compile(r"(?P<r>[0-9A-F])(?P<l>[0-9A-F]) +OKAY +@ *\Z")
QUALIFIERS: Final = {
    "E": "new",
    "1": "new",
    "R": "restore",
    "3": "restore",
    "P": "status",
    "6": "status",
}


def split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete CR-terminated lines in a stream buffer, and the rest."""
    return split_lines(buffer, b"\r")


def parse_line(raw: bytes, now: datetime, receiver: str = "ademco685") -> Outcome:
    """Decode one line (LF/CR optional); never raises."""
    try:
        return _parse(raw, now, receiver)
    except Exception as exc:  # noqa: BLE001 - a codec must answer whatever it gets
        log.exception("ademco685 %s: internal error on %r", receiver, raw[:200])
        return Rejected(f"internal error: {exc!r}", NAK)


def _reject(receiver: str, raw: bytes, reason: str) -> Rejected:
    log.warning("ademco685 %s: rejected %r: %s", receiver, raw[:200], reason)
    return Rejected(reason, NAK)


def _parse(raw: bytes, now: datetime, receiver: str) -> Outcome:
    try:
        text = raw.strip(b"\r\n").decode("ascii")
    except UnicodeDecodeError:
        return _reject(receiver, raw, "non-ASCII bytes in line")
    if _HEARTBEAT.match(text):
        return Accepted((), ACK, link_test=True)
    m = _EVENT.match(text)
    if m is None:
        return _reject(receiver, raw, "unrecognised Ademco 685 line")
    code = m["code"]
    sig = Signal(
        received_at=now,
        receiver=receiver,
        line=f"R{m['r']}L{m['l']}",
        protocol="ademco685",
        account=m["acct"],
        event_code=code,
        event_system="cid",
        qualifier=QUALIFIERS[m["q"]],
        partition=m["gg"],
        # The line says itself whether CCC is a zone or a user; trust it over the table.
        zone=m["ccc"] if m["u"] == "C" else None,
        user=m["ccc"] if m["u"] == "U" else None,
        raw=raw,
    )
    return Accepted((sig,), ACK)


def build_line(receiver_no: str, line_no: str, msg: contact_id.ContactIdMessage) -> bytes:
    """An Ademco 685 event line (for simulators and tests)."""
    q = {"new": "E", "restore": "R", "status": "P"}[msg.qualifier]
    u = "U" if msg.concerns == "user" else "C"
    text = (
        f"\n{receiver_no}{line_no} {msg.account} 18 {q}{msg.event_code} {msg.group} "
        f"{u}{msg.number}\r"
    )
    return text.encode("ascii")
