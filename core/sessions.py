"""Server-side sessions: a signed cookie alone stays valid for its whole life, so logging out,
changing a password or archiving a user could not end it. Each login is a row; the cookie
carries a random token and the row is found by the token's SHA-256 (a copy of the table gives
nobody a usable cookie). A request is admitted only while its row is neither revoked nor
expired, on every node and on the websocket alike.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import User, UserSession

COOKIE_KEY = "sid"


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def open_session(session: AsyncSession, user: User, now: datetime, max_age: int,
                       source: str = "", user_agent: str = "") -> str:
    """Record a login; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=token_id(token), user_id=user.id, created_at=now,
                            expires_at=now + timedelta(seconds=max_age), source=source[:64],
                            user_agent=user_agent[:200]))
    return token


async def user_of(session: AsyncSession, token: object, now: datetime) -> User | None:
    """The live user of a session token, or None (unknown, revoked, expired, archived)."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = (await session.execute(
        select(User).join(UserSession, UserSession.user_id == User.id).where(
            UserSession.id == token_id(token), UserSession.revoked_at.is_(None),
            UserSession.expires_at > now, User.archived_at.is_(None)))).scalar_one_or_none()
    return row


async def revoke(session: AsyncSession, token: object, now: datetime, reason: str) -> int:
    """End one session (logout); how many rows it ended."""
    if not isinstance(token, str) or not token:
        return 0
    result = await session.execute(
        update(UserSession).where(UserSession.id == token_id(token),
                                  UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


async def revoke_user(session: AsyncSession, user_id: int, now: datetime, reason: str) -> int:
    """End every session of a user (new password, archived)."""
    result = await session.execute(
        update(UserSession).where(UserSession.user_id == user_id,
                                  UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)
