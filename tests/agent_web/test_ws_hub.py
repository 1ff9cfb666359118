"""The websocket hub over a real server: refusal without a session, role filtering, catch-up."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.agent_web.conftest import LiveServer, session_cookie


async def _connect(server: LiveServer, cookie: str, query: str = "") -> ClientConnection:
    return await websockets.connect(server.ws_url + query, additional_headers={"Cookie": cookie},
                                    open_timeout=5)


_pending: dict[int, list[dict[str, Any]]] = {}


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, whether it came alone or inside a ``batch`` message."""
    queue = _pending.setdefault(id(ws), [])
    if not queue:
        msg: dict[str, Any] = json.loads(await ws.recv(decode=True))
        queue.extend(msg["frames"] if msg.get("type") == "batch" else [msg])
    return queue.pop(0)


async def _until(ws: ClientConnection, topic: str) -> list[dict[str, Any]]:
    """Frames up to and including the event with ``topic`` (a marker published last)."""
    seen: list[dict[str, Any]] = []
    while True:
        msg = await _recv(ws)
        seen.append(msg)
        if msg.get("topic") == topic:
            return seen


async def test_websocket_without_a_session_is_refused(live_server: LiveServer) -> None:
    with pytest.raises(websockets.InvalidStatus) as no_cookie:
        await websockets.connect(live_server.ws_url, open_timeout=5)
    assert no_cookie.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus) as forged:
        await websockets.connect(live_server.ws_url, open_timeout=5,
                                 additional_headers={"Cookie": "vigil_session=forged"})
    assert forged.value.response.status_code == 403
    assert live_server.hub_connections() == 0


async def test_agent_sees_floor_and_own_events_but_not_supervisor_topics(
        live_server: LiveServer) -> None:
    agent = await _connect(live_server, session_cookie(live_server, "agent1"))  # ext 1001
    # The supervisor's console asks for raw signals; the agent's does not (the default).
    boss = await _connect(live_server, session_cookie(live_server, "super1"),
                          "?topics=signal.received")
    hello = await _recv(agent)
    assert hello["type"] == "hello" and hello["user"]["username"] == "agent1"
    assert (await _recv(boss))["user"]["role"] == "supervisor"
    live_server.wait_for_connections(2)

    live_server.publish("queue.stats", {"queue": "alarm", "waiting": 3})
    live_server.publish("cti.connection", {"up": True})
    live_server.publish("wallboard.tick", {"queue": "alarm"})
    live_server.publish("agent.state", {"agent": "agent2", "state": "paused"})
    live_server.publish("screenpop", {"agent": "1002", "caller_id": "13800000002"})
    live_server.publish("screenpop", {"agent": "1001", "caller_id": "13800000001"})
    live_server.publish("call.ringing", {"agent": {"id": 999, "extension": "1001"}})
    live_server.publish("signal.received", {"account": "1234", "code": "E130"})
    live_server.publish("incident.opened", {"id": 7, "priority": 1})
    try:
        agent_frames = await _until(agent, "incident.opened")
        boss_frames = await _until(boss, "incident.opened")
    finally:
        await agent.close()
        await boss.close()

    agent_topics = [(f["topic"], f["data"].get("caller_id")) for f in agent_frames]
    assert agent_topics == [("screenpop", "13800000001"), ("call.ringing", None),
                            ("incident.opened", None)]
    boss_topics = {f["topic"] for f in boss_frames}
    assert {"queue.stats", "cti.connection", "wallboard.tick", "agent.state",
            "signal.received", "incident.opened"} <= boss_topics
    # Sequence numbers rise with every frame a console receives.
    seqs = [f["seq"] for f in agent_frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_reconnect_catches_up_with_missed_events(live_server: LiveServer) -> None:
    cookie = session_cookie(live_server, "agent1")
    ws = await _connect(live_server, cookie)
    hello = await _recv(ws)
    live_server.wait_for_connections(1)
    live_server.publish("incident.opened", {"id": 1})
    first = await _until(ws, "incident.opened")
    last_seq = first[-1]["seq"]
    await ws.close()

    # While the console is away: two incidents change and a supervisor-only event passes.
    live_server.publish("incident.opened", {"id": 2})
    live_server.publish("queue.stats", {"queue": "alarm"})
    live_server.publish("incident.taken", {"id": 1, "taken_by": "agent2"})

    ws = await _connect(live_server, cookie, f"?epoch={hello['epoch']}&since={last_seq}")
    try:
        assert (await _recv(ws))["type"] == "hello"
        replay = [await _recv(ws), await _recv(ws)]
        live_server.publish("incident.closed", {"id": 2})
        after = await _recv(ws)
    finally:
        await ws.close()
    assert [(f["topic"], f["data"]["id"]) for f in replay] == [("incident.opened", 2),
                                                               ("incident.taken", 1)]
    assert replay[0]["seq"] > last_seq
    assert (after["topic"], after["data"]["id"]) == ("incident.closed", 2)


async def test_reconnect_to_another_server_life_asks_for_a_reload(
        live_server: LiveServer) -> None:
    cookie = session_cookie(live_server, "agent1")
    ws = await _connect(live_server, cookie, "?epoch=someoldepoch&since=5")
    try:
        hello = await _recv(ws)
        reload = await _recv(ws)
    finally:
        await ws.close()
    assert reload == {"type": "reload", "seq": hello["seq"], "reason": "stale"}


async def test_idle_connection_gets_heartbeats(live_server: LiveServer) -> None:
    live_server.app.state.hub.heartbeat = 0.1
    ws = await _connect(live_server, session_cookie(live_server, "agent2"))
    try:
        assert (await _recv(ws))["heartbeat"] == 0.1
        ping = await _recv(ws)
    finally:
        await ws.close()
    assert ping["type"] == "ping" and "seq" in ping


async def test_a_backlog_is_sent_as_batches_in_order(live_server: LiveServer) -> None:
    ws = await _connect(live_server, session_cookie(live_server, "agent2"))
    try:
        await _recv(ws)  # hello
        live_server.wait_for_connections(1)
        hub = live_server.app.state.hub

        async def burst() -> None:  # 300 events in one go: the sender finds a backlog
            for i in range(300):
                hub.dispatch(_event("incident.updated", {"id": i}))

        live_server.call(burst())
        messages = 0
        ids: list[int] = []
        while len(ids) < 300:
            msg = json.loads(await ws.recv(decode=True))
            messages += 1
            frames = msg["frames"] if msg["type"] == "batch" else [msg]
            ids += [f["data"]["id"] for f in frames if f["type"] == "event"]
    finally:
        await ws.close()
    assert ids == list(range(300))
    assert messages < 300


def _event(topic: str, data: dict[str, Any]) -> Any:
    from core.bus import Event

    return Event(topic=topic, data=data)
