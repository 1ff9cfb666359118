"""queue_log import and the queue statistics formulas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cti.model import CtiModel
from cti.queue_log import import_file, import_lines, parse_line
from cti.replay import load_capture
from cti.stats import StatsConfig, by_agent, by_interval, by_queue, live_queue_stats, summarize


def test_queue_log_sample_calls_and_sessions(captures: Path) -> None:
    result = import_file(str(captures / "queue_log.sample"))
    assert result.skipped == 0
    by_id = {r["call_id"]: r for r in result.records}
    assert len(by_id) == 13  # one per ENTERQUEUE line
    first = by_id["1795299810.0"]
    assert (first["caller_number"], first["agent"], first["wait_seconds"], first["talk_seconds"],
            first["outcome"], first["ended_by"]) == ("+8613800000001", "Alice", 2, 6, "answered",
                                                     "caller")
    assert (first["enter_queue_at"], first["answer_at"], first["end_at"]) == (
        1795299810.0, 1795299812.0, 1795299818.0)
    slow = by_id["1795299834.6"]
    assert [(a["result"], a["ring_seconds"]) for a in slow["ring_attempts"]] == [
        ("no_answer", 15.0), ("canceled", 3.018)]
    assert (slow["outcome"], slow["abandon_position"], slow["wait_seconds"]) == ("abandoned", 1, 21)
    blind = by_id["1795299890.18"]
    assert blind["transfer"]["to"] == "1002" and blind["outcome"] == "transferred_blind"
    pauses = [p for s in result.sessions for p in s["pauses"]]
    assert [(p["reason"], p["ended_at"] is not None) for p in pauses] == [
        ("lunch", True), ("training", True)]
    assert all(s["logout_at"] is not None for s in result.sessions)


def test_queue_log_other_exits_and_attended_transfer() -> None:
    lines = [
        "100|c1|q|NONE|ENTERQUEUE||555|3",
        "130|c1|q|NONE|EXITWITHTIMEOUT|2|3|30",
        "200|c2|q|NONE|ENTERQUEUE||556|1",
        "204|c2|q|Bob|CONNECT|4|c2.1|4",
        "240|c2|q|Bob|ATTENDEDTRANSFER|BRIDGE|b-1|4|36|1",
        "garbage",
    ]
    result = import_lines(lines)
    timeout, attended = result.records
    assert (timeout["outcome"], timeout["wait_seconds"], timeout["original_position"]) == (
        "timeout", 30, 3)
    assert (attended["outcome"], attended["talk_seconds"], attended["agent"]) == (
        "transferred_attended", 36, "Bob")
    assert result.skipped == 1
    assert parse_line("") is None


def rec(queue: str | None, outcome: str, wait: float | None, talk: float | None = None,
        agent: str | None = None, at: float = 1000.0) -> dict[str, Any]:
    return {"queue": queue, "outcome": outcome, "wait_seconds": wait, "talk_seconds": talk,
            "agent": agent, "answer_at": at + (wait or 0) if agent else None,
            "enter_queue_at": at, "started_at": at}


SAMPLE = [
    rec("support", "answered", 5, 60, "Alice"),
    rec("support", "answered", 30, 120, "Bob"),
    rec("support", "transferred_blind", 10, 30, "Alice", at=2000.0),
    rec("support", "abandoned", 2),
    rec("support", "abandoned", 40),
    rec("support", "timeout", 120),
    rec(None, "answered", None, 50),  # not a queue call: never counted
]


def test_summary_formulas_excluding_short_abandons() -> None:
    s = summarize(SAMPLE, StatsConfig(threshold_seconds=20, exclude_short_abandons=True,
                                      short_abandon_seconds=5))
    assert (s["offered"], s["answered"], s["abandoned"], s["short_abandoned"], s["timeouts"]) == (
        6, 3, 2, 1, 1)
    assert s["service_level"] == pytest.approx(2 / 5, abs=1e-4)  # 2 within 20 s of 6-1
    assert s["asa_seconds"] == pytest.approx(15.0)  # (5+30+10)/3
    assert s["aht_seconds"] == pytest.approx(70.0)  # (60+120+30)/3
    assert s["abandon_rate"] == pytest.approx(1 / 5, abs=1e-4)


def test_summary_formulas_counting_short_abandons_and_wrapup() -> None:
    s = summarize(SAMPLE, StatsConfig(threshold_seconds=20, exclude_short_abandons=False,
                                      wrapup_seconds=10))
    assert s["service_level"] == pytest.approx(2 / 6, abs=1e-4)
    assert s["abandon_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert s["aht_seconds"] == pytest.approx(80.0)
    assert summarize([])["service_level"] is None


def test_grouping_by_interval_queue_and_agent() -> None:
    intervals = by_interval(SAMPLE, 900)
    assert sorted(intervals) == [900, 1800]
    assert (intervals[900]["offered"], intervals[1800]["offered"]) == (5, 1)
    assert list(by_queue(SAMPLE)) == ["support"]
    agents = by_agent(SAMPLE)
    assert {a: s["answered"] for a, s in agents.items()} == {"Alice": 2, "Bob": 1}


def test_live_stats_from_the_status_snapshot(captures: Path) -> None:
    model = CtiModel()
    for msg, t in load_capture(captures / "status_snapshot.ami"):
        model.feed(msg, t)
        if msg.get("Event") == "QueueStatusComplete":
            break
    live = live_queue_stats(model.snapshot())["support"]
    assert (live["callers_waiting"], live["agents_logged_in"], live["agents_busy"],
            live["agents_paused"], live["agents_available"]) == (1, 2, 1, 1, 0)
    assert live["longest_wait_seconds"] == pytest.approx(2.0, abs=0.05)
    assert live["offered"] == 0
