"""Two `vigil serve` processes on one PostgreSQL: the bus between them, and the CTI lease
moving to the survivor when its holder is killed.

What is not covered yet (needs the receivers' and the console's parts): a signal received by a
receiver on node A appearing on a websocket connected to node B. Here the test process joins
the bus as a third node and checks the path A <-> B through ``cluster.ping`` / ``cluster.pong``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.bus import Bus, Event, Subscription
from core.bus_pg import PostgresBusBackend

REPO = Path(__file__).resolve().parents[2]


async def _start(url: str, node: str, tmp: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "VIGIL_DATABASE_URL": url, "VIGIL_NODE_NAME": node,
           "VIGIL_CLUSTER_NODES": "2", "VIGIL_AMI_HOST": "pbx-under-test", "PYTHONUNBUFFERED": "1"}
    log = open(tmp / f"{node}.log", "wb")  # noqa: SIM115, ASYNC230 - the child writes into it
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vigil.cli", "serve", "--role", "cti", cwd=tmp, env=env,
        stdout=log, stderr=asyncio.subprocess.STDOUT)


async def _wait_for(sub: Subscription, match: object, within: float) -> Event:
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("expected event did not arrive")
        event = await sub.get(within=left)
        if callable(match) and match(event):
            return event


@pytest.fixture
async def observer(cluster_pg_url: str) -> AsyncIterator[Bus]:
    bus = Bus(node="observer")
    await bus.attach_backend(PostgresBusBackend(cluster_pg_url, node="observer"))
    yield bus
    await bus.close()


async def test_two_nodes_share_the_bus_and_hand_over_the_cti_lease(
        cluster_pg_url: str, observer: Bus, tmp_path: Path) -> None:
    from sqlalchemy import delete

    from core.db import Database
    from core.lease import LeaseStore, lease_table

    db = Database(cluster_pg_url)
    async with db.engine.begin() as conn:
        await conn.execute(delete(lease_table))
    events = observer.subscribe("cluster.*")
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        procs["node-a"] = await _start(cluster_pg_url, "node-a", tmp_path)
        first = await _wait_for(events, lambda e: e.topic == "cluster.lease"
                                and e.data["state"] == "acquired", within=30)
        assert first.data["name"] == "cti:pbx-under-test:5038"
        assert first.data["holder"].startswith("node-a/")
        procs["node-b"] = await _start(cluster_pg_url, "node-b", tmp_path)
        await _wait_for(events, lambda e: e.topic == "cluster.hello"
                        and e.data["node"] == "node-b", within=30)
        # both nodes hear each other: each pong lists the other as a peer
        peers: dict[str, list[str]] = {}
        for _ in range(50):
            ping = await observer.publish("cluster.ping")
            try:
                while True:
                    pong = await _wait_for(events, lambda e, p=ping: e.topic == "cluster.pong"
                                           and e.data["ping"] == p.id, within=1)
                    peers[pong.data["node"]] = pong.data["peers"]
            except (AssertionError, TimeoutError):
                pass
            if "node-b" in peers.get("node-a", []) and "node-a" in peers.get("node-b", []):
                break
        assert "node-b" in peers["node-a"] and "node-a" in peers["node-b"]
        store = LeaseStore(db)
        lease = await store.get("cti:pbx-under-test:5038")
        assert lease is not None and lease.holder.startswith("node-a/")
        # kill the holder without warning: node-b takes the CTI within 10 s
        procs["node-a"].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        taken = await _wait_for(events, lambda e: e.topic == "cluster.lease"
                                and e.data["state"] == "acquired"
                                and e.data["holder"].startswith("node-b/"), within=15)
        assert time.monotonic() - killed <= 10
        assert taken.data["token"] == lease.token + 1
        # a clean stop (SIGTERM) releases the lease on the way out
        procs["node-b"].send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(procs["node-b"].wait(), 20) == 0
        after = await store.get("cti:pbx-under-test:5038")
        assert after is not None and after.holder.startswith("node-b/")
        assert after.expires_at <= datetime.now(UTC)
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await db.dispose()
