"""What every answer of the web server carries and every websocket handshake must pass.

- Security headers on every HTTP answer: a Content-Security-Policy that allows only this site's
  own scripts (the console has no inline script) and no framing, ``nosniff``, a same-origin
  Referrer-Policy. The API docs pages (only served when ``api_docs`` is on) load their viewer
  from a CDN with an inline script, so they go without the CSP.
- The websocket's Origin: a browser always sends it, and a page on another site could otherwise
  open ``/ws`` with the operator's cookie and read the alarm stream (the cookie is SameSite=Lax,
  which does not cover websockets). Only this site's own origin and ``allowed_origins`` pass;
  clients without an Origin (not browsers) are left to the session check.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def content_security_policy(extra_connect: Iterable[str] = ()) -> str:
    connect = " ".join(["'self'", *sorted(set(extra_connect))])
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; "
            f"connect-src {connect}; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, or None when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class SecurityHeaders:
    """Adds the security headers to every HTTP answer (pure ASGI: streaming stays intact)."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        self.csp = (b"content-security-policy", csp.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if not str(scope.get("path", "")).startswith(DOCS_PATHS):
            extra.append(self.csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WebSocketOrigin:
    """Refuses a websocket handshake whose Origin is neither this site nor an allowed one."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {a.rstrip("/").lower() for a in allowed}

    def permits(self, origin: str, host: str) -> bool:
        """This site is the Host the browser asked for, over http or https (behind a TLS
        proxy the server itself sees http while the page is https)."""
        origin = origin.rstrip("/").lower()
        if origin in self.allowed:
            return True
        return bool(host) and origin in {f"http://{host.lower()}", f"https://{host.lower()}"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            origin = headers.get("origin")
            if origin is not None and not self.permits(origin, headers.get("host", "")):
                await send({"type": "websocket.close", "code": 4403,
                            "reason": "origin not allowed"})
                return
        await self.app(scope, receive, send)
