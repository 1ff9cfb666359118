"""Console pages (server-rendered; live data comes from the REST API and ``/ws``), the user's
own language preference and the websocket endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from agent_web.hub import CLOSE_UNAUTHENTICATED, Hub
from agent_web.render import render, wants_view
from agent_web.ws_policy import Viewer
from core import users
from core.deps import (
    actor_of,
    current_user,
    db_session,
    get_services,
    load_session_user,
    websocket_user,
)
from core.models import Role, User
from core.settings import Language

router = APIRouter()


async def _page(request: Request, name: str, role: Role = Role.agent, **ctx: Any) -> Response:
    """A page for a logged-in user of at least ``role``: else the login page or a 403 page."""
    user = await load_session_user(get_services(request), request.session)
    if user is None:
        if wants_view(request):  # the router reloads the whole page, which leads to login
            return Response(status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if not user.has_role(role):
        return render(request, "forbidden.html", user=user, status_code=403, page="forbidden")
    return render(request, name, user=user, page=name.removesuffix(".html"), **ctx)


@router.get("/console", include_in_schema=False)
async def console_page(request: Request) -> Response:
    return await _page(request, "console.html")


@router.get("/incidents/{incident_id}", include_in_schema=False)
async def incident_page(request: Request, incident_id: str) -> Response:
    return await _page(request, "incident.html", incident_id=incident_id)


@router.get("/subscribers/{account_id}", include_in_schema=False)
async def subscriber_page(request: Request, account_id: int) -> Response:
    return await _page(request, "subscriber.html", account_id=account_id)


@router.get("/tickets", include_in_schema=False)
async def tickets_page(request: Request) -> Response:
    return await _page(request, "tickets.html")


@router.get("/reports", include_in_schema=False)
async def reports_page(request: Request) -> Response:
    return await _page(request, "reports.html", Role.supervisor)


@router.get("/wallboard", include_in_schema=False)
async def wallboard_page(request: Request) -> Response:
    return await _page(request, "wallboard.html", Role.supervisor)


@router.get("/agents", include_in_schema=False)
async def agents_page(request: Request) -> Response:
    return await _page(request, "agents.html", Role.supervisor)


@router.get("/admin", include_in_schema=False)
async def admin_page(request: Request) -> Response:
    return await _page(request, "admin.html", Role.admin)


class LanguageIn(BaseModel):
    language: Language


@router.patch("/api/me/language", tags=["auth and users"])
async def set_my_language(body: LanguageIn, request: Request,
                          session: AsyncSession = Depends(db_session),
                          me: User = Depends(current_user)) -> dict[str, Any]:
    """Any user may change their own console language (audited like every user change)."""
    user = await session.get(User, me.id)
    assert user is not None  # current_user just loaded it
    await users.update_user(session, get_services(request).clock, actor_of(me), user,
                            {"language": body.language})
    await session.commit()
    request.session.pop("lang", None)
    return user.public()


def hub_of(app: Any) -> Hub:
    hub: Hub = app.state.hub
    return hub


@router.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    user = await websocket_user(ws)
    if user is None:
        await ws.close(code=CLOSE_UNAUTHENTICATED)
        return
    await ws.accept()
    viewer = Viewer(user_id=user.id, username=user.username, role=user.role,
                    extension=user.extension)
    session = dict(ws.session)
    services = ws.app.state.services

    async def still_valid() -> bool:
        again = await load_session_user(services, session)
        return again is not None and again.role == user.role

    await hub_of(ws.app).serve(ws, viewer, still_valid)
