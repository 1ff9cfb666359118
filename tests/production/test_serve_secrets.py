"""Issue 13, finding 6: `vigil serve` refuses to start on default or short secrets and while a
demo login still has the demo password (`vigil demo` does not care); `vigil create-admin`
creates the first administrator of a fresh database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import Database
from core.models import User
from core.security import verify_password
from core.services import Services
from core.settings import Settings
from vigil import migrate
from vigil.demo_users import create_demo_users

GOOD = {"VIGIL_SECRET_KEY": "k3y-for-the-serve-secrets-test-0123456789",
        "VIGIL_AMI_SECRET": "ami-secret-for-tests"}


def vigil(tmp: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "",
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    full.update({"VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'vigil.db'}",
                 "VIGIL_HTTP_PORT": "0", "VIGIL_DC09_PORT": "0", "VIGIL_AGI_PORT": "0",
                 "VIGIL_AMI_PORT": "1", "VIGIL_RX_DC09_UDP": "false", **(env or {})})
    return subprocess.run([sys.executable, "-m", "vigil.cli", *args], cwd=tmp, env=full,
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def test_serve_refuses_the_default_secrets(tmp_path: Path) -> None:
    started = time.monotonic()
    out = vigil(tmp_path, "serve")
    assert out.returncode == 2, out.stderr
    assert "VIGIL_SECRET_KEY is a default value" in out.stderr
    assert "VIGIL_AMI_SECRET is a default value" in out.stderr
    assert time.monotonic() - started < 30  # it stops before starting anything
    short = vigil(tmp_path, "serve", "--role", "web", env={"VIGIL_SECRET_KEY": "short-key"})
    assert short.returncode == 2 and "shorter than 32" in short.stderr
    assert "AMI" not in short.stderr  # a web node does not talk to Asterisk


def test_serve_refuses_while_a_demo_login_has_the_demo_password(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"

    async def seed() -> None:
        await migrate.upgrade(url)
        services = Services.create(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        try:
            await create_demo_users(services)
        finally:
            await services.close()

    asyncio.run(seed())
    out = vigil(tmp_path, "serve", env=GOOD)
    assert out.returncode == 2
    assert "user 'admin' still has the demo password" in out.stderr


def test_create_admin_then_serve_starts(tmp_path: Path) -> None:
    assert vigil(tmp_path, "create-admin", "boss", stdin="too-short\n").returncode == 1
    made = vigil(tmp_path, "create-admin", "boss", "--password-stdin",
                 stdin="a-long-enough-password\n")
    assert made.returncode == 0, made.stderr
    again = vigil(tmp_path, "create-admin", "boss", "--password-stdin",
                  stdin="a-long-enough-password\n")
    assert again.returncode == 1 and "exists" in again.stderr

    async def read() -> User:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}")
        try:
            async with db.session() as s:
                return (await s.execute(select(User))).scalars().one()
        finally:
            await db.dispose()

    user = asyncio.run(read())
    assert user.role == "admin" and verify_password(user.password_hash,
                                                    "a-long-enough-password")
    log = tmp_path / "serve.log"
    full = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    full.update({"VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
                 "VIGIL_HTTP_PORT": "0", "VIGIL_DC09_PORT": "0", "VIGIL_AGI_PORT": "0",
                 "VIGIL_AMI_PORT": "1", "VIGIL_RX_DC09_UDP": "false", **GOOD})
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "vigil.cli", "serve"], cwd=tmp_path,
                                env=full, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while b"console on http" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(log.read_text()[-2000:])
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_demo_shows_its_api_docs_unless_told_not_to(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    from vigil.cli import demo_settings

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("VIGIL_API_DOCS", raising=False)
    assert demo_settings().api_docs and not Settings().api_docs
    monkeypatch.setenv("VIGIL_API_DOCS", "false")
    assert not demo_settings().api_docs
