"""Starting the IVR inside ``vigil demo`` / ``vigil serve``: a background part.

``services.extra`` may carry ``"ivr.alarms"`` (an :class:`~ivr.ports.AlarmActions`) and
``"ivr.queue_stats"`` (a :class:`~ivr.ports.QueueStats`, cti's live figures); without them the IVR
runs with :class:`~ivr.adapters.AlarmsApi` and announces no queue position.
"""

from __future__ import annotations

import asyncio

from core.services import Services
from ivr.adapters import AlarmsApi, CrmSubscribers, CrmTickets
from ivr.config import get_ivr_settings
from ivr.deps import IvrDeps, NoQueueStats
from ivr.server import IvrServer


def build_deps(services: Services) -> IvrDeps:
    region = services.settings.default_region
    settings = get_ivr_settings()
    return IvrDeps(
        db=services.db, bus=services.bus, clock=services.clock, settings=settings,
        subscribers=CrmSubscribers(services.db, services.clock, region),
        alarms=services.extra.get("ivr.alarms")
        or AlarmsApi(services.db, services.clock, services.bus, settings.recent_alarm_minutes),
        tickets=CrmTickets(services.db, services.clock),
        queue_stats=services.extra.get("ivr.queue_stats") or NoQueueStats(),
        region=region)


async def run_ivr(services: Services) -> None:
    """Serve FastAGI on ``agi_host:agi_port`` until cancelled."""
    server = IvrServer(build_deps(services), services.settings.agi_host,
                       services.settings.agi_port)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
