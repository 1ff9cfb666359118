"""When a call ends for one user while it goes on for others.

The call record, and with it ``call.ended`` naming every agent of the call, comes when the whole
call is over (:mod:`cti.recorder`). A user's part can end sooner: the ring went to the agent who
answered first (ringall), rang out on this agent and moved on, or the agent transferred the caller
away. Their console must then clear the card and the call just the same, so when a user's last
channel in a still-live call hangs up, :class:`CallPresence` publishes ``call.ended`` for that
user alone (``scope: "user"``, ``reason``) and drops the screen pop kept for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.bus import Bus
from cti.agents import AgentDirectory, AgentUser, extension_of
from cti.callview import user_channels
from cti.model import CtiModel
from cti.records import CallState

Json = dict[str, Any]


def left_reason(call: CallState, ext: str) -> str:
    """Why a user's part of a live call ended: ``transferred`` (they passed the call on),
    ``answered_elsewhere`` (their ring lost to another agent), ``no_answer`` (their ring timed
    out), ``rejected``, else ``left``."""
    agent_ext = extension_of(call.agent_interface)
    if call.transfer is not None and agent_ext == ext:
        return "transferred"
    by = call.transfer.get("by") if call.transfer is not None else None
    if by is not None and extension_of(str(by)) == ext:
        return "transferred"
    rings = [a for a in call.ring_attempts if extension_of(a.get("interface")) == ext]
    if rings:
        result = rings[-1].get("result")
        if result == "canceled" and call.connected and agent_ext != ext:
            return "answered_elsewhere"
        if result in ("no_answer", "rejected"):
            return str(result)
    return "left"


def agent_ref(user: AgentUser) -> Json:
    return {"user_id": user.id, "username": user.username, "extension": user.extension}


class CallPresence:
    """An AMI client handler (runs after the model applied the message)."""

    def __init__(self, model: CtiModel, bus: Bus, directory: AgentDirectory,
                 screenpop: Any = None) -> None:
        self.model, self.bus, self.directory = model, bus, directory
        self.screenpop = screenpop

    def handle(self, msg: Mapping[str, str], t: float) -> None:
        if msg.get("Event") != "Hangup":
            return
        ext = extension_of(msg.get("Channel"))
        user = self.directory.cached(ext)
        call = self.model.calls.get(msg.get("Linkedid", ""))
        if user is None or call is None or not call.live:
            return  # not a user's phone, or the whole call ended: the record will say so
        if user_channels(self.model, user.extension, call.call_id):
            return  # another of their channels is still in the call
        if self.screenpop is not None:
            self.screenpop.clear(user.id, call.call_id)
        self.bus.publish_nowait("call.ended", {
            "scope": "user", "id": None, "call_id": call.call_id, "state": "ended",
            "reason": left_reason(call, user.extension), "queue": call.queue,
            "user_id": user.id, "username": user.username, "extension": user.extension,
            "agents": [agent_ref(user)], "at": t})
