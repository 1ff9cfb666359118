"""Everything a flow may use, gathered once by whoever starts the IVR."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.bus import Bus
from core.clock import Clock
from core.db import Database
from ivr.blacklist import BlacklistCache
from ivr.config import IvrSettings
from ivr.ports import AlarmActions, QueueSnapshot, QueueStats, SubscriberLookup, Tickets


class NoQueueStats:
    """Used until the composition root passes cti's live statistics: nothing is announced."""

    def snapshot(self, queue: str) -> QueueSnapshot | None:
        return None


@dataclass
class IvrDeps:
    db: Database
    bus: Bus
    clock: Clock
    settings: IvrSettings
    subscribers: SubscriberLookup
    alarms: AlarmActions
    tickets: Tickets
    queue_stats: QueueStats = field(default_factory=NoQueueStats)
    region: str = "CN"
    blacklist: BlacklistCache = field(default_factory=BlacklistCache)
