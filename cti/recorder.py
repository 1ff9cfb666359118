"""Stores what the AMI client publishes: ``cti.call.ended`` records and ``cti.agent.session``s.

After a record is stored, the listeners given (the verification tracker, the live queue figures)
hear of it with the row id, and ``call.ended`` goes out for the agent's console (the ``call.*``
topics reach the agent the event names). A record that cannot be stored is logged and counted,
never retried in a loop: the AMI stream must not back up behind the database.

A call that is not a queue call has no member name from app_queue: when the phone of a Vigil
user placed or took it (``agent_interface``), the record gets that user (``user_id``, and
``agent`` their display name) before it is stored, so a verification call or a click-to-dial is
the operator's call in the records and the reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.bus import Bus, Event
from core.clock import Clock
from core.db import Database
from cti.agents import AgentDirectory, extension_of
from cti.store import store_record, store_session

log = logging.getLogger(__name__)

Listener = Callable[[Mapping[str, Any], int | None], Any]
TOPICS = ("cti.call.ended", "cti.agent.session")


class Recorder:
    def __init__(self, db: Database, clock: Clock, bus: Bus,
                 directory: AgentDirectory | None = None) -> None:
        self.db, self.clock, self.bus = db, clock, bus
        self.directory = directory
        self.listeners: list[Listener] = []
        self.stored = 0
        self.failed = 0

    async def handle(self, event: Event) -> int | None:
        """Store one event's record or session; returns the stored row id."""
        data = dict(event.data)
        if event.topic == "cti.call.ended":
            await self._user_of(data)
        try:
            async with self.db.transaction() as s:
                if event.topic == "cti.agent.session":
                    row_s, _ = await store_session(s, data)
                    return row_s.id
                if event.topic != "cti.call.ended":
                    return None
                row, _ = await store_record(s, self.clock, data)
                row_id = row.id
        except Exception:
            self.failed += 1
            log.exception("call record not stored: %s", data.get("call_id"))
            row_id = None
        if row_id is not None:
            self.stored += 1
        for listener in self.listeners:
            try:
                listener(data, row_id)
            except Exception:
                log.exception("call record listener failed")
        iface = data.get("agent_interface")
        self.bus.publish_nowait("call.ended", {
            "id": row_id, "call_id": data.get("call_id"), "direction": data.get("direction"),
            "caller_id": data.get("caller_number"), "number": data.get("called_number"),
            "queue": data.get("queue"), "agent": data.get("agent"), "interface": iface,
            "extension": extension_of(iface), "user_id": data.get("user_id"),
            "outcome": data.get("outcome"),
            "talk_seconds": data.get("talk_seconds"), "state": "ended"})
        return row_id

    async def _user_of(self, data: dict[str, Any]) -> None:
        if self.directory is None or data.get("queue") or data.get("user_id"):
            return
        try:
            user = await self.directory.by_extension(extension_of(data.get("agent_interface")))
        except Exception:
            log.exception("user of call record %s not found", data.get("call_id"))
            return
        if user is not None:
            data["user_id"] = user.id
            data["agent"] = data.get("agent") or user.display_name

    async def run(self) -> None:
        with self.bus.subscribe(*TOPICS, name="cti-recorder") as sub:
            async for event in sub:
                await self.handle(event)
