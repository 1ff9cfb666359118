"""core.heap: start-up objects leave the collector's generations."""

from __future__ import annotations

import gc

from core import heap


def test_settle_moves_what_is_alive_out_of_later_collections() -> None:
    kept = [{"account": n} for n in range(1000)]
    try:
        frozen = heap.settle()
        assert frozen >= len(kept)
        assert not any(o is kept for o in gc.get_objects())  # no collection walks it now
        later = [{"account": -1}]
        assert any(o is later for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())
