"""core.ttl: answers kept for a while on the caller's clock, a cached "none" apart from a miss."""

from __future__ import annotations

import gc

import pytest

from core.ttl import TTLCache


def test_an_answer_is_kept_for_its_time_to_live() -> None:
    cache: TTLCache[str, tuple[int, str] | None] = TTLCache(60)
    assert cache.get("1234", 0.0) == (False, None)
    cache.put("1234", (7, "Shop"), 10.0)
    cache.put("9999", None, 10.0)  # "no such account" is an answer too
    assert cache.get("1234", 70.0) == (True, (7, "Shop"))
    assert cache.get("9999", 70.0) == (True, None)
    assert cache.get("1234", 70.1) == (False, None) and cache.value("1234", 70.1) is None
    assert list(cache.values(70.0)) == [(7, "Shop"), None] and list(cache.values(71.0)) == []
    cache.drop("1234")
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0


def test_a_sized_cache_drops_the_least_recently_stored() -> None:
    cache: TTLCache[int, str] = TTLCache(60, size=2)
    cache.put(1, "a", 0.0)
    cache.put(2, "b", 0.0)
    cache.put(1, "a2", 1.0)  # stored again: now the most recent
    cache.put(3, "c", 2.0)
    assert [cache.value(k, 3.0) for k in (1, 2, 3)] == ["a2", None, "c"]


def test_entries_of_plain_values_are_left_to_the_garbage_collector() -> None:
    cache: TTLCache[str, tuple[int, str]] = TTLCache(60)
    for n in range(100):
        cache.put(str(n), (n, f"Shop {n}"), 0.0)
    gc.collect()  # a collection untracks the values, the next one the entries holding them
    gc.collect()
    assert not any(gc.is_tracked(e) for e in cache.entries())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        TTLCache(-1)
    with pytest.raises(ValueError):
        TTLCache(1, size=0)
