"""Receiver configuration: settings (``VIGIL_RX_*``) merged with what admins keep in the database.

Where the DC-09 listener runs comes from core's ``dc09_host`` / ``dc09_port``; everything
receiver-specific is here. Keys come from two places: ``VIGIL_RX_DC09_KEYS`` (a JSON map of
account -> ``"hex:<32/48/64 hex digits>"`` or ``"text:<16/24/32 characters>"``, account ``*``
for the default key) and the admin API (table ``receiver_dc09_keys``); the database wins.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from receivers.dc09 import Dc09Config, Dc09Key
from receivers.models import Dc09KeyRecord, ReceiverEndpoint
from receivers.source_guard import GuardLimits

DEFAULT_ACCOUNT = "*"


class SerialLine(BaseModel):
    """A serial receiver line: a device path (or pty), a TCP port we listen on, or a
    receiver's automation port we connect to (System 5: 1025)."""

    name: str
    format: Literal["surgard", "ademco685"] = "surgard"
    transport: Literal["serial", "tcp", "connect"] = "serial"
    device: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    baudrate: int = 19200
    heartbeat_timeout: float | None = Field(
        90.0, description="Seconds without a heartbeat before a line trouble is raised.")


class ReceiverSettings(BaseSettings):
    """Settings of the receivers (``VIGIL_RX_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_RX_", env_file=".env", extra="ignore")

    dc09_name: str = Field("dc09", description="Receiver name the DC-09 listener's signals carry.")
    dc09_tcp: bool = Field(True, description="Listen for DC-09 over TCP.")
    dc09_udp: bool = Field(True, description="Listen for DC-09 over UDP.")
    dc09_keys: dict[str, str] = Field(
        default_factory=dict, description='account -> "hex:..." or "text:..."; "*" = default.')
    dc09_check_timestamp: bool = Field(
        True, description="NAK messages whose timestamp is outside the window.")
    dc09_window_ahead_s: float = Field(
        20.0, description="Seconds a panel clock may be ahead of ours.")
    dc09_window_behind_s: float = Field(
        40.0, description="Seconds a panel clock may be behind ours.")
    dc09_allow_relayed_accounts: bool = Field(
        False, description="Take messages whose header account differs from the data block's "
        "(a relay forwarding other panels); the data account's key rule then applies. Off: "
        "such a message is refused (DUH).")
    dc09_require_encryption: bool = Field(
        False, description="Every account must encrypt (plain messages get DUH); keyed "
        "accounts always must.")
    dc09_require_timestamp: bool = Field(
        False, description="Every message must carry a timestamp, so each is window-checked "
        "(NAK otherwise); keyed accounts always must.")
    dc09_timestamp_accounts: list[str] = Field(
        default_factory=list, description="Accounts that must send a timestamp even in plain "
        "text (JSON list).")
    dc09_max_connections: int = Field(
        4096, ge=1, description="Open DC-09 TCP connections at most; more are closed at once.")
    dc09_max_connections_per_source: int = Field(
        64, ge=1, description="Open DC-09 TCP connections from one address at most (raise it "
        "when many panels share a carrier's NAT address).")
    dc09_rejection_burst: int = Field(
        20, ge=1, description="Rejections (NAK/DUH) answered and logged for one address at "
        "once; past it they go unanswered and are summed up in one log line a minute.")
    dc09_rejections_per_second: float = Field(
        1.0, gt=0, description="Rate at which an address regains that budget.")
    dc09_idle_timeout_s: float = Field(
        300.0, description="Close a silent DC-09 TCP connection after this long.")
    duplicate_window_s: float = Field(
        1800.0, description="A repeated sequence within this many seconds is a retransmission.")
    group_commit_ms: float = Field(
        0.0, description="Extra wait for more signals before a commit (0: take what arrived "
                         "while the previous commit ran).")
    max_batch: int = Field(2000, ge=1, description="Signals per journal transaction at most.")
    serial_lines: list[SerialLine] = Field(
        default_factory=list, description="Serial or System-5 TCP receiver lines (JSON list: "
        "format, transport, device or host/port, baudrate, heartbeat_timeout).")
    alarmreceiver_spool: str | None = Field(
        None, description="Asterisk AlarmReceiver eventspooldir to watch (files move to done/).")
    demo_panels: int = Field(20, description="Simulated panels in `vigil demo`.")
    demo_rate: float = Field(0.2, description="Signals per second from the demo panels.")


@lru_cache(maxsize=1)
def get_receiver_settings() -> ReceiverSettings:
    return ReceiverSettings()


def parse_key(spec: str) -> Dc09Key:
    """``hex:00112233...`` or ``text:ABCDEFGHIJKLMNOP`` -> key; the kind is always explicit."""
    kind, sep, value = spec.partition(":")
    if not sep or kind not in ("hex", "text"):
        raise ValueError('a key is written "hex:<digits>" or "text:<characters>"')
    return Dc09Key(kind, value)  # type: ignore[arg-type]


def fingerprint(key: Dc09Key) -> str:
    """A short, non-reversible identification of a key, for showing instead of the key."""
    return hashlib.sha256(key.key_bytes).hexdigest()[:12]


def key_public(rec: Dc09KeyRecord) -> dict[str, object]:
    """A key as the API shows it: never the key itself."""
    key = Dc09Key(rec.kind, rec.value)  # type: ignore[arg-type]
    return {
        "id": rec.id, "receiver": rec.receiver, "account": rec.account, "kind": rec.kind,
        "bits": len(key.key_bytes) * 8, "fingerprint": fingerprint(key), "note": rec.note,
        "created_at": rec.created_at.isoformat(), "updated_at": rec.updated_at.isoformat(),
        "archived": rec.archived_at is not None,
    }


def endpoint_public(rec: ReceiverEndpoint) -> dict[str, object]:
    return {
        "id": rec.id, "name": rec.name, "kind": rec.kind, "transport": rec.transport,
        "host": rec.host, "port": rec.port, "device": rec.device,
        "heartbeat_timeout": rec.heartbeat_timeout, "options": dict(rec.options or {}),
        "enabled": rec.enabled, "archived": rec.archived_at is not None, "source": "database",
    }


async def stored_keys(session: AsyncSession, receiver: str) -> dict[str, Dc09Key]:
    """Live keys of ``receiver`` from the database (receiver-specific ones win)."""
    recs = (await session.execute(
        select(Dc09KeyRecord).where(
            Dc09KeyRecord.archived_at.is_(None),
            or_(Dc09KeyRecord.receiver == "", Dc09KeyRecord.receiver == receiver),
        ).order_by(Dc09KeyRecord.receiver, Dc09KeyRecord.id)
    )).scalars()
    keys: dict[str, Dc09Key] = {}
    for rec in recs:  # "" sorts first, so a receiver's own key overrides a general one
        keys[rec.account] = Dc09Key(rec.kind, rec.value)  # type: ignore[arg-type]
    return keys


# A database endpoint's ``options`` may set these per receiver (JSON booleans / a list).
ENDPOINT_OPTIONS = ("require_encryption", "require_timestamp", "timestamp_accounts",
                    "allow_relayed_accounts", "check_timestamp")


def dc09_config(
    rx: ReceiverSettings, receiver: str, db_keys: dict[str, Dc09Key] | None = None,
    options: dict[str, Any] | None = None,
) -> Dc09Config:
    """The DC-09 receiver's configuration from settings and the database's keys; a database
    endpoint's ``options`` override the settings' rules for that receiver."""
    keys = {acct: parse_key(spec) for acct, spec in rx.dc09_keys.items()}
    keys.update(db_keys or {})
    default = keys.pop(DEFAULT_ACCOUNT, None)
    rules: dict[str, Any] = {
        "check_timestamp": rx.dc09_check_timestamp,
        "require_encryption": rx.dc09_require_encryption,
        "require_timestamp": rx.dc09_require_timestamp,
        "timestamp_accounts": rx.dc09_timestamp_accounts,
        "allow_relayed_accounts": rx.dc09_allow_relayed_accounts,
    }
    rules.update({k: v for k, v in (options or {}).items() if k in ENDPOINT_OPTIONS})
    return Dc09Config(
        receiver=receiver,
        keys=keys,
        default_key=default,
        window_ahead=timedelta(seconds=rx.dc09_window_ahead_s),
        window_behind=timedelta(seconds=rx.dc09_window_behind_s),
        check_timestamp=bool(rules["check_timestamp"]),
        require_encryption=bool(rules["require_encryption"]),
        require_timestamp=bool(rules["require_timestamp"]),
        timestamp_accounts=frozenset(str(a).upper() for a in rules["timestamp_accounts"]),
        allow_relayed_accounts=bool(rules["allow_relayed_accounts"]),
    )


def guard_limits(rx: ReceiverSettings) -> GuardLimits:
    return GuardLimits(total=rx.dc09_max_connections,
                       per_source=rx.dc09_max_connections_per_source,
                       per_second=rx.dc09_rejections_per_second, burst=rx.dc09_rejection_burst)
