"""What the engine needs to know about subscribers, behind a Protocol so the rules can be
tested with a fake directory; :class:`CrmDirectory` answers through crm's public functions.

Which account a signal belongs to: a receiver with a configured account prefix
(``VIGIL_ALARMS_RECEIVER_PREFIXES``) reports numbers of that prefix only; a receiver without one
reports an account of no prefix or, failing that, the one live account with that number under
any prefix (several are ambiguous: unknown, until the receiver's prefix is configured).
:func:`find_account_info` is that rule, shared with the receivers' unknown-account check.

crm does not (yet) offer contact e-mail addresses or callback visits; the engine degrades
gracefully without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor
from core.clock import Clock
from core.db import Database
from crm import services as crm
from crm.records import list_accounts
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


async def find_account_info(session: AsyncSession, number: str,
                            receiver_prefix: str | None) -> dict[str, Any] | None:
    """crm's live account a receiver reports as ``number``; ``receiver_prefix`` None means the
    receiver has no configured prefix (see the module's docstring)."""
    if receiver_prefix is not None:
        return await crm.find_account_info(session, number, receiver_prefix)
    exact = await crm.find_account_info(session, number, "")
    if exact is not None or not number:
        return exact
    found: list[dict[str, Any]] = []
    offset, total = 0, 1
    while offset < total:  # the search also matches names and longer numbers: keep exact ones
        rows, total = await list_accounts(session, q=number, limit=200, offset=offset)
        if not rows:
            break
        found += [r for r in rows if r["number"] == number]
        offset += len(rows)
    if len(found) != 1:
        return None
    return await crm.find_account_info(session, number, str(found[0]["receiver_prefix"]))


class SubscriberDirectory(Protocol):
    async def lookup(self, number: str, receiver_prefix: str | None) -> AccountInfo | None: ...

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

    @staticmethod
    def _info(row: dict[str, Any] | None) -> AccountInfo | None:
        if row is None or row.get("archived"):
            return None
        return AccountInfo(int(row["id"]), str(row["number"]), str(row["name"]),
                           str(row["status"]))

    async def lookup(self, number: str, receiver_prefix: str | None) -> AccountInfo | None:
        async with self.db.session() as s:
            return self._info(await find_account_info(s, number, receiver_prefix))

    async def account_by_id(self, account_id: int) -> AccountInfo | None:
        async with self.db.session() as s:
            return self._info(await crm.account_info(s, account_id))

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
        async with self.db.session() as s:
            return await crm.scheduled_account_ids(s)

    async def zone_devices(self, account_id: int) -> dict[str, str]:
        """Zone number -> device model (the panel's model when the zone names none)."""
        async with self.db.session() as s:
            zones = await crm.zones(s, account_id)
        return {str(z["number"]): str(z["device_model"] or z["panel_model"] or "")
                for z in zones}

    async def create_work_order(self, account_id: int, summary: str, details: str,
                                actor: Actor) -> int:
        async with self.db.transaction() as s:
            order = await crm.create_work_order(s, self.clock, actor, account_id=account_id,
                                                summary=summary, details=details)
            return int(order.id)
