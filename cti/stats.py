"""Queue statistics, live (from the model's snapshot) and historical (from call records).

Pure functions over plain data, so the same code serves the wallboard, reports and tests.

Definitions (for one group of queue calls — an interval, a queue, an agent — where a *queue
call* is a record whose ``queue`` is set):

* **offered** — queue calls that ended in the group.
* **answered** — queue calls an agent answered: ``answer_at`` set and outcome ``answered``,
  ``transferred_blind`` or ``transferred_attended``.
* **abandoned** — outcome ``abandoned`` (the caller hung up while waiting).
* **short abandoned** — abandoned with ``wait_seconds`` < ``short_abandon_seconds``; with
  ``exclude_short_abandons`` these calls count nowhere (not offered, not abandoned), because a
  caller who hangs up within a few seconds was never really waiting.
* **considered** = offered − short abandoned (when excluded), else offered.
* **answered within threshold** — answered with ``wait_seconds`` ≤ ``threshold_seconds``.
* **service level** = answered within threshold ÷ considered (``None`` when considered is 0).
* **ASA** (average speed of answer) = Σ ``wait_seconds`` of answered ÷ answered.
* **AHT** (average handle time) = (Σ ``talk_seconds`` of answered + answered × ``wrapup_seconds``)
  ÷ answered. Asterisk's talk time includes time on hold, so AHT is talk + hold + after-call work.
* **abandon rate** = abandoned (less short abandons when excluded) ÷ considered.
* **timeouts** — outcome ``timeout`` or ``exit_*`` (left the queue without an agent).

Live figures per queue (:func:`live_queue_stats`): **callers waiting** and **longest wait**
(seconds since the oldest waiting caller joined, at the snapshot's time); members counted once
each as **paused** (paused in that queue), else **busy** (in a call, or device in use, ringing or
on hold), else **wrap-up** (inside the wrap-up time after a call), else **available** (device not
in use), else **unavailable** (device unavailable, invalid or unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

ANSWERED_OUTCOMES = frozenset({"answered", "transferred_blind", "transferred_attended"})
BUSY_STATUSES = frozenset({"inuse", "busy", "ringing", "ringinuse", "onhold"})


@dataclass(frozen=True, slots=True)
class StatsConfig:
    threshold_seconds: float = 20.0
    exclude_short_abandons: bool = True
    short_abandon_seconds: float = 5.0
    wrapup_seconds: float = 0.0


def _is_answered(rec: Mapping[str, Any]) -> bool:
    return rec.get("answer_at") is not None and rec.get("outcome") in ANSWERED_OUTCOMES


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else round(num / den, 4)


def summarize(records: Iterable[Mapping[str, Any]], config: StatsConfig | None = None) -> Json:
    """Service level, ASA, AHT and abandon rate of a group of records (see module docstring)."""
    cfg = config or StatsConfig()
    offered = answered = within = abandoned = short = timeouts = 0
    wait_sum = talk_sum = 0.0
    for rec in records:
        if rec.get("queue") is None:
            continue
        offered += 1
        wait = rec.get("wait_seconds")
        outcome = rec.get("outcome")
        if _is_answered(rec):
            answered += 1
            wait_sum += float(wait or 0)
            talk_sum += float(rec.get("talk_seconds") or 0)
            if wait is not None and float(wait) <= cfg.threshold_seconds:
                within += 1
        elif outcome == "abandoned":
            abandoned += 1
            if wait is not None and float(wait) < cfg.short_abandon_seconds:
                short += 1
        elif outcome == "timeout" or str(outcome).startswith("exit_"):
            timeouts += 1
    excluded = short if cfg.exclude_short_abandons else 0
    considered = offered - excluded
    return {
        "offered": offered,
        "answered": answered,
        "answered_within_threshold": within,
        "abandoned": abandoned,
        "short_abandoned": short,
        "timeouts": timeouts,
        "service_level": _ratio(within, considered),
        "asa_seconds": _ratio(wait_sum, answered),
        "aht_seconds": _ratio(talk_sum + answered * cfg.wrapup_seconds, answered),
        "abandon_rate": _ratio(abandoned - excluded, considered),
        "threshold_seconds": cfg.threshold_seconds,
    }


def _record_time(rec: Mapping[str, Any]) -> float:
    for key in ("enter_queue_at", "started_at", "end_at"):
        value = rec.get(key)
        if value is not None:
            return float(value)
    return 0.0


def group_stats(records: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], Any],
                config: StatsConfig | None = None) -> dict[Any, Json]:
    """:func:`summarize` per group; records whose key is None are left out."""
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for rec in records:
        k = key(rec)
        if k is not None:
            groups.setdefault(k, []).append(rec)
    return {k: summarize(v, config) for k, v in sorted(groups.items(), key=lambda kv: str(kv[0]))}


def by_interval(records: Iterable[Mapping[str, Any]], interval_seconds: int = 900,
                config: StatsConfig | None = None) -> dict[int, Json]:
    """Per interval, keyed by the interval's start (epoch seconds), by the time a call queued."""
    return group_stats(records,
                       lambda r: int(_record_time(r) // interval_seconds) * interval_seconds,
                       config)


def by_queue(records: Iterable[Mapping[str, Any]],
             config: StatsConfig | None = None) -> dict[str, Json]:
    return group_stats(records, lambda r: r.get("queue"), config)


def by_agent(records: Iterable[Mapping[str, Any]],
             config: StatsConfig | None = None) -> dict[str, Json]:
    """Per agent: only calls an agent answered (abandons belong to no agent)."""
    return group_stats(records, lambda r: r.get("agent") if _is_answered(r) else None, config)


def member_state(member: Mapping[str, Any]) -> str:
    """One of paused, busy, wrapup, available, unavailable (see module docstring)."""
    if member.get("paused"):
        return "paused"
    if member.get("in_call") or member.get("status") in BUSY_STATUSES:
        return "busy"
    if member.get("in_wrapup"):
        return "wrapup"
    if member.get("status") == "not_inuse":
        return "available"
    return "unavailable"


def live_queue_stats(snapshot: Mapping[str, Any],
                     recent: Iterable[Mapping[str, Any]] = (),
                     config: StatsConfig | None = None) -> dict[str, Json]:
    """Per queue: waiting callers, longest wait, agents by state, plus the :func:`summarize`
    figures of ``recent`` records (for example today's) of that queue."""
    recent_by_queue = by_queue(recent, config)
    out: dict[str, Json] = {}
    for name, queue in snapshot.get("queues", {}).items():
        callers = queue.get("callers", [])
        counts = {"available": 0, "busy": 0, "paused": 0, "wrapup": 0, "unavailable": 0}
        for member in queue.get("members", {}).values():
            counts[member_state(member)] += 1
        row: Json = {
            "callers_waiting": len(callers),
            "longest_wait_seconds": max((float(c.get("wait") or 0) for c in callers),
                                        default=0.0),
            "agents_logged_in": sum(counts.values()),
            **{f"agents_{k}": v for k, v in counts.items()},
        }
        row.update(recent_by_queue.get(name) or summarize((), config))
        out[name] = row
    return out
