"""User accounts and authentication with throttling of repeated failures.

A user with a phone extension has a SIP password for it, generated when the extension is given
(or set by an administrator for a desk phone), sealed at rest (:mod:`core.sip_credentials`) and
rotated on request; every change is audited with the password masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, sessions, throttle
from core.clock import Clock
from core.models import Role, SecurityThrottle, User
from core.security import hash_password_async, verify_nobody_async, verify_password_async
from core.sip_credentials import SipPasswords, new_password


class LoginError(Exception):
    """Login refused; ``locked`` says whether throttling refused it, ``alert`` what supervisors
    must be told once the caller has committed (a user locked everywhere)."""

    def __init__(self, message: str, locked: bool = False, retry_after: int = 0,
                 alert: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.locked = locked
        self.retry_after = retry_after
        self.alert = alert


@dataclass(frozen=True)
class LoginPolicy:
    """Wrong passwords lock one user *from one address* (``max_failures``), so nobody can lock
    an administrator out from everywhere by guessing; a higher per-user ceiling within a window
    locks the user everywhere and alerts the supervisors (a distributed guess)."""

    max_failures: int = 5
    lockout_seconds: int = 300
    user_max_failures: int = 50
    user_window_seconds: int = 3600
    user_lockout_seconds: int = 900

    @classmethod
    def of(cls, settings: Any) -> LoginPolicy:
        return cls(settings.login_max_failures, settings.login_lockout_seconds,
                   settings.login_user_max_failures, settings.login_user_window_seconds,
                   settings.login_user_lockout_seconds)

    def pair(self) -> throttle.Limit:
        lock = timedelta(seconds=self.lockout_seconds)
        return throttle.Limit(self.max_failures, max(lock, timedelta(hours=1)), lock)

    def user(self) -> throttle.Limit:
        return throttle.Limit(self.user_max_failures,
                              timedelta(seconds=self.user_window_seconds),
                              timedelta(seconds=self.user_lockout_seconds))


def pair_key(user_id: int, source: str) -> str:
    return f"login:{user_id}:{source}"


def user_key(user_id: int) -> str:
    return f"login-user:{user_id}"


async def get_user_by_name(session: AsyncSession, username: str) -> User | None:
    return (
        await session.execute(select(User).where(func.lower(User.username) == username.lower()))
    ).scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    clock: Clock,
    actor: audit.Actor,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str | None = None,
    language: str = "zh-CN",
    extension: str | None = None,
    sip_password: str | None = None,
    sip: SipPasswords | None = None,
) -> User:
    """A new user; one with an ``extension`` gets a generated SIP password unless one is
    given (``sip`` seals it; required then)."""
    user = User(
        username=username,
        display_name=display_name or username,
        role=Role(role).value,
        password_hash=await hash_password_async(password),
        language=language,
        extension=extension or None,
        created_at=clock.now(),
    )
    if user.extension:
        user.sip_password = _sealed(sip, username, sip_password or new_password())
    session.add(user)
    await session.flush()
    audit.record(session, actor, "create", "user", user.id, None, audit.snapshot(user),
                 clock=clock)
    return user


async def authenticate(
    session: AsyncSession, clock: Clock, policy: LoginPolicy, username: str, password: str,
    source: str = "",
) -> User:
    """Check a login (the password check runs off the event loop). Every failure and lock is
    audited; the caller commits, also when this raises, so failures are counted."""
    user = await get_user_by_name(session, username)
    now = clock.now()
    if user is None or user.archived_at is not None:
        await verify_nobody_async(password)  # same time as a wrong password: no enumeration
        raise LoginError("invalid username or password")
    pair, whole = pair_key(user.id, source), user_key(user.id)
    locked = await throttle.locked_until(session, [pair, whole], now)
    if locked is not None:
        retry = int((locked - now).total_seconds()) + 1
        raise LoginError("too many failed logins; try again later", locked=True, retry_after=retry)
    if not await verify_password_async(user.password_hash, password):
        actor = audit.Actor(name=f"login:{source or 'unknown'}")
        audit.record(session, actor, "login_failed", "user", user.id, clock=clock)
        everywhere = await throttle.fail(session, whole, policy.user(), now)
        here = await throttle.fail(session, pair, policy.pair(), now)
        if everywhere is not None:
            note = (f"locked everywhere after {policy.user_max_failures} failed logins within "
                    f"{policy.user_window_seconds} s; the last from {source or 'unknown'}")
            audit.record(session, actor, "lock", "user", user.id, None,
                         {"locked_until": everywhere, "scope": "everywhere"}, note=note,
                         clock=clock)
            raise LoginError("too many failed logins; try again later", locked=True,
                             retry_after=policy.user_lockout_seconds,
                             alert={"kind": "login_locked", "user_id": user.id,
                                    "username": user.username, "source": source,
                                    "locked_until": everywhere.isoformat(), "note": note})
        if here is not None:
            audit.record(session, actor, "lock", "user", user.id, None,
                         {"locked_until": here, "scope": "source", "source": source},
                         note=f"locked from {source or 'unknown'} after "
                              f"{policy.max_failures} failed logins", clock=clock)
            raise LoginError("too many failed logins; try again later", locked=True,
                             retry_after=policy.lockout_seconds)
        raise LoginError("invalid username or password")
    await throttle.clear(session, pair, now)
    user.last_login_at = now
    audit.record(session, audit.Actor(user.username, user.id), "login", "user", user.id,
                 clock=clock)
    return user


NEW_SECRET = "*** (new)"


def _sealed(sip: SipPasswords | None, username: str, password: str) -> str:
    if sip is None:
        raise ValueError("a SIP password needs the application's secret to be stored")
    return sip.seal(username, password)


def user_update_fields() -> set[str]:
    return {"display_name", "role", "language", "extension", "sip_password"}


async def update_user(
    session: AsyncSession, clock: Clock, actor: audit.Actor, user: User, changes: dict[str, Any],
    sip: SipPasswords | None = None,
) -> User:
    """Apply ``changes``. A new extension gets a new SIP password (the old one belonged to
    another phone), no extension none; ``sip_password`` sets one by hand (a desk phone)."""
    before = audit.snapshot(user)
    old_extension, old_sealed = user.extension, user.sip_password
    for key, value in changes.items():
        if key == "password":
            user.password_hash = await hash_password_async(value)
        elif key == "extension":
            user.extension = value or None
        elif key in user_update_fields() and key != "sip_password":
            setattr(user, key, Role(value).value if key == "role" else value)
    if not user.extension:
        user.sip_password = None
    elif changes.get("sip_password"):
        user.sip_password = _sealed(sip, user.username, changes["sip_password"])
    elif user.extension != old_extension:
        user.sip_password = _sealed(sip, user.username, new_password())
    await session.flush()
    after = audit.snapshot(user)
    if user.sip_password and user.sip_password != old_sealed:
        after["sip_password"] = NEW_SECRET  # masked, but the log shows that it changed
    audit.record(session, actor, "update", "user", user.id, before, after, clock=clock)
    if "password" in changes:  # every login made with the old password ends
        await sessions.revoke_user(session, user.id, clock.now(), "password changed")
    return user


async def archive_user(session: AsyncSession, clock: Clock, actor: audit.Actor,
                       user: User) -> User:
    """Archive a user (never deleted) and end every session of theirs."""
    before = audit.snapshot(user)
    user.archived_at = clock.now()
    await sessions.revoke_user(session, user.id, clock.now(), "archived")
    audit.record(session, actor, "archive", "user", user.id, before, audit.snapshot(user),
                 clock=clock)
    return user


async def unlock(session: AsyncSession, clock: Clock, actor: audit.Actor, user: User) -> int:
    """End every login lock of ``user`` now (audited); how many were in force."""
    rows = (await session.execute(select(SecurityThrottle.key).where(or_(
        SecurityThrottle.key == user_key(user.id),
        SecurityThrottle.key.like(f"login:{user.id}:%"))))).scalars().all()
    ended = await throttle.unlock(session, rows, clock.now())
    audit.record(session, actor, "unlock", "user", user.id, note=f"{ended} lock(s) ended",
                 clock=clock)
    return ended


async def rotate_sip_password(session: AsyncSession, clock: Clock, actor: audit.Actor, user: User,
                              sip: SipPasswords) -> None:
    """A new SIP password for the user's phone (the old one stops working once Asterisk has
    the new one). Audited; the password itself never leaves the sealed column."""
    if not user.extension:
        raise ValueError(f"user {user.username} has no phone extension")
    had = bool(user.sip_password)
    user.sip_password = sip.seal(user.username, new_password())
    await session.flush()
    audit.record(session, actor, "rotate_sip_password", "user", user.id,
                 {"sip_password": "***" if had else None}, {"sip_password": NEW_SECRET},
                 clock=clock, only_changes=False)


async def phone_users(session: AsyncSession) -> list[User]:
    """Users with a phone extension, not archived, by extension."""
    return list((await session.execute(select(User).where(
        User.extension.is_not(None), User.archived_at.is_(None)).order_by(
        User.extension))).scalars())


async def fill_in_sip_passwords(session: AsyncSession, clock: Clock, actor: audit.Actor,
                                sip: SipPasswords) -> list[str]:
    """Give every phone user whose SIP password is missing or unreadable (sealed under
    another secret) a new one; the usernames done."""
    done = []
    for user in await phone_users(session):
        if sip_password(user, sip) is None:
            await rotate_sip_password(session, clock, actor, user, sip)
            done.append(user.username)
    return done


def sip_password(user: User, sip: SipPasswords) -> str | None:
    """The user's SIP password in clear, for the PJSIP include and the user's own console."""
    return sip.open(user.username, user.sip_password)
