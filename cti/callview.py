"""A user's live call as the console shows it, computed from the state model (pure).

The console asks on every load (:meth:`cti.service.CtiService.current_call`), so the server,
not the browser, says whether the user is on a call: which one, what kind, ringing, connected or
held since when, with whom, and the call's context (queue, account, incident, verification,
conference, recording).

A user's phone is every device of their extension: ``Local/<ext>@<agent phone context>`` (queue
members, originates, transfers), ``PJSIP/<ext>`` (the phone itself; where it puts a call on hold)
and ``SIP/<ext>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cti.model import CtiModel
from cti.records import CallState, ChannelInfo, ms

Json = dict[str, Any]
KINDS = ("queue", "verification", "dial", "spy", "internal", "transfer")


def phone_devices(ext: str, contexts: Iterable[str]) -> set[str]:
    """Every device name a phone of extension ``ext`` appears under."""
    return {f"Local/{ext}@{ctx}" for ctx in contexts} | {f"PJSIP/{ext}", f"SIP/{ext}"}


def user_channels(model: CtiModel, ext: str, call_id: str | None = None) -> list[ChannelInfo]:
    """The extension's live channels (in one call when ``call_id`` is given), oldest first."""
    devices = phone_devices(ext, model.config.agent_contexts)
    found = [c for c in model.channels.values() if c.device in devices
             and (call_id is None or c.linkedid == call_id)]
    return sorted(found, key=lambda c: c.created_at)


def _kind(call: CallState, mine: list[ChannelInfo]) -> str:
    if call.spied_call_id is not None or any(c.application == "ChanSpy" for c in mine):
        return "spy"
    if call.verification_id is not None or call.incident_id is not None:
        return "verification"
    agent_device = (call.agent_interface or "").removesuffix("/n")
    mine_is_agent = any(c.device == agent_device for c in mine)
    if call.transfer is not None and not mine_is_agent:
        return "transfer"
    if call.queue is not None:
        return "queue"
    origin = call.origin_channel
    if call.outbound and origin is not None and origin in mine:
        return "dial"
    return "internal"


def _direction(call: CallState) -> str:
    if call.queue is not None or call.inbound:
        return "inbound"
    return "outbound" if call.outbound else "internal"


def _other_party(call: CallState, mine: list[ChannelInfo]) -> tuple[str | None, str | None]:
    origin = call.origin_channel
    devices = {c.device for c in mine}
    if origin is not None and origin.device not in devices:
        return origin.caller_number, origin.caller_name
    if call.called_number:
        return call.called_number, None
    leg = next((c for c in mine if c.connected_number), None)
    return (leg.connected_number, leg.connected_name) if leg is not None else (None, None)


def _recording(call: CallState) -> str | None:
    live = [r["file"] for r in call.recordings if r.get("file") and r["stopped_at"] is None]
    done = [r["file"] for r in call.recordings if r.get("file")]
    return (live or done or [None])[-1]


def _pick(model: CtiModel, channels: list[ChannelInfo]) -> tuple[CallState, list[ChannelInfo]]:
    """The user's call: a connected one before a ringing one, the newest of each."""
    by_call: dict[str, list[ChannelInfo]] = {}
    for chan in channels:
        by_call.setdefault(chan.linkedid, []).append(chan)
    ranked = sorted(by_call.items(), key=lambda kv: (
        any(c.state == "Up" for c in kv[1]), max(c.created_at for c in kv[1])))
    call_id, mine = ranked[-1]
    return model.calls[call_id], mine


def call_view(model: CtiModel, ext: str) -> Json | None:
    """The extension's live call, or None: see the module docstring for the fields."""
    channels = [c for c in user_channels(model, ext) if c.linkedid in model.calls]
    if not channels:
        return None
    call, mine = _pick(model, channels)
    kind = _kind(call, mine)
    up = [c for c in mine if c.state == "Up"]
    held = [c.hold_since for c in mine if c.hold_since is not None]
    placed = kind in ("dial", "verification") and call.origin_channel in mine
    if held:
        state, since = "held", min(held)
    elif placed:
        # a call the user placed: their own leg answers first; it connects when the far end
        # does (the outbound Dial's ANSWER)
        if call.answer_at is not None:
            state, since = "connected", call.answer_at
        else:
            state, since = "ringing", min(c.created_at for c in mine)
    elif up:
        answered = [c.answered_at for c in up if c.answered_at is not None]
        state, since = "connected", min(answered) if answered else up[0].created_at
    else:
        state, since = "ringing", min(c.created_at for c in mine)
    number, name = _other_party(call, mine)
    host = model.calls.get(call.conference_of or "") if call.conference_of else call
    conference = host.conference if host is not None else None
    return {
        "call_id": call.call_id, "kind": kind,
        "direction": _direction(call), "state": state, "since": ms(since),
        "started_at": ms(call.started_at), "answered_at": ms(call.answer_at),
        "number": number, "name": name, "queue": call.queue, "account_id": call.account_id,
        "incident_id": call.incident_id, "verification_id": call.verification_id,
        "ivr_path": call.ivr_path, "channels": [c.name for c in mine],
        "held_since": ms(min(held)) if held else None,
        "conference": conference, "recording_file": _recording(call),
        "transfer": call.transfer,
    }
