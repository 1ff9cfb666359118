"""The hub's pure parts: who sees what, catch-up from the ring, bounded per-console queues."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agent_web.hub import Hub
from agent_web.ws_policy import Viewer, concerns, may_see, opt_ins
from core.bus import Bus, Event

AGENT = Viewer(user_id=11, username="agent1", role="agent", extension="1001")
OTHER = Viewer(user_id=12, username="agent2", role="agent", extension="1002")
BOSS = Viewer(user_id=21, username="super1", role="supervisor", extension="2001")


def test_events_name_their_agent_by_id_username_extension_or_device() -> None:
    assert concerns(AGENT, {"agent": 11})
    assert concerns(AGENT, {"agent": "Agent1"})
    assert concerns(AGENT, {"extension": "1001"})
    assert concerns(AGENT, {"interface": "PJSIP/1001"})
    assert concerns(AGENT, {"agent": {"id": 99, "username": "agent1"}})
    assert concerns(AGENT, {"agents": ["1002", "1001"]})
    assert not concerns(AGENT, {"agent": "1002", "caller_id": "1001"})
    assert not concerns(AGENT, {})


def test_roles_see_their_topics() -> None:
    for viewer in (AGENT, BOSS):
        assert may_see(viewer, "incident.opened", {})
        assert may_see(viewer, "signal.received", {})
    for topic in ("queue.stats", "cti.connection", "wallboard.tick", "agent.state", "call.ended"):
        assert may_see(BOSS, topic, {"agent": "1002"}), topic
        assert not may_see(AGENT, topic, {"agent": "1002"}), topic
    assert may_see(AGENT, "screenpop", {"agent": "1001"})
    assert not may_see(OTHER, "screenpop", {"agent": "1001"})
    assert not may_see(BOSS, "screenpop", {"agent": "1001"})  # a pop is for the one it rings
    assert not may_see(BOSS, "audit.written", {})


def _frames(queue: asyncio.Queue[str]) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        out.append(json.loads(queue.get_nowait()))
    return out


def test_catch_up_replays_only_what_the_viewer_may_see_and_missed() -> None:
    hub = Hub(Bus(), ring_size=10)
    for topic in ("incident.opened", "queue.stats", "incident.taken", "signal.received"):
        hub.dispatch(Event(topic, {"id": 1}))
    frames = hub.missed(AGENT, hub.epoch, 1, frozenset({"signal.received"}))
    assert frames is not None
    assert [json.loads(f)["topic"] for f in frames] == ["incident.taken", "signal.received"]
    # without the opt-in, raw signals are not replayed either
    plain = hub.missed(AGENT, hub.epoch, 1)
    assert plain is not None and [json.loads(f)["topic"] for f in plain] == ["incident.taken"]
    assert hub.missed(AGENT, hub.epoch, hub.seq) == []
    assert hub.missed(AGENT, "another-epoch", 1) is None  # the server restarted
    assert hub.missed(AGENT, hub.epoch, hub.seq + 5) is None  # a position we never gave out


def test_catch_up_beyond_the_ring_asks_for_a_reload() -> None:
    hub = Hub(Bus(), ring_size=3)
    for i in range(10):
        hub.dispatch(Event("incident.updated", {"id": i}))
    assert hub.missed(AGENT, hub.epoch, 2) is None
    frames = hub.missed(AGENT, hub.epoch, 7)
    assert frames is not None and [json.loads(f)["seq"] for f in frames] == [8, 9, 10]
    conn = hub.open(AGENT, hub.epoch, 2)
    kinds = [f["type"] for f in _frames(conn.queue)]
    assert kinds == ["hello", "reload"]


def test_a_slow_console_overflows_alone_and_is_told_to_reload() -> None:
    hub = Hub(Bus(), queue_size=5)
    slow = hub.open(AGENT, None, None)
    fast = hub.open(OTHER, None, None)
    for i in range(12):
        hub.dispatch(Event("incident.opened", {"id": i}))
        while not fast.queue.empty():  # the fast console keeps up
            fast.queue.get_nowait()
            fast.sent += 1
    assert fast.overflows == 0 and fast.sent == 13  # hello + 12 events
    frames = _frames(slow.queue)
    assert len(frames) <= 5
    assert slow.overflows >= 1
    reloads = [f for f in frames if f["type"] == "reload"]
    assert reloads and reloads[0]["reason"] == "overflow"
    # What follows the reload is the newest events, in order.
    after = [f["seq"] for f in frames[frames.index(reloads[-1]) + 1:]]
    assert after == sorted(after) and after[-1] == hub.seq


async def test_hub_follows_the_bus_and_marks_gaps_when_the_bus_drops() -> None:
    bus = Bus(queue_size=2)
    hub = Hub(bus)
    hub.start()
    conn = hub.open(AGENT, None, None)
    for i in range(6):  # published faster than the hub's subscription can hold
        bus.publish_nowait("incident.opened", {"id": i})
    await bus.publish("incident.closed", {"id": 0})
    for _ in range(100):
        if hub.seq and json.loads(hub.ring[-1].text)["topic"] == "incident.closed":
            break
        await asyncio.sleep(0.01)
    frames = _frames(conn.queue)
    assert any(f["type"] == "reload" and f["reason"] == "gap" for f in frames)
    assert frames[-1]["topic"] == "incident.closed"
    await hub.stop()
    await bus.close()


def test_raw_signals_reach_only_the_connections_that_opted_in() -> None:
    hub = Hub(Bus())
    plain = hub.open(AGENT, None, None)
    wants = hub.open(AGENT, None, None, opt_ins("signal.received,bogus.topic"))
    assert wants.opted == frozenset({"signal.received"})
    _frames(plain.queue)  # the hellos
    _frames(wants.queue)
    hub.dispatch(Event("signal.received", {"account": "1234"}))
    hub.dispatch(Event("incident.opened", {"id": 1}))
    assert [f["topic"] for f in _frames(plain.queue)] == ["incident.opened"]
    assert [f["topic"] for f in _frames(wants.queue)] == ["signal.received", "incident.opened"]
