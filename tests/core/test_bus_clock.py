import asyncio
from datetime import UTC, datetime

import pytest

from core.bus import Bus, Event
from core.clock import FakeClock


async def test_subscriber_receives_matching_topics_in_order() -> None:
    bus = Bus()
    sub = bus.subscribe("incident.*")
    other = bus.subscribe("signal.received")
    for i in range(3):
        await bus.publish("incident.opened", {"n": i})
    await bus.publish("signal.received", {"x": 1})
    got = [(await sub.get(within=1)).data["n"] for _ in range(3)]
    assert got == [0, 1, 2]
    assert sub.get_nowait() is None
    assert (await other.get(within=1)).topic == "signal.received"


async def test_slow_subscriber_never_blocks_publisher_or_others() -> None:
    bus = Bus()
    slow = bus.subscribe("*", maxsize=5, name="slow")
    fast = bus.subscribe("*", maxsize=1000, name="fast")
    for i in range(100):
        bus.publish_nowait("t", {"i": i})
    # The fast subscriber saw everything; the slow one kept the newest 5 and counted drops.
    assert [fast.get_nowait().data["i"] for _ in range(100)] == list(range(100))  # type: ignore[union-attr]
    assert slow.dropped == 95
    assert [slow.get_nowait().data["i"] for _ in range(5)] == [95, 96, 97, 98, 99]  # type: ignore[union-attr]
    stats = {s["name"]: s for s in bus.stats()}
    assert stats["slow"]["dropped"] == 95 and stats["fast"]["depth"] == 0


async def test_closed_subscription_ends_iteration_and_gets_nothing_more() -> None:
    bus = Bus()
    sub = bus.subscribe("a")
    await bus.publish("a", {"k": 1})
    sub.close()
    await bus.publish("a", {"k": 2})
    items = [e async for e in sub]
    assert [e.data["k"] for e in items] == [1]
    assert bus.stats() == []


async def test_remote_events_from_own_node_are_not_delivered_twice() -> None:
    bus = Bus(node="n1")
    sub = bus.subscribe("x")
    bus.deliver_remote(Event(topic="x", data={}, origin="n1"))
    bus.deliver_remote(Event(topic="x", data={"from": "n2"}, origin="n2"))
    assert (await sub.get(within=1)).data == {"from": "n2"}
    assert sub.get_nowait() is None


def test_event_round_trips_through_dict() -> None:
    e = Event(topic="signal.received", data={"account": "1234"}, origin="n1")
    assert Event.from_dict(e.to_dict()) == e


async def test_fake_clock_wakes_sleepers_only_when_advanced() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    woke: list[str] = []

    async def sleeper(name: str, s: float) -> None:
        await clock.sleep(s)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("a", 10)), asyncio.create_task(sleeper("b", 60))]
    await asyncio.sleep(0)
    clock.advance(30)
    await asyncio.sleep(0)
    assert woke == ["a"]
    clock.advance(30)
    await asyncio.gather(*tasks)
    assert woke == ["a", "b"]
    assert clock.now() == datetime(2026, 3, 1, 8, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_codes_verify_off_the_event_loop_with_the_same_result() -> None:
    from core.security import hash_code, verify_code_async

    stored = hash_code("4321")
    assert await verify_code_async(stored, "4321")
    assert not await verify_code_async(stored, "1234")
    assert not await verify_code_async(None, "4321")


def test_audit_snapshots_times_of_day() -> None:
    from datetime import time

    from core.audit import jsonable

    assert jsonable({"opens": time(8, 30)}) == {"opens": "08:30:00"}
