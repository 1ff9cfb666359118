"""Supervisors' live spy sessions: ``spy.started``, ``spy.changed`` and ``spy.ended`` on the bus.

The model keeps each ChanSpy between ``ChanSpyStart`` and its end (``ChanSpyStop``, the spying
channel or the supervisor's phone hanging up) in ``CtiModel.live_spies``, with the mode it is in
(``VIGIL_SPY_MODE`` from the dialplan, then keys 4/5/6 received on the spying channel). This
watcher compares that set after every message that can change it and publishes the difference,
with the users behind the extensions (:class:`cti.agents.AgentDirectory`'s cache).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.bus import Bus
from cti.agents import AgentDirectory
from cti.model import CtiModel

Json = dict[str, Any]
EVENTS = frozenset({"ChanSpyStart", "ChanSpyStop", "DTMFEnd", "Hangup"})


def spy_view(spy: Mapping[str, Any], directory: AgentDirectory | None) -> Json:
    """A spy session as the console and the API show it."""
    sup = directory.cached(spy.get("supervisor_extension")) if directory else None
    agent = directory.cached(spy.get("agent_extension")) if directory else None
    return {
        "spy_call_id": spy.get("spyer_call_id"), "call_id": spy.get("spied_call_id"),
        "mode": spy.get("mode"), "modes": list(spy.get("modes") or []),
        "supervisor_user_id": sup.id if sup else None,
        "supervisor_extension": spy.get("supervisor_extension"),
        "agent_user_id": agent.id if agent else None,
        "agent_extension": spy.get("agent_extension"),
        "spying_channel": spy.get("supervisor_channel"),
        "spied_channel": spy.get("spied_channel"),
        "started_at": spy.get("started_at"), "ended_at": spy.get("ended_at"),
    }


class SpyEvents:
    """Publishes the changes of ``model.live_spies`` (an AMI handler)."""

    def __init__(self, bus: Bus, model: CtiModel, directory: AgentDirectory | None) -> None:
        self.bus, self.model, self.directory = bus, model, directory
        self._known: dict[str, Json] = {}  # spying channel -> the live session dict
        self._modes: dict[str, str] = {}

    def live(self) -> list[Json]:
        return [spy_view(s, self.directory) for s in self.model.live_spies.values()]

    def handle(self, msg: Mapping[str, str], t: float) -> None:
        if msg.get("Event") not in EVENTS:
            return
        live = self.model.live_spies
        for uid, spy in list(self._known.items()):
            if uid not in live:
                del self._known[uid]
                self._modes.pop(uid, None)
                self.bus.publish_nowait("spy.ended", spy_view(spy, self.directory))
        for uid, spy in live.items():
            if uid not in self._known:
                self._known[uid] = spy
                self._modes[uid] = str(spy["mode"])
                self.bus.publish_nowait("spy.started", spy_view(spy, self.directory))
            elif self._modes.get(uid) != spy["mode"]:
                self._modes[uid] = str(spy["mode"])
                self.bus.publish_nowait("spy.changed", spy_view(spy, self.directory))
