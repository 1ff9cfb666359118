"""Routes for login, users and the audit log."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import alerts, sip_credentials, users
from core.deps import (
    actor_of,
    client_address,
    current_user,
    db_session,
    end_session,
    get_services,
    login_session,
    require_role,
)
from core.models import AuditEntry, Role, User
from core.settings import Language

router = APIRouter(prefix="/api", tags=["auth and users"])


class SourceThrottle:
    """Refuses a source address after too many failures in a window, whatever the username,
    so guessing across many usernames is slowed as well."""

    def __init__(self, limit: int = 20, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._fails: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, source: str) -> bool:
        q = self._fails[source]
        now = time.monotonic()
        while q and now - q[0] > self.window:
            q.popleft()
        return len(q) >= self.limit

    def fail(self, source: str) -> None:
        self._fails[source].append(time.monotonic())


def _throttle(request: Request) -> SourceThrottle:
    """One throttle per application, so separate apps (and tests) do not share counts."""
    state = request.app.state
    if not hasattr(state, "login_throttle"):
        state.login_throttle = SourceThrottle()
    throttle: SourceThrottle = state.login_throttle
    return throttle


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


async def do_login(request: Request, session: AsyncSession, username: str, password: str) -> User:
    """Shared by the JSON API and the login form."""
    services = get_services(request)
    source = client_address(request)
    throttle = _throttle(request)
    if throttle.blocked(source):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins",
                            headers={"Retry-After": str(int(throttle.window))})
    try:
        user = await users.authenticate(session, services.clock,
                                         users.LoginPolicy.of(services.settings), username,
                                         password, source)
    except users.LoginError as exc:
        await session.commit()
        await alerts.publish(services.bus, exc.alert)
        throttle.fail(source)
        if exc.locked:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc),
                                headers={"Retry-After": str(exc.retry_after)}) from exc
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    await login_session(request, session, user)
    await session.commit()
    return user


@router.post("/auth/login")
async def login(body: LoginIn, request: Request,
                session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    user = await do_login(request, session, body.username, body.password)
    return {"user": user.public(), "csrf_token": request.session["csrf"]}


@router.post("/auth/logout", status_code=204)
async def logout(request: Request) -> Response:
    await end_session(request)
    return Response(status_code=204)


@router.get("/auth/me")
async def me(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    return {"user": user.public(), "csrf_token": request.session.get("csrf")}


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    display_name: str | None = Field(None, max_length=128)
    language: Language = "zh-CN"
    extension: str | None = Field(None, max_length=32, pattern=r"^[0-9A-Za-z]+$")
    sip_password: str | None = Field(
        None, min_length=sip_credentials.MIN_LENGTH, max_length=48, pattern=r"^[!-\[\]-~]+$",
        description="Only for a desk phone configured by hand; a console phone's password is "
                    "generated. Printable ASCII, no spaces or backslashes.")


class UserPatch(BaseModel):
    """Fields left out stay as they are; ``extension`` and ``sip_password`` may be cleared with
    null, the others must have a value."""

    password: str | None = Field(None, min_length=8, max_length=256)
    role: Role | None = None
    display_name: str | None = Field(None, min_length=1, max_length=128)
    language: Language | None = None
    extension: str | None = Field(None, max_length=32, pattern=r"^[0-9A-Za-z]+$")
    sip_password: str | None = Field(
        None, min_length=sip_credentials.MIN_LENGTH, max_length=48, pattern=r"^[!-\[\]-~]+$",
        description="Only for a desk phone configured by hand; a console phone's password is "
                    "generated. Printable ASCII, no spaces or backslashes.")

    @field_validator("password", "role", "display_name", "language")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


@router.get("/users")
async def list_users(
    session: AsyncSession = Depends(db_session), _: User = Depends(require_role(Role.supervisor)),
    include_archived: bool = False,
) -> dict[str, Any]:
    stmt = select(User).order_by(User.username)
    if not include_archived:
        stmt = stmt.where(User.archived_at.is_(None))
    rows = (await session.execute(stmt)).scalars().all()
    return {"items": [u.public() for u in rows], "total": len(rows)}


@router.post("/users", status_code=201)
async def create_user(
    body: UserIn, request: Request, session: AsyncSession = Depends(db_session),
    admin: User = Depends(require_role(Role.admin)),
) -> dict[str, Any]:
    if await users.get_user_by_name(session, body.username) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            [{"loc": ["body", "username"], "msg": "username already exists"}])
    services = get_services(request)
    user = await users.create_user(session, services.clock, actor_of(admin), **body.model_dump(),
                                   sip=sip_credentials.for_secret(services.settings.secret_key))
    await session.commit()
    return user.public()


async def _user_or_404(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} not found")
    return user


@router.patch("/users/{user_id}")
async def update_user(
    user_id: int, body: UserPatch, request: Request, session: AsyncSession = Depends(db_session),
    admin: User = Depends(require_role(Role.admin)),
) -> dict[str, Any]:
    user = await _user_or_404(session, user_id)
    services = get_services(request)
    await users.update_user(session, services.clock, actor_of(admin), user,
                            body.model_dump(exclude_unset=True),
                            sip=sip_credentials.for_secret(services.settings.secret_key))
    await session.commit()
    return user.public()


@router.post("/users/{user_id}/sip-password", status_code=204)
async def rotate_sip_password(
    user_id: int, request: Request, session: AsyncSession = Depends(db_session),
    admin: User = Depends(require_role(Role.admin)),
) -> Response:
    """A new SIP password for the user's phone. It is never shown: Asterisk gets it when its
    PJSIP include is rendered again, the user's console at its next sign-in or reload."""
    user = await _user_or_404(session, user_id)
    if not user.extension:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            [{"loc": ["path", "user_id"], "msg": "the user has no extension"}])
    services = get_services(request)
    await users.rotate_sip_password(session, services.clock, actor_of(admin), user,
                                    sip_credentials.for_secret(services.settings.secret_key))
    await session.commit()
    return Response(status_code=204)


@router.post("/users/{user_id}/archive")
async def archive_user(
    user_id: int, request: Request, session: AsyncSession = Depends(db_session),
    admin: User = Depends(require_role(Role.admin)),
) -> dict[str, Any]:
    user = await _user_or_404(session, user_id)
    if user.id == admin.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot archive yourself")
    await users.archive_user(session, get_services(request).clock, actor_of(admin), user)
    await session.commit()
    return user.public()


@router.post("/users/{user_id}/unlock")
async def unlock_user(
    user_id: int, request: Request, session: AsyncSession = Depends(db_session),
    admin: User = Depends(require_role(Role.admin)),
) -> dict[str, Any]:
    """End a login lock early (from every address), e.g. after the alert was dealt with."""
    user = await _user_or_404(session, user_id)
    clock = get_services(request).clock
    ended = await users.unlock(session, clock, actor_of(admin), user)
    await session.commit()
    return {**user.public(), "locks_ended": ended}


@router.get("/audit")
async def list_audit(
    session: AsyncSession = Depends(db_session),
    _: User = Depends(require_role(Role.supervisor)),
    entity: str | None = None, entity_id: str | None = None, actor: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    stmt = select(AuditEntry)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(
        stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))).scalars().all()
    return {"items": [r.public() for r in rows], "total": total, "limit": limit, "offset": offset}
