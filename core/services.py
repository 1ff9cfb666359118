"""The running system's shared parts, created once and handed to every package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.bus import Bus
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings


@dataclass
class Services:
    """Settings, database, bus and clock; packages attach their own services in ``extra``."""

    settings: Settings
    db: Database
    bus: Bus
    clock: Clock = field(default_factory=SystemClock)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Services:
        return cls(
            settings=settings,
            db=Database(settings.database_url, echo=settings.database_echo),
            bus=Bus(queue_size=settings.bus_queue_size, node=settings.node_name),
            clock=clock or SystemClock(),
        )

    async def close(self) -> None:
        await self.bus.close()
        await self.db.dispose()
