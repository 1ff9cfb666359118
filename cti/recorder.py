"""Stores what the AMI client publishes: ``cti.call.ended`` records and ``cti.agent.session``s.

Before a record is stored the enrichers (the screen pop: the account it identified) complete it;
after, a disposition the agent picked before the record existed is applied
(:func:`cti.dispositions.apply_pending`), the listeners given (the verification tracker, the
live queue figures, the screen pop forgetting the call) hear of it with the row id, and
``call.ended`` goes out naming every agent of the call (``agents``: user id, username,
extension), so each of their consoles clears the call (the ``call.*`` topics reach the agents an
event names). A record that cannot be stored is logged and counted, never retried in a loop: the
AMI stream must not back up behind the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.bus import Bus, Event
from core.clock import Clock
from core.db import Database
from cti.agents import AgentDirectory, extension_of
from cti.dispositions import apply_pending, fields_of
from cti.store import store_record, store_session

log = logging.getLogger(__name__)

Listener = Callable[[Mapping[str, Any], int | None], Any]
Enricher = Callable[[dict[str, Any]], None]
TOPICS = ("cti.call.ended", "cti.agent.session")


class Recorder:
    def __init__(self, db: Database, clock: Clock, bus: Bus,
                 directory: AgentDirectory | None = None) -> None:
        self.db, self.clock, self.bus = db, clock, bus
        self.directory = directory
        self.listeners: list[Listener] = []
        self.enrichers: list[Enricher] = []
        self.stored = 0
        self.failed = 0

    async def handle(self, event: Event) -> int | None:
        """Store one event's record or session; returns the stored row id."""
        data = dict(event.data)
        if event.topic == "cti.agent.session":
            return await self._session(data)
        if event.topic != "cti.call.ended":
            return None
        disposition: dict[str, Any] = {}
        try:
            for enrich in self.enrichers:
                enrich(data)
            async with self.db.transaction() as s:
                row, _ = await store_record(s, self.clock, data)
                row_id = row.id
            async with self.db.transaction() as s:  # after the commit: see dispositions
                applied = await apply_pending(s, self.clock, str(data.get("call_id")))
                if applied is not None:
                    disposition = fields_of(applied)
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
        agents = self._agents(data)
        self.bus.publish_nowait("call.ended", {
            "scope": "call", "id": row_id, "call_id": data.get("call_id"),
            "direction": data.get("direction"), "caller_id": data.get("caller_number"),
            "number": data.get("called_number"), "queue": data.get("queue"),
            "agent": data.get("agent"), "interface": iface, "extension": extension_of(iface),
            "outcome": data.get("outcome"), "talk_seconds": data.get("talk_seconds"),
            "account_id": data.get("account_id"), "incident_id": data.get("incident_id"),
            "agents": agents, "extensions": sorted({a["extension"] for a in agents}),
            "state": "ended", **disposition})
        return row_id

    async def _session(self, data: dict[str, Any]) -> int | None:
        try:
            async with self.db.transaction() as s:
                row, _ = await store_session(s, data)
                return row.id
        except Exception:
            self.failed += 1
            log.exception("agent session not stored: %s", data.get("agent"))
            return None

    def _agents(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every user whose phone took part (the record's agent devices), by extension."""
        exts = {extension_of(d) for d in data.get("agent_devices") or []}
        exts.add(extension_of(data.get("agent_interface")))
        out = []
        for ext in sorted(e for e in exts if e):
            user = self.directory.cached(ext) if self.directory is not None else None
            out.append({"user_id": user.id if user else None,
                        "username": user.username if user else None, "extension": ext})
        return out

    async def run(self) -> None:
        with self.bus.subscribe(*TOPICS, name="cti-recorder") as sub:
            async for event in sub:
                await self.handle(event)
