"""What the rules need that changes rarely, kept in memory: the accounts' open/close schedules
(for ``schedule_refresh_seconds``), which accounts have one, the action plans and disaster
mode (until the bus says they changed: ``alarms.plans_changed``, ``alarms.disaster_changed``,
and at each timer tick). What must be right across nodes (open incidents, account states,
schedule marks) is read in each batch's transaction instead."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from alarms import disaster, plans
from alarms.models import ActionPlan, CenterState
from alarms.subscriber import SubscriberDirectory
from core.clock import Clock
from core.db import Database
from core.ttl import TTLCache
from crm.schedule import Schedule


class Facts:
    def __init__(self, db: Database, directory: SubscriberDirectory, clock: Clock,
                 schedule_ttl: float) -> None:
        self.db = db
        self.directory = directory
        self.clock = clock
        self.schedule_ttl = schedule_ttl
        self._schedules: TTLCache[int, Schedule | None] = TTLCache(schedule_ttl)
        self._scheduled_ids: tuple[float, frozenset[int]] | None = None
        self._plans: list[plans.PlanRule] | None = None
        self._disaster: disaster.DisasterState | None = None

    def forget_plans(self) -> None:
        self._plans = None

    def forget_disaster(self) -> None:
        self._disaster = None

    async def schedules(self, account_ids: Iterable[int]) -> dict[int, Schedule | None]:
        mono = self.clock.monotonic()
        out: dict[int, Schedule | None] = {}
        missing = []
        for aid in set(account_ids):
            hit, value = self._schedules.get(aid, mono)
            if hit:
                out[aid] = value
            else:
                missing.append(aid)
        if missing:
            # most accounts have no schedule: ask crm only for those listed as having one
            scheduled = await self.scheduled_ids()
            asked = [aid for aid in missing if aid in scheduled]
            found = await self.directory.schedules(asked) if asked else {}
            for aid in missing:
                sch = found.get(aid)
                value = sch if sch is not None and sch.windows else None
                self._schedules.put(aid, value, mono)
                out[aid] = value
        return out

    async def scheduled_ids(self) -> frozenset[int]:
        """The accounts with an open/close schedule, refreshed as often as schedules are."""
        mono = self.clock.monotonic()
        if self._scheduled_ids is None or mono - self._scheduled_ids[0] > self.schedule_ttl:
            self._scheduled_ids = (mono,
                                   frozenset(await self.directory.scheduled_account_ids()))
        return self._scheduled_ids[1]

    async def plan_rules(self) -> list[plans.PlanRule]:
        if self._plans is None:
            async with self.db.session() as s:
                rows = (await s.execute(select(ActionPlan).where(
                    ActionPlan.archived_at.is_(None)))).scalars().all()
            self._plans = [plans.PlanRule(p.id, p.account_id, p.zone, p.match, p.priority,
                                          p.event_class, tuple(p.steps or ())) for p in rows]
        return self._plans

    async def disaster_state(self) -> disaster.DisasterState:
        if self._disaster is None:
            async with self.db.session() as s:
                row = await s.get(CenterState, 1)
            if row is None or not row.disaster_active:
                self._disaster = disaster.DisasterState()
            else:
                self._disaster = disaster.DisasterState(
                    True, disaster.parse_rules(row.disaster_rules or {}))
        return self._disaster
