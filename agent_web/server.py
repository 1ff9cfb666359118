"""How uvicorn serves the console, in one place for ``vigil demo`` and ``vigil serve``.

uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 by default, so anyone on the host (or a
proxy forwarding whatever a client wrote) could choose the address the login throttle counts.
Here it believes nobody; the app believes the ``trusted_proxies`` setting alone
(:func:`agent_web.app.create_app`).
"""

from __future__ import annotations

from typing import Any

import uvicorn

from core.settings import Settings


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": settings.http_host, "port": settings.http_port, "log_level": "info",
        "lifespan": "off", "ws_per_message_deflate": False, "proxy_headers": False,
        "server_header": False,
    }
    return uvicorn.Config(app, **{**options, **overrides})
