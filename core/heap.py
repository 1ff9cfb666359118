"""Short garbage-collector pauses for a long-running node.

CPython's full collections walk every tracked object. A node's imports alone (SQLAlchemy,
FastAPI, pydantic ...) are over 100,000 of them, and a burst of queued events is what triggers
full collections: under load they paused the alarm engine for 100 ms and more
(``bench/alarm_engine.py``). What is alive once start-up is done lives as long as the process;
moving it to the permanent generation takes it out of every later collection.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once, then freeze what survives; the number of objects now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
