"""User accounts and authentication with throttling of repeated failures."""

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
) -> User:
    user = User(
        username=username,
        display_name=display_name or username,
        role=Role(role).value,
        password_hash=hash_password(password),
        language=language,
        extension=extension,
        sip_password=sip_password,
        created_at=clock.now(),
    )
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


def user_update_fields() -> set[str]:
    return {"display_name", "role", "language", "extension", "sip_password"}


async def update_user(
    session: AsyncSession, clock: Clock, actor: audit.Actor, user: User, changes: dict[str, Any],
) -> User:
    before = audit.snapshot(user)
    for key, value in changes.items():
        if key == "password":
            user.password_hash = hash_password(value)
        elif key in user_update_fields():
            setattr(user, key, Role(value).value if key == "role" else value)
    await session.flush()
    audit.record(session, actor, "update", "user", user.id, before, audit.snapshot(user),
                 clock=clock)
    return user
