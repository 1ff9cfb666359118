"""Three wrong PINs lock self-service for a while, for the account and for the calling line.

Failures count across calls (a caller cannot reset them by redialling); a right PIN clears them.
The lock itself is audited, so supervisors see who was locked out and when.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.clock import Clock
from ivr.models import PinLockout

ACTOR = audit.Actor.system("ivr")


def keys_for(account_id: int, caller: str) -> list[str]:
    keys = [f"account:{account_id}"]
    if caller:
        keys.append(f"caller:{caller}")
    return keys


async def status(session: AsyncSession, keys: list[str],
                 now: datetime) -> tuple[datetime | None, int]:
    """The latest lock still in force on any of ``keys``, and the wrong PINs counted so far."""
    rows = (await session.execute(select(PinLockout.locked_until, PinLockout.failures).where(
        PinLockout.key.in_(keys)))).all()
    live = [t for t, _ in rows if t is not None and t > now]
    return (max(live) if live else None), max((f for _, f in rows), default=0)


async def record_failure(session: AsyncSession, clock: Clock, keys: list[str], max_failures: int,
                         lock_for: timedelta, account_id: int, caller: str) -> datetime | None:
    """Count a wrong PIN; when a key reaches ``max_failures``, lock it and audit the lock.
    Returns the lock's end when this failure locked the account."""
    now = clock.now()
    locked: datetime | None = None
    for key in keys:
        row = await session.get(PinLockout, key)
        if row is None:
            row = PinLockout(key=key, failures=0, updated_at=now)
            session.add(row)
        if row.locked_until is not None and row.locked_until <= now:
            row.locked_until = None
        row.failures += 1
        row.updated_at = now
        if row.failures >= max_failures and row.locked_until is None:
            row.locked_until = now + lock_for
            row.failures = 0
            locked = row.locked_until
    if locked is not None:
        audit.record(session, ACTOR, "ivr_pin_lockout", "account", account_id, None,
                     {"locked_until": locked, "caller": caller, "keys": keys},
                     note=f"{max_failures} wrong PINs in a row from {caller or 'unknown number'}",
                     clock=clock)
    return locked


async def clear(session: AsyncSession, clock: Clock, keys: list[str]) -> None:
    """A right PIN: forget the failures counted so far."""
    for key in keys:
        row = await session.get(PinLockout, key)
        if row is not None and row.failures:
            row.failures = 0
            row.updated_at = clock.now()
