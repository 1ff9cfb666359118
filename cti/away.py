"""No caller rings an empty seat: an agent who leaves the console leaves the queues.

The console (the web side) publishes ``console.agent_away`` with ``user_id`` and ``reason``
(``signed_out``, ``session_expired``, ``tab_closed`` after its grace for reloads). The CTI, on the
node holding the CTI lease (the only one running it), takes the agent out of every queue it is in
(``VIGIL_CTI_AWAY_ACTION=logout``, the default: QueueRemove per queue) or pauses it in all of them
with the reason ``away`` (``pause``: the agent stays a member, the supervisor grid shows who is
away), and records it in the audit log as done by the system for that reason. Asterisk's
QueueMemberRemoved / QueueMemberPause events then change the agent's row, so ``agent.state``
tells the supervisor grid within the live interval. An agent in no queue is left alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from core import audit
from core.audit import Actor
from core.bus import Bus
from core.clock import Clock
from core.db import Database
from cti.ami_client import AmiError
from cti.service import CtiError, CtiService

log = logging.getLogger(__name__)

Json = dict[str, Any]
TOPIC = "console.agent_away"
REASONS = ("signed_out", "session_expired", "tab_closed")
AWAY_REASON = "away"  # the pause reason Asterisk shows (queue_log PAUSE|away)


class AwayHandler:
    def __init__(self, bus: Bus, service: CtiService, db: Database, clock: Clock,
                 action: str = "logout") -> None:
        if action not in ("logout", "pause"):
            raise ValueError(f"away action must be logout or pause, not {action!r}")
        self.bus, self.service, self.db, self.clock = bus, service, db, clock
        self.action = action
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(self, data: Json) -> Json | None:
        """Act on one ``console.agent_away``; returns the audit's after-state, or None when
        there was nothing to do (no phone, no queue)."""
        try:
            user_id = int(data["user_id"])
        except (KeyError, TypeError, ValueError):
            log.warning("console.agent_away without a user id: %s", data)
            return None
        reason = str(data.get("reason") or "")
        if reason not in REASONS:
            log.warning("console.agent_away for user %s with reason %r", user_id, reason)
        try:
            user = await self.service.user(user_id)
        except CtiError:
            return None
        members = self.service.interfaces_of(user.extension)
        queues = sorted(q for names in members.values() for q in names)
        if not queues:
            return None
        model = self.service.model
        paused = sorted(q for iface, names in members.items() for q in names
                        if model.queues[q].members[iface].paused)
        before: Json = {"queues": queues, "paused_queues": paused}
        if self.action == "logout":
            await self.service.logout(user_id)
            after: Json = {"queues": [], "paused_queues": []}
        else:
            await self.service.pause(user_id, AWAY_REASON)
            after = {"queues": queues, "paused_queues": queues, "pause_reason": AWAY_REASON}
        async with self.db.transaction() as s:
            audit.record(s, Actor.system("cti"), f"away_{self.action}", "agent", user_id,
                         before, after, note=reason or None, clock=self.clock,
                         only_changes=False)
        log.info("agent %s (%s) %s: %s", user.username, user.extension, reason,
                 "logged out of the queues" if self.action == "logout" else "paused away")
        return after

    async def _safely(self, data: Json) -> None:
        try:
            await self.handle(data)
        except (AmiError, CtiError) as exc:
            log.warning("agent away not carried out for %s: %s", data, exc)
        except Exception:
            log.exception("agent away failed for %s", data)

    async def run(self) -> None:
        with self.bus.subscribe(TOPIC, name="cti-agent-away") as sub:
            async for event in sub:
                task = asyncio.create_task(self._safely(dict(event.data)))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
