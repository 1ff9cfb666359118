"""Open/close schedules as plain values, and the pure rule deciding what is expected when.

The alarm engine asks "should this account be open now?" to judge openings and closings (an
opening outside the schedule is suspicious, a missed closing is a fail-to-close). Windows are in
the account's local time; holidays are local dates closed all day; temporary exceptions are UTC
intervals that override everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

Expected = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Window:
    """Open from ``opens`` on ``weekday`` (0 = Monday) until ``closes``; past midnight when
    ``closes`` is not after ``opens``."""

    weekday: int
    opens: time
    closes: time

    @property
    def overnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True, slots=True)
class Override:
    starts_at: datetime
    ends_at: datetime
    expected: Expected
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Schedule:
    account_id: int
    timezone: str = "Asia/Shanghai"
    windows: tuple[Window, ...] = ()
    holidays: frozenset[date] = field(default_factory=frozenset)
    overrides: tuple[Override, ...] = ()


def expected_state(schedule: Schedule, at: datetime) -> Expected | None:
    """Whether the premises are expected open or closed at the aware instant ``at``; None when
    the account has no weekly windows (nothing to judge by)."""
    for o in schedule.overrides:
        if o.starts_at <= at < o.ends_at:
            return o.expected
    if not schedule.windows:
        return None
    local = at.astimezone(ZoneInfo(schedule.timezone))
    if local.date() in schedule.holidays:
        return "closed"
    wd, now = local.weekday(), local.time().replace(tzinfo=None)
    for w in schedule.windows:
        if not w.overnight:
            if w.weekday == wd and w.opens <= now < w.closes:
                return "open"
        elif (w.weekday == wd and now >= w.opens) or (w.weekday == (wd - 1) % 7
                                                       and now < w.closes):
            return "open"
    return "closed"
