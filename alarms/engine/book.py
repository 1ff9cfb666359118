"""The engine's account book: which account a reported number belongs to, answered from
memory.

Every live account is loaded whole from crm and reloaded every ``ttl`` seconds (a change
reaches the engine within that time); a number the book lacks (an account created since, or
none) is asked of crm and the answer, found or not, kept for ``ttl`` in a
:class:`core.ttl.TTLCache`. A book not reloaded for three periods is stale, and every number
is asked of crm again until it is.

Entries are plain tuples, which the garbage collector does not track (see :mod:`core.heap`):
a center has 100,000 accounts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from alarms.subscriber import AccountInfo, LookupKey, SubscriberDirectory
from core.clock import Clock
from core.ttl import TTLCache

log = logging.getLogger(__name__)

# An account in the book: receiver prefix, id, number, name, status, test interval.
_Entry = tuple[str, int, str, str, str, int | None]
# An account in the lookup cache: id, number, name, status, test interval.
_Cached = tuple[int, str, str, str, int | None]


def _cached(info: AccountInfo) -> _Cached:
    return (info.id, info.number, info.name, info.status, info.test_interval_minutes)


class AccountBook:
    def __init__(self, directory: SubscriberDirectory, clock: Clock, ttl: float) -> None:
        self.directory = directory
        self.clock = clock
        self.ttl = ttl
        self.lookups: TTLCache[LookupKey, _Cached | None] = TTLCache(ttl)
        # every live account by number, loaded whole: monotonic time, book
        self._book: tuple[float, dict[str, tuple[_Entry, ...]]] | None = None

    @property
    def size(self) -> int | None:
        """Accounts in the book; None until it is first loaded."""
        return None if self._book is None else sum(len(v) for v in self._book[1].values())

    async def load(self, page: int = 5000) -> int:
        """Read every live account into the book (replacing it whole); the number read."""
        book: dict[str, tuple[_Entry, ...]] = {}
        after = 0
        while True:
            rows = await self.directory.live_accounts(after, page)
            for prefix, info in rows:
                entry = (prefix, info.id, info.number, info.name, info.status,
                         info.test_interval_minutes)
                book[info.number] = book.get(info.number, ()) + (entry,)
            if len(rows) < page:
                break
            after = rows[-1][1].id
            await asyncio.sleep(0)  # a page at a time: the loop keeps serving signals
        self._book = (self.clock.monotonic(), book)
        return sum(len(v) for v in book.values())

    async def keep(self) -> None:
        """Reload the book every ``ttl`` seconds until cancelled."""
        while True:
            try:
                await self.load()
            except Exception as exc:  # the book ages out and batches ask crm again
                log.warning("account book not reloaded: %s", exc)
            await self.clock.sleep(self.ttl)

    def _from_book(self, number: str, prefix: str | None) -> tuple[bool, AccountInfo | None]:
        """(whether the book answers, the account): by the rule of
        :func:`alarms.subscriber.pick_account`; a number the book lacks is asked of crm."""
        if self._book is None or self.clock.monotonic() - self._book[0] > 3 * self.ttl:
            return False, None  # not loaded, or stale
        entries = self._book[1].get(number)
        if not entries:
            return False, None  # a new account, or none: crm (and the cache) answer
        if prefix is not None:
            found = next((e for e in entries if e[0] == prefix), None)
        else:
            found = next((e for e in entries if e[0] == ""), None)
            if found is None and len(entries) == 1:
                found = entries[0]
        return True, AccountInfo(*found[1:]) if found is not None else None

    async def resolve(self, keys: list[LookupKey]) -> list[AccountInfo | None]:
        """The account behind each (number, receiver prefix): from the book or the cache, and
        the rest from crm in one call."""
        mono = self.clock.monotonic()
        out: list[AccountInfo | None] = []
        missing: dict[LookupKey, list[int]] = {}
        for key in keys:
            known, info = self._from_book(*key)
            if known:
                out.append(info)
                continue
            hit, value = self.lookups.get(key, mono)
            if not hit:
                missing.setdefault(key, []).append(len(out))
            out.append(AccountInfo(*value) if value is not None else None)
        if missing:
            found = await self.directory.lookup_many(list(missing))
            for key, places in missing.items():
                info = found.get(key)
                self.lookups.put(key, None if info is None else _cached(info), mono)
                for i in places:
                    out[i] = info
        return out

    async def by_ids(self, ids: Iterable[int]) -> dict[int, AccountInfo]:
        """Account facts by id (the timers start from account ids): from the numbers seen,
        else from crm."""
        wanted = set(ids)
        found: dict[int, AccountInfo] = {}
        for value in self.lookups.values():
            if value is not None and value[0] in wanted:
                found[value[0]] = AccountInfo(*value)
        for aid in wanted - set(found):
            info = await self.directory.account_by_id(aid)
            if info is not None:
                found[aid] = info
        return found
