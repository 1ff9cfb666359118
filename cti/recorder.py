"""Stores what the AMI client publishes: ``cti.call.ended`` records and ``cti.agent.session``s.

After a record is stored, the listeners given (the verification tracker, the live queue figures)
hear of it with the row id, and ``call.ended`` goes out for the agent's console (the ``call.*``
topics reach the agent the event names). A record that cannot be stored is logged and counted,
never retried in a loop: the AMI stream must not back up behind the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.bus import Bus, Event
from core.clock import Clock
from core.db import Database
from cti.agents import extension_of
from cti.store import store_record, store_session

log = logging.getLogger(__name__)

Listener = Callable[[Mapping[str, Any], int | None], Any]
TOPICS = ("cti.call.ended", "cti.agent.session")


class Recorder:
    def __init__(self, db: Database, clock: Clock, bus: Bus) -> None:
        self.db, self.clock, self.bus = db, clock, bus
        self.listeners: list[Listener] = []
        self.stored = 0
        self.failed = 0

    async def handle(self, event: Event) -> int | None:
        """Store one event's record or session; returns the stored row id."""
        data = dict(event.data)
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
            "extension": extension_of(iface), "outcome": data.get("outcome"),
            "talk_seconds": data.get("talk_seconds"), "state": "ended"})
        return row_id

    async def run(self) -> None:
        with self.bus.subscribe(*TOPICS, name="cti-recorder") as sub:
            async for event in sub:
                await self.handle(event)
