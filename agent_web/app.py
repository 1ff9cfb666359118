"""The FastAPI application: API routers of every package, the console pages and static files."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agent_web import console_api, http_errors, pages, phone_api, reports_api
from agent_web.console_settings import console_settings
from agent_web.http_guards import (
    SecurityHeaders,
    WebSocketOrigin,
    content_security_policy,
    origin_of,
)
from agent_web.hub import Hub
from agent_web.i18n import pick_language, translator
from agent_web.render import render
from core import http as core_http
from core.deps import check_csrf, db_session, end_session, load_session_user
from core.services import Services

__all__ = ["create_app", "render"]

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

# Routers of the other packages, included when the package provides one.
ROUTER_MODULES = ["crm.http", "receivers.http", "alarms.http", "cti.http", "ivr.http"]


def create_app(services: Services) -> FastAPI:
    """Build the web application around already-created services."""
    settings = services.settings
    docs = settings.api_docs  # off in production: the schema maps every route for a visitor
    app = FastAPI(title="Vigil", version="0.1.0",
                  description="Alarm-monitoring call center: subscribers, alarms, calls.",
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    app.state.services = services
    app.state.hub = Hub(services.bus)
    app.add_middleware(
        SessionMiddleware, secret_key=settings.secret_key, session_cookie="vigil_session",
        max_age=settings.session_max_age, same_site="lax", https_only=settings.cookie_secure,
    )
    app.add_middleware(http_errors.KeepJsonBody)
    app.add_middleware(WebSocketOrigin, allowed=settings.allowed_origins)
    wss = origin_of(console_settings(services).webrtc_wss_url)
    app.add_middleware(SecurityHeaders, csp=content_security_policy([wss] if wss else []))
    if settings.trusted_proxies:  # X-Forwarded-For believed only from these (outermost)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    app.add_exception_handler(RequestValidationError, http_errors.validation_error)
    app.add_exception_handler(StarletteHTTPException, http_errors.http_error)
    for unstorable in (OverflowError, StatementError):
        app.add_exception_handler(unstorable, http_errors.unstorable_value)

    app.include_router(core_http.router)
    app.include_router(pages.router)
    app.include_router(console_api.router)
    app.include_router(phone_api.router)
    app.include_router(reports_api.router)
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "node": services.settings.node_name}

    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request) -> Response:
        if "lang" in request.query_params:
            request.session["lang"] = pick_language(request.query_params["lang"])
        return render(request, "login.html", next=request.query_params.get("next", ""))

    @app.post("/login", include_in_schema=False)
    async def login_form(request: Request,
                         session: AsyncSession = Depends(db_session)) -> Response:
        await check_csrf(request)
        form = await request.form()
        try:
            await core_http.do_login(request, session, str(form.get("username", "")),
                                     str(form.get("password", "")))
        except HTTPException as exc:
            key = "login.locked" if exc.status_code == 429 else "login.failed"
            lang = pick_language(request.session.get("lang"),
                                 request.headers.get("accept-language"))
            return render(request, "login.html", error=translator(lang)(key),
                          status_code=exc.status_code, next=str(form.get("next", "")))
        return RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)

    @app.post("/logout", include_in_schema=False)
    async def logout_form(request: Request) -> Response:
        await check_csrf(request)
        await end_session(request)
        return RedirectResponse("/login", status_code=303)

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        user = await load_session_user(services, request.session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return render(request, "console.html", user=user, page="console")

    return app


def _safe_next(target: str) -> str:
    """Where to go after login: a path on this site only (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
