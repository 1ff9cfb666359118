"""The composition root: which parts run, and the CTI figures the IVR announces."""

from typing import Any

from vigil import parts, roles
from vigil.ivr_parts import CtiQueueStats, estimate_wait


def test_every_package_contributes_a_part_with_a_role() -> None:
    collected = parts.collect(demo=True)
    names = {getattr(p, "__name__", "") for p in collected}
    assert {"run_ivr", "run_alarms"} <= names
    for part in collected:
        assert roles.spec_of(part).role in (*roles.ROLES, roles.ANY)


def test_estimated_wait_counts_callers_ahead_and_agents() -> None:
    idle = {"callers_waiting": 0, "agents_available": 2, "agents_busy": 0, "aht_seconds": 120}
    assert estimate_wait(idle) == 0.0
    busy = {"callers_waiting": 3, "agents_available": 0, "agents_busy": 2, "aht_seconds": 120}
    assert estimate_wait(busy) == 4 * 120 / 2
    nobody = {"callers_waiting": 1, "agents_available": 0}
    assert estimate_wait(nobody) == 2 * 180.0


class _Cti:
    def queues(self) -> list[dict[str, Any]]:
        return [{"name": "support", "callers_waiting": 2, "agents_available": 0,
                 "agents_busy": 1, "aht_seconds": 60}]


def test_ivr_reads_live_queue_figures_from_the_running_cti() -> None:
    class Svc:
        extra: dict[str, Any] = {}

    stats = CtiQueueStats(Svc())  # type: ignore[arg-type]
    assert stats.snapshot("support") is None  # no CTI running: no announcement
    Svc.extra["cti"] = _Cti()
    snap = stats.snapshot("support")
    assert snap is not None and snap.waiting == 2 and snap.estimated_wait_s == 180.0
    assert stats.snapshot("billing") is None
