"""What the engine needs to know about subscribers, behind a Protocol so the rules can be
tested with a fake directory; :class:`CrmDirectory` answers through crm's public functions.

crm does not (yet) offer: the status of an account by number, the list of accounts that have a
schedule, the device model of each zone, contact e-mail addresses, and callback visits. The
adapter works around the first three with crm's other public functions (see each method) and
the engine degrades gracefully on the last two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from core.audit import Actor
from core.clock import Clock
from core.db import Database
from crm import records as crm_records
from crm import services as crm
from crm.schedule import Schedule

CodeResult = Literal["valid", "duress", "invalid"]


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    number: str
    name: str
    status: str = "active"  # active | on_hold | cancelled


@dataclass(frozen=True, slots=True)
class CallTarget:
    """One stop of the call list (the premises line has no contact)."""

    contact_id: int | None
    name: str
    numbers: list[str] = field(default_factory=list)
    has_passcode: bool = False


class SubscriberDirectory(Protocol):
    async def lookup(self, number: str, receiver_prefix: str) -> AccountInfo | None: ...

    async def account_by_id(self, account_id: int) -> AccountInfo | None: ...

    async def call_list(self, account_id: int) -> list[CallTarget]: ...

    async def verify_code(self, contact_id: int, code: str, actor: Actor) -> CodeResult: ...

    async def test_interval_minutes(self, account_id: int) -> int | None: ...

    async def schedules(self, account_ids: list[int]) -> dict[int, Schedule]: ...

    async def scheduled_account_ids(self) -> list[int]: ...

    async def zone_devices(self, account_id: int) -> dict[str, str]: ...

    async def create_work_order(self, account_id: int, summary: str, details: str,
                                actor: Actor) -> int: ...


class CrmDirectory:
    """The directory backed by crm's public functions, each call in its own session."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def lookup(self, number: str, receiver_prefix: str) -> AccountInfo | None:
        # crm has find_account (id only); the status comes from its account search.
        async with self.db.session() as s:
            rows, _ = await crm_records.list_accounts(s, q=number,
                                                      receiver_prefix=receiver_prefix, limit=20)
        for r in rows:
            if r["number"] == number:
                return AccountInfo(int(r["id"]), r["number"], r["name"], r["status"])
        return None

    async def account_by_id(self, account_id: int) -> AccountInfo | None:
        # No light crm reader by id; the screen-pop summary carries number, name and status.
        async with self.db.session() as s:
            try:
                a = await crm.account_summary(s, account_id, self.clock.now().date())
            except crm.NotFound:
                return None
        return AccountInfo(int(a["id"]), a["number"], a["name"], a["status"])

    async def all_accounts(self, page: int = 5000) -> list[tuple[str, AccountInfo]]:
        """Every live account with its receiver prefix (to warm a cache)."""
        out: list[tuple[str, AccountInfo]] = []
        offset = 0
        while True:
            async with self.db.session() as s:
                rows, _ = await crm_records.list_accounts(s, limit=page, offset=offset)
            out += [(r["receiver_prefix"], AccountInfo(int(r["id"]), r["number"], r["name"],
                                                       r["status"])) for r in rows]
            if len(rows) < page:
                return out
            offset += page

    async def call_list(self, account_id: int) -> list[CallTarget]:
        async with self.db.session() as s:
            entries = await crm.call_list(s, account_id)
        return [CallTarget(e.contact_id, e.name, [p["e164"] for p in e.phones], e.has_passcode)
                for e in entries]

    async def verify_code(self, contact_id: int, code: str, actor: Actor) -> CodeResult:
        async with self.db.transaction() as s:
            return await crm.verify_contact_code(s, self.clock, actor, contact_id, code)

    async def test_interval_minutes(self, account_id: int) -> int | None:
        async with self.db.session() as s:
            panels = await crm.panel_settings(s, account_id)
        intervals = [int(p["test_interval_minutes"]) for p in panels
                     if p.get("test_interval_minutes")]
        return min(intervals) if intervals else None

    async def schedules(self, account_ids: list[int]) -> dict[int, Schedule]:
        async with self.db.session() as s:
            return await crm.get_schedules(s, account_ids)

    async def scheduled_account_ids(self) -> list[int]:
        # No crm function lists scheduled accounts: read every account's schedule in chunks.
        ids = [a.id for _, a in await self.all_accounts()]
        out: list[int] = []
        for i in range(0, len(ids), 1000):
            found = await self.schedules(ids[i:i + 1000])
            out += [aid for aid, sch in found.items() if sch.windows]
        return out

    async def zone_devices(self, account_id: int) -> dict[str, str]:
        # No crm function gives zones with their device model; load_account is the closest.
        async with self.db.session() as s:
            account = await crm_records.load_account(s, account_id)
        out: dict[str, str] = {}
        for panel in account.panels:
            for z in panel.zones:
                if z.archived_at is None:
                    out[str(z.number)] = z.device_model or panel.model or ""
        return out

    async def create_work_order(self, account_id: int, summary: str, details: str,
                                actor: Actor) -> int:
        async with self.db.transaction() as s:
            order = await crm.create_work_order(s, self.clock, actor, account_id=account_id,
                                                summary=summary, details=details)
            return int(order.id)
