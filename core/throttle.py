"""Failure throttles kept in the database: wrong passwords and wrong passcodes, counted per key.

A key names what is being guessed and by whom: ``login:<user>:<source>`` (one user from one
address), ``login-user:<user>`` (one user from anywhere, a higher ceiling), ``code-contact:<id>``
(a contact's passcode and duress code), ``code-operator:<id>`` (one operator's checks). After
``max_failures`` within ``window`` the key is locked for ``lock_for``. Rows live in the database
so every node counts the same guesses and a restart forgets nothing; the caller commits them
(also when the request itself fails, so a refused guess still counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import SecurityThrottle


@dataclass(frozen=True, slots=True)
class Limit:
    """How many failures in which window lock a key, and for how long."""

    max_failures: int
    window: timedelta
    lock_for: timedelta


async def locked_until(session: AsyncSession, keys: Iterable[str],
                       now: datetime) -> datetime | None:
    """The latest lock still in force on any of ``keys``."""
    rows = (await session.execute(select(SecurityThrottle.locked_until).where(
        SecurityThrottle.key.in_(list(keys))))).scalars()
    live = [t for t in rows if t is not None and t > now]
    return max(live) if live else None


async def _locked_row(session: AsyncSession, key: str, now: datetime) -> SecurityThrottle:
    """The key's row, created if missing, locked for this transaction: concurrent failures on
    one key (a burst of guesses) count one after the other instead of racing to insert it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(SecurityThrottle).values(
        key=key, failures=0, window_started_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["key"]))
    row = await session.get(SecurityThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


async def fail(session: AsyncSession, key: str, limit: Limit, now: datetime) -> datetime | None:
    """Count one failure; returns the lock's end when this failure locked the key."""
    row = await _locked_row(session, key, now)
    if row.locked_until is not None and row.locked_until <= now:
        row.locked_until = None
        row.failures = 0
    if now - row.window_started_at > limit.window:
        row.failures = 0
        row.window_started_at = now
    row.failures += 1
    row.updated_at = now
    if row.failures >= limit.max_failures and row.locked_until is None:
        row.locked_until = now + limit.lock_for
        row.failures = 0
        row.window_started_at = now
        return row.locked_until
    return None


async def clear(session: AsyncSession, key: str, now: datetime) -> None:
    """A success: forget the failures counted against ``key`` (a lock stays until it ends)."""
    row = await session.get(SecurityThrottle, key)
    if row is not None and row.failures:
        row.failures = 0
        row.updated_at = now


async def unlock(session: AsyncSession, keys: Iterable[str], now: datetime) -> int:
    """End the locks on ``keys`` now (an administrator's decision); how many were locked."""
    rows = (await session.execute(select(SecurityThrottle).where(
        SecurityThrottle.key.in_(list(keys))))).scalars().all()
    ended = 0
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            ended += 1
        row.locked_until = None
        row.failures = 0
        row.updated_at = now
    return ended
