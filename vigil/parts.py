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


class _CrmAccounts:
    """The journal's unknown-account check through crm's public lookup, cached briefly."""

    def __init__(self, services: Services, ttl: float = 60.0) -> None:
        self.services = services
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[bool, float]] = {}
        try:
            from alarms.config import AlarmSettings

            self.prefixes: dict[str, str] = AlarmSettings().receiver_prefixes
        except ModuleNotFoundError:
            self.prefixes = {}

    async def known(self, accounts: set[tuple[str, str]]) -> dict[tuple[str, str], bool]:
        from alarms.subscriber import find_account_info  # the engine's own rule

        now = self.services.clock.monotonic()
        out: dict[tuple[str, str], bool] = {}
        missing = []
        for pair in accounts:
            hit = self._cache.get(pair)
            if hit is not None and now - hit[1] < self.ttl:
                out[pair] = hit[0]
            else:
                missing.append(pair)
        if missing:
            async with self.services.db.session() as s:
                for receiver, number in missing:
                    # no prefix configured (None): no prefix, else the one account of any prefix
                    ok = await find_account_info(s, number, self.prefixes.get(receiver)) \
                        is not None
                    out[(receiver, number)] = ok
                    self._cache[(receiver, number)] = (ok, now)
        return out


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

    return tag(part(demo=demo, directory=_CrmAccounts, accounts=accounts), "receivers")
