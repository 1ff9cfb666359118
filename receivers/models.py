"""Tables of the receivers package: the signal journal, DC-09 keys and receiver endpoints.

Other packages never read these tables; they get signals from the ``signal.received`` bus event,
the API and :func:`receivers.journal.journaled` (the alarm engine's catch-up at start). The
journal is append-only: a signal is never updated or deleted by Vigil.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import ArchivableMixin, Base

# BIGINT on PostgreSQL (10 million signals a year and more); SQLite only auto-increments INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class SignalRecord(Base):
    """One stored signal: every field of :class:`receivers.signal.Signal`, as received."""

    __tablename__ = "receiver_signals"
    __table_args__ = (
        # Duplicate detection after a restart: same key within the window.
        Index(
            "ix_receiver_signals_dedup",
            "protocol", "receiver", "line", "account", "sequence", "received_at",
        ),
        # An account's recent signals (console, IVR "last events").
        Index("ix_receiver_signals_account_time", "account", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    receiver: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(32))
    protocol: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(32))
    event_code: Mapped[str] = mapped_column(String(8))
    event_system: Mapped[str] = mapped_column(String(4))
    qualifier: Mapped[str] = mapped_column(String(8))
    event_class: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(SmallInteger)
    partition: Mapped[str | None] = mapped_column(String(16), default=None)
    zone: Mapped[str | None] = mapped_column(String(16), default=None)
    user: Mapped[str | None] = mapped_column(String(16), default=None)
    panel_time: Mapped[datetime | None] = mapped_column(default=None)
    sequence: Mapped[str | None] = mapped_column(String(40), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    # None: not checked (no subscriber directory configured); True: no such account in crm.
    unknown_account: Mapped[bool | None] = mapped_column(Boolean, default=None)


class Dc09KeyRecord(ArchivableMixin, Base):
    """An AES key a panel account uses; ``receiver`` empty = valid on every DC-09 receiver."""

    __tablename__ = "receiver_dc09_keys"
    __table_args__ = (Index("ix_receiver_dc09_keys_account", "receiver", "account"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receiver: Mapped[str] = mapped_column(String(64), default="")
    account: Mapped[str] = mapped_column(String(32))  # "*" = the receiver's default key
    kind: Mapped[str] = mapped_column(String(8))  # "hex" or "text"
    value: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReceiverEndpoint(ArchivableMixin, Base):
    """A configured receiver: DC-09 listener or serial receiver line (device, TCP)."""

    __tablename__ = "receiver_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # dc09 | surgard | ademco685
    transport: Mapped[str] = mapped_column(String(16))  # tcp | udp | tcp+udp | serial | connect
    host: Mapped[str | None] = mapped_column(String(128), default=None)
    port: Mapped[int | None] = mapped_column(default=None)
    device: Mapped[str | None] = mapped_column(String(200), default=None)
    heartbeat_timeout: Mapped[float | None] = mapped_column(default=None)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
