"""Leases: one holder at a time, takeover after expiry, self-fencing when renewals fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import delete

from core.bus import Bus
from core.clock import FakeClock
from core.db import Database
from core.lease import LeaseKeeper, LeaseStore, lease_table


@pytest.fixture
async def store(lease_db_url: str) -> AsyncIterator[LeaseStore]:
    db = Database(lease_db_url)
    async with db.engine.begin() as conn:
        await conn.execute(delete(lease_table))
    yield LeaseStore(db)
    await db.dispose()


async def test_exclusive_until_expiry_then_taken_over(store: LeaseStore) -> None:
    clock = FakeClock()
    t0 = clock.now()
    a = await store.acquire("cti:pbx1", "node-a", 6, t0)
    assert a is not None and a.holder == "node-a" and a.token == 1
    assert await store.acquire("cti:pbx1", "node-b", 6, t0 + timedelta(seconds=3)) is None
    # the holder renews: the lease moves forward, same token
    renewed = await store.acquire("cti:pbx1", "node-a", 6, t0 + timedelta(seconds=4))
    assert renewed is not None and renewed.token == 1
    assert renewed.expires_at == t0 + timedelta(seconds=10)
    assert await store.acquire("cti:pbx1", "node-b", 6, t0 + timedelta(seconds=9)) is None
    # node-a stops renewing (dead): after expiry node-b takes it with a new token
    b = await store.acquire("cti:pbx1", "node-b", 6, t0 + timedelta(seconds=10))
    assert b is not None and b.holder == "node-b" and b.token == 2
    assert b.acquired_at == t0 + timedelta(seconds=10)
    # and the old holder, back from the dead, cannot renew
    assert await store.acquire("cti:pbx1", "node-a", 6, t0 + timedelta(seconds=11)) is None
    stored = await store.get("cti:pbx1")
    assert stored is not None and stored.holder == "node-b"


async def test_leases_are_independent_by_name(store: LeaseStore) -> None:
    now = FakeClock().now()
    assert await store.acquire("cti:pbx1", "a", 6, now) is not None
    assert await store.acquire("cti:pbx2", "b", 6, now) is not None
    assert [(lease.name, lease.holder) for lease in await store.all()] == [
        ("cti:pbx1", "a"), ("cti:pbx2", "b")]


async def test_release_lets_another_node_in_at_once(store: LeaseStore) -> None:
    now = FakeClock().now()
    assert await store.acquire("cti", "a", 6, now) is not None
    assert not await store.release("cti", "b", now)  # not b's to release
    assert await store.acquire("cti", "b", 6, now) is None
    assert await store.release("cti", "a", now)
    taken = await store.acquire("cti", "b", 6, now)
    assert taken is not None and taken.holder == "b"


async def test_concurrent_contenders_get_exactly_one_winner(store: LeaseStore) -> None:
    now = FakeClock().now()
    results = await asyncio.gather(*(store.acquire("cti", f"node-{i}", 6, now)
                                     for i in range(8)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    # and on an expired lease too
    later = now + timedelta(seconds=7)
    results = await asyncio.gather(*(store.acquire("cti", f"node-{i}", 6, later)
                                     for i in range(8)))
    assert len([r for r in results if r is not None]) == 1


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Job:
    """A stand-in for the CTI connection: counts starts and knows whether it runs."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0
        self.started = asyncio.Event()

    async def __call__(self) -> None:
        self.running = True
        self.starts += 1
        self.started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.running = False


async def test_keeper_runs_the_job_on_one_node_and_fails_over(store: LeaseStore) -> None:
    # each node's keeper is stepped by hand on one fake clock: a round every interval
    clock = FakeClock()
    bus = Bus(node="test")
    events = bus.subscribe("cluster.lease")
    job_a, job_b = Job(), Job()
    keeper_a = LeaseKeeper(store, "cti:pbx1", "node-a", clock, ttl=6, bus=bus)
    keeper_b = LeaseKeeper(store, "cti:pbx1", "node-b", clock, ttl=6, bus=bus)
    await keeper_a.tick(job_a)
    await keeper_b.tick(job_b)
    await _settle()
    for _ in range(10):
        clock.advance(keeper_a.interval)
        await keeper_a.tick(job_a)
        await keeper_b.tick(job_b)
        await _settle()
        assert job_a.running and not job_b.running
    assert job_b.starts == 0 and keeper_a.held and not keeper_b.held
    # node a dies (no more renewals, no release); b takes over within 10 s
    died_at = clock.monotonic()
    while not job_b.running:
        clock.advance(keeper_b.interval)
        await keeper_b.tick(job_b)
        await _settle()
        assert clock.monotonic() - died_at <= 10
    states = []
    while (ev := events.get_nowait()) is not None:
        states.append((ev.data["holder"], ev.data["state"], ev.data["token"]))
    assert states == [("node-a", "acquired", 1), ("node-b", "acquired", 2)]
    # a comes back: its next round finds the lease taken and stops its job
    await keeper_a.tick(job_a)
    await _settle()
    assert not job_a.running and job_b.running
    assert (await store.get("cti:pbx1")).holder == "node-b"  # type: ignore[union-attr]
    await bus.close()


async def test_keeper_loop_on_a_short_real_clock(store: LeaseStore) -> None:
    from core.clock import SystemClock

    clock = SystemClock()
    job_a, job_b = Job(), Job()
    keeper_a = LeaseKeeper(store, "cti", "node-a", clock, ttl=0.6, interval=0.15)
    keeper_b = LeaseKeeper(store, "cti", "node-b", clock, ttl=0.6, interval=0.15)
    task_a = asyncio.create_task(keeper_a.run(job_a))
    await asyncio.wait_for(job_a.started.wait(), 5)
    task_b = asyncio.create_task(keeper_b.run(job_b))
    await asyncio.sleep(0.5)
    assert job_a.running and not job_b.running
    # a stops cleanly: it releases, b takes over on its next round
    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    assert not job_a.running
    await asyncio.wait_for(job_b.started.wait(), 5)
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)
    assert not job_b.running


class _Unreachable:
    async def acquire(self, *a: object, **kw: object) -> None:
        raise OSError("database unreachable")

    async def release(self, *a: object, **kw: object) -> bool:
        raise OSError("database unreachable")


async def test_holder_steps_down_before_anyone_may_take_over(store: LeaseStore) -> None:
    clock = FakeClock()
    job = Job()
    keeper = LeaseKeeper(store, "cti", "node-a", clock, ttl=6)
    await keeper.tick(job)
    await _settle()
    assert job.running
    lease = await store.get("cti")
    assert lease is not None
    keeper.store = _Unreachable()  # type: ignore[assignment]  # partitioned from the database
    stepped_down_after = None
    for i in range(1, 10):
        clock.advance(keeper.interval)
        await keeper.tick(job)
        await _settle()
        if not job.running:
            stepped_down_after = i * keeper.interval
            break
    assert stepped_down_after is not None
    # it stopped before the lease expired, i.e. before another node could take it
    assert clock.now() < lease.expires_at


async def test_a_job_that_ends_is_restarted_while_held(store: LeaseStore) -> None:
    clock = FakeClock()
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        raise RuntimeError("AMI login refused")

    keeper = LeaseKeeper(store, "cti", "node-a", clock, ttl=6)
    for _ in range(3):
        await keeper.tick(flaky)
        await _settle()
        clock.advance(keeper.interval)
    assert len(runs) == 3
    assert keeper.held


def test_interval_must_leave_room_to_renew() -> None:
    with pytest.raises(ValueError):
        LeaseKeeper(None, "x", "a", FakeClock(), ttl=6, interval=3)  # type: ignore[arg-type]
