"""Which background parts run in ``vigil demo`` and ``vigil serve``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.services import Services
from vigil.roles import tag
from vigil.runtime import Part


def collect(demo: bool) -> list[Part]:
    """Parts are added here as the packages that provide them land."""
    parts: list[Part] = []
    from vigil.cti_parts import cti_parts  # the CTI (and pbxsim with traffic in the demo)

    parts += cti_parts(demo)
    parts.append(receivers_part(demo))
    from vigil.ivr_parts import ivr_and_alarm_parts

    parts += ivr_and_alarm_parts()
    return parts


# --- receivers: DC-09, serial lines, AlarmReceiver spool; crm's lookup is injected here -------


class EngineAccounts:
    """The journal's account lookup, answered by this node's alarm engine (its account book:
    every live account in memory), so that each signal's account is looked up once, as it is
    stored, and the engine takes the answer from the signal. Until the engine runs (it starts
    with the node) signals are stored as not checked and the engine looks them up itself."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def account_ids(self, accounts: set[tuple[str, str]]
                          ) -> dict[tuple[str, str], int | None]:
        from alarms.engine import AlarmEngine

        engine = self.services.extra.get("alarms.engine")
        if not isinstance(engine, AlarmEngine):
            return {}
        pairs = list(accounts)
        found = await engine.accounts_of(pairs)
        return {pair: info.id if info is not None else None
                for pair, info in zip(pairs, found, strict=True)}


def receivers_part(demo: bool) -> Part:
    from receivers.runtime import part

    def accounts(services: Services) -> Callable[[], Awaitable[list[str]]]:
        async def numbers() -> list[str]:  # the demo panels report as real subscribers
            from crm.records import list_accounts

            async with services.db.session() as s:
                rows, _ = await list_accounts(s, limit=200)
            hexdigits = set("0123456789ABCDEFabcdef")  # what DC-09 can carry as account
            return [str(r["number"]) for r in rows
                    if 0 < len(str(r["number"])) <= 16 and set(str(r["number"])) <= hexdigits]

        return numbers

    return tag(part(demo=demo, directory=EngineAccounts, accounts=accounts), "receivers")
