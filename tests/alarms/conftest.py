"""Fixtures of the alarm engine tests: a fake subscriber directory, the engine on the fake
clock, and helpers that publish ``signal.received`` payloads the way receivers do."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any

import pytest

from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine
from alarms.subscriber import AccountInfo, CallTarget, CodeResult, LookupKey
from core.audit import Actor
from core.clock import FakeClock
from core.services import Services
from crm.schedule import Schedule, Window
from receivers.signal import Signal

_ids = itertools.count(1)


@dataclass
class FakeDirectory:
    """Subscribers as plain values; records what the engine asked crm to do."""

    accounts: dict[str, AccountInfo] = field(default_factory=dict)
    calls: dict[int, list[CallTarget]] = field(default_factory=dict)
    codes: dict[int, tuple[str, str]] = field(default_factory=dict)  # contact -> (pass, duress)
    intervals: dict[int, int] = field(default_factory=dict)
    scheds: dict[int, Schedule] = field(default_factory=dict)
    devices: dict[int, dict[str, str]] = field(default_factory=dict)
    work_orders: list[dict[str, Any]] = field(default_factory=list)
    lookups: int = 0
    prefixes: dict[int, str] = field(default_factory=dict)  # account id -> receiver prefix
    lookup_calls: int = 0

    def add(self, number: str, status: str = "active") -> AccountInfo:
        info = AccountInfo(len(self.accounts) + 1, number, f"Shop {number}", status)
        self.accounts[number] = info
        return info

    async def lookup_many(self, keys: Sequence[LookupKey]) -> dict[LookupKey, AccountInfo | None]:
        self.lookups += len(keys)
        self.lookup_calls += 1
        return {(number, prefix): self._with_interval(self.accounts.get(number))
                for number, prefix in keys}

    async def live_accounts(self, after_id: int, limit: int) -> list[tuple[str, AccountInfo]]:
        infos = sorted((self._with_interval(i) for i in self.accounts.values()
                        if i.id > after_id), key=lambda i: i.id if i else 0)
        return [(self.prefixes.get(i.id, ""), i) for i in infos if i is not None][:limit]

    def _with_interval(self, info: AccountInfo | None) -> AccountInfo | None:
        if info is None or info.id not in self.intervals:
            return info
        return replace(info, test_interval_minutes=self.intervals[info.id])

    async def account_by_id(self, account_id: int) -> AccountInfo | None:
        return next((a for a in self.accounts.values() if a.id == account_id), None)

    async def call_list(self, account_id: int) -> list[CallTarget]:
        return self.calls.get(account_id, [])

    async def verify_code(self, contact_id: int, code: str, actor: Actor) -> CodeResult:
        passcode, duress = self.codes.get(contact_id, ("", ""))
        if duress and code == duress:
            return "duress"
        return "valid" if passcode and code == passcode else "invalid"

    async def verify_account_code(self, account_id: int, code: str,
                                  actor: Actor) -> CodeResult:
        """Any contact of the account's call list (the premises line's answerer)."""
        results = [await self.verify_code(t.contact_id, code, actor)
                   for t in self.calls.get(account_id, []) if t.contact_id is not None]
        return "duress" if "duress" in results else "valid" if "valid" in results else "invalid"

    async def schedules(self, account_ids: list[int]) -> dict[int, Schedule]:
        return {a: self.scheds[a] for a in account_ids if a in self.scheds}

    async def scheduled_account_ids(self) -> list[int]:
        return sorted(self.scheds)

    async def zone_devices(self, account_id: int) -> dict[str, str]:
        return self.devices.get(account_id, {})

    async def create_work_order(self, account_id: int, summary: str, details: str,
                                actor: Actor) -> int:
        self.work_orders.append({"account_id": account_id, "summary": summary,
                                 "details": details, "actor": actor.name})
        return len(self.work_orders)


def weekdays(opens: time, closes: time, tz: str = "UTC", account_id: int = 1,
             **kw: Any) -> Schedule:
    return Schedule(account_id=account_id, timezone=tz,
                    windows=tuple(Window(d, opens, closes) for d in range(5)), **kw)


def sig(clock: FakeClock, account: str, code: str, qualifier: str = "new", zone: str = "001",
        system: str = "cid", receiver: str = "dc09", *, line: str = "R01L1",
        at: datetime | None = None) -> dict[str, Any]:
    """A ``signal.received`` payload as the receivers publish it: the decoded signal (its
    classification included) and its journal id."""
    signal = Signal(received_at=at or clock.now(), receiver=receiver, line=line,
                    protocol="dc09", account=account, event_code=code, event_system=system,
                    qualifier=qualifier, partition="01", zone=zone, sequence="0001")
    return {**signal.to_dict(), "signal_id": str(next(_ids))}


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def alarm_settings() -> AlarmSettings:
    return AlarmSettings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def engine(services: Services, directory: FakeDirectory,
                 alarm_settings: AlarmSettings) -> AsyncIterator[AlarmEngine]:
    eng = AlarmEngine(services, directory, alarm_settings)
    services.extra["alarms.engine"] = eng
    services.extra["alarms.directory"] = directory
    yield eng
    await eng.stop()


def at(clock: FakeClock, hh: int, mm: int = 0) -> datetime:
    return clock.now().replace(hour=hh, minute=mm, second=0, microsecond=0)
