"""Issue 13: a bounded, seeded fuzz of every API route's schema. Schemathesis reads the OpenAPI
document the app publishes (when ``api_docs`` is on) and draws, for every operation, path and
query parameters and a JSON body, valid ones and ones that break the schema; ids beyond 32 and
64 bits are mixed into the paths. Each request goes to the app as the administrator. No
answer may be a 500, and every validation error must name its field.

Deterministic (``derandomize``) and bounded (``ROUNDS`` requests per operation, no shrinking):
it runs in seconds and sends the same requests every time.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from core.security import hash_password_async
from core.services import Services
from tests.conftest import TEST_PASSWORD, ensure_user

ROUNDS = 5
# Routes whose effect would end the fuzz itself (the admin's own session or login throttle).
SKIP = {("POST", "/api/auth/login"), ("POST", "/api/auth/logout")}
HUGE_IDS = [0, -1, 2**31, 2**53 + 1, 2**63, 2**64 + 7, 10**30]
WHOLE_BODY = {"missing", "json_invalid", "model_attributes_type", "dict_type", "model_type",
              "list_type", "json_type"}

Request = tuple[str, str, str, dict[str, Any], Any]  # method, template, path, query, body


def requests_of(spec: dict[str, Any]) -> list[Request]:
    """``ROUNDS`` requests per operation, valid and invalid ones, the same on every run."""
    schema = schemathesis.openapi.from_dict(spec)
    drawn: list[Request] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE),
                             op.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=ROUNDS, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, huge=st.none() | st.sampled_from(HUGE_IDS))
        def draw(case: Any, huge: int | None) -> None:  # collects; sent by the test
            path = case.formatted_path
            ints = [k for k, v in (case.path_parameters or {}).items() if isinstance(v, int)]
            if ints and huge is not None:
                path = case.operation.path.format(**{**case.path_parameters, ints[0]: huge})
            body = None if isinstance(case.body, NotSet) else case.body
            drawn.append((case.method.upper(), case.operation.path, path,
                          dict(case.query or {}), body))

        draw()
    return drawn


async def test_no_route_answers_500_and_every_validation_error_names_its_field(
        app: Any, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    await ensure_user(services, "fuzzadmin", "admin")
    fixed = await hash_password_async("not-a-login-here")

    async def same_hash(_password: str) -> str:  # the fuzz tests answers, not argon2's speed
        return fixed

    monkeypatch.setattr("core.users.hash_password_async", same_hash)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                               base_url="http://testserver")
    r = await client.post("/api/auth/login", json={"username": "fuzzadmin",
                                                   "password": TEST_PASSWORD})
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    admin_id = (await client.get("/api/auth/me")).json()["user"]["id"]
    cases = requests_of(app.openapi())
    assert len(cases) > 100 * ROUNDS  # every package's routes are in the schema
    problems: dict[str, str] = {}  # one example per route and kind of problem
    for method, template, url, query, body in cases:
        if url.startswith(f"/api/users/{admin_id}"):
            continue  # demoting or archiving the fuzzing admin ends the fuzz, not a bug
        kw: dict[str, Any] = {"params": query}
        if body is not None or method in ("POST", "PUT", "PATCH"):
            kw["content"] = body if isinstance(body, bytes) else json.dumps(body)
            kw["headers"] = {"content-type": "application/json"}
        resp = await client.request(method, url, **kw)
        where = f"{method} {url} {query} {str(body)[:200]}"
        if resp.status_code >= 500 and resp.status_code not in (502, 503):
            problems.setdefault(f"{resp.status_code} {method} {template}",
                                f"{where}: {resp.text[:200]}")
        elif resp.status_code == 422:
            detail = resp.json().get("detail")
            for err in detail if isinstance(detail, list) else []:
                field = err.get("field") if isinstance(err, dict) else None
                whole = err.get("loc") == ["body"] if isinstance(err, dict) else False
                if not field or (whole and err.get("type") not in WHOLE_BODY):
                    problems.setdefault(f"422 without a field name {method} {template}",
                                        f"{where}: {err}")
        elif resp.status_code == 401:
            problems[f"the fuzzing admin lost its session at {method} {template}"] = where
            break
    await client.aclose()
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(
        f"{k}\n    e.g. {v}" for k, v in sorted(problems.items()))
