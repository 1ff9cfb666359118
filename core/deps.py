"""FastAPI dependencies: services, database session, the logged-in user and role checks."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Depends, HTTPException, Request, WebSocket, status
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor
from core.models import Role, User
from core.services import Services

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits what it changes."""
    async with get_services(request).db.session() as session:
        yield session


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Unsafe requests from a cookie session must be JSON (which browsers only send cross-site
    after a CORS preflight we never grant) or carry the session's CSRF token."""
    if request.method not in UNSAFE:
        return
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or invalid")


async def load_session_user(services: Services, session_data: dict[str, object]) -> User | None:
    uid = session_data.get("uid")
    if not isinstance(uid, int):
        return None
    async with services.db.session() as s:
        user = await s.get(User, uid)
    if user is None or user.archived_at is not None:
        return None
    if session_data.get("pw") != user.password_hash[-16:]:
        return None  # the password changed since this session logged in
    return user


async def current_user(request: Request) -> User:
    """The logged-in user, else 401. Unsafe methods are CSRF-checked here too."""
    user = await load_session_user(get_services(request), request.session)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not logged in")
    await check_csrf(request)
    request.state.user = user
    return user


def require_role(role: Role | str) -> Callable[..., Awaitable[User]]:
    """A dependency admitting users with ``role`` or a higher one, else 403."""
    needed = Role(role)

    async def dep(user: User = Depends(current_user)) -> User:
        if not user.has_role(needed):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {needed.value}")
        return user

    return dep


def actor_of(user: User) -> Actor:
    return Actor(name=user.username, user_id=user.id)


async def websocket_user(ws: WebSocket) -> User | None:
    """The user of a websocket's session cookie, or None (the caller refuses the socket)."""
    services: Services = ws.app.state.services
    return await load_session_user(services, dict(ws.session))


def login_session(request: Request, user: User) -> None:
    request.session.clear()
    request.session["uid"] = user.id
    request.session["pw"] = user.password_hash[-16:]
    request.session["csrf"] = secrets.token_urlsafe(24)
