"""The alarm engine as a running part of a Vigil node.

With several nodes on one PostgreSQL the bus fans every event out to every node, so each node's
engine handles only the signals (and verification results) published on its own node: receivers
journal and publish locally, and a signal must open one incident, not one per node. The timers
(escalation, disaster holds, fail-to-test, schedules) run on one node at a time, under the
``alarms.timers`` lease of :mod:`core.lease`; a standby node takes over within the lease's ttl.
Runaway token buckets are per node, which matches how panels report (to one receiver, hence one
node, at a time).
"""

from __future__ import annotations

import asyncio
import contextlib

from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine
from alarms.subscriber import CrmDirectory
from core.db import Database
from core.lease import LeaseKeeper, LeaseStore
from core.services import Services

TIMER_LEASE = "alarms.timers"


def make_engine(services: Services, settings: AlarmSettings | None = None) -> AlarmEngine:
    """The engine with crm as its directory. On PostgreSQL it has a pool of its own without
    the check-out ping (:class:`core.db.Database`): a batch checks out a connection for its
    transaction and one for each crm read, and a connection lost under a batch fails it and
    it is retried. :meth:`AlarmEngine.stop` disposes of that pool."""
    db = services.db
    if db.dialect == "postgresql":
        db = Database(db.url, pre_ping=False)
    engine = AlarmEngine(services, CrmDirectory(db, services.clock), settings,
                         local_only=True, db=db)
    services.extra["alarms.engine"] = engine
    return engine


async def run_alarms(services: Services, settings: AlarmSettings | None = None,
                     lease_ttl: float | None = None) -> None:
    """Run the engine until cancelled: consume this node's signals, and run the timers while
    this node holds the timer lease."""
    engine = services.extra.get("alarms.engine")
    if not isinstance(engine, AlarmEngine):
        engine = make_engine(services, settings)
    keeper = LeaseKeeper(LeaseStore(services.db), TIMER_LEASE,
                         services.settings.node_name or services.bus.node or "vigil",
                         services.clock, **({"ttl": lease_ttl} if lease_ttl else {}),
                         bus=services.bus)
    services.extra["alarms.timer_lease"] = keeper
    await engine.start(tick=False)
    try:
        await keeper.run(engine.run_timers)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(engine.stop())
