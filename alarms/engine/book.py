"""The engine's account book: which account a reported number belongs to, answered from
memory. The signal journal asks it too (through the assembly), as each signal is stored, and
the signal carries the answer (``account_id``): the engine then reads the account by id.

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
        self.by_id: TTLCache[int, _Cached | None] = TTLCache(ttl)  # what crm said by id
        # every live account by number, loaded whole: monotonic time, book
        self._book: tuple[float, dict[str, tuple[_Entry, ...]]] | None = None
        self._ids: dict[int, _Entry] = {}  # the same accounts by id

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
        self._ids = {e[1]: e for entries in book.values() for e in entries}
        return len(self._ids)

    async def keep(self) -> None:
        """Reload the book every ``ttl`` seconds until cancelled."""
        while True:
            try:
                await self.load()
            except Exception as exc:  # the book ages out and batches ask crm again
                log.warning("account book not reloaded: %s", exc)
            await self.clock.sleep(self.ttl)

    def _fresh(self) -> dict[str, tuple[_Entry, ...]] | None:
        """The book, unless it was never loaded or is stale."""
        if self._book is None or self.clock.monotonic() - self._book[0] > 3 * self.ttl:
            return None
        return self._book[1]

    def _from_book(self, number: str, prefix: str | None) -> tuple[bool, AccountInfo | None]:
        """(whether the book answers, the account): by the rule of
        :func:`alarms.subscriber.pick_account`; a number the book lacks is asked of crm."""
        book = self._fresh()
        if book is None:
            return False, None
        entries = book.get(number)
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
        """The live accounts of ``ids`` (signals that carry their account, the timers): from
        the book, the numbers and ids seen, else from crm (an account the book does not have
        yet), one by one; an id of no live account is left out."""
        wanted = set(ids)
        mono = self.clock.monotonic()
        found: dict[int, AccountInfo] = {}
        if self._fresh() is not None:
            for aid in wanted:
                entry = self._ids.get(aid)
                if entry is not None:
                    found[aid] = AccountInfo(*entry[1:])
        missing = wanted - set(found)
        if missing:
            for value in self.lookups.values(mono):
                if value is not None and value[0] in missing:
                    found[value[0]] = AccountInfo(*value)
        for aid in missing - set(found):
            hit, value = self.by_id.get(aid, mono)
            if not hit:
                info = await self.directory.account_by_id(aid)
                value = None if info is None else _cached(info)
                self.by_id.put(aid, value, mono)
            if value is not None:
                found[aid] = AccountInfo(*value)
        return found
