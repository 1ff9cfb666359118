"""Errors the API answers with a machine code the console translates.

An answer's ``detail`` is ``{"code": ..., "message": ..., "params": {...}}``: ``code`` says what
went wrong in a way that does not change with the language (the console shows its own words
for it, in the user's language), ``message`` says it in English for logs, scripts and the
API explorer, ``params`` carries the values the words need (a name, a number).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


class CodedError(Exception):
    """A domain error with a stable code (subclasses set the HTTP status it maps to)."""

    status_code = 409

    def __init__(self, message: str, code: str = "conflict", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def detail(code: str, message: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "params": params}


def http_error(status_code: int, code: str, message: str, *,
               headers: dict[str, str] | None = None, **params: Any) -> HTTPException:
    return HTTPException(status_code, detail(code, message, **params), headers=headers)


def coded_error(status_code: int, exc: Exception) -> HTTPException:
    """A domain error that carries ``code`` (and ``params``) as the HTTP answer."""
    params: dict[str, Any] = dict(getattr(exc, "params", None) or {})
    return HTTPException(status_code, detail(str(getattr(exc, "code", "conflict")), str(exc),
                                             **params))


def from_coded(exc: CodedError, status_code: int | None = None) -> HTTPException:
    return http_error(status_code or exc.status_code, exc.code, str(exc), **exc.params)
