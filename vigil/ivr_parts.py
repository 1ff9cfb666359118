"""The IVR and alarm engine as background parts, and the CTI's live figures handed to the IVR.

The IVR may not import the CTI (DESIGN.md), so the composition root adapts the CTI's live queue
rows to the IVR's :class:`ivr.ports.QueueStats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.services import Services
from ivr.ports import QueueSnapshot
from vigil.roles import ANY, tag
from vigil.runtime import Part

DEFAULT_HANDLE_SECONDS = 180.0


def estimate_wait(row: Mapping[str, Any]) -> float:
    """Expected wait of a caller joining now: the callers ahead of them and they themselves,
    served by the agents not paused at today's average handling time (AHT).

    ``(waiting + 1) × AHT ÷ max(1, agents not paused)``, and 0 when an agent is free and no
    caller waits. Without history AHT is taken as three minutes."""
    waiting = int(row.get("callers_waiting") or 0)
    free = int(row.get("agents_available") or 0)
    if waiting == 0 and free > 0:
        return 0.0
    staffed = sum(int(row.get(f"agents_{k}") or 0) for k in ("available", "busy", "wrapup"))
    aht = float(row.get("aht_seconds") or 0) or DEFAULT_HANDLE_SECONDS
    return (waiting + 1) * aht / max(1, staffed)


class CtiQueueStats:
    """The IVR's view of a queue, read from the running CTI when there is one."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def snapshot(self, queue: str) -> QueueSnapshot | None:
        cti = self.services.extra.get("cti")
        if cti is None:
            return None
        row = next((r for r in cti.queues() if r.get("name") == queue), None)
        if row is None:
            return None
        return QueueSnapshot(waiting=int(row.get("callers_waiting") or 0),
                             estimated_wait_s=round(estimate_wait(row), 1),
                             agents_free=int(row.get("agents_available") or 0))


async def run_ivr(services: Services) -> None:
    from ivr.service import run_ivr as run

    services.extra.setdefault("ivr.queue_stats", CtiQueueStats(services))
    await run(services)


async def run_alarms(services: Services) -> None:
    from alarms.runtime import run_alarms as run
    from receivers.journal import journaled

    await run(services, journal=journaled)  # the start-up catch-up reads the signal journal


def ivr_and_alarm_parts() -> list[Part]:
    # The IVR answers Asterisk's FastAGI, so it runs with the CTI. The engine handles the events
    # published on its own node: signals (receivers) and verification results (the CTI and the
    # IVR publish them), so it runs on every node, whatever its role; its timers take their own
    # lease.
    return [tag(run_ivr, "cti"), tag(run_alarms, ANY)]
