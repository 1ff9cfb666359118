"""Receiver-line supervision: a missing heartbeat becomes a trouble signal, its return a restore.

The receiver (or serial line) itself is what is supervised, so the signals carry SIA ``YD``
(receiver line trouble) and ``YE`` (restored), with the receiver's name as account unless one is
configured. Time comes from the injected clock, so tests advance a FakeClock instead of sleeping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core.clock import Clock
from receivers.signal import Signal
from receivers.sink import SignalSink

log = logging.getLogger(__name__)

TROUBLE_CODE = "YD"
RESTORE_CODE = "YE"


@dataclass
class LineState:
    """Pure state of one supervised line (monotonic seconds)."""

    timeout: float
    last_seen: float
    in_trouble: bool = False

    def seen(self, mono: float) -> bool:
        """Record life; True when this ends a trouble (a restore is due)."""
        self.last_seen = mono
        return self.in_trouble

    def overdue(self, mono: float) -> bool:
        """True when the heartbeat is late and no trouble has been raised yet."""
        return not self.in_trouble and mono - self.last_seen > self.timeout


class HeartbeatSupervisor:
    """Watches one receiver line; call :meth:`beat` on every heartbeat or signal."""

    def __init__(
        self,
        receiver: str,
        protocol: str,
        sink: SignalSink,
        clock: Clock,
        timeout: float,
        *,
        line: str = "",
        account: str | None = None,
        check_interval: float | None = None,
    ) -> None:
        self.receiver = receiver
        self.protocol = protocol
        self.line = line
        self.account = account or receiver
        self.sink = sink
        self.clock = clock
        self.check_interval = check_interval or max(timeout / 4, 1.0)
        self.state = LineState(timeout=timeout, last_seen=clock.monotonic())

    @property
    def in_trouble(self) -> bool:
        return self.state.in_trouble

    def _signal(self, code: str, qualifier: str, now: datetime) -> Signal:
        return Signal(
            received_at=now,
            receiver=self.receiver,
            line=self.line,
            protocol=self.protocol,
            account=self.account,
            event_code=code,
            event_system="sia",
            qualifier=qualifier,
            sequence=f"supervision-{code}-{now:%Y%m%dT%H%M%S.%f}",
            extra={
                "reason": "heartbeat lost" if code == TROUBLE_CODE else "heartbeat back",
                "timeout_s": f"{self.state.timeout:g}",
            },
        )

    async def beat(self) -> None:
        """The line is alive; stores the restore first if it was in trouble."""
        if self.state.seen(self.clock.monotonic()):
            sig = self._signal(RESTORE_CODE, "restore", self.clock.now())
            await self.sink.store([sig])  # raises -> still in trouble, retried on next beat
            self.state.in_trouble = False
            log.info("supervision %s: heartbeat back", self.receiver)

    async def check(self) -> Signal | None:
        """Raise (and store) the trouble signal when the heartbeat is overdue."""
        if not self.state.overdue(self.clock.monotonic()):
            return None
        sig = self._signal(TROUBLE_CODE, "new", self.clock.now())
        await self.sink.store([sig])
        self.state.in_trouble = True
        log.warning("supervision %s: no heartbeat for %.0f s", self.receiver, self.state.timeout)
        return sig

    async def run(self) -> None:
        """Check periodically until cancelled."""
        while True:
            await self.clock.sleep(self.check_interval)
            try:
                await self.check()
            except Exception:
                log.exception("supervision %s: storing trouble failed, retrying", self.receiver)
