"""Live agent and queue state for consoles and wallboards: pure views of the model, and the
publisher that puts their changes on the bus (``agent.state``, ``queue.stats``).

An agent's state across all its queues (the console shows one): ``in_call`` (a queue call
connected, or the device in use, busy or on hold), else ``ringing``, else ``paused`` (paused in
any queue; the reason of the first), else ``wrapup`` (inside the wrap-up time after a call), else
``ready`` (device not in use), else ``unknown``. An interface that leaves every queue is published
once as ``logged_out``. A row in wrap-up carries ``wrapup_until`` (epoch seconds: app_queue's
lastcall plus the wrap-up time it applies), ``wrapup_call_id`` (the call just finished) and
``wrapup_queue``; the state turns ``ready`` by itself when that time passes (the next flush). A
row whose phone holds its call has ``on_hold`` and ``hold_since`` (the agent stays ``in_call``).

The publisher recomputes at most once per ``interval`` and publishes only what changed, so a
burst of AMI events becomes at most one event per agent and per queue per interval; queue figures
with callers waiting change every second (their longest wait), which is the wallboard's rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.bus import Bus
from cti.agents import AgentDirectory, extension_of
from cti.model import CtiModel
from cti.stats import StatsConfig, live_queue_stats

log = logging.getLogger(__name__)

Json = dict[str, Any]
IN_CALL_STATUSES = frozenset({"inuse", "busy", "onhold"})
RINGING_STATUSES = frozenset({"ringing", "ringinuse"})


def queues_view(model: CtiModel, now: float) -> Json:
    """The ``queues`` part of :meth:`CtiModel.snapshot`, without the channels (cheap)."""
    out: Json = {}
    for name, q in model.queues.items():
        callers = sorted(q.callers.values(), key=lambda c: c.position)
        out[name] = {
            "params": dict(q.params),
            "callers": [{"uniqueid": c.uniqueid, "position": c.position,
                         "caller_number": c.caller_number, "caller_name": c.caller_name,
                         "wait": round(max(0.0, now - c.joined_at), 3)} for c in callers],
            "members": {i: m.to_json(now) for i, m in q.members.items()},
        }
    return {"queues": out}


def agent_state(members: Iterable[Mapping[str, Any]]) -> tuple[str, str | None]:
    """(state, pause reason) of one interface from its member rows in every queue."""
    rows = list(members)
    if not rows:
        return "logged_out", None
    paused = [m for m in rows if m.get("paused")]
    reason = next((m.get("paused_reason") for m in paused if m.get("paused_reason")), None)
    if any(m.get("in_call") or m.get("status") in IN_CALL_STATUSES for m in rows):
        return "in_call", reason
    if any(m.get("status") in RINGING_STATUSES for m in rows):
        return "ringing", reason
    if paused:
        return "paused", reason
    if any(m.get("in_wrapup") for m in rows):
        return "wrapup", None
    if any(m.get("status") == "not_inuse" for m in rows):
        return "ready", None
    return "unknown", None


def agents_view(view: Json) -> dict[str, Json]:
    """Per interface: member name, state, pause, queues (from :func:`queues_view`)."""
    by_iface: dict[str, list[Json]] = {}
    for qname, q in view["queues"].items():
        for iface, m in q["members"].items():
            by_iface.setdefault(iface, []).append({**m, "queue": qname})
    out: dict[str, Json] = {}
    for iface, rows in sorted(by_iface.items()):
        state, reason = agent_state(rows)
        wrapups = sorted((m for m in rows if m["in_wrapup"]), key=lambda m: m["wrapup_until"])
        last = wrapups[-1] if wrapups and state == "wrapup" else None
        out[iface] = {
            "interface": iface, "member": rows[0]["name"], "agent": rows[0]["name"],
            "extension": extension_of(iface), "state": state, "reason": reason,
            "paused": any(m["paused"] for m in rows), "pause_reason": reason,
            "in_call": any(m["in_call"] for m in rows),
            "in_wrapup": any(m["in_wrapup"] for m in rows),
            "queues": sorted(m["queue"] for m in rows),
            "paused_queues": sorted(m["queue"] for m in rows if m["paused"]),
            "calls_taken": sum(int(m["calls_taken"] or 0) for m in rows),
            "wrapup_until": last["wrapup_until"] if last else None,
            "wrapup_call_id": last["wrapup_call_id"] if last else None,
            "wrapup_queue": last["wrapup_queue"] if last else None,
        }
    return out


def holds_by_extension(model: CtiModel) -> dict[str, float]:
    """Extension -> since when its phone holds a call (one pass over the channels; the held
    ones are few)."""
    out: dict[str, float] = {}
    for chan in model.channels.values():
        if chan.hold_since is not None:
            ext = extension_of(chan.device)
            if ext and (ext not in out or chan.hold_since < out[ext]):
                out[ext] = chan.hold_since
    return out


def queue_rows(view: Json, recent: Iterable[Mapping[str, Any]],
               config: StatsConfig | None = None) -> dict[str, Json]:
    """Per queue live figures, with aliases the wallboard reads."""
    stats = live_queue_stats(view, recent, config)
    out: dict[str, Json] = {}
    for name, row in stats.items():
        out[name] = {"queue": name, "name": name, **row,
                     "waiting": row["callers_waiting"],
                     "longest_wait": row["longest_wait_seconds"],
                     "asa": row["asa_seconds"], "agents_ready": row["agents_available"]}
    return out


class LivePublisher:
    """Publishes ``agent.state`` and ``queue.stats`` changes at most once per ``interval``."""

    def __init__(self, bus: Bus, model: CtiModel, directory: AgentDirectory | None,
                 now: Callable[[], float], interval: float = 1.0,
                 stats: StatsConfig | None = None, recent_limit: int = 5000,
                 recent_seconds: float = 86400.0) -> None:
        self.bus, self.model, self.directory = bus, model, directory
        self.now = now
        self.interval = interval
        self.stats = stats
        self.recent: deque[Json] = deque(maxlen=recent_limit)
        self.recent_seconds = recent_seconds
        self._agents: dict[str, Json] = {}
        self._queues: dict[str, Json] = {}
        self._since: dict[str, float] = {}

    def add_record(self, record: Mapping[str, Any]) -> None:
        """A finished call counts in the queues' recent figures (the last day)."""
        if record.get("queue"):
            self.recent.append(dict(record))

    def _recent(self, now: float) -> list[Json]:
        horizon = now - self.recent_seconds
        return [r for r in self.recent if float(r.get("end_at") or now) >= horizon]

    def current(self) -> tuple[dict[str, Json], dict[str, Json]]:
        """(agents, queues) as they are now."""
        now = self.now()
        view = queues_view(self.model, max(now, self.model.now))
        agents = agents_view(view)
        holds = holds_by_extension(self.model)
        for row in agents.values():
            user = self.directory.cached(row["extension"]) if self.directory else None
            row["user_id"] = user.id if user else None
            row["username"] = user.username if user else None
            row["name"] = user.display_name if user else row["member"]
            held = holds.get(row["extension"])
            row["on_hold"], row["hold_since"] = held is not None, held
            row["since"] = self._since.get(row["interface"])
        return agents, queue_rows(view, self._recent(now), self.stats)

    def flush(self) -> int:
        """Publish what changed since the last flush; returns the number of events."""
        now = self.now()
        agents, queues = self.current()
        sent = 0
        for iface, row in agents.items():
            old = self._agents.get(iface)
            if old is None or old["state"] != row["state"]:
                self._since[iface] = now
            row["since"] = self._since.get(iface, now)
            if old != row:
                self.bus.publish_nowait("agent.state", row)
                sent += 1
        for iface in [i for i in self._agents if i not in agents]:
            gone = {**self._agents[iface], "state": "logged_out", "reason": None,
                    "pause_reason": None, "paused": False, "paused_queues": [],
                    "in_call": False, "in_wrapup": False, "wrapup_until": None,
                    "wrapup_call_id": None, "wrapup_queue": None, "queues": [], "since": now}
            self.bus.publish_nowait("agent.state", gone)
            self._since.pop(iface, None)
            sent += 1
        self._agents = agents
        for name, row in queues.items():
            if self._queues.get(name) != row:
                self.bus.publish_nowait("queue.stats", row)
                sent += 1
        self._queues = queues
        return sent

    async def run(self, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        while True:
            await sleep(self.interval)
            try:
                self.flush()
            except Exception:
                log.exception("live agent/queue state not published")
