"""The AMI client against a scripted AMI server on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from core.bus import Bus
from cti.ami_client import AmiClient, AmiConnectionLost, AmiSettings, AmiTimeout
from cti.ami_codec import Message, encode_action
from cti.commands import Commands, hangup, originate, queue_add, queue_pause, verification_call
from cti.replay import load_capture

from .fake_ami import FakeAmi, Script

FAST = dict(action_timeout=0.5, ping_interval=0.1, ping_timeout=0.3, reconnect_min=0.05,
            reconnect_max=0.2, connect_timeout=1.0, resync_timeout=1.0)


async def until(predicate: Callable[[], bool], within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def running() -> AsyncIterator[Callable[..., Any]]:
    started: list[tuple[FakeAmi, AmiClient]] = []

    async def make(scripts: Callable[[int], Script], bus: Bus | None = None,
                   **overrides: float) -> tuple[FakeAmi, AmiClient]:
        server = FakeAmi(scripts)
        port = await server.start()
        settings = AmiSettings(port=port, username="vigil", secret="s3cret",
                               **{**FAST, **overrides})  # type: ignore[arg-type]
        client = AmiClient(settings, bus=bus)
        started.append((server, client))
        await client.start()
        return server, client

    yield make
    for server, client in started:
        await client.stop()
        await server.close()


async def test_login_resync_and_ordered_events(running: Callable[..., Any]) -> None:
    events = [{"Event": "QueueMemberAdded", "Queue": "support", "MemberName": "Alice",
               "Interface": "PJSIP/1101", "StateInterface": "PJSIP/1101", "Status": "1",
               "Paused": "0", "LoginTime": "100"},
              {"Event": "QueueMemberPause", "Queue": "support", "MemberName": "Alice",
               "Interface": "PJSIP/1101", "Paused": "1", "PausedReason": "lunch",
               "LastPause": "150"}]
    bus = Bus()
    sub = bus.subscribe("cti.*")
    server, client = await running(lambda n: Script(after_ready=events), bus=bus)
    seen: list[str] = []
    client.add_handler(lambda msg, t: seen.append(msg.get("Event", msg.get("Response", ""))))
    await client.wait_ready(3)
    await until(lambda: "QueueMemberPause" in seen)
    sent = [a["Action"] for a in server.received]
    assert sent == ["Login", "QueueStatus", "CoreShowChannels", "DeviceStateList"]
    assert server.received[0]["Username"] == "vigil" and server.received[0]["Secret"] == "s3cret"
    # list completions and events reach handlers in wire order
    assert [e for e in seen if e.endswith("Complete") or e.startswith("QueueMember")] == [
        "QueueStatusComplete", "CoreShowChannelsComplete", "DeviceStateListComplete",
        "QueueMemberAdded", "QueueMemberPause"]
    member = client.model.snapshot()["queues"]["support"]["members"]["PJSIP/1101"]
    assert (member["paused"], member["paused_reason"]) == (True, "lunch")
    states = []
    while (ev := sub.get_nowait()) is not None:
        states.append(ev.data["state"])
    assert states == ["connecting", "connected", "resyncing", "ready"]


async def test_reconnects_after_the_server_closes(running: Callable[..., Any]) -> None:
    server, client = await running(lambda n: Script(close_after_ready=n == 0))
    await client.wait_ready(3)
    await until(lambda: client.connections == 2 and client.state == "ready")
    assert [a["Action"] for a in server.received].count("Login") == 2
    assert client.last_error is not None


async def test_reconnects_after_a_silent_half_open_socket(running: Callable[..., Any]) -> None:
    server, client = await running(lambda n: Script(silent_after_ready=n == 0))
    await client.wait_ready(3)
    await until(lambda: client.connections == 2 and client.state == "ready")
    assert "no Pong" in (client.last_error or "")
    # the dead connection got Pings it never answered; the new one answers them
    assert [a["Action"] for a in server.received].count("Ping") >= 1
    await client.send_action({"Action": "Ping"})


async def test_an_unanswered_action_times_out_with_a_clear_error(
        running: Callable[..., Any]) -> None:
    server, client = await running(lambda n: Script(ignore={"Hangup"}))
    await client.wait_ready(3)
    with pytest.raises(AmiTimeout, match=r"AMI Hangup \(ActionID x-1\) got no response"):
        await client.send_action({**hangup("PJSIP/1101-00000001"), "ActionID": "x-1"},
                                 within=0.2)
    await client.send_action({"Action": "Ping"})  # the connection itself is fine
    assert client.connections == 1


async def test_not_connected_is_a_clear_error() -> None:
    client = AmiClient(AmiSettings(port=1))
    with pytest.raises(AmiConnectionLost, match="not connected"):
        await client.send_action({"Action": "Ping"})


async def test_commands_send_the_exact_action_text(running: Callable[..., Any]) -> None:
    server, client = await running(lambda n: Script())
    await client.wait_ready(3)
    commands = Commands(client)
    await commands.pause("PJSIP/1101", reason="lunch", queue="support")
    action = originate("PJSIP/1101", "outbound", "13900000002", channel_id="verif-42-agent",
                       variables={"VIGIL_INCIDENT_ID": "42"})
    await commands.originate({**action, "ActionID": "o-1"})
    expected_pause = encode_action({**queue_pause("PJSIP/1101", True, queue="support",
                                                  reason="lunch"), "ActionID": "vigil-5"})
    assert expected_pause in bytes(server.raw)
    assert (b"Action: Originate\r\nChannel: PJSIP/1101\r\nContext: outbound\r\n"
            b"Exten: 13900000002\r\nPriority: 1\r\nAsync: true\r\n"
            b"Variable: VIGIL_INCIDENT_ID=42\r\nChannelId: verif-42-agent\r\n"
            b"ActionID: o-1\r\n\r\n") in bytes(server.raw)


async def test_queue_add_and_originate_outcome(running: Callable[..., Any]) -> None:
    result = {"Response": "Failure", "Channel": "PJSIP/1101", "Reason": "5",
              "Uniqueid": "<null>"}
    server, client = await running(lambda n: Script(originate_response=result))
    await client.wait_ready(3)
    commands = Commands(client)
    # "Added interface to queue" must not be taken for the start of a list (panoramisk would)
    added = await commands.send(queue_add("support", "PJSIP/1101", "Chen Jing"))
    assert added.message == "Added interface to queue"
    call = verification_call("PJSIP/1101", "13900000002", outbound_context="outbound",
                             incident_id="7")
    outcome = await commands.originate(call, answer_timeout=1.0)
    assert (outcome["Response"], outcome["Reason"]) == ("Failure", "5")
    await until(lambda: client.messages_processed > 0 and any(
        a.get("Action") == "Originate" for a in server.received))


def _capture_until(captures: Path, last_action: str) -> list[Message]:
    """status_snapshot's messages, events only, up to the end of the named list response."""
    out: list[Message] = []
    for msg, _ in load_capture(captures / "status_snapshot.ami"):
        if "Event" in msg and msg["Event"] not in ("FullyBooted", "SuccessfulAuth"):
            out.append(msg)
        if msg.get("Event") == "DeviceStateListComplete" and msg.get("ActionID") == last_action:
            return out
    raise AssertionError("list not found")


def _lists(captures: Path) -> dict[str, list[Message]]:
    items: dict[str, list[Message]] = {"QueueStatus": [], "CoreShowChannels": [],
                                       "DeviceStateList": []}
    owner = {"lab-7": "QueueStatus", "lab-9": "CoreShowChannels", "lab-10": "DeviceStateList"}
    for msg, _ in load_capture(captures / "status_snapshot.ami"):
        name = owner.get(msg.get("ActionID", ""))
        if name and "Event" in msg and not msg["Event"].endswith("Complete"):
            items[name].append({k: v for k, v in msg.items() if k != "ActionID"})
    return items


def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
    snap = {k: v for k, v in snap.items() if k not in ("time", "devices")}
    for queue in snap["queues"].values():
        for caller in queue["callers"]:
            caller.pop("wait")
    return snap


async def test_state_after_resync_equals_state_before_the_drop(
        running: Callable[..., Any], captures: Path) -> None:
    stream = _capture_until(captures, "lab-10")
    lists = _lists(captures)
    bus = Bus()
    ended = bus.subscribe("cti.call.ended")
    server, client = await running(
        lambda n: Script(after_ready=stream, close_after_ready=True) if n == 0
        else Script(lists=lists), bus=bus, reconnect_min=0.5)
    last = stream[-1]
    seen_last: list[bool] = []
    client.add_handler(lambda msg, t: seen_last.append(True) if msg is last or (
        msg.get("Event") == last["Event"] and msg.get("ActionID") == "lab-10") else None)
    await until(lambda: bool(seen_last) and client.state == "disconnected")
    before = client.model.snapshot()
    assert len(before["channels"]) == 6 and len(before["queues"]["support"]["members"]) == 2
    assert len(before["queues"]["support"]["callers"]) == 1
    # what the model may hold wrongly after an outage: a member and a call that ended unseen
    client.model.feed({"Event": "QueueMemberAdded", "Queue": "support", "MemberName": "Ghost",
                       "Interface": "PJSIP/9", "Status": "1", "Paused": "0"}, before["time"])
    client.model.feed({"Event": "Newchannel", "Channel": "PJSIP/9-00000001", "Uniqueid": "9.9",
                       "Linkedid": "9.9", "ChannelStateDesc": "Up"}, before["time"])
    await until(lambda: client.connections == 2 and client.state == "ready")
    await until(lambda: not client.model.resyncing)
    after = client.model.snapshot()
    assert _comparable(after) == _comparable(before)
    assert after["devices"] == {m["Device"]: m["State"] for m in lists["DeviceStateList"]}
    # the ghost call is closed as resynced; the real calls go on untouched
    record = await ended.get(within=1)
    assert (record.data["call_id"], record.data["resynced"]) == ("9.9", True)
    assert ended.get_nowait() is None


async def test_stopping_never_hangs_on_a_task_that_swallows_its_cancellation() -> None:
    from cti.ami_client import cancel_and_wait

    swallowed = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.append(1)  # as a racing wait_for can on Python 3.11
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await cancel_and_wait([task], within=5)
    assert task.cancelled() and swallowed == [1]
