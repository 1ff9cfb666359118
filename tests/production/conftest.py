"""Databases for the cluster tests: a migrated SQLite file, and a scratch PostgreSQL database.

The PostgreSQL tests create their own database next to the one ``VIGIL_TEST_DATABASE_URL``
names (``<name>_cluster_<pid>``) and drop it afterwards: LISTEN/NOTIFY channels and leases are
database-wide, so sharing the suite's database with tests running in parallel would mix them up.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.bus_pg import asyncpg_dsn
from vigil import migrate

PG_ENV = "VIGIL_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def cluster_pg_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL cluster tests need {PG_ENV} (CI sets it; `make test-pg`)")
    url = make_url(base)
    name = f"{url.database}_cluster_{os.getpid()}"
    admin = asyncpg_dsn(base)

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    scratch = url.set(database=name).render_as_string(hide_password=False)
    asyncio.run(migrate.upgrade(scratch))
    yield scratch
    asyncio.run(drop())


@pytest.fixture(scope="session")
def cluster_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cluster") / "template.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def lease_db_url(request: pytest.FixtureRequest, tmp_path: Path,
                 cluster_sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "vigil.db"
        shutil.copy(cluster_sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    return str(request.getfixturevalue("cluster_pg_url"))
