"""Rendering console pages: the template environment and the per-request language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from agent_web.i18n import client_strings, pick_language, translator
from core.deps import csrf_token, get_services

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def page_language(request: Request, user: Any = None) -> str:
    """An explicit ``?lang=`` or the login page's choice, else the user's, else the browser's."""
    lang = request.query_params.get("lang") or request.session.get("lang")
    return pick_language(getattr(user, "language", None) if not lang and user else lang,
                         request.headers.get("accept-language"),
                         get_services(request).settings.default_language)


#: the header the console's router sends when it wants a view without the shell
VIEW_HEADER = "x-vigil-view"


def wants_view(request: Request) -> bool:
    return request.headers.get(VIEW_HEADER) == "1"


def render(request: Request, name: str, user: Any = None, status_code: int = 200,
           **ctx: Any) -> HTMLResponse:
    """A page. A signed-in user's page is the console shell around the view, or the view alone
    when the console's router asks for it (client-side navigation keeps the shell, its phone
    and its live connection)."""
    lang = page_language(request, user)
    layout = "fragment.html" if user is not None and wants_view(request) else \
        "shell.html" if user is not None else "base.html"
    boot_json = ""
    if layout == "shell.html":
        boot = {"lang": lang, "strings": client_strings(lang), "user": user.public()}
        boot_json = json.dumps(boot, ensure_ascii=False).replace("</", "<\\/")
    response = templates.TemplateResponse(
        request, name,
        {"user": user, "lang": lang, "t": translator(lang), "csrf_token": csrf_token(request),
         "boot_json": boot_json, "layout": layout, **ctx},
        status_code=status_code,
    )
    response.headers["Vary"] = "X-Vigil-View, Cookie"
    response.headers["Cache-Control"] = "no-store"
    return response
