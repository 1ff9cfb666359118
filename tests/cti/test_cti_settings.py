"""VIGIL_CTI_* settings: the statistics' defaults in /api/stats/calls and the live figures."""

from __future__ import annotations

from typing import Any

import pytest

from core.services import Services
from cti.config import CtiSettings
from cti.runtime import CtiRuntime
from cti.stats import StatsConfig
from cti.store import store_many
from tests.conftest import LoginFactory

T0 = 1_795_300_000.0


def _queue_call(i: int, outcome: str, wait: float, talk: float | None = None) -> dict[str, Any]:
    answered = outcome == "answered"
    return {"call_id": f"c{i}", "direction": "inbound", "queue": "support", "outcome": outcome,
            "agent": "Alice" if answered else None, "started_at": T0 + i * 60,
            "enter_queue_at": T0 + i * 60, "answer_at": T0 + i * 60 + wait if answered else None,
            "end_at": T0 + i * 60 + wait + (talk or 0), "wait_seconds": wait,
            "talk_seconds": talk}


CALLS = [_queue_call(0, "answered", 10, 100), _queue_call(1, "answered", 30, 200),
         _queue_call(2, "abandoned", 3), _queue_call(3, "abandoned", 8)]


def _settings(**kw: Any) -> CtiSettings:
    return CtiSettings(_env_file=None, **kw)  # type: ignore[call-arg]


async def test_stats_api_defaults_come_from_the_settings(services: Services,
                                                         login: LoginFactory) -> None:
    async with services.db.transaction() as s:
        await store_many(s, services.clock, CALLS, "ami")
    sup = await login("supervisor")

    services.extra["cti_settings"] = _settings()  # 20 s threshold, abandons under 5 s excluded
    total = (await sup.get("/api/stats/calls", params={"group": "queue"})).json()["total"]
    assert (total["short_abandoned"], total["answered_within_threshold"]) == (1, 1)
    assert total["service_level"] == round(1 / 3, 4)  # short abandon out of the 4 offered
    assert total["abandon_rate"] == round(1 / 3, 4)
    assert total["aht_seconds"] == 150.0

    services.extra["cti_settings"] = _settings(sl_threshold_seconds=40,
                                               short_abandon_seconds=2, wrapup_seconds=15)
    body = (await sup.get("/api/stats/calls", params={"group": "queue"})).json()
    total = body["total"]
    assert (total["short_abandoned"], total["answered_within_threshold"]) == (0, 2)
    assert total["service_level"] == 0.5 and total["abandon_rate"] == 0.5
    assert total["aht_seconds"] == 165.0  # talk + wrap-up
    assert body["settings"] == {"threshold_seconds": 40, "exclude_short_abandons": True,
                                "short_abandon_seconds": 2, "wrapup_seconds": 15}
    assert body["groups"]["support"]["service_level"] == 0.5

    # a parameter given in the request wins over the setting
    total = (await sup.get("/api/stats/calls", params={
        "threshold": 5, "exclude_short_abandons": "false"})).json()["total"]
    assert total["answered_within_threshold"] == 0 and total["service_level"] == 0.0
    assert total["threshold_seconds"] == 5


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_CTI_SL_THRESHOLD_SECONDS", "30")
    monkeypatch.setenv("VIGIL_CTI_EXCLUDE_SHORT_ABANDONS", "false")
    monkeypatch.setenv("VIGIL_CTI_SHORT_ABANDON_SECONDS", "8")
    monkeypatch.setenv("VIGIL_CTI_WRAPUP_SECONDS", "12")
    monkeypatch.setenv("VIGIL_CTI_RECORDING_RETENTION_DAYS", "90")
    s = _settings()
    assert s.stats_config() == StatsConfig(threshold_seconds=30, exclude_short_abandons=False,
                                           short_abandon_seconds=8, wrapup_seconds=12)
    assert s.recording_retention_days == 90


async def test_live_figures_and_runtime_use_the_settings(services: Services) -> None:
    cfg = _settings(sl_threshold_seconds=45, wrapup_seconds=10, verification_timeout_seconds=75,
                    screenpop_detail="inline", recording_retention_days=30)
    runtime = CtiRuntime(services, cti=cfg)
    assert runtime.live.stats == cfg.stats_config()
    assert runtime.verifier.result_timeout == 75
    assert runtime.purger.retention_days == 30
    for rec in CALLS:
        runtime.live.add_record(rec)
    runtime.model.feed({"Event": "QueueParams", "Queue": "support", "Max": "0",
                        "Strategy": "ringall", "Calls": "0", "Holdtime": "0",
                        "TalkTime": "0", "Completed": "0", "Abandoned": "0",
                        "ServiceLevel": "0", "ServicelevelPerf": "0", "Weight": "0"}, T0)
    _, queues = runtime.live.current()
    assert queues["support"]["threshold_seconds"] == 45
    assert queues["support"]["answered_within_threshold"] == 2
    assert queues["support"]["aht_seconds"] == 160.0
