"""Open/close schedule rules: early and unscheduled openings, unscheduled closings, and the
late-to-open / late-to-close exceptions the periodic tick raises.

Pure functions over crm's :class:`~crm.schedule.Schedule` values; a holiday has no windows, a
temporary exception overrides the weekly windows (crm's ``expected_state`` decides). Each
exception is reported with the account's local date, so the engine raises at most one of each
kind per account per day however wrong the schedule is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from crm.services import Schedule, expected_state


@dataclass(frozen=True, slots=True)
class Period:
    """One expected open period of a local day, as UTC instants."""

    day: date
    opens: datetime
    closes: datetime


def periods(schedule: Schedule, day: date) -> list[Period]:
    """The open periods that start on local ``day`` (none on a holiday)."""
    if day in schedule.holidays:
        return []
    tz = ZoneInfo(schedule.timezone)
    out = []
    for w in schedule.windows:
        if w.weekday != day.weekday():
            continue
        opens = datetime.combine(day, w.opens, tz)
        close_day = day + timedelta(days=1) if w.overnight else day
        closes = datetime.combine(close_day, w.closes, tz)
        out.append(Period(day, opens, closes))
    return sorted(out, key=lambda p: p.opens)


def local_day(schedule: Schedule, at: datetime) -> date:
    return at.astimezone(ZoneInfo(schedule.timezone)).date()


def judge_opening(schedule: Schedule, at: datetime, early: timedelta) -> str | None:
    """``early_open`` when the premises open shortly before a window, ``unscheduled_open``
    when they open while expected closed otherwise; None when the opening is expected."""
    if expected_state(schedule, at) != "closed":
        return None
    day = local_day(schedule, at)
    for p in periods(schedule, day):
        if timedelta(0) < p.opens - at <= early:
            return "early_open"
    return "unscheduled_open"


def judge_closing(schedule: Schedule, at: datetime, early: timedelta) -> str | None:
    """``unscheduled_close`` when the premises close while expected open, unless the window
    ends within ``early``."""
    if expected_state(schedule, at) != "open":
        return None
    day = local_day(schedule, at)
    for d in (day, day - timedelta(days=1)):
        for p in periods(schedule, d):
            if p.opens <= at < p.closes and p.closes - at <= early:
                return None
    return "unscheduled_close"


def late_exceptions(schedule: Schedule, now: datetime, *, last_open_at: datetime | None,
                    last_close_at: datetime | None, open_grace: timedelta,
                    close_grace: timedelta, early: timedelta,
                    horizon: timedelta = timedelta(hours=6)) -> list[tuple[str, date]]:
    """Fail-to-open and fail-to-close exceptions due at ``now``, with the local day each
    belongs to. Exceptions older than ``horizon`` are not raised late (an engine that was down
    does not flood the queue when it starts)."""
    out: list[tuple[str, date]] = []
    today = local_day(schedule, now)
    is_open = last_open_at is not None and (last_close_at is None or last_open_at > last_close_at)
    for d in (today - timedelta(days=1), today):
        for p in periods(schedule, d):
            opened_for_it = last_open_at is not None and last_open_at >= p.opens - early
            if (p.opens + open_grace <= now < p.closes and now - p.opens - open_grace <= horizon
                    and not opened_for_it and expected_state(schedule, now) == "open"):
                out.append(("fail_to_open", d))
            if (p.closes + close_grace <= now and now - p.closes - close_grace <= horizon
                    and is_open and expected_state(schedule, now) == "closed"):
                out.append(("fail_to_close", d))
    return out
