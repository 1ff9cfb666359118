"""Which users have a console open on this node, and telling the CTI when one no longer does.

A reload closes the websocket and opens it again within a second or two, so the last console
closing starts a grace period; only when no console of that user has come back by its end is
``console.agent_away`` (reason ``tab_closed``) published. A console closed because its session
ended (signed out elsewhere, expired, password changed) reports ``session_expired`` at once.
Users without a phone extension are not in any queue and are not reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from agent_web.events import AGENT_AWAY, AwayReason
from agent_web.ws_policy import Viewer
from core.bus import Bus

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, bus: Bus, grace: float, node: str = "") -> None:
        self.bus = bus
        self.grace = grace
        self.node = node
        self.open: Counter[int] = Counter()
        self._timers: dict[int, asyncio.Task[None]] = {}

    def opened(self, viewer: Viewer) -> None:
        self.open[viewer.user_id] += 1
        timer = self._timers.pop(viewer.user_id, None)
        if timer is not None:
            timer.cancel()

    def closed(self, viewer: Viewer, session_ended: bool = False) -> None:
        self.open[viewer.user_id] -= 1
        if self.open[viewer.user_id] > 0:
            return
        del self.open[viewer.user_id]
        if not viewer.extension:
            return
        if session_ended:
            self.away(viewer, "session_expired")
            return
        self._timers[viewer.user_id] = asyncio.get_running_loop().create_task(
            self._later(viewer), name=f"console-away-{viewer.user_id}")

    async def _later(self, viewer: Viewer) -> None:
        await asyncio.sleep(self.grace)
        self._timers.pop(viewer.user_id, None)
        if not self.open[viewer.user_id]:
            self.away(viewer, "tab_closed")

    def away(self, viewer: Viewer, reason: AwayReason) -> None:
        log.info("console of %s gone (%s): leaving the queues", viewer.username, reason)
        self.bus.publish_nowait(AGENT_AWAY, {
            "user_id": viewer.user_id, "username": viewer.username,
            "extension": viewer.extension, "reason": reason, "node": self.node})

    async def stop(self) -> None:
        timers = list(self._timers.values())
        self._timers.clear()
        for timer in timers:
            timer.cancel()
        for timer in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await timer
