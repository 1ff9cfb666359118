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


def render(request: Request, name: str, user: Any = None, status_code: int = 200,
           **ctx: Any) -> HTMLResponse:
    lang = page_language(request, user)
    boot = {"lang": lang, "strings": client_strings(lang),
            "user": user.public() if user is not None else None}
    return templates.TemplateResponse(
        request, name,
        {"user": user, "lang": lang, "t": translator(lang), "csrf_token": csrf_token(request),
         "boot_json": json.dumps(boot, ensure_ascii=False).replace("</", "<\\/"), **ctx},
        status_code=status_code,
    )
