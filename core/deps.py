"""FastAPI dependencies: services, database session, the logged-in user and role checks."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Depends, HTTPException, Request, WebSocket, status
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, sessions
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
    """The user of a cookie session while its server-side session is live (not logged out,
    revoked by a password change or archive, or expired)."""
    token = session_data.get(sessions.COOKIE_KEY)
    if not isinstance(token, str):
        return None
    async with services.db.session() as s:
        return await sessions.user_of(s, token, services.clock.now())


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


def client_address(request: Request) -> str:
    """The client's address: the peer's, or what a trusted proxy said (``trusted_proxies``;
    the app only installs the proxy-headers middleware for those)."""
    return request.client.host if request.client else "unknown"


async def login_session(request: Request, db: AsyncSession, user: User) -> None:
    """Start a server-side session for ``user`` and put its token in the cookie."""
    services = get_services(request)
    token = await sessions.open_session(
        db, user, services.clock.now(), services.settings.session_max_age,
        client_address(request), request.headers.get("user-agent", ""))
    request.session.clear()
    request.session[sessions.COOKIE_KEY] = token
    request.session["csrf"] = secrets.token_urlsafe(24)


async def end_session(request: Request) -> None:
    """Log out: revoke this cookie's server-side session (audited) and clear the cookie."""
    services = get_services(request)
    token = request.session.get(sessions.COOKIE_KEY)
    if isinstance(token, str):
        async with services.db.transaction() as s:
            user = await sessions.user_of(s, token, services.clock.now())
            if await sessions.revoke(s, token, services.clock.now(), "logout") and user:
                audit.record(s, actor_of(user), "logout", "user", user.id, clock=services.clock)
    request.session.clear()
