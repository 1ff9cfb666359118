"""What the engine needs to know about subscribers, behind a Protocol so the rules can be
tested with a fake directory; :class:`CrmDirectory` answers through crm's public functions.

Which account a signal belongs to: a receiver with a configured account prefix
(``VIGIL_ALARMS_RECEIVER_PREFIXES``) reports numbers of that prefix only; a receiver without one
reports an account of no prefix or, failing that, the one live account with that number under
any prefix (several are ambiguous: unknown, until the receiver's prefix is configured).
:func:`pick_account` is that rule; the engine's account book applies it in memory, for the
engine and for the signal journal.

crm does not (yet) offer contact e-mail addresses or callback visits; the engine degrades
gracefully without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from core import alerts
from core.audit import Actor
from core.bus import Bus
from core.clock import Clock
from core.db import Database
from crm import services as crm
from crm.schedule import Schedule

CodeResult = Literal["valid", "duress", "invalid"]


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    number: str
    name: str
    status: str = "active"  # active | on_hold | cancelled
    test_interval_minutes: int | None = None  # the panels' test reports; None: not supervised


@dataclass(frozen=True, slots=True)
class CallTarget:
    """One stop of the call list (the premises line has no contact)."""

    contact_id: int | None
    name: str
    numbers: list[str] = field(default_factory=list)
    has_passcode: bool = False


def pick_account(rows: Sequence[dict[str, Any]], number: str,
                 receiver_prefix: str | None) -> dict[str, Any] | None:
    """Of the live accounts numbered ``number`` (any prefix), the one a receiver with
    ``receiver_prefix`` reports (the rule of the module's docstring)."""
    same = [r for r in rows if r["number"] == number]
    if receiver_prefix is not None:
        return next((r for r in same if r["receiver_prefix"] == receiver_prefix), None)
    exact = next((r for r in same if r["receiver_prefix"] == ""), None)
    if exact is not None:
        return exact
    return same[0] if len(same) == 1 else None


LookupKey = tuple[str, str | None]  # (account number as reported, receiver prefix or None)


class SubscriberDirectory(Protocol):
    async def lookup_many(self, keys: Sequence[LookupKey]) -> dict[LookupKey, AccountInfo | None]:
        """The account behind each (number, receiver prefix): a batch's misses in one go."""
        ...

    async def account_by_id(self, account_id: int) -> AccountInfo | None: ...

    async def call_list(self, account_id: int) -> list[CallTarget]: ...

    async def verify_code(self, contact_id: int, code: str, actor: Actor) -> CodeResult: ...

    async def verify_account_code(self, account_id: int, code: str,
                                  actor: Actor) -> CodeResult:
        """A code given at the premises, checked against every contact of the account."""
        ...

    async def live_accounts(self, after_id: int, limit: int) -> list[tuple[str, AccountInfo]]:
        """(receiver prefix, account) of live accounts with an id above ``after_id``, by id:
        the engine's account book is loaded from these pages."""
        ...

    async def schedules(self, account_ids: list[int]) -> dict[int, Schedule]: ...

    async def scheduled_account_ids(self) -> list[int]: ...

    async def zone_devices(self, account_id: int) -> dict[str, str]: ...

    async def create_work_order(self, account_id: int, summary: str, details: str,
                                actor: Actor) -> int: ...


class CrmDirectory:
    """The directory backed by crm's public functions, each call in its own session."""

    def __init__(self, db: Database, clock: Clock, bus: Bus | None = None) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus  # where the supervisors' alerts of a passcode lock go

    @staticmethod
    def _info(row: dict[str, Any] | None) -> AccountInfo | None:
        if row is None or row.get("archived"):
            return None
        interval = row.get("test_interval_minutes")
        return AccountInfo(int(row["id"]), str(row["number"]), str(row["name"]),
                           str(row["status"]), int(interval) if interval else None)

    async def lookup_many(self, keys: Sequence[LookupKey]) -> dict[LookupKey, AccountInfo | None]:
        """One crm query for every number of the batch (a power cut's burst comes from accounts
        the cache has not seen for hours)."""
        async with self.db.reader() as s:
            rows = await crm.find_account_infos(s, [number for number, _ in keys])
        by_number: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_number.setdefault(row["number"], []).append(row)
        return {(number, prefix): self._info(pick_account(by_number.get(number, ()), number,
                                                          prefix))
                for number, prefix in keys}

    async def live_accounts(self, after_id: int, limit: int) -> list[tuple[str, AccountInfo]]:
        async with self.db.reader() as s:
            rows = await crm.live_account_infos(s, after_id, limit)
        return [(str(r["receiver_prefix"]), info) for r in rows
                if (info := self._info(r)) is not None]

    async def lookup(self, number: str, receiver_prefix: str | None) -> AccountInfo | None:
        return (await self.lookup_many([(number, receiver_prefix)]))[(number, receiver_prefix)]

    async def account_by_id(self, account_id: int) -> AccountInfo | None:
        async with self.db.reader() as s:
            return self._info(await crm.account_info(s, account_id))

    async def call_list(self, account_id: int) -> list[CallTarget]:
        async with self.db.reader() as s:
            entries = await crm.call_list(s, account_id)
        return [CallTarget(e.contact_id, e.name, [p["e164"] for p in e.phones], e.has_passcode)
                for e in entries]

    async def verify_code(self, contact_id: int, code: str, actor: Actor) -> CodeResult:
        """Raises crm's ``CodeLocked`` while guessing has locked the checks."""
        async with self.db.transaction() as s:
            result = await crm.verify_contact_code(s, self.clock, actor, contact_id, code)
        if self.bus is not None:
            await alerts.publish_queued(s, self.bus)
        return result

    async def verify_account_code(self, account_id: int, code: str,
                                  actor: Actor) -> CodeResult:
        async with self.db.transaction() as s:
            result, _ = await crm.verify_account_code(s, self.clock, actor, account_id, code)
            return result

    async def schedules(self, account_ids: list[int]) -> dict[int, Schedule]:
        async with self.db.reader() as s:
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
