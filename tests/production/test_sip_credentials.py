"""Agents' SIP credentials: generated at ``vigil seed``, ``vigil create-user`` and the admin API,
rotated on request, sealed at rest, rendered into Asterisk's PJSIP include, and handed only to
the user's own console; audited with the password masked."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent_web.console_settings import ConsoleSettings
from core.audit import Actor
from core.models import AuditEntry, User
from core.services import Services
from core.sip_credentials import SipPasswords, for_secret
from core.users import fill_in_sip_passwords
from crm.seed import DEMO_PASSWORD
from tests.conftest import LoginFactory
from vigil import asterisk_refs as refs
from vigil import cli
from vigil.asterisk_conf import parse
from vigil.asterisk_secrets import load_phones, render, write
from vigil.demo_users import create_demo_users

CONFIG = Path(__file__).resolve().parents[2] / "asterisk-config"
ENV = {"VIGIL_AMI_SECRET": "ami-secret-0123456789", "TRUNK_HOST": "sip.carrier.example",
       "TRUNK_USERNAME": "center", "TRUNK_PASSWORD": "trunk-password-0123"}
WSS = "wss://pbx.example.com:8089/ws"


def webrtc(services: Services) -> None:
    services.extra["console_settings"] = ConsoleSettings(  # type: ignore[call-arg]
        _env_file=None, webrtc_wss_url=WSS)


async def console_password(client: httpx.AsyncClient) -> str:
    """What the signed-in console's WebRTC phone registers with."""
    r = await client.get("/api/console/phone")
    assert r.status_code == 200, r.text
    sip = r.json()["sip"]
    assert sip is not None
    return str(sip["password"])


@asynccontextmanager
async def sign_in(app: Any, username: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    """A console signed in as ``username`` (the login form's request)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as c:
        r = await c.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield c


async def audit_text(services: Services) -> str:
    async with services.db.session() as s:
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
    return json.dumps([r.public() for r in rows], ensure_ascii=False)


async def test_after_seed_asterisk_and_the_console_agree_on_every_phone(
        app: Any, services: Services, db_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    webrtc(services)
    assert await create_demo_users(services) == 4  # what `vigil seed` does first
    phones, problems = await load_phones(db_url, services.settings.secret_key)
    assert problems == [] and [p.extension for p in phones] == ["1001", "1002", "2001"]
    write(tmp_path / refs.GENERATED_DIR, render(ENV, phones))
    pjsip = parse(CONFIG / "pjsip.conf", search=[tmp_path])
    roles = {"1001": "agent1", "1002": "agent2", "2001": "super1"}
    seen = set()
    for ext, username in roles.items():
        endpoint = pjsip.section(ext, "endpoint")
        auth = pjsip.section(f"{ext}-auth", "auth")
        assert endpoint is not None and auth is not None and endpoint.get("auth") == f"{ext}-auth"
        async with sign_in(app, username, DEMO_PASSWORD) as console:
            password = await console_password(console)
        assert auth.get("password") == password and len(password) >= 20
        seen.add(password)
    assert len(seen) == 3
    assert pjsip.section("2001", "endpoint").get("context") == refs.CTX_FROM_SUPERVISORS  # type: ignore[union-attr]
    # nowhere else: not at rest, not in the admin's user list, not in the audit log or logs
    async with sign_in(app, "admin", DEMO_PASSWORD) as admin:
        listing = (await admin.get("/api/users")).text
        me = (await admin.get("/api/auth/me")).text
    async with services.db.session() as s:
        stored = " ".join(str(u.sip_password) for u in (await s.execute(select(User))).scalars())
    logged = " ".join(r.getMessage() for r in caplog.records)
    for password in seen:
        for where in (listing, me, stored, await audit_text(services), logged):
            assert password not in where
    assert '"has_sip_password": true' in listing.replace(":true", ": true")


async def test_admin_creates_rotates_and_moves_a_phone(app: Any, services: Services,
                                                        login: LoginFactory) -> None:
    webrtc(services)
    admin = await login("admin")
    r = await admin.post("/api/users", json={"username": "wangfang", "password": "pw-wangfang",
                                            "role": "agent", "extension": "1005"})
    assert r.status_code == 201 and r.json()["has_sip_password"] is True
    assert "sip_password" not in r.json()
    user_id = r.json()["id"]
    async with sign_in(app, "wangfang", "pw-wangfang") as console:
        first = await console_password(console)
        assert (await admin.post(f"/api/users/{user_id}/sip-password")).status_code == 204
        second = await console_password(console)  # the next reload registers with the new one
        assert second != first and len(second) >= 20
        assert (await console.post(f"/api/users/{user_id}/sip-password")).status_code == 403
        r = await admin.patch(f"/api/users/{user_id}", json={"extension": "1006"})
        third = await console_password(console)
        assert r.status_code == 200 and third not in (first, second)  # a new phone, a new one
        r = await admin.patch(f"/api/users/{user_id}", json={"language": "en"})
        assert await console_password(console) == third  # other changes keep it
        r = await admin.patch(f"/api/users/{user_id}", json={"sip_password": "short"})
        assert r.status_code == 422 and "sip_password" in r.text
        desk = "desk-phone-secret-42"
        r = await admin.patch(f"/api/users/{user_id}", json={"sip_password": desk})
        assert r.status_code == 200 and await console_password(console) == desk
        r = await admin.patch(f"/api/users/{user_id}", json={"extension": None})
        assert r.json()["has_sip_password"] is False
        assert (await console.get("/api/console/phone")).json()["sip"] is None
    r = await admin.post(f"/api/users/{user_id}/sip-password")
    assert r.status_code == 409 and "extension" in r.text
    trail = await audit_text(services)
    for secret in (first, second, third, desk):
        assert secret not in trail
    async with services.db.session() as s:
        entries = (await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "user", AuditEntry.entity_id == str(user_id)).order_by(
            AuditEntry.id))).scalars().all()
    rotate = [e for e in entries if e.action == "rotate_sip_password"]
    assert len(rotate) == 1 and rotate[0].actor == "admin"
    assert (rotate[0].before, rotate[0].after) == ({"sip_password": "***"},
                                                   {"sip_password": "*** (new)"})
    moved = [e for e in entries if e.action == "update" and e.after and "extension" in e.after]
    assert moved[0].after == {"extension": "1006", "sip_password": "*** (new)"}


async def test_sealed_passwords_need_the_same_secret_and_user(services: Services) -> None:
    sip, other = SipPasswords("one secret"), SipPasswords("another secret")
    sealed = sip.seal("agent1", "pw-0123456789abc")
    assert sealed.startswith("v1:") and "pw-0123456789abc" not in sealed
    assert sip.open("agent1", sealed) == "pw-0123456789abc"
    assert sip.seal("agent1", "pw-0123456789abc") != sealed  # a fresh nonce each time
    assert other.open("agent1", sealed) is None  # VIGIL_SECRET_KEY changed
    assert sip.open("agent2", sealed) is None  # copied onto another user's row
    assert sip.open("agent1", "legacy-plain-text") == "legacy-plain-text"
    assert sip.open("agent1", None) is None
    # after a change of VIGIL_SECRET_KEY, `vigil rotate-sip-password --missing` fills them in
    await create_demo_users(services)
    changed = for_secret("a new secret key")
    async with services.db.transaction() as s:
        done = await fill_in_sip_passwords(s, services.clock, Actor("cli:root"), changed)
        again = await fill_in_sip_passwords(s, services.clock, Actor("cli:root"), changed)
    assert sorted(done) == ["agent1", "agent2", "super1"] and again == []


async def test_seed_on_a_database_with_users_fills_in_their_missing_passwords(
        services: Services, db_url: str) -> None:
    await create_demo_users(services)
    async with services.db.transaction() as s:
        for user in (await s.execute(select(User))).scalars():
            user.sip_password = None  # as `vigil seed` left them before
    phones, problems = await load_phones(db_url, services.settings.secret_key)
    assert phones == [] and len(problems) == 3 and "rotate-sip-password agent1" in problems[0]
    assert await create_demo_users(services) == 0  # `vigil seed` again
    phones, problems = await load_phones(db_url, services.settings.secret_key)
    assert [p.extension for p in phones] == ["1001", "1002", "2001"] and problems == []


def test_cli_create_user_and_rotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("VIGIL_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-secret")
    monkeypatch.setattr("sys.stdin", io.StringIO("console-password\n"))
    assert cli.main(["create-user", "liqiang", "--role", "supervisor", "--extension", "2002",
                     "--display-name", "李强", "--password-stdin"]) == 0
    out = capsys.readouterr()
    user = json.loads(out.out)["user"]
    assert user["extension"] == "2002" and user["has_sip_password"] is True
    assert "module reload res_pjsip.so" in out.err
    (sealed,) = sqlite3.connect(db).execute(
        "select sip_password from users where username = 'liqiang'").fetchone()
    password = for_secret("cli-secret").open("liqiang", sealed)
    assert password and password not in out.out + out.err
    assert cli.main(["rotate-sip-password", "liqiang"]) == 0
    assert json.loads(capsys.readouterr().out) == {"rotated": ["liqiang"]}
    (resealed,) = sqlite3.connect(db).execute(
        "select sip_password from users where username = 'liqiang'").fetchone()
    assert for_secret("cli-secret").open("liqiang", resealed) not in (None, password)
    actions = sqlite3.connect(db).execute(
        "select action, actor, after from audit_log where entity = 'user' order by id").fetchall()
    assert [a for a, _, _ in actions] == ["create", "rotate_sip_password"]
    assert all(actor.startswith("cli:") for _, actor, _ in actions)
    assert password not in json.dumps(actions)
    with pytest.raises(SystemExit, match="no phone extension"):
        cli.main(["rotate-sip-password", "nobody"])
