"""Three-way calls: the agent's call moved into a ConfBridge room, and a third party dialled in.

How it runs on Asterisk 22 (asterisk-config: extensions.conf ``[vigil-conference]``,
confbridge.conf):

1. One AMI ``Redirect`` with ``ExtraChannel`` sends both parties of the agent's call to the room
   at once: the other party to ``P<room>`` (user profile ``vigil-party``, ``end_marked``) and the
   agent's leg to ``A<room>`` (``vigil-agent``, ``marked``). Asterisk flags both channels
   BRIDGE_DUAL_REDIRECT_WAIT, so the two-party bridge they leave is not dissolved and nobody is
   hung up; each starts ``ConfBridge(vigil-<room>,…)`` at its new place.
2. An ``Originate`` rings the third party into ``P<room>``: a colleague's phone through the agent
   phone context (it rings, like any call, unless asked to answer by itself), an outside number
   through the outbound context (the trunk, the center's caller ID, the recording).
   ``VIGIL_CONFERENCE`` names the call the party joins, so the state model lists the party on
   that call's record (its own call keeps its own record, linked back).
3. The agent is the marked user: when the agent leaves, Asterisk removes every end-marked party
   (``CONFBRIDGE_RESULT=ENDMARKED``) and the dialplan hangs them up, so the room never outlives
   the agent. An invitation still ringing when the room ends is hung up by
   :class:`Invitations`.

app_queue and the queue call: a Redirect is an async goto, which publishes no hangup request, so
app_queue logs nothing when the parties move; its per-call router still watches the caller and
the agent channel and completes the call (AgentComplete, COMPLETECALLER/COMPLETEAGENT, the
member's lastcall and so its wrap-up) on the first of them to hang up. The agent's device stays in
use throughout, so the queue offers them no other caller meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

from cti.ami_client import AmiError
from cti.commands import Action, Commands, hangup, originate
from cti.model import CtiModel

log = logging.getLogger(__name__)

AGENT_PREFIX = "A"  # [vigil-conference] _A. : the marked user who holds the room
PARTY_PREFIX = "P"  # [vigil-conference] _P. : everyone else, end_marked
ROOM_PREFIX = "vigil-"  # ConfBridge(vigil-${EXTEN:1})


def room_of(call_id: str) -> str:
    """The room of a call: its id in letters and digits (an extension after the prefix)."""
    return re.sub(r"[^0-9A-Za-z]", "", call_id) or "0"


def room_name(room: str) -> str:
    """The ConfBridge conference name the dialplan gives the room."""
    return ROOM_PREFIX + room


def into_room(party: str, agent_leg: str, context: str, room: str) -> Action:
    """The dual Redirect that moves a two-party call into its room."""
    return {"Action": "Redirect", "Channel": party, "Context": context,
            "Exten": PARTY_PREFIX + room, "Priority": 1, "ExtraChannel": agent_leg,
            "ExtraContext": context, "ExtraExten": AGENT_PREFIX + room, "ExtraPriority": 1}


def invite(channel: str, context: str, room: str, *, call_id: str, target: str,
           invite_id: str, variables: Mapping[str, str] | None = None,
           caller_id: str | None = None, ring_timeout_s: int = 30) -> Action:
    """Ring ``channel`` and, when it answers, put it in the room as a party."""
    return originate(channel, context, PARTY_PREFIX + room, caller_id=caller_id,
                     variables={"VIGIL_CONFERENCE": call_id, "VIGIL_CONFERENCE_TARGET": target,
                                **(variables or {})},
                     channel_id=invite_id, other_channel_id=f"{invite_id}-2",
                     timeout_ms=ring_timeout_s * 1000)


class Invitations:
    """Parties dialled into rooms, until they join or give up: one still ringing (or joining
    after) a room whose agent has gone is hung up, so nobody waits alone in a room. An AMI
    client handler; the hangups run in their own tasks, never holding up the event stream."""

    def __init__(self, model: CtiModel, commands: Commands) -> None:
        self.model = model
        self.commands = commands
        self.pending: dict[str, str] = {}  # invitation's channel id (its Uniqueid) -> room
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, invite_id: str, room: str) -> None:
        self.pending[invite_id] = room_name(room)

    def handle(self, msg: Mapping[str, str], t: float) -> None:
        event = msg.get("Event")
        if event == "Hangup":
            self.pending.pop(msg.get("Uniqueid", ""), None)
        elif event == "ConfbridgeEnd":
            room = msg.get("Conference", "")
            for invite_id in [i for i, r in self.pending.items() if r == room]:
                self._drop(invite_id)
        elif event == "ConfbridgeJoin":
            invite_id = msg.get("Uniqueid", "")
            if invite_id in self.pending and not self._agent_in(self.pending[invite_id]):
                self._drop(invite_id)
            else:
                self.pending.pop(invite_id, None)

    def _agent_in(self, room: str) -> bool:
        found = self.model.conferences.get(room)
        host = self.model.calls.get(found["host"] or "") if found is not None else None
        if host is None or host.conference is None:
            return False
        return any(p["role"] == "agent" and p["left_at"] is None
                   for p in host.conference["participants"])

    def _drop(self, invite_id: str) -> None:
        self.pending.pop(invite_id, None)
        chan = self.model.channels.get(invite_id)
        if chan is None:
            return
        task = asyncio.get_running_loop().create_task(self._hangup(chan.name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hangup(self, channel: str) -> None:
        try:
            await self.commands.send(hangup(channel))
        except AmiError as exc:
            log.info("conference invitation %s not hung up: %s", channel, exc)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
