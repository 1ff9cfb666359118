"""What the engine keeps per account stays out of the garbage collector's way: a center has
100,000 accounts, and every tracked object per account lengthens each full collection (a pause
of the whole node)."""

from __future__ import annotations

import gc

from alarms.engine import AlarmEngine
from core.clock import FakeClock
from tests.alarms.conftest import FakeDirectory, sig


async def test_per_account_caches_and_buckets_are_not_tracked(
        engine: AlarmEngine, directory: FakeDirectory, clock: FakeClock) -> None:
    for n in range(50):
        directory.add(f"{3000 + n}")
    await engine.handle_signals([sig(clock, f"{3000 + n}", "130") for n in range(50)]
                                + [sig(clock, "9998", "130")])  # an unknown number too
    gc.collect()
    entries = engine.book.lookups.entries()
    buckets = list(engine.buckets._buckets.values())
    assert len(entries) == 51 and len(buckets) == 50
    assert not any(gc.is_tracked(e) for e in entries + buckets)
    # and the cached facts read back whole
    info = await engine.account("3007", None)
    assert info is not None and (info.number, info.name) == ("3007", "Shop 3007")
