"""The benchmarks' PostgreSQL database: created when missing, so ``make bench`` works on a fresh
machine; benchmarks share it and run one after another."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/vigil_bench"


def _dsn(url: str, database: str | None = None) -> str:
    u = make_url(url)
    if database is not None:
        u = u.set(database=database)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str, *, reset: bool = False) -> str | None:
    """Create the database of ``url`` if it is missing (and with ``reset`` empty its public
    schema); a reason string when PostgreSQL cannot be reached, else None."""
    name = make_url(url).database or "vigil_bench"
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_dsn(url, "postgres")), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return f"PostgreSQL unreachable: {exc}"
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    if reset:
        conn = await asyncpg.connect(_dsn(url))
        try:
            await conn.execute("DROP SCHEMA public CASCADE")
            await conn.execute("CREATE SCHEMA public")
        finally:
            await conn.close()
    return None
