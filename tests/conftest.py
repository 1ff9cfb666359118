"""Shared fixtures: a migrated database on SQLite and PostgreSQL, services, the app, clients.

PostgreSQL runs when ``VIGIL_TEST_DATABASE_URL`` names a database (CI sets it); without it the
PostgreSQL half of each database test is skipped with that reason.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from agent_web.app import create_app
from core.bus import Bus
from core.clock import FakeClock
from core.db import Database, make_engine
from core.services import Services
from core.settings import Settings
from vigil import migrate

REPO = Path(__file__).resolve().parents[1]
# Real Asterisk 22 traffic, recorded in the lab (its README says how); part of the repository so
# a fresh clone runs every test.
CAPTURES = REPO / "tests" / "fixtures" / "asterisk-captures"
PG_ENV = "VIGIL_TEST_DATABASE_URL"
TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets its own copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


async def _reset_pg(url: str) -> None:
    engine = make_engine(url, nullpool=True)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await migrate.upgrade(url)


@pytest.fixture(scope="session")
def pg_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    asyncio.run(_reset_pg(url))
    return url


async def truncate_all(url: str) -> None:
    """Empty every table the migrations made (not the Alembic version table)."""
    engine = make_engine(url, nullpool=True)
    async with engine.begin() as conn:
        rows = await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"))
        names = ", ".join(f'"{r[0]}"' for r in rows)
        if names:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
                 pg_url: str | None) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "vigil.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if pg_url is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it; `make test-pg` locally)")
    await truncate_all(pg_url)
    return pg_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def services(db_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    # Sessions expire on the fake clock, which tests move by days: give them a long life.
    settings = Settings(database_url=db_url, secret_key="test-secret",  # type: ignore[call-arg]
                        session_max_age=365 * 86400, _env_file=None)
    svc = Services(settings=settings, db=Database(db_url), bus=Bus(node="test"), clock=clock)
    yield svc
    await svc.close()


@pytest.fixture
def app(services: Services) -> Any:
    return create_app(services)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as c:
        yield c


async def ensure_user(services: Services, username: str, role: str, **kw: Any) -> int:
    from core.audit import Actor
    from core.sip_credentials import for_secret
    from core.users import create_user, get_user_by_name

    async with services.db.transaction() as s:
        user = await get_user_by_name(s, username)
        if user is None:
            user = await create_user(s, services.clock, Actor.system("test"), username=username,
                                     password=TEST_PASSWORD, role=role,
                                     sip=for_secret(services.settings.secret_key), **kw)
        return user.id


LoginFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def login(app: Any, services: Services) -> AsyncIterator[LoginFactory]:
    """``await login("admin")`` gives a client logged in as a user of that role (created on
    first use, username = role unless given) with its CSRF header set."""
    clients: list[httpx.AsyncClient] = []

    async def make(role: str, username: str | None = None, **kw: Any) -> httpx.AsyncClient:
        name = username or role
        await ensure_user(services, name, role, **kw)
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(c)
        r = await c.post("/api/auth/login", json={"username": name, "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    yield make
    for c in clients:
        await c.aclose()
