"""The cross-node bus on PostgreSQL LISTEN/NOTIFY: two Bus instances stand for two nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from core.bus import Bus, Subscription
from core.bus_pg import INLINE_LIMIT, PostgresBusBackend, asyncpg_dsn, choose_backend


@pytest.mark.parametrize("url, setting, nodes, expected", [
    ("postgresql+asyncpg://u@h/db", "auto", 2, "postgres"),
    ("postgresql+asyncpg://u@h/db", "auto", 1, "local"),
    ("sqlite+aiosqlite:///x.db", "auto", 3, "local"),
    ("postgresql+asyncpg://u@h/db", "local", 3, "local"),
    ("postgresql+asyncpg://u@h/db", "postgres", 1, "postgres"),
])
def test_backend_choice(url: str, setting: str, nodes: int, expected: str) -> None:
    assert choose_backend(url, setting, nodes) == expected


def test_backend_choice_refuses_postgres_on_sqlite() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        choose_backend("sqlite+aiosqlite:///x.db", "postgres", 2)
    with pytest.raises(ValueError, match="unknown"):
        choose_backend("sqlite+aiosqlite:///x.db", "redis", 2)


def test_asyncpg_dsn_keeps_credentials() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p%40ss@h:5433/db") == "postgresql://u:p%40ss@h:5433/db"


Nodes = tuple[Bus, PostgresBusBackend, Bus, PostgresBusBackend]


@pytest.fixture
async def nodes(cluster_pg_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    channel = f"vigil_test_{abs(hash(request.node.name)) % 10**8}"
    bus_a, bus_b = Bus(node="node-a"), Bus(node="node-b")
    back_a = PostgresBusBackend(cluster_pg_url, channel=channel, node="node-a",
                                health_interval=0.2, health_timeout=1.0)
    back_b = PostgresBusBackend(cluster_pg_url, channel=channel, node="node-b",
                                health_interval=0.2, health_timeout=1.0)
    await bus_a.attach_backend(back_a)
    await bus_b.attach_backend(back_b)
    yield bus_a, back_a, bus_b, back_b
    await bus_a.close()
    await bus_b.close()


async def drain(sub: Subscription, within: float = 0.3) -> list[str]:
    topics = []
    while True:
        try:
            topics.append((await sub.get(within=within)).topic)
        except TimeoutError:
            return topics


async def test_an_event_published_on_one_node_reaches_the_other(nodes: Nodes) -> None:
    bus_a, back_a, bus_b, _ = nodes
    on_a = bus_a.subscribe("signal.*")
    on_b = bus_b.subscribe("signal.*")
    sent = await bus_a.publish("signal.received", {"account": "1234", "code": "E131", "zone": 15})
    got = await on_b.get(within=5)
    assert got.topic == "signal.received"
    assert got.data == {"account": "1234", "code": "E131", "zone": 15}
    assert (got.id, got.origin, got.ts) == (sent.id, "node-a", sent.ts)
    # delivered once on each node: locally at once, never echoed back from PostgreSQL
    assert (await on_a.get(within=1)).id == sent.id
    await back_a.flush()
    assert await drain(on_a) == []
    assert await drain(on_b) == []


async def test_a_burst_arrives_complete_and_in_order(nodes: Nodes) -> None:
    bus_a, back_a, bus_b, _ = nodes
    on_b = bus_b.subscribe("burst")
    for i in range(1000):
        bus_a.publish_nowait("burst", {"n": i})
    await back_a.flush(within=20)
    received: list[int] = []
    while len(received) < 1000:
        received.append((await on_b.get(within=10)).data["n"])
    assert received == list(range(1000))


async def test_events_both_ways(nodes: Nodes) -> None:
    bus_a, _, bus_b, _ = nodes
    on_a, on_b = bus_a.subscribe("x.*"), bus_b.subscribe("x.*")
    await bus_a.publish("x.from_a")
    await bus_b.publish("x.from_b")
    assert {(await on_a.get(within=5)).topic, (await on_a.get(within=5)).topic} == {
        "x.from_a", "x.from_b"}
    assert {(await on_b.get(within=5)).topic, (await on_b.get(within=5)).topic} == {
        "x.from_a", "x.from_b"}


async def test_an_event_larger_than_a_notify_payload_goes_through_the_table(
        nodes: Nodes, cluster_pg_url: str) -> None:
    bus_a, back_a, bus_b, _ = nodes
    on_b = bus_b.subscribe("big", "small")
    big = {"text": "报警" * 5000, "rows": list(range(2000))}
    await bus_a.publish("big", big)
    await bus_a.publish("small", {"after": True})
    first = await on_b.get(within=5)
    assert first.topic == "big" and first.data == big
    assert (await on_b.get(within=5)).topic == "small"  # order kept around the large one
    await back_a.flush()
    conn = await asyncpg.connect(asyncpg_dsn(cluster_pg_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM bus_overflow") >= 1
    finally:
        await conn.close()
    assert len(str(big).encode()) > INLINE_LIMIT


async def test_listener_reconnects_after_its_connection_is_killed(
        nodes: Nodes, cluster_pg_url: str) -> None:
    bus_a, back_a, bus_b, back_b = nodes
    on_b = bus_b.subscribe("*")
    listen = back_b._listen
    assert listen is not None
    pid = listen.get_server_pid()
    admin = await asyncpg.connect(asyncpg_dsn(cluster_pg_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    # node b tells its own subscribers that it may have missed events, then hears again
    reconnected = await on_b.get(within=10)
    assert reconnected.topic == "bus.reconnected"
    assert back_b.reconnects == 1
    assert back_b._listen is not None and back_b._listen.get_server_pid() != pid
    await bus_a.publish("after.reconnect", {"ok": 1})
    got = await on_b.get(within=5)
    assert got.topic == "after.reconnect"


async def test_publishing_survives_a_dropped_sender_connection(
        nodes: Nodes, cluster_pg_url: str) -> None:
    bus_a, back_a, bus_b, _ = nodes
    on_b = bus_b.subscribe("s.*")
    await bus_a.publish("s.1")
    assert (await on_b.get(within=5)).topic == "s.1"
    admin = await asyncpg.connect(asyncpg_dsn(cluster_pg_url))
    try:
        # kill every connection of node a except its listener: that is the sender's
        listener_pid = back_a._listen.get_server_pid()  # type: ignore[union-attr]
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            "current_database() AND pid <> pg_backend_pid() AND pid <> $1 AND pid <> $2",
            listener_pid, bus_b_listener(nodes))
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    await bus_a.publish("s.2")
    assert (await on_b.get(within=10)).topic == "s.2"


def bus_b_listener(nodes: Nodes) -> int:
    return nodes[3]._listen.get_server_pid()  # type: ignore[union-attr]
