"""What the console asks of the CTI, by Vigil user: :class:`CtiService`.

Every command names users, never channels: the service finds the user's extension
(:class:`cti.agents.AgentDirectory`), turns it into Asterisk names (:class:`cti.agents.PhonePlan`)
and finds the user's live call legs in the model. Errors are :class:`cti.errors.CtiError` (no
phone, no call to act on) or the AMI client's :class:`cti.ami_client.AmiError` family (timeout,
connection lost, refused by Asterisk), each with a machine ``code`` the console translates.

Calls the console places (:meth:`CtiService.dial`, :meth:`CtiService.verification`,
:meth:`CtiService.spy`) ring the user's own phone first, which answers by itself
(``_VIGIL_AUTOANSWER``); they return ``{"call_id": ...}`` as soon as Asterisk queued the
Originate, and their progress follows as ``call.progress`` events (:mod:`cti.placed`).

The agent's *leg* of a call is the channel of their phone device that faces the other party: the
``;1`` half of ``Local/<ext>@<context>`` (what app_queue bridges with the caller, and what the
captures transfer), else the phone's own channel (``PJSIP/<ext>-…``). The *other party* is the
other channel in that leg's bridge.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from cti import commands as cmd
from cti import conference as conf
from cti.agents import AgentDirectory, AgentUser, PhonePlan
from cti.ami_client import AmiClient, AmiError
from cti.callview import call_view
from cti.commands import Commands
from cti.errors import CtiError
from cti.live import LivePublisher
from cti.model import CtiModel
from cti.placed import PlacedCall, PlacedCalls
from cti.records import ChannelInfo
from cti.spies import spy_view

Json = dict[str, Any]

__all__ = ["CtiError", "CtiService", "dial_string"]


def dial_string(number: str, region: str = "CN") -> str:
    """What the outbound context is given: the number as dialled from ``region`` (national
    form for domestic numbers, ``00`` + country code otherwise), digits only."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return re.sub(r"[^0-9*#]", "", number)
    out = phonenumbers.format_out_of_country_calling_number(parsed, region)
    return re.sub(r"[^0-9*#]", "", out.replace("+", "00"))


class CtiService:
    def __init__(self, client: AmiClient, directory: AgentDirectory, plan: PhonePlan, *,
                 outbound_context: str = "outbound", parking_context: str = "parkedcalls",
                 transfer_context: str | None = None, queues: Iterable[str] = ("support",),
                 region: str = "CN", live: LivePublisher | None = None,
                 conference_context: str = "vigil-conference",
                 placed: PlacedCalls | None = None, caller_id: str | None = None,
                 ring_timeout_s: int = 30) -> None:
        self.client = client
        self.model: CtiModel = client.model
        self.commands = Commands(client)
        self.directory = directory
        self.plan = plan
        self.outbound_context = outbound_context
        self.parking_context = parking_context
        self.transfer_context = transfer_context or plan.transfer_to
        self.default_queues = tuple(queues)
        self.region = region
        self.live = live
        self.placed = placed
        self.caller_id = caller_id
        self.ring_timeout_s = ring_timeout_s
        self.conference_context = conference_context
        self.invitations = conf.Invitations(self.model, self.commands)
        self.screenpop: Any = None  # cti.screenpop.ScreenPop, set by the runtime
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ lookups

    async def user(self, user_id: int) -> AgentUser:
        user = await self.directory.by_id(user_id)
        if user is None:
            raise CtiError("this user has no phone extension", code="no_extension")
        return user

    def legs(self, ext: str) -> list[ChannelInfo]:
        """The user's live channels (their phone device), oldest first."""
        devices = {self.plan.channel(ext), f"PJSIP/{ext}", f"SIP/{ext}"}
        found = [c for c in self.model.channels.values() if c.device in devices]
        return sorted(found, key=lambda c: c.created_at)

    def agent_leg(self, ext: str) -> ChannelInfo:
        legs = self.legs(ext)
        bridged = [c for c in legs if c.bridge is not None]
        for pool in (bridged, legs):
            for chan in pool:
                if chan.name.startswith("Local/") and chan.name.endswith(";1"):
                    return chan
            if pool:
                return pool[0]
        raise CtiError("you have no call", code="no_call")

    def other_party(self, ext: str) -> ChannelInfo:
        leg = self.agent_leg(ext)
        bridge = self.model.bridges.get(leg.bridge or "")
        if bridge is not None:
            for uid in sorted(bridge["channels"]):
                chan = self.model.channels.get(uid)
                if chan is not None and uid != leg.uniqueid:
                    return chan
        raise CtiError("your call is not connected to anyone", code="not_connected")

    def phone_channel(self, ext: str) -> ChannelInfo:
        """The channel of the user's phone itself in its connected call (``PJSIP/1001-…``, or
        the phone end of ``Local/1001@…``): what a supervisor spies on."""
        leg = self.agent_leg(ext)
        if leg.bridge is None:
            raise CtiError("the call is not connected yet", code="not_connected")
        ends = [c for c in self.legs(ext) if c.linkedid == leg.linkedid and c.device_end]
        ends.sort(key=lambda c: (c.name.startswith("Local/"), c.created_at))
        if not ends:
            raise CtiError("you have no call", code="no_call")
        return ends[0]

    def interfaces_of(self, ext: str) -> dict[str, list[str]]:
        """Queues per member interface of this extension, as the model knows them."""
        wanted = self.plan.interface(ext)
        out: dict[str, list[str]] = {}
        for name, q in self.model.queues.items():
            for iface in q.members:
                if iface == wanted or iface in (f"PJSIP/{ext}", f"SIP/{ext}"):
                    out.setdefault(iface, []).append(name)
        return out

    # ------------------------------------------------------------------ queue membership

    async def login(self, user_id: int, queues: Iterable[str] | None = None, *,
                    penalty: int = 0, paused: bool = False,
                    reason: str | None = None) -> list[str]:
        user = await self.user(user_id)
        names = list(queues or self.default_queues)
        await self.commands.login(names, self.plan.interface(user.extension), user.display_name,
                                  state_interface=self.plan.state_interface(user.extension),
                                  penalty=penalty, paused=paused, reason=reason)
        return names

    async def logout(self, user_id: int, queues: Iterable[str] | None = None) -> list[str]:
        user = await self.user(user_id)
        done: list[str] = []
        wanted = set(queues) if queues is not None else None
        members = self.interfaces_of(user.extension) or {
            self.plan.interface(user.extension): list(wanted or [])}
        for iface, names in members.items():
            chosen = [q for q in names if wanted is None or q in wanted]
            await self.commands.logout(chosen, iface)
            done += chosen
        return sorted(done)

    async def pause(self, user_id: int, reason: str | None = None,
                    queue: str | None = None) -> None:
        user = await self.user(user_id)
        for iface in self.interfaces_of(user.extension) or [self.plan.interface(user.extension)]:
            await self.commands.pause(iface, reason, queue)

    async def unpause(self, user_id: int, queue: str | None = None) -> None:
        user = await self.user(user_id)
        for iface in self.interfaces_of(user.extension) or [self.plan.interface(user.extension)]:
            await self.commands.unpause(iface, queue)

    # ------------------------------------------------------------------ calls

    def new_call_id(self, kind: str, ext: str) -> str:
        """An id for a call about to be placed (the Originate's ChannelId)."""
        return f"{kind}-{ext}-{int(self.client.clock.now().timestamp())}-{next(self._ids)}"

    async def _place(self, user: AgentUser, kind: str, call_id: str, action: cmd.Action, *,
                     number: str | None, incident_id: Any = None, verification_id: Any = None,
                     extra: Json | None = None) -> Json:
        """Originate ``action`` as a placed call: registered (``call.progress`` dialing) before
        it is sent, ``failed`` published and the error raised when Asterisk refuses it."""
        action = dict(action)
        action["ActionID"] = f"{call_id}-orig"
        if self.placed is not None:
            self.placed.add(PlacedCall(
                call_id=call_id, kind=kind, user_id=user.id, extension=user.extension,
                number=number, placed_at=self.client.clock.now().timestamp(),
                action_id=str(action["ActionID"]), incident_id=incident_id,
                verification_id=verification_id, extra=dict(extra or {})))
        try:
            await self.commands.originate(action)
        except AmiError as exc:
            if self.placed is not None:
                code = "originate_failed" if exc.code in ("refused", "ami_error") else exc.code
                self.placed.fail(call_id, code)
            raise
        return {"call_id": call_id}

    def _outbound(self, user: AgentUser, number: str, call_id: str,
                  variables: dict[str, str]) -> cmd.Action:
        digits = dial_string(number, self.region)
        if not digits:
            raise CtiError(f"{number!r} is not a phone number", code="invalid_number",
                           status=422)
        return cmd.originate(self.plan.channel(user.extension), self.outbound_context, digits,
                             caller_id=self.caller_id,
                             variables={cmd.AUTOANSWER: "yes", **variables},
                             channel_id=call_id, other_channel_id=f"{call_id}-2",
                             timeout_ms=self.ring_timeout_s * 1000)

    async def dial(self, user_id: int, number: str, *,
                   variables: dict[str, str] | None = None) -> Json:
        """Click-to-dial: ring the user's phone (it answers by itself), then dial ``number``
        out. Returns ``{"call_id": ...}`` at once; ``call.progress`` follows."""
        user = await self.user(user_id)
        call_id = self.new_call_id("dial", user.extension)
        action = self._outbound(user, number, call_id, dict(variables or {}))
        return await self._place(user, "dial", call_id, action, number=number)

    async def verification(self, user_id: int, number: str, *, incident_id: Any,
                           verification_id: Any, account_id: Any = None,
                           call_id: str | None = None) -> Json:
        """An alarm verification call from the operator's phone to the premises or a
        keyholder; ``call_id`` may be chosen by the caller (known before it is sent)."""
        user = await self.user(user_id)
        call_id = call_id or self.new_call_id(f"verif-{incident_id}", user.extension)
        variables = {"VIGIL_INCIDENT_ID": str(incident_id or ""),
                     "VIGIL_VERIFICATION_ID": str(verification_id or "")}
        if account_id is not None:
            variables["VIGIL_ACCOUNT_ID"] = str(account_id)
        action = self._outbound(user, number, call_id, variables)
        return await self._place(user, "verification", call_id, action, number=number,
                                 incident_id=incident_id, verification_id=verification_id)

    def placed_calls(self, user_id: int) -> list[Json]:
        """The user's placed calls still going on (their latest ``call.progress``)."""
        return self.placed.of_user(user_id) if self.placed is not None else []

    async def hangup(self, user_id: int) -> str:
        user = await self.user(user_id)
        leg = self.agent_leg(user.extension)
        await self.commands.hangup(leg.name)
        return leg.name

    async def transfer(self, user_id: int, exten: str, *, attended: bool = False,
                       context: str | None = None) -> None:
        user = await self.user(user_id)
        leg = self.agent_leg(user.extension)
        ctx = context or self.transfer_context
        if attended:
            await self.commands.attended_transfer(leg.name, exten, ctx)
        else:
            await self.commands.blind_transfer(leg.name, exten, ctx)

    async def park(self, user_id: int, timeout_s: int = 60) -> str:
        user = await self.user(user_id)
        leg = self.agent_leg(user.extension)
        caller = self.other_party(user.extension)
        await self.commands.park(caller.name, timeout_channel=leg.name,
                                 timeout_ms=timeout_s * 1000)
        return caller.name

    async def retrieve(self, user_id: int, space: str) -> None:
        user = await self.user(user_id)
        await self.commands.originate(cmd.retrieve_parked(
            self.plan.channel(user.extension), space, parking_context=self.parking_context))

    async def dtmf(self, user_id: int, digits: str) -> None:
        user = await self.user(user_id)
        await self.commands.dtmf(self.agent_leg(user.extension).name, digits)

    async def record_start(self, user_id: int) -> str:
        user = await self.user(user_id)
        caller = self.other_party(user.extension)
        started = datetime.fromtimestamp(caller.created_at, UTC) if caller.created_at \
            else self.client.clock.now()
        return await self.commands.record(caller.name, caller.linkedid, started)

    async def record_stop(self, user_id: int) -> None:
        user = await self.user(user_id)
        await self.commands.stop_recording(self.other_party(user.extension).name)

    async def spy(self, supervisor_id: int, agent_user_id: int, mode: str) -> Json:
        """Listen, whisper or barge: ring the supervisor's phone (it answers by itself) into
        the dialplan's spy extension on the agent's connected call. The spy ends with that
        call and never moves on to the agent's next one. Returns ``{"call_id": ...}``."""
        if mode not in cmd.SPY_PREFIXES:
            raise CtiError(f"mode must be one of {', '.join(cmd.SPY_PREFIXES)}",
                           code="invalid_mode", status=422)
        sup = await self.user(supervisor_id)
        agent = await self.user(agent_user_id)
        if self._spy_of(sup.extension) is not None:
            raise CtiError("you are already listening to a call", code="already_spying")
        try:
            target = self.phone_channel(agent.extension)
        except CtiError as exc:
            raise CtiError("the agent has no connected call", code="agent_no_call") from exc
        call_id = self.new_call_id("spy", sup.extension)
        action = cmd.spy_call(self.plan.channel(sup.extension), agent.extension, mode,
                              context=self.plan.spy_context, spied_channel=target.name,
                              caller_id=f'"{sup.display_name}" <{sup.extension}>',
                              channel_id=call_id, timeout_ms=self.ring_timeout_s * 1000)
        return await self._place(sup, "spy", call_id, action, number=agent.extension, extra={
            "agent_user_id": agent.id, "agent_extension": agent.extension, "mode": mode,
            "spied_call_id": target.linkedid})

    def _spy_of(self, ext: str) -> Json | None:
        for spy in self.model.live_spies.values():
            if spy.get("supervisor_extension") == ext:
                return spy
        return None

    async def spy_mode(self, supervisor_id: int, mode: str) -> Json:
        """Switch the supervisor's live spy to listen, whisper or barge (the key ChanSpy's
        ``d`` option reads, received on the spying channel)."""
        if mode not in cmd.SPY_KEYS:
            raise CtiError(f"mode must be one of {', '.join(cmd.SPY_KEYS)}",
                           code="invalid_mode", status=422)
        sup = await self.user(supervisor_id)
        spy = self._spy_of(sup.extension)
        if spy is None:
            raise CtiError("you are not listening to any call", code="no_spy")
        await self.commands.spy_mode(str(spy["supervisor_channel"]), mode)
        placed = self.placed.calls.get(str(spy.get("spyer_call_id"))) if self.placed else None
        if placed is not None:
            placed.extra["mode"] = mode
        return {"call_id": spy.get("spyer_call_id"), "mode": mode}

    async def spy_stop(self, supervisor_id: int) -> Json:
        """End the supervisor's live spy (hang up the channel running ChanSpy)."""
        sup = await self.user(supervisor_id)
        spy = self._spy_of(sup.extension)
        if spy is None:
            raise CtiError("you are not listening to any call", code="no_spy")
        await self.commands.hangup(str(spy["supervisor_channel"]))
        return {"call_id": spy.get("spyer_call_id")}

    def spies(self) -> list[Json]:
        """The spy sessions going on now (supervisor, agent, mode, the spied call)."""
        return [spy_view(s, self.directory) for s in self.model.live_spies.values()]

    # ------------------------------------------------------------------ three-way calls

    async def conference(self, user_id: int, target: str, *, auto_answer: bool = False,
                         ring_timeout_s: int = 30) -> Json:
        """Add ``target`` to the user's current call: a colleague (a user's extension; their
        phone rings, or answers by itself with ``auto_answer``) or an outside number (dialled
        through the outbound context). The first time, the call moves into a ConfBridge room
        (:mod:`cti.conference`); further parties join the same room."""
        target = (target or "").strip()
        if not target or len(target) > 32 or not any(ch.isdigit() for ch in target):
            raise ValueError("target: a phone number or an extension")
        user = await self.user(user_id)
        leg = self.agent_leg(user.extension)
        call = self.model.calls.get(leg.linkedid)
        if call is None:
            raise CtiError("you have no call", code="no_call")
        colleague = await self.directory.by_extension(target)
        if colleague is not None and colleague.id == user_id:
            raise CtiError("you are already in this call", code="already_in_call")
        room = conf.room_of(call.call_id)
        bridge = self.model.bridges.get(leg.bridge or "") or {}
        if bridge.get("name") != conf.room_name(room):
            party = self.other_party(user.extension)
            await self.commands.send(conf.into_room(party.name, leg.name,
                                                    self.conference_context, room))
        variables = {k: v for k, v in (("VIGIL_ACCOUNT_ID", call.account_id),
                                        ("VIGIL_INCIDENT_ID", call.incident_id)) if v}
        if colleague is not None:
            channel = self.plan.channel(colleague.extension)
            if auto_answer:
                variables[cmd.AUTOANSWER] = "yes"  # the colleague's phone, nothing after it
        else:
            channel = f"Local/{dial_string(target, self.region)}@{self.outbound_context}"
        invite_id = f"conf-{room}-{next(self._ids)}"
        await self.commands.originate(conf.invite(
            channel, self.conference_context, room, call_id=call.call_id, target=target,
            invite_id=invite_id, variables=variables,
            caller_id=f'"{user.display_name}" <{user.extension}>' if colleague else None,
            ring_timeout_s=ring_timeout_s))
        self.invitations.add(invite_id, room)
        return {"call_id": call.call_id, "room": conf.room_name(room), "invite_id": invite_id,
                "target": target, "party": "colleague" if colleague else "external"}

    # ------------------------------------------------------------------ views

    async def current_call(self, user_id: int) -> Json:
        """What the console restores on load: the user's live call (``call``: see
        :func:`cti.callview.call_view`, None when there is none), their agent state with the
        pause and the wrap-up (``agent``), and the screen pop of the live call (``pop``)."""
        user = await self.user(user_id)
        row = next((r for r in self.agents() if r.get("extension") == user.extension), None)
        agent: Json = {"state": "logged_out", "queues": [], "paused": False,
                       "pause_reason": None, "wrapup_until": None, "wrapup_call_id": None}
        if row is not None:
            agent = {k: row.get(k) for k in (
                "state", "since", "queues", "paused", "pause_reason", "paused_queues",
                "in_wrapup", "wrapup_until", "wrapup_call_id", "wrapup_queue", "on_hold",
                "hold_since")}
        pop = self.screenpop.current(user_id) if self.screenpop is not None else None
        return {"user_id": user.id, "extension": user.extension,
                "call": call_view(self.model, user.extension), "agent": agent, "pop": pop,
                "placed": self.placed_calls(user_id)}


    def agents(self) -> list[Json]:
        if self.live is None:
            return []
        agents, _ = self.live.current()
        return list(agents.values())

    def queues(self) -> list[Json]:
        if self.live is None:
            return []
        _, queues = self.live.current()
        return list(queues.values())

    def status(self) -> Json:
        c = self.client
        return {"state": c.state, "host": c.settings.host, "port": c.settings.port,
                "connections": c.connections, "last_error": c.last_error,
                "messages": c.messages_processed}
