"""Numbers the IVR refuses. Managed from the console; every change is audited, none deleted."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.clock import Clock
from core.db import Database
from crm.services import normalize, try_normalize
from ivr.models import BlacklistEntry


async def is_blacklisted(session: AsyncSession, number: str, region: str = "CN") -> bool:
    """True when the calling number (any written form) is on the live blacklist."""
    e164 = try_normalize(number, region) if number else None
    if e164 is None:
        return False
    found = await session.scalar(select(BlacklistEntry.id).where(
        BlacklistEntry.e164 == e164, BlacklistEntry.archived_at.is_(None)).limit(1))
    return found is not None


async def add_number(session: AsyncSession, clock: Clock, actor: audit.Actor, number: str,
                     reason: str = "", region: str = "CN") -> BlacklistEntry:
    """Blacklist a number (raises crm's ``InvalidPhone`` for something that is not one)."""
    e164 = normalize(number, region)
    existing = await session.scalar(select(BlacklistEntry).where(
        BlacklistEntry.e164 == e164, BlacklistEntry.archived_at.is_(None)))
    if existing is not None:
        return existing
    entry = BlacklistEntry(e164=e164, reason=reason, added_by=actor.name, created_at=clock.now())
    session.add(entry)
    await session.flush()
    audit.record(session, actor, "create", "ivr_blacklist", entry.id, None,
                 audit.snapshot(entry), clock=clock)
    return entry


async def remove_number(session: AsyncSession, clock: Clock, actor: audit.Actor, number: str,
                        region: str = "CN") -> bool:
    """Take a number off the blacklist (the row is archived); False if it was not on it."""
    e164 = try_normalize(number, region)
    if e164 is None:
        return False
    entry = await session.scalar(select(BlacklistEntry).where(
        BlacklistEntry.e164 == e164, BlacklistEntry.archived_at.is_(None)))
    if entry is None:
        return False
    before = audit.snapshot(entry)
    entry.archived_at = clock.now()
    audit.record(session, actor, "archive", "ivr_blacklist", entry.id, before,
                 audit.snapshot(entry), clock=clock)
    return True


async def list_numbers(session: AsyncSession) -> list[BlacklistEntry]:
    return list((await session.execute(select(BlacklistEntry).where(
        BlacklistEntry.archived_at.is_(None)).order_by(BlacklistEntry.id))).scalars())


class BlacklistCache:
    """The live blacklist in memory, re-read at most every ``ttl`` seconds.

    Every call starts with this check, so in a storm a query per call would compete with the
    calls already in the menus; the list is short and changes rarely (from the console, maybe on
    another node), so a change takes effect within ``ttl``."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._numbers: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def contains(self, db: Database, clock: Clock, number: str,
                       region: str = "CN") -> bool:
        e164 = try_normalize(number, region) if number else None
        if e164 is None:
            return False
        if self._loaded_at is None or clock.monotonic() - self._loaded_at >= self.ttl:
            async with self._lock:  # one reload, however many calls arrive meanwhile
                if self._loaded_at is None or clock.monotonic() - self._loaded_at >= self.ttl:
                    async with db.session() as session:
                        rows = await session.scalars(select(BlacklistEntry.e164).where(
                            BlacklistEntry.archived_at.is_(None)))
                        self._numbers = frozenset(rows)
                    self._loaded_at = clock.monotonic()
        return e164 in self._numbers

    def invalidate(self) -> None:
        self._loaded_at = None
