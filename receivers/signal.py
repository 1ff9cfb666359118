"""The ``Signal``: one decoded event from a receiver, the same shape for every protocol."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from core import event_codes

Protocol = Literal["dc09", "surgard", "ademco685", "alarmreceiver"]
EventSystem = Literal["cid", "sia"]

PROTOCOLS: Final = ("dc09", "surgard", "ademco685", "alarmreceiver")
QUALIFIERS: Final = ("new", "restore", "status")


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal as received, classified once, here, from the event-code table
    (:mod:`core.event_codes`): class and priority, the alarm engine's kind and desk, whether
    it is a restore; every consumer reads these from the signal.

    ``receiver`` names the Vigil receiver endpoint that took the signal (configured name);
    ``line`` is the receiver/line designation the protocol itself carries (e.g. ``R01L1``).
    """

    received_at: datetime
    receiver: str
    line: str
    protocol: str
    account: str
    event_code: str
    event_system: str
    qualifier: str
    partition: str | None = None
    zone: str | None = None
    user: str | None = None
    panel_time: datetime | None = None
    sequence: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""
    event_class: str = field(init=False)
    priority: int = field(init=False)
    kind: str = field(init=False)
    desk: str = field(init=False)
    restore: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        if self.panel_time is not None and self.panel_time.tzinfo is None:
            raise ValueError("panel_time must be timezone-aware")
        if self.event_system not in ("cid", "sia"):
            raise ValueError(f"unknown event system {self.event_system!r}")
        if self.qualifier not in QUALIFIERS:
            raise ValueError(f"unknown qualifier {self.qualifier!r}")
        object.__setattr__(self, "received_at", self.received_at.astimezone(UTC))
        c = event_codes.classify(self.event_system, self.event_code, self.qualifier)
        for name in ("event_class", "priority", "kind", "desk", "restore"):
            object.__setattr__(self, name, getattr(c, name))

    @property
    def name_en(self) -> str:
        """Console name of the event code (English)."""
        return event_codes.lookup(self.event_system, self.event_code).en

    @property
    def name_zh(self) -> str:
        """Console name of the event code (zh-CN)."""
        return event_codes.lookup(self.event_system, self.event_code).zh

    @property
    def arming(self) -> Literal["open", "close"] | None:
        """``open`` (disarmed) / ``close`` (armed) for opening and closing reports."""
        return event_codes.arming(self.event_system, self.event_code, self.qualifier)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for bus payloads (datetimes ISO 8601, raw bytes base64)."""
        return {
            "received_at": self.received_at.isoformat(),
            "receiver": self.receiver,
            "line": self.line,
            "protocol": self.protocol,
            "account": self.account,
            "event_code": self.event_code,
            "event_system": self.event_system,
            "qualifier": self.qualifier,
            "partition": self.partition,
            "zone": self.zone,
            "user": self.user,
            "panel_time": self.panel_time.isoformat() if self.panel_time else None,
            "sequence": self.sequence,
            "extra": dict(self.extra),
            "raw": base64.b64encode(self.raw).decode("ascii"),
            "event_class": self.event_class,
            "priority": self.priority,
            "kind": self.kind,
            "desk": self.desk,
            "restore": self.restore,
            "arming": self.arming,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        """Inverse of :meth:`to_dict`; the classification is derived again, not trusted."""
        panel_time = data.get("panel_time")
        return cls(
            received_at=datetime.fromisoformat(data["received_at"]),
            receiver=data["receiver"],
            line=data["line"],
            protocol=data["protocol"],
            account=data["account"],
            event_code=data["event_code"],
            event_system=data["event_system"],
            qualifier=data["qualifier"],
            partition=data.get("partition"),
            zone=data.get("zone"),
            user=data.get("user"),
            panel_time=datetime.fromisoformat(panel_time) if panel_time else None,
            sequence=data.get("sequence"),
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
            raw=base64.b64decode(data.get("raw") or ""),
        )
