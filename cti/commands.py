"""Call control over AMI: pure action builders, and :class:`Commands` that sends them.

Every builder returns the action as an ordered dict (header order is the order Asterisk sees), so
tests check the exact text with :func:`cti.ami_codec.encode_action`. :class:`Commands` adds an
ActionID, sends with the client's timeout and raises its clear errors
(:class:`cti.ami_client.AmiTimeout`, ``AmiConnectionLost``, ``AmiActionFailed``).

Notes from the captures and Asterisk 22:
* Channel variables on Originate go as repeated ``Variable:`` headers (a comma-joined single
  header breaks on values containing commas).
* An async Originate answers ``Originate successfully queued`` at once; the outcome is the later
  ``OriginateResponse`` with the same ActionID. Giving the channels ids (``ChannelId``,
  ``OtherChannelId``) makes the first leg's Uniqueid — and so the call's Linkedid and call-record
  id — known before the call exists.
* Spying is a call from the supervisor's phone into asterisk-config's ``[supervisor-spy]``:
  extension 81/82/83 + the agent's extension listens, whispers or barges, with ChanSpy's ``E``
  (the spy ends when the spied channel hangs up, never moving on to the agent's next call) and
  ``d`` (keys 4/5/6 switch the mode). The CTI names the agent's live channel in
  ``VIGIL_SPY_CHANNEL`` so ChanSpy spies on that channel alone (``u``) and ends at once when it
  is already gone. Never ``Application=ChanSpy`` straight from the Originate: without ``E``
  real Asterisk keeps spying after the call and attaches to the agent's next one.
* Switching a live spy's mode is the key the supervisor would press: ``PlayDTMF`` with
  ``Receive: true`` queues the digit on the spying channel as if it came from the phone
  (app_senddtmf.c); ChanSpy's ``d`` option reads it (app_chanspy.c ``change_spy_mode``).
* There is no AMI "unpark": retrieving a parked call is a call from the agent's phone to the
  parking space extension in the parking context.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cti.ami_client import AmiClient, AmiTimeout
from cti.ami_codec import HeaderValue

Action = dict[str, HeaderValue]

SPY_OPTIONS = {"listen": "q", "whisper": "qw", "barge": "qB"}
#: ``[supervisor-spy]`` extension prefixes, and the keys ChanSpy's ``d`` option reads
SPY_PREFIXES = {"listen": "81", "whisper": "82", "barge": "83"}
SPY_KEYS = {"listen": "4", "whisper": "5", "barge": "6"}
AUTOANSWER = "_VIGIL_AUTOANSWER"  # one underscore: the phone's channel, nothing dialled after it
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def queue_add(queue: str, interface: str, member_name: str, *, state_interface: str | None = None,
              penalty: int = 0, paused: bool = False, reason: str | None = None) -> Action:
    action: Action = {"Action": "QueueAdd", "Queue": queue, "Interface": interface,
                      "MemberName": member_name}
    if state_interface:
        action["StateInterface"] = state_interface
    action["Penalty"] = penalty
    action["Paused"] = _bool(paused)
    if paused and reason:
        action["Reason"] = reason
    return action


def agent_login(queues: Iterable[str], interface: str, member_name: str, *,
                state_interface: str | None = None, penalty: int = 0,
                paused: bool = False, reason: str | None = None) -> list[Action]:
    """One QueueAdd per queue (AMI adds a member to one queue at a time)."""
    return [queue_add(q, interface, member_name, state_interface=state_interface,
                      penalty=penalty, paused=paused, reason=reason) for q in queues]


def queue_remove(queue: str, interface: str) -> Action:
    return {"Action": "QueueRemove", "Queue": queue, "Interface": interface}


def agent_logout(queues: Iterable[str], interface: str) -> list[Action]:
    return [queue_remove(q, interface) for q in queues]


def queue_pause(interface: str, paused: bool, *, queue: str | None = None,
                reason: str | None = None) -> Action:
    """Pause or unpause in one queue, or in all the member's queues when ``queue`` is None."""
    action: Action = {"Action": "QueuePause"}
    if queue:
        action["Queue"] = queue
    action["Interface"] = interface
    action["Paused"] = _bool(paused)
    if reason:
        action["Reason"] = reason
    return action


def originate(channel: str, context: str, exten: str, *, priority: int = 1,
              caller_id: str | None = None, variables: Mapping[str, str] | None = None,
              channel_id: str | None = None, other_channel_id: str | None = None,
              timeout_ms: int | None = None, account: str | None = None) -> Action:
    """Call ``channel`` (an agent's phone) and, when it answers, send it to context,exten."""
    action: Action = {"Action": "Originate", "Channel": channel, "Context": context,
                      "Exten": exten, "Priority": priority}
    if caller_id:
        action["CallerID"] = caller_id
    if timeout_ms is not None:
        action["Timeout"] = timeout_ms
    if account:
        action["Account"] = account
    action["Async"] = "true"
    if variables:
        action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
    if channel_id:
        action["ChannelId"] = channel_id
    if other_channel_id:
        action["OtherChannelId"] = other_channel_id
    return action


def verification_call(operator_phone: str, number: str, *, outbound_context: str,
                      incident_id: str, caller_id: str | None = None,
                      ring_timeout_s: int = 30) -> Action:
    """An alarm verification call: the operator's phone first, then the premises number."""
    base = f"verif-{incident_id}-{re.sub(r'[^0-9A-Za-z]', '', number)}"
    return originate(operator_phone, outbound_context, number, caller_id=caller_id,
                     variables={AUTOANSWER: "yes", "VIGIL_INCIDENT_ID": incident_id},
                     channel_id=base, other_channel_id=f"{base}-2",
                     timeout_ms=ring_timeout_s * 1000)


def spy_call(supervisor_phone: str, agent_extension: str, mode: str, *, context: str,
             spied_channel: str | None = None, caller_id: str | None = None,
             channel_id: str | None = None, timeout_ms: int | None = None) -> Action:
    """Ring the supervisor's phone (answering by itself) into the spy extension of ``mode``
    for the agent, on ``spied_channel`` alone when given."""
    if mode not in SPY_PREFIXES:
        raise ValueError(f"spy mode must be one of {sorted(SPY_PREFIXES)}, not {mode!r}")
    variables = {AUTOANSWER: "yes"}
    if spied_channel:
        variables["VIGIL_SPY_CHANNEL"] = spied_channel
    return originate(supervisor_phone, context, SPY_PREFIXES[mode] + agent_extension,
                     caller_id=caller_id, variables=variables, channel_id=channel_id,
                     other_channel_id=f"{channel_id}-2" if channel_id else None,
                     timeout_ms=timeout_ms)


def hangup(channel: str, cause: int | None = None) -> Action:
    action: Action = {"Action": "Hangup", "Channel": channel}
    if cause is not None:
        action["Cause"] = cause
    return action


def blind_transfer(channel: str, exten: str, context: str) -> Action:
    """Transfer the party bridged with ``channel`` (the agent's leg) to context,exten."""
    return {"Action": "BlindTransfer", "Channel": channel, "Exten": exten, "Context": context}


def attended_transfer(channel: str, exten: str, context: str | None = None) -> Action:
    """Start an attended transfer from the agent's leg (the agent consults, then completes)."""
    action: Action = {"Action": "Atxfer", "Channel": channel, "Exten": exten}
    if context:
        action["Context"] = context
    return action


def park(channel: str, *, timeout_channel: str | None = None, timeout_ms: int | None = None,
         parkinglot: str | None = None) -> Action:
    """Park ``channel`` (the caller); on timeout it rings ``timeout_channel`` (the agent)."""
    action: Action = {"Action": "Park", "Channel": channel}
    if timeout_channel:
        action["TimeoutChannel"] = timeout_channel
    if timeout_ms is not None:
        action["Timeout"] = timeout_ms
    if parkinglot:
        action["Parkinglot"] = parkinglot
    return action


def retrieve_parked(agent_phone: str, space: str, *, parking_context: str = "parkedcalls",
                    caller_id: str | None = None) -> Action:
    return originate(agent_phone, parking_context, space, caller_id=caller_id)


def play_dtmf(channel: str, digits: str, duration_ms: int = 250,
              receive: bool = False) -> list[Action]:
    """One PlayDTMF per digit (the action plays a single digit). ``receive``: the digit is
    read on ``channel`` as if its own phone had sent it, instead of being sent to it."""
    bad = [d for d in digits if d not in "0123456789*#ABCDabcd"]
    if bad:
        raise ValueError(f"not DTMF digits: {''.join(bad)!r}")
    actions: list[Action] = []
    for d in digits:
        action: Action = {"Action": "PlayDTMF", "Channel": channel, "Digit": d,
                          "Duration": duration_ms}
        if receive:
            action["Receive"] = "true"
        actions.append(action)
    return actions


def recording_filename(call_id: str, started: datetime, extension: str = "wav") -> str:
    """``vigil-<call id>-<UTC start>.wav``: unique per call, sortable, safe as a file name."""
    return f"vigil-{_UNSAFE.sub('_', call_id)}-{started.strftime('%Y%m%dT%H%M%SZ')}.{extension}"


def mixmonitor_start(channel: str, filename: str, options: str = "b") -> Action:
    """Record ``channel``'s call (``b``: only while bridged) into the monitor directory."""
    return {"Action": "MixMonitor", "Channel": channel, "File": filename, "Options": options}


def mixmonitor_stop(channel: str) -> Action:
    return {"Action": "StopMixMonitor", "Channel": channel}


def resync_actions() -> list[Action]:
    return [{"Action": "QueueStatus"}, {"Action": "CoreShowChannels"},
            {"Action": "DeviceStateList"}]


class Commands:
    """Send the builders' actions through an :class:`AmiClient` (each with its timeout)."""

    def __init__(self, client: AmiClient) -> None:
        self.client = client

    async def send(self, action: Action, within: float | None = None) -> Any:
        action = dict(action)
        action.setdefault("ActionID", self.client.next_action_id())
        return await self.client.send_action(action, within=within, as_list=False)

    async def send_all(self, actions: Iterable[Action]) -> list[Any]:
        return [await self.send(a) for a in actions]

    async def login(self, queues: Iterable[str], interface: str, name: str,
                    **kw: Any) -> list[Any]:
        return await self.send_all(agent_login(queues, interface, name, **kw))

    async def logout(self, queues: Iterable[str], interface: str) -> list[Any]:
        return await self.send_all(agent_logout(queues, interface))

    async def pause(self, interface: str, reason: str | None = None,
                    queue: str | None = None) -> Any:
        return await self.send(queue_pause(interface, True, queue=queue, reason=reason))

    async def unpause(self, interface: str, queue: str | None = None) -> Any:
        return await self.send(queue_pause(interface, False, queue=queue))

    async def originate(self, action: Action, answer_timeout: float | None = None) -> Any:
        """Queue an async Originate; with ``answer_timeout`` also wait for OriginateResponse.

        Returns the "queued" response, or the OriginateResponse event when waiting (its
        ``Response`` is Success or Failure; ``Reason`` says why).
        """
        action = dict(action)
        action.setdefault("ActionID", self.client.next_action_id())
        waiter = (self.client.expect_originate(str(action["ActionID"]))
                  if answer_timeout is not None else None)
        queued = await self.send(action)
        if waiter is None:
            return queued
        return await self._await(waiter, answer_timeout or 0.0, str(action["ActionID"]))

    @staticmethod
    async def _await(waiter: Any, seconds: float, action_id: str) -> Any:
        try:
            return await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            raise AmiTimeout(f"no OriginateResponse for ActionID {action_id} within "
                             f"{seconds:g} s") from None

    async def hangup(self, channel: str) -> Any:
        return await self.send(hangup(channel))

    async def blind_transfer(self, channel: str, exten: str, context: str) -> Any:
        return await self.send(blind_transfer(channel, exten, context))

    async def attended_transfer(self, channel: str, exten: str,
                                context: str | None = None) -> Any:
        return await self.send(attended_transfer(channel, exten, context))

    async def park(self, channel: str, **kw: Any) -> Any:
        return await self.send(park(channel, **kw))

    async def dtmf(self, channel: str, digits: str) -> list[Any]:
        return await self.send_all(play_dtmf(channel, digits))

    async def record(self, channel: str, call_id: str, started: datetime) -> str:
        filename = recording_filename(call_id, started)
        await self.send(mixmonitor_start(channel, filename))
        return filename

    async def stop_recording(self, channel: str) -> Any:
        return await self.send(mixmonitor_stop(channel))

    async def spy_mode(self, spying_channel: str, mode: str) -> list[Any]:
        """Switch a live spy (ChanSpy with ``d``) to ``mode``: its key, received on the
        spying channel."""
        return await self.send_all(play_dtmf(spying_channel, SPY_KEYS[mode], receive=True))
