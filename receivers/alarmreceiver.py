"""Asterisk ``app_alarmreceiver`` event files (Contact ID received as DTMF on a phone line).

AlarmReceiver writes one file per call into its ``eventspooldir`` and hands the same file to
``eventcmd``: a ``[metadata]`` section (PROTOCOL, CHECKSUM, CALLINGFROM, CALLERNAME, TIMESTAMP)
and an ``[events]`` section with one 16-digit Contact ID string per line. Asterisk itself drops
strings with a bad checksum, so an ``[events]`` section may be empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from receivers import contact_id
from receivers.signal import Signal

log = logging.getLogger(__name__)

SUPPORTED_PROTOCOLS = ("ADEMCO_CONTACT_ID",)


@dataclass(frozen=True)
class AlarmReceiverFile:
    """The decoded file: its metadata, the signals, and lines refused with their reasons."""

    metadata: dict[str, str]
    signals: tuple[Signal, ...]
    rejected: tuple[tuple[str, str], ...] = field(default=())


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), [])
        elif current is not None:
            current.append(line)
    return sections


def _file_time(value: str | None) -> datetime | None:
    """``2026-11-21 22:41:42 UTC`` -> aware datetime (AlarmReceiver writes UTC)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse(data: bytes, now: datetime, receiver: str = "alarmreceiver") -> AlarmReceiverFile:
    """Decode an event file's bytes; never raises. ``now`` is used when the file has no
    usable TIMESTAMP."""
    try:
        return _parse(data, now, receiver)
    except Exception as exc:  # noqa: BLE001 - a codec must answer whatever it gets
        log.exception("alarmreceiver %s: internal error", receiver)
        return AlarmReceiverFile({}, (), (("", f"internal error: {exc!r}"),))


def _parse(data: bytes, now: datetime, receiver: str) -> AlarmReceiverFile:
    text = data.decode("utf-8", errors="replace")
    sections = _sections(text)
    metadata: dict[str, str] = {}
    for line in sections.get("metadata", []):
        key, sep, value = line.partition("=")
        if sep:
            metadata[key.strip().upper()] = value.strip()
    rejected: list[tuple[str, str]] = []
    if "events" not in sections:
        reason = "no [events] section"
        log.warning("alarmreceiver %s: rejected file: %s", receiver, reason)
        return AlarmReceiverFile(metadata, (), (("", reason),))
    protocol = metadata.get("PROTOCOL", "ADEMCO_CONTACT_ID")
    if protocol not in SUPPORTED_PROTOCOLS:
        reason = f"unsupported protocol {protocol!r}"
        log.warning("alarmreceiver %s: rejected file: %s", receiver, reason)
        lines = sections["events"] or [""]
        return AlarmReceiverFile(metadata, (), tuple((ln, reason) for ln in lines))
    file_time = _file_time(metadata.get("TIMESTAMP"))
    received_at = file_time or now
    extra = {
        k: v
        for k, v in (
            ("calling_from", metadata.get("CALLINGFROM", "")),
            ("caller_name", metadata.get("CALLERNAME", "")),
        )
        if v
    }
    signals: list[Signal] = []
    stamp = received_at.strftime("%Y%m%d%H%M%S")
    for index, line in enumerate(sections["events"], start=1):
        try:
            msg = contact_id.parse(line)
        except contact_id.ContactIdError as exc:
            log.warning("alarmreceiver %s: rejected %r: %s", receiver, line, exc)
            rejected.append((line, str(exc)))
            continue
        signals.append(
            contact_id.to_signal(
                msg,
                received_at=received_at,
                receiver=receiver,
                line="",
                protocol="alarmreceiver",
                raw=line.encode("ascii", errors="replace"),
                # One call's file has no sequence numbers: time of the call + position.
                sequence=f"{stamp}-{index}",
                extra=extra,
            )
        )
    return AlarmReceiverFile(metadata, tuple(signals), tuple(rejected))


def read_file(path: Path, now: datetime, receiver: str = "alarmreceiver") -> AlarmReceiverFile:
    """Read and decode one event file (the ``eventcmd`` / ingest entry point)."""
    return parse(path.read_bytes(), now, receiver)
