import re
from typing import Any

import httpx
from sqlalchemy import select

from core.models import AuditEntry, User
from core.services import Services
from tests.conftest import TEST_PASSWORD, ensure_user


async def audit_rows(services: Services, **where: Any) -> list[AuditEntry]:
    async with services.db.session() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list((await s.execute(stmt)).scalars())


async def test_login_logout_and_me(client: httpx.AsyncClient, services: Services) -> None:
    await ensure_user(services, "alice", "agent")
    assert (await client.get("/api/auth/me")).status_code == 401
    r = await client.post("/api/auth/login", json={"username": "alice", "password": TEST_PASSWORD})
    assert r.status_code == 200
    me = await client.get("/api/auth/me")
    assert me.json()["user"]["username"] == "alice" and me.json()["user"]["role"] == "agent"
    await client.post("/api/auth/logout", headers={"content-type": "application/json"})
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_login_throttled_after_repeated_failures(client: httpx.AsyncClient,
                                                       services: Services, clock: Any) -> None:
    uid = await ensure_user(services, "bob", "agent")
    limit = services.settings.login_max_failures
    for _ in range(limit - 1):
        r = await client.post("/api/auth/login", json={"username": "bob", "password": "nope"})
        assert r.status_code == 401
    r = await client.post("/api/auth/login", json={"username": "bob", "password": "nope"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # Locked: even the right password is refused until the lockout passes.
    r = await client.post("/api/auth/login", json={"username": "bob", "password": TEST_PASSWORD})
    assert r.status_code == 429
    clock.advance(services.settings.login_lockout_seconds + 1)
    r = await client.post("/api/auth/login", json={"username": "bob", "password": TEST_PASSWORD})
    assert r.status_code == 200
    actions = [e.action for e in await audit_rows(services, entity="user", entity_id=str(uid))]
    assert actions.count("login_failed") == limit
    assert "lock" in actions and actions[-1] == "login"


async def test_source_throttle_slows_guessing_across_usernames(client: httpx.AsyncClient) -> None:
    codes = [
        (await client.post("/api/auth/login",
                           json={"username": f"ghost{i}", "password": "x"})).status_code
        for i in range(21)
    ]
    assert codes[:20] == [401] * 20 and codes[20] == 429


async def test_roles_on_user_routes(login: Any) -> None:
    agent = await login("agent")
    sup = await login("supervisor")
    admin = await login("admin")
    body = {"username": "carol", "password": "long-enough-pw", "role": "agent"}
    assert (await agent.post("/api/users", json=body)).status_code == 403
    assert (await sup.post("/api/users", json=body)).status_code == 403
    assert (await agent.get("/api/users")).status_code == 403
    assert (await agent.get("/api/audit")).status_code == 403
    assert (await sup.get("/api/users")).status_code == 200
    r = await admin.post("/api/users", json=body)
    assert r.status_code == 201 and r.json()["role"] == "agent"


async def test_user_validation_errors_name_the_field(login: Any) -> None:
    admin = await login("admin")
    r = await admin.post("/api/users", json={"username": "x y", "password": "short",
                                              "role": "king"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["detail"]}
    assert fields == {"username", "password", "role"}
    assert "password" in r.json()["message"]
    r = await admin.post("/api/users", json={"username": "admin", "password": "long-enough-pw",
                                              "role": "agent"})
    assert r.status_code == 409


async def test_user_changes_are_audited_and_archived_users_stay_readable(
    login: Any, services: Services
) -> None:
    admin = await login("admin")
    r = await admin.post("/api/users", json={"username": "dave", "password": "long-enough-pw",
                                              "role": "agent", "language": "en"})
    uid = r.json()["id"]
    await admin.patch(f"/api/users/{uid}", json={"role": "supervisor", "password": "another-pw1"})
    await admin.post(f"/api/users/{uid}/archive")
    entries = await audit_rows(services, entity="user", entity_id=str(uid))
    assert [e.action for e in entries] == ["create", "update", "archive"]
    assert all(e.actor == "admin" for e in entries)
    assert entries[1].before == {"role": "agent", "password_hash": "***"} or (
        entries[1].before is not None and entries[1].before["role"] == "agent")
    assert entries[1].after is not None and entries[1].after["role"] == "supervisor"
    assert "long-enough-pw" not in str([e.before for e in entries] + [e.after for e in entries])
    assert entries[2].after is not None and entries[2].after["archived_at"]
    listed = (await admin.get("/api/users", params={"include_archived": True})).json()["items"]
    assert any(u["username"] == "dave" and u["archived"] for u in listed)
    active = (await admin.get("/api/users")).json()["items"]
    assert not any(u["username"] == "dave" for u in active)
    # An archived user can no longer log in.
    async with services.db.session() as s:
        assert (await s.get(User, uid)) is not None


async def test_audit_api_filters_by_record(login: Any) -> None:
    admin = await login("admin")
    uid = (await admin.post("/api/users", json={"username": "erin", "password": "long-enough-pw",
                                                 "role": "agent"})).json()["id"]
    r = await admin.get("/api/audit", params={"entity": "user", "entity_id": str(uid)})
    assert r.status_code == 200
    assert [i["action"] for i in r.json()["items"]] == ["create"]


async def test_form_posts_need_the_csrf_token(client: httpx.AsyncClient,
                                              services: Services) -> None:
    await ensure_user(services, "frank", "agent")
    page = await client.get("/login")
    assert page.status_code == 200 and "csrf_token" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    bad = await client.post("/login", data={"username": "frank", "password": TEST_PASSWORD})
    assert bad.status_code == 403
    ok = await client.post("/login", data={"username": "frank", "password": TEST_PASSWORD,
                                           "csrf_token": token})
    assert ok.status_code == 303
    home = await client.get("/", follow_redirects=True)  # the console
    assert home.status_code == 200 and "frank" in home.text
    # A cookie-authenticated API change without JSON and without the token is refused.
    r = await client.post("/api/auth/logout")
    assert r.status_code == 204  # logout is harmless and exempt
    await client.post("/login", data={"username": "frank", "password": TEST_PASSWORD,
                                      "csrf_token": token})


async def test_login_page_speaks_both_languages(client: httpx.AsyncClient) -> None:
    zh = await client.get("/login", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert "登录" in zh.text
    en = await client.get("/login?lang=en")
    assert "Sign in" in en.text
    assert (await client.get("/docs")).status_code == 404  # api_docs is off by default
