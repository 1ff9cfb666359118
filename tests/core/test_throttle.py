"""Failure throttles under concurrency: a burst of guesses on one new key (many logins at once
for the same user) counts every failure and never fails on creating the key's row."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core import throttle
from core.clock import FakeClock
from core.db import Database
from core.models import SecurityThrottle


async def test_concurrent_failures_on_a_new_key_all_count(db_url: str, clock: FakeClock) -> None:
    limit = throttle.Limit(100, timedelta(hours=1), timedelta(minutes=5))
    dbs = [Database(db_url) for _ in range(4)]  # as several nodes (or pool connections) would

    async def guess(db: Database) -> None:
        async with db.transaction() as s:
            await throttle.fail(s, "login-user:1", limit, clock.now())

    try:
        await asyncio.gather(*(guess(dbs[i % 4]) for i in range(12)))
        async with dbs[0].session() as s:
            row = await s.get(SecurityThrottle, "login-user:1")
        assert row is not None and row.failures == 12
    finally:
        for db in dbs:
            await db.dispose()


async def test_a_lock_ends_and_counting_starts_again(db_url: str, clock: FakeClock) -> None:
    db = Database(db_url)
    limit = throttle.Limit(2, timedelta(hours=1), timedelta(minutes=5))
    try:
        async with db.transaction() as s:
            assert await throttle.fail(s, "k", limit, clock.now()) is None
            until = await throttle.fail(s, "k", limit, clock.now())
            assert until == clock.now() + timedelta(minutes=5)
            assert await throttle.locked_until(s, ["k", "other"], clock.now()) == until
        clock.advance(301)
        async with db.transaction() as s:
            assert await throttle.locked_until(s, ["k"], clock.now()) is None
            assert await throttle.fail(s, "k", limit, clock.now()) is None
    finally:
        await db.dispose()
