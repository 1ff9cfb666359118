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
import logging
from datetime import datetime, timedelta

from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine, JournalReader
from alarms.subscriber import CrmDirectory
from core.db import Database
from core.lease import LeaseKeeper, LeaseStore
from core.services import Services

log = logging.getLogger(__name__)

TIMER_LEASE = "alarms.timers"


def make_engine(services: Services, settings: AlarmSettings | None = None) -> AlarmEngine:
    """The engine with crm as its directory. On PostgreSQL it has a pool of its own without
    the check-out ping (:class:`core.db.Database`): a batch checks out a connection for its
    transaction and one for each crm read, and a connection lost under a batch fails it and
    it is retried. :meth:`AlarmEngine.stop` disposes of that pool."""
    db = services.db
    if db.dialect == "postgresql":
        db = Database(db.url, pre_ping=False)
    engine = AlarmEngine(services, CrmDirectory(db, services.clock, services.bus), settings,
                         local_only=True, db=db)
    services.extra["alarms.engine"] = engine
    return engine


async def run_alarms(services: Services, settings: AlarmSettings | None = None,
                     lease_ttl: float | None = None,
                     journal: JournalReader | None = None) -> None:
    """Run the engine until cancelled: consume this node's signals, and run the timers while
    this node holds the timer lease. With ``journal`` (the receivers' reader, given by the
    assembly: alarms does not depend on receivers), catch up at start on what it holds."""
    engine = services.extra.get("alarms.engine")
    if not isinstance(engine, AlarmEngine):
        engine = make_engine(services, settings)
    keeper = LeaseKeeper(LeaseStore(services.db), TIMER_LEASE,
                         services.settings.node_name or services.bus.node or "vigil",
                         services.clock, **({"ttl": lease_ttl} if lease_ttl else {}),
                         bus=services.bus)
    services.extra["alarms.timer_lease"] = keeper
    started = services.clock.now()
    await engine.start(tick=False, book=True)
    catching_up = (asyncio.create_task(_catch_up(services, engine, journal, started),
                                       name="alarms-catch-up") if journal else None)
    try:
        await keeper.run(engine.run_timers)
    finally:
        if catching_up is not None:
            catching_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await catching_up
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(engine.stop())


async def _catch_up(services: Services, engine: AlarmEngine, journaled: JournalReader,
                    started: datetime) -> None:
    """Apply what the journal holds from before this start and no batch applied. Alone, this
    node's own signals cannot be in flight anywhere; with other nodes, theirs may be, so the
    check waits for them to be applied first."""
    st = engine.settings
    if services.settings.cluster_nodes > 1:
        await services.clock.sleep(st.catch_up_settle_seconds)
    try:
        applied = await engine.catch_up(journaled, started - timedelta(minutes=st.catch_up_minutes),
                                        started)
    except Exception:  # a failed check must not stop the engine; the log says what failed
        log.exception("start-up catch-up of the signal journal failed")
        return
    if applied:
        log.warning("start-up catch-up applied %d signals", applied)
