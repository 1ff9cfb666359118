"""User accounts and authentication with throttling of repeated failures.

A user with a phone extension has a SIP password for it, generated when the extension is given
(or set by an administrator for a desk phone), sealed at rest (:mod:`core.sip_credentials`) and
rotated on request; every change is audited with the password masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.clock import Clock
from core.models import Role, User
from core.security import hash_password, verify_password
from core.sip_credentials import SipPasswords, new_password


class LoginError(Exception):
    """Login refused; ``locked`` says whether throttling refused it."""

    def __init__(self, message: str, locked: bool = False, retry_after: int = 0) -> None:
        super().__init__(message)
        self.locked = locked
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout_seconds: int = 300


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
        password_hash=hash_password(password),
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
    """Check a login. After ``max_failures`` wrong passwords the user is locked for a while;
    every failure and lock is audited. The caller commits."""
    user = await get_user_by_name(session, username)
    now = clock.now()
    if user is None or user.archived_at is not None:
        raise LoginError("invalid username or password")
    if user.locked_until is not None and user.locked_until > now:
        retry = int((user.locked_until - now).total_seconds()) + 1
        raise LoginError("too many failed logins; try again later", locked=True, retry_after=retry)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        actor = audit.Actor(name=f"login:{source or 'unknown'}")
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + timedelta(seconds=policy.lockout_seconds)
            user.failed_logins = 0
            audit.record(session, actor, "lock", "user", user.id,
                         note=f"locked after {policy.max_failures} failed logins", clock=clock)
            raise LoginError("too many failed logins; try again later", locked=True,
                             retry_after=policy.lockout_seconds)
        audit.record(session, actor, "login_failed", "user", user.id, clock=clock)
        raise LoginError("invalid username or password")
    user.failed_logins = 0
    user.locked_until = None
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
            user.password_hash = hash_password(value)
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
    return user


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
