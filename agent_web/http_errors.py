"""Every error answer names the field that is wrong and says why, in one shape:
``{"detail": [{"field", "loc", "msg", "type"}], "message"}``.

- Validation errors (FastAPI's) and domain errors raised with a ``loc`` list (``HTTPException(422,
  [{"loc": [...], "msg": ...}])``) get their ``field``.
- A value the schema allows but the database cannot hold (an id beyond the 32-bit keys of
  PostgreSQL or the 64-bit integers of SQLite; a NUL character, which PostgreSQL text refuses)
  made the database raise deep inside a route: a 500. The driver's error is turned into a 422
  naming the path, query or body field that carried the value; for the body, the request's
  JSON is kept on the way in (:class:`KeepJsonBody`), as the route has read it by then.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL's integer, the narrowest key column
BODY_KEY = "vigil.json_body"
MAX_KEPT = 1 << 20


def field_of(loc: list[Any]) -> str:
    """A loc without where the value came from, so a field named "body" keeps its name."""
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if parts and parts[0] in ("body", "query", "path") else parts) \
        or ".".join(parts)


def answer(errors: list[dict[str, Any]], status: int = 422) -> JSONResponse:
    return JSONResponse({"detail": errors,
                         "message": "; ".join(f"{e['field']}: {e['msg']}" for e in errors)},
                        status_code=status)


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return answer([{"field": field_of(list(e.get("loc", ()))), "loc": [str(p) for p in
                                                                        e.get("loc", ())],
                    "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()])


async def http_error(request: Request, exc: Exception) -> Response:
    """HTTPException as FastAPI answers it, but a list of ``loc`` errors gets its fields."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if isinstance(detail, list) and all(isinstance(e, dict) for e in detail):
        errors = [{**e, "field": e.get("field") or field_of(list(e.get("loc", ()))),
                   "type": e.get("type", "value_error")} for e in detail]
        return JSONResponse({"detail": errors, "message": "; ".join(
            f"{e['field']}: {e.get('msg')}" for e in errors)}, status_code=exc.status_code,
            headers=exc.headers)
    return await http_exception_handler(request, exc)


def _walk(value: Any, loc: list[Any]) -> Iterator[tuple[list[Any], Any]]:
    yield loc, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, [*loc, k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, [*loc, i])


def _problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        return f"{value} is out of range ({INT_MIN} to {INT_MAX})"
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        if value.lstrip("-").isdigit() and len(value) < 400 and not (
                INT_MIN <= int(value) <= INT_MAX):
            return f"{value} is out of range ({INT_MIN} to {INT_MAX})"
    return None


def unstorable_inputs(request: Request) -> list[dict[str, Any]]:
    """The request's values a database cannot hold, each with where it came from."""
    found: list[dict[str, Any]] = []
    for where, pairs in (("path", request.path_params.items()),
                         ("query", request.query_params.multi_items())):
        for name, value in pairs:
            if (why := _problem(value)) is not None:
                found.append({"field": str(name), "loc": [where, str(name)], "msg": why,
                              "type": "value_error"})
    raw = request.scope.get(BODY_KEY)
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        for loc, value in _walk(body, []):
            if loc and (why := _problem(value)) is not None:
                found.append({"field": field_of(["body", *loc]), "loc": ["body", *map(str, loc)],
                              "msg": why, "type": "value_error"})
    return found


def is_unstorable(exc: BaseException) -> bool:
    """A driver's error about a value it cannot store (not any other database trouble)."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        text = str(err).lower()
        if isinstance(err, OverflowError) or "out of range" in text or "out of int" in text \
                or "invalid byte sequence" in text or "0x00" in text \
                or type(err).__name__ in ("DataError", "CharacterNotInRepertoireError",
                                          "NumericValueOutOfRangeError"):
            return True
        err = getattr(err, "orig", None) or err.__cause__
    return False


async def unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    if not is_unstorable(exc):
        raise exc
    found = unstorable_inputs(request) or [{
        "field": "", "loc": [], "msg": "a value is too large or not storable",
        "type": "value_error"}]
    return answer(found)


class KeepJsonBody:
    """Keeps a copy of a JSON request body (up to 1 MiB) in the scope while the app reads it,
    for :func:`unstorable_value`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0

        async def keep() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size <= MAX_KEPT:
                chunk = message.get("body", b"")
                size += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body"):
                    scope[BODY_KEY] = b"".join(chunks) if size <= MAX_KEPT else b""
            return message

        await self.app(scope, keep, send)
